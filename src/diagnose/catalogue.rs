//! IBKR's error messages and what usually lies behind them, in order of likelihood, with what to
//! do for each. Decoding goes by message text: the `id: N` in IBKR's bodies is a per-request
//! reference, not an error code.

use serde::Serialize;

use crate::client::IbkrMessage;

/// One known error.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// A short name, e.g. `invalid consumer`.
    pub title: &'static str,
    /// Lowercase fragments; the entry matches a message containing any of them.
    #[serde(skip)]
    patterns: &'static [&'static str],
    pub meaning: &'static str,
    /// (likely cause, what to do), most likely first.
    pub causes: &'static [(&'static str, &'static str)],
}

/// The catalogue, most specific first.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        title: "invalid consumer",
        patterns: &["invalid consumer"],
        meaning: "IBKR does not accept this consumer key for this realm (yet).",
        causes: &[
            (
                "The consumer key was registered recently and is not active yet: keys from the self-service portal start working after IBKR's weekend reset (Friday/Saturday evening; some users report the next business day).",
                "Wait, and let `ibkr-probe activation --watch` tell you the moment it works.",
            ),
            (
                "A typo in the consumer key (9 characters, case-sensitive).",
                "Compare IB_CONSUMER_KEY with the key shown in the self-service portal.",
            ),
            (
                "The realm does not fit the consumer: TESTCONS needs `test_realm`, portal consumers `limited_poa`.",
                "Set IB_REALM accordingly; `ibkr-probe diagnose` checks it.",
            ),
        ],
    },
    Entry {
        title: "no access secret key found",
        patterns: &["no access secret key found"],
        meaning: "The LST request named an access token IBKR does not know.",
        causes: &[(
            "The access token is mistyped, from another consumer, or was revoked when a new one was generated.",
            "Copy IB_ACCESS_TOKEN again from the self-service portal, together with its access token secret.",
        )],
    },
    Entry {
        title: "LST failed",
        patterns: &["lst failed", "live session token failed"],
        meaning: "IBKR refused the live session token request: its RSA-SHA256 signature or its inputs did not check out.",
        causes: &[
            (
                "The prepend is wrong: the access token secret was not decrypted, was decrypted with the signature key instead of the encryption key, or was written as uppercase hex.",
                "Run `ibkr-probe diagnose`: it decrypts the secret and says which key works.",
            ),
            (
                "The base string differs from IBKR's: URL, parameter order or encoding, a missing diffie_hellman_challenge, or realm inside it.",
                "Put your values in a vector file and run `ibkr-probe diagnose compare FILE` to name the mistake.",
            ),
            (
                "The signature key is not the one whose public half was uploaded.",
                "Compare the SHA-256 fingerprints `ibkr-probe diagnose` prints with the key in the portal.",
            ),
            (
                "The timestamp is stale: the machine's clock is off.",
                "Sync the clock (NTP); `ibkr-probe diagnose --online` shows the skew from IBKR's Date header.",
            ),
        ],
    },
    Entry {
        title: "Invalid signature",
        patterns: &["invalid signature"],
        meaning: "A request after the LST was refused: its HMAC-SHA256 signature did not verify with the session's LST.",
        causes: &[
            (
                "K was encoded differently from Java's BigInteger.toByteArray() (padded to the prime's length, or without the leading 00 sign byte): this fails on about half of all sessions.",
                "Encode K minimally with a leading 00 when its top bit is set; `ibkr-probe vectors verify` pins this with the k-high-bit and k-short vectors.",
            ),
            (
                "The LST was used as its base64 text instead of its decoded bytes as the HMAC key.",
                "Base64-decode the LST before keying HMAC-SHA256.",
            ),
            (
                "The base string differs: realm inside it, query parameters encoded twice, `/` not encoded.",
                "Compare with `ibkr-probe diagnose compare FILE`.",
            ),
            (
                "Transient on /iserver/auth/ssodh/init right after the LST.",
                "Retry once after a second.",
            ),
        ],
    },
    Entry {
        title: "too many requests",
        patterns: &["too many requests", "rate limit"],
        meaning: "IBKR's pacing limit was exceeded (429).",
        causes: &[(
            "More than about 10 requests per second (IBKR's documented global limit; some endpoints are slower, e.g. /iserver/account/orders 1 per 5 s).",
            "Pace requests; ibkr-probe paces itself (`--rate`). Repeat violators sit in a penalty box for 10-15 minutes.",
        )],
    },
    Entry {
        title: "no bridge",
        patterns: &["no bridge"],
        meaning: "There is no brokerage session behind the OAuth session.",
        causes: &[
            (
                "POST /iserver/auth/ssodh/init was not called, or not yet finished.",
                "Call it with {\"publish\":true,\"compete\":true}, wait about 2 s, then call /iserver/accounts.",
            ),
            (
                "The brokerage session dropped: idle for more than about 5 minutes, or IBKR's nightly reset (around 01:00 local).",
                "Tickle every minute; re-run ssodh/init after a drop.",
            ),
        ],
    },
    Entry {
        title: "failed to generate sso dh token",
        patterns: &["failed to generate sso dh token"],
        meaning: "ssodh/init failed on IBKR's side (500).",
        causes: &[(
            "Seen with paper accounts over OAuth and during IBKR maintenance.",
            "Retry later; check that the account type supports the Web API over OAuth.",
        )],
    },
    Entry {
        title: "conid(s) missing",
        patterns: &["conid(s) missing", "conids missing"],
        meaning: "A snapshot request without `conids`.",
        causes: &[(
            "The conids parameter is missing or empty.",
            "Pass conids=1,2,3 (at most 100) and fields=31,84,86.",
        )],
    },
    Entry {
        title: "failed to process request",
        patterns: &["failed to process request"],
        meaning: "A generic IBKR server failure (often on /tickle).",
        causes: &[(
            "A transient server problem.",
            "Retry with backoff; if it persists, re-create the session (LST, ssodh/init).",
        )],
    },
    Entry {
        title: "service unavailable",
        patterns: &["service unavailable", "request aborted"],
        meaning: "IBKR aborted the request (503), e.g. after more than 10 s.",
        causes: &[(
            "The backend is slow or restarting.",
            "Retry with backoff; check IBKR's system status.",
        )],
    },
];

/// `id:` numbers publicly seen in IBKR's error bodies, with the message each came with.
pub const SEEN_IDS: &[(u64, u64, &str)] = &[
    (764, 764, "invalid consumer"),
    (797, 797, "invalid consumer"),
    (3931, 3931, "invalid consumer"),
    (19030, 19030, "invalid consumer"),
    (39687, 39687, "invalid consumer"),
    (92177, 92177, "invalid consumer"),
    (770, 770, "LST failed"),
    (778, 796, "LST failed"),
    (118871, 118871, "LST failed"),
];

/// The catalogue entry whose pattern occurs in `message`.
pub fn lookup(message: &str) -> Option<&'static Entry> {
    let message = message.to_ascii_lowercase();
    CATALOGUE
        .iter()
        .find(|entry| entry.patterns.iter().any(|p| message.contains(p)))
}

/// What `explain` found.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The decoded message, if the input had one.
    pub message: Option<String>,
    pub status: Option<u16>,
    pub reference_id: Option<u64>,
    pub entry: Option<&'static Entry>,
    /// For a bare number: that ids are references, what they were seen with, and HTTP meaning.
    pub notes: Vec<String>,
}

fn http_status_note(n: u64) -> Option<&'static str> {
    Some(match n {
        400 => "As an HTTP status: 400 is IBKR's `Bad Request: ...` (often `no bridge`).",
        401 => "As an HTTP status: 401 is an OAuth refusal (`invalid consumer`, `LST failed`, `Invalid signature`).",
        410 => {
            "As an HTTP status: 410 Gone with an empty body has been seen on ssodh/init for paper accounts over OAuth."
        }
        411 => "As an HTTP status: 411 means a POST without Content-Length.",
        429 => "As an HTTP status: 429 is pacing (about 10 requests/s; penalty box 10-15 minutes).",
        500 => "As an HTTP status: 500 is a server failure, e.g. `failed to generate sso dh token` on ssodh/init.",
        503 => "As an HTTP status: 503 means IBKR aborted the request (e.g. after 10 s); retry with backoff.",
        _ => return None,
    })
}

/// Explains a whole IBKR body, a message, or a bare number.
pub fn explain(input: &str) -> Explanation {
    let input = input.trim();
    if let Ok(number) = input.trim_start_matches('#').parse::<u64>() {
        let mut notes = vec![format!(
            "{number} looks like the `id: N` from an IBKR error body. That number is a per-request reference, not an error code: the same message has come with many ids (invalid consumer with 764, 797, 3931, 19030, 39687, 92177; LST failed with 770, 778-797, 118871). Paste the whole body, or the text after `error:`, to get the cause."
        )];
        if let Some((_, _, message)) = SEEN_IDS.iter().find(|(low, high, _)| (*low..=*high).contains(&number)) {
            notes.push(format!(
                "Id {number} has been seen publicly with \"{message}\", but the same id can come with any message."
            ));
        }
        notes.extend(http_status_note(number).map(str::to_owned));
        return Explanation {
            message: None,
            status: None,
            reference_id: Some(number),
            entry: None,
            notes,
        };
    }
    let decoded = if input.starts_with('{') {
        let status = serde_json::from_str::<serde_json::Value>(input)
            .ok()
            .and_then(|v| v.get("statusCode").and_then(serde_json::Value::as_u64))
            .and_then(|s| u16::try_from(s).ok());
        IbkrMessage::parse(status.unwrap_or(0), input.as_bytes())
    } else {
        IbkrMessage::parse(
            0,
            format!("{{\"error\":{}}}", serde_json::Value::String(input.to_owned())).as_bytes(),
        )
    };
    let status = (decoded.status != 0).then_some(decoded.status);
    let mut notes = Vec::new();
    if let Some(id) = decoded.reference_id {
        notes.push(format!(
            "`id: {id}` is IBKR's reference for this one request (quote it to IBKR support), not an error code."
        ));
    }
    Explanation {
        entry: lookup(&decoded.message),
        message: Some(decoded.message),
        status,
        reference_id: decoded.reference_id,
        notes,
    }
}

/// The explanation as text for the terminal.
pub fn render(explanation: &Explanation) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(message) = &explanation.message {
        let _ = write!(out, "message: {message}");
        if let Some(status) = explanation.status {
            let _ = write!(out, " (HTTP {status})");
        }
        out.push('\n');
    }
    match explanation.entry {
        Some(entry) => {
            let _ = writeln!(out, "{}: {}", entry.title, entry.meaning);
            for (i, (cause, fix)) in entry.causes.iter().enumerate() {
                let _ = writeln!(out, "  {}. {cause}\n     -> {fix}", i + 1);
            }
        }
        None if explanation.message.is_some() => {
            let _ = writeln!(
                out,
                "not in ibkr-probe's catalogue; decode by the message text and check IBKR's status page"
            );
        }
        None => {}
    }
    for note in &explanation.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_bodies_decode_to_the_right_entry() {
        let cases = [
            (
                r#"{"error":"id: 39687, error: invalid consumer","statusCode":401}"#,
                "invalid consumer",
            ),
            (
                r#"{"error":"id: 118871, error: LST failed, error: No access secret key found for 6f531f8fd316915af53f","statusCode":401}"#,
                "no access secret key found",
            ),
            (
                r#"{"error":"id: 782, error: LST failed","statusCode":401}"#,
                "LST failed",
            ),
            (r#"{"error":"Invalid signature"}"#, "Invalid signature"),
            (r#"{"error":"Bad Request: no bridge","statusCode":400}"#, "no bridge"),
            (
                r#"{"error":"failed to generate sso dh token"}"#,
                "failed to generate sso dh token",
            ),
            (
                r#"{"error":"Bad Request: Conid(s) missing","statusCode":400}"#,
                "conid(s) missing",
            ),
            (r#"{"error": "Too Many Requests"}"#, "too many requests"),
            ("invalid consumer", "invalid consumer"),
            ("error: LST failed", "LST failed"),
        ];
        for (input, title) in cases {
            let e = explain(input);
            assert_eq!(e.entry.map(|e| e.title), Some(title), "{input}");
        }
        let e = explain(r#"{"error":"id: 39687, error: invalid consumer","statusCode":401}"#);
        assert_eq!((e.status, e.reference_id), (Some(401), Some(39687)));
        assert!(render(&e).contains("weekend"));
    }

    #[test]
    fn bare_ids_are_not_codes() {
        let e = explain("764");
        let text = render(&e);
        assert!(text.contains("not an error code"), "{text}");
        assert!(text.contains("seen publicly with \"invalid consumer\""), "{text}");
        assert!(render(&explain("785")).contains("LST failed"));
        assert!(render(&explain("429")).contains("pacing"));
        assert!(explain("something else entirely").entry.is_none());
    }
}
