//! Reading an error the way users paste it: a raw IBKR body, a Python exception around it
//! (`401 Client Error: Unauthorized for url: …`, ibind's `… :: 400 :: Bad Request :: {…}`), a dict
//! repr with single quotes, a status line alone, or a whole log. The text is reduced to a few
//! signals (IBKR's message, the HTTP status, the URL, the body's shape) and matched against the
//! catalogue.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::catalogue::{CATALOGUE, Entry, Match, SEEN_IDS};

/// What `explain` found.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// IBKR's message as decoded from the text (or the text's first line when it has none).
    pub message: Option<String>,
    pub status: Option<u16>,
    pub reference_id: Option<u64>,
    pub entry: Option<&'static Entry>,
    /// For a bare number: that ids are references, what they were seen with, and HTTP meaning.
    pub notes: Vec<String>,
}

/// The text lowercased, without blanks, quotes or backticks: `"competing": true` and
/// `'competing': True` both read `competing:true`, and a line wrapped by a terminal reads whole.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '`'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// HTTP status codes in the forms clients print them, first occurrence wins.
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?im)",
        r#"statuscode["']?\s*[:=]\s*(\d{3})\b"#,
        r"|::\s*(\d{3})\s*::",
        r"|\b(\d{3}) (?:client|server) error",
        r"|\bhttp(?:/\d(?:\.\d)?)?(?: error)?[\s:]+(\d{3})\b",
        r"|\bstatus[- _]?code[\s:=]*(\d{3})\b",
        r"|^\s*error:?\s*(\d{3})\s*$",
        r"|\b(\d{3})\s*(?:::)?\s*(?:gone|unauthorized|forbidden|not found|bad request|too many requests|internal server error|service unavailable)\b",
    ))
    .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
});

/// The `error` member of a JSON body or of a Python dict repr.
static ERROR_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"["']error["']\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"#)
        .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
});

fn status(text: &str) -> Option<u16> {
    let captures = STATUS.captures(text)?;
    captures.iter().skip(1).flatten().next()?.as_str().parse().ok()
}

/// IBKR's message and reference id from the text's `error` member, if it has one.
fn ibkr_message(text: &str) -> Option<(String, Option<u64>)> {
    let captures = ERROR_FIELD.captures(text)?;
    let raw = match (captures.get(1), captures.get(2)) {
        (Some(json), _) => serde_json::from_str::<String>(&format!("\"{}\"", json.as_str()))
            .unwrap_or_else(|_| json.as_str().to_owned()),
        (None, Some(python)) => python.as_str().to_owned(),
        (None, None) => return None,
    };
    Some(
        match raw.strip_prefix("id: ").and_then(|rest| rest.split_once(", error: ")) {
            Some((id, message)) => (message.to_owned(), id.trim().parse().ok()),
            None => (raw, None),
        },
    )
}

/// The text as JSON, also when it is a Python repr (`{'AAPL': {}}`, `True`, `None`) or follows
/// a log line's prefix.
fn as_json(text: &str) -> Option<serde_json::Value> {
    let text = text.trim();
    let start = text.find(['{', '['])?;
    let text = &text[start..];
    serde_json::from_str(text).ok().or_else(|| {
        let converted = text
            .replace('\'', "\"")
            .replace("True", "true")
            .replace("False", "false")
            .replace("None", "null");
        serde_json::from_str(&converted).ok()
    })
}

/// Keys a snapshot row has before it carries values: identifiers and IBKR's bookkeeping.
const SNAPSHOT_BOOKKEEPING: [&str; 6] = ["conid", "conidEx", "_updated", "server_id", "6119", "6509"];

/// A snapshot whose rows have no field values: `{}`, `[{"conid": 1}]`, ibind's `{'AAPL': {}}`.
fn is_empty_snapshot(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    let rows: Vec<&Value> = match value {
        Value::Array(rows) => rows.iter().collect(),
        Value::Object(map) if map.is_empty() || map.contains_key("conid") => vec![value],
        Value::Object(map) => map.values().collect(),
        _ => return false,
    };
    rows.iter().all(|row| {
        row.as_object()
            .is_some_and(|fields| fields.keys().all(|k| SNAPSHOT_BOOKKEEPING.contains(&k.as_str())))
    })
}

/// The catalogue entry the signals point at: a text match beats a status on a URL, which beats
/// a body's shape, which beats a status alone.
fn best_entry(squashed: &str, status: Option<u16>, json: Option<&serde_json::Value>) -> Option<&'static Entry> {
    let rank = |m: &Match| -> Option<u8> {
        match *m {
            Match::Text(fragments) => fragments.iter().any(|f| squashed.contains(&squash(f))).then_some(0),
            Match::StatusOn(code, path) => (status == Some(code) && squashed.contains(path)).then_some(1),
            Match::EmptySnapshot => json.is_some_and(is_empty_snapshot).then_some(2),
            Match::Status(code) => (status == Some(code)).then_some(3),
        }
    };
    CATALOGUE
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| entry.matches.iter().filter_map(rank).min().map(|r| (r, index, entry)))
        .min_by_key(|(r, index, _)| (*r, *index))
        .map(|(_, _, entry)| entry)
}

fn http_status_note(n: u64) -> Option<&'static str> {
    Some(match n {
        400 => "As an HTTP status: 400 is IBKR's `Bad Request: ...` (often `no bridge`).",
        401 => "As an HTTP status: 401 is an OAuth refusal (`invalid consumer`, `LST failed`, `Invalid signature`).",
        410 => {
            "As an HTTP status: 410 Gone with an empty body has been seen on ssodh/init for paper accounts over OAuth."
        }
        411 => "As an HTTP status: 411 means a POST without Content-Length.",
        429 => "As an HTTP status: 429 is pacing (about 10 requests/s; penalty box of about 10 minutes).",
        500 => "As an HTTP status: 500 is a server failure, e.g. `failed to generate sso dh token` on ssodh/init.",
        503 => "As an HTTP status: 503 means IBKR aborted the request (e.g. after 10 s); retry with backoff.",
        _ => return None,
    })
}

/// A bare number: most likely the `id: N` of a body, which is no error code.
fn explain_number(number: u64) -> Explanation {
    let mut notes = vec![format!(
        "{number} looks like the `id: N` from an IBKR error body. That number is a per-request reference, not an error code: the same message has come with many ids (invalid consumer with 764, 797, 3931, 19030, 39687, 92177; LST failed with 770, 778-797, 118871). Paste the whole body, or the text after `error:`, to get the cause."
    )];
    if let Some((_, _, message)) = SEEN_IDS.iter().find(|(low, high, _)| (*low..=*high).contains(&number)) {
        notes.push(format!(
            "Id {number} has been seen publicly with \"{message}\", but the same id can come with any message."
        ));
    }
    notes.extend(http_status_note(number).map(str::to_owned));
    Explanation {
        message: None,
        status: None,
        reference_id: Some(number),
        entry: None,
        notes,
    }
}

/// Explains a whole IBKR body, an exception or log line around one, a message, or a bare number.
pub fn explain(input: &str) -> Explanation {
    let input = input.trim();
    if let Ok(number) = input.trim_start_matches('#').parse::<u64>() {
        return explain_number(number);
    }
    let squashed = squash(input);
    let json = as_json(input);
    // A body's own statusCode first: its message may quote other numbers.
    let status = json
        .as_ref()
        .and_then(|v| v.get("statusCode")?.as_u64())
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..1000).contains(s))
        .or_else(|| status(input));
    let (message, reference_id) = match ibkr_message(input) {
        Some((message, id)) => (message, id),
        None => {
            let first = input.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            (first.chars().take(300).collect(), None)
        }
    };
    let mut notes = Vec::new();
    if let Some(id) = reference_id {
        notes.push(format!(
            "`id: {id}` is IBKR's reference for this one request (quote it to IBKR support), not an error code."
        ));
    }
    Explanation {
        entry: best_entry(&squashed, status, json.as_ref()),
        message: Some(message),
        status,
        reference_id,
        notes,
    }
}

/// One distinct error found in a log.
#[derive(Debug, Clone, Serialize)]
pub struct LogFinding {
    pub explanation: Explanation,
    pub count: usize,
    /// 1-based line numbers of the first and last occurrence.
    pub first_line: usize,
    pub last_line: usize,
}

/// Every IBKR error in a log, each distinct one once, in the order they first appear. A line
/// counts when the catalogue recognises it or it carries an IBKR error body.
pub fn scan_log(text: &str) -> Vec<LogFinding> {
    let mut findings: Vec<(String, LogFinding)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let explanation = explain_line(line);
        let key = match (explanation.entry, &explanation.message) {
            (Some(entry), _) => entry.title.to_owned(),
            (None, Some(message)) if ibkr_message(line).is_some() => format!("message: {message}"),
            _ => continue,
        };
        let number = index + 1;
        match findings.iter_mut().find(|(k, _)| *k == key) {
            Some((_, finding)) => {
                finding.count += 1;
                finding.last_line = number;
            }
            None => findings.push((
                key,
                LogFinding {
                    explanation,
                    count: 1,
                    first_line: number,
                    last_line: number,
                },
            )),
        }
    }
    findings.into_iter().map(|(_, finding)| finding).collect()
}

/// A log line is never a bare id: `429` alone in a log is not worth a finding.
fn explain_line(line: &str) -> Explanation {
    if line.trim().parse::<u64>().is_ok() {
        return Explanation {
            message: None,
            status: None,
            reference_id: None,
            entry: None,
            notes: Vec::new(),
        };
    }
    explain(line)
}

/// The explanation as text for the terminal.
pub fn render(explanation: &Explanation) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(message) = &explanation.message {
        let _ = write!(out, "message: {message}");
        if let Some(status) = explanation.status.filter(|s| !message.contains(&s.to_string())) {
            let _ = write!(out, " (HTTP {status})");
        }
        out.push('\n');
    }
    match explanation.entry {
        Some(entry) => {
            let _ = writeln!(out, "{}: {}", entry.title, entry.meaning);
            for (i, cause) in entry.causes.iter().enumerate() {
                let _ = writeln!(out, "  {}. {}\n     -> {}", i + 1, cause.cause, cause.fix);
            }
            for source in entry.sources {
                let _ = writeln!(out, "  seen in: {source}");
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

/// A log's findings as text: each distinct error once, with its count and line range.
pub fn render_log(name: &str, findings: &[LogFinding]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}: {} distinct IBKR error(s), {} line(s) in all",
        findings.len(),
        findings.iter().map(|f| f.count).sum::<usize>()
    );
    for (i, finding) in findings.iter().enumerate() {
        let lines = if finding.first_line == finding.last_line {
            format!("line {}", finding.first_line)
        } else {
            format!("lines {}-{}", finding.first_line, finding.last_line)
        };
        let _ = writeln!(out, "\n[{}] {} time(s), {lines}", i + 1, finding.count);
        out.push_str(&render(&finding.explanation));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(input: &str) -> Option<&'static str> {
        explain(input).entry.map(|e| e.title)
    }

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
        for (input, expected) in cases {
            assert_eq!(title(input), Some(expected), "{input}");
        }
        let e = explain(r#"{"error":"id: 39687, error: invalid consumer","statusCode":401}"#);
        assert_eq!((e.status, e.reference_id), (Some(401), Some(39687)));
        assert_eq!(e.message.as_deref(), Some("invalid consumer"));
        assert!(render(&e).contains("weekend"));
    }

    #[test]
    fn wrappers_and_status_forms_are_read() {
        let cases = [
            (
                "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://api.ibkr.com/v1/api/oauth/live_session_token",
                "401 on the live session token request",
            ),
            (
                "IbkrClient: response error Result(data=None, request={'url': 'https://api.ibkr.com/v1/api/iserver/account/U1/orders'}) :: 500 :: Internal Server Error ::",
                "500 on an order",
            ),
            ("{'error': 'no session'}", "no session"),
            ("HTTP 429", "too many requests"),
            ("410 Gone", "410 Gone on ssodh/init"),
            (
                "{\n    \"authenticated\": true,\n    \"competing\": true\n}",
                "competing session",
            ),
            ("{'AAPL': {}}", "snapshot without values"),
            (
                r#"[{"conid":265598,"_updated":1712345678901}]"#,
                "snapshot without values",
            ),
            ("{}", "snapshot without values"),
            ("TimeoutError: timed out", "keep-alive (tickle) failed"),
            ("binascii.Error: Incorrect padding", "invalid base64 secret"),
            (
                "'Session is misconfigured.  Please contact customer support.",
                "Session is misconfigured",
            ),
            // Python's websocket-client, Node's ws, a browser, and this project's own client.
            (
                "websocket._exceptions.WebSocketBadStatusException: Handshake status 403 Forbidden -+-+- {}",
                "websocket handshake refused (403)",
            ),
            (
                "Error: Unexpected server response: 401",
                "websocket handshake refused (401)",
            ),
            (
                "Error during WebSocket handshake: Unexpected response code: 403",
                "websocket handshake refused (403)",
            ),
            (
                "websocket handshake to wss://api.ibkr.com/v1/api/ws refused with HTTP 401; the socket needs",
                "websocket handshake refused (401)",
            ),
            (
                "websocket to wss://api.ibkr.com/v1/api/ws was closed by the server with code 1000 and no reason; gave up after 3 reconnect(s)",
                "websocket closed (1000)",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(title(input), Some(expected), "{input}");
        }
        assert_eq!(status("500 Server Error: Internal Server Error for url: x"), Some(500));
        assert_eq!(status("status-code: 401, content: b'{}'"), Some(401));
        assert_eq!(status("Error: 401\n{}"), Some(401));
        assert_eq!(status("Request failed with status code 403"), Some(403));
        assert_eq!(status("500 :: Internal Server Error ::"), Some(500));
        assert_eq!(status("all is well"), None);
        assert!(!is_empty_snapshot(&serde_json::json!([{"conid": 1, "31": "101.5"}])));
        assert!(!is_empty_snapshot(&serde_json::json!({"error": "x"})));
    }

    #[test]
    fn bare_ids_are_not_codes() {
        let text = render(&explain("764"));
        assert!(text.contains("not an error code"), "{text}");
        assert!(text.contains("seen publicly with \"invalid consumer\""), "{text}");
        assert!(render(&explain("785")).contains("LST failed"));
        assert!(render(&explain("429")).contains("pacing"));
        assert!(explain("something else entirely").entry.is_none());
    }

    #[test]
    fn a_log_gives_each_distinct_error_once_with_its_lines() {
        let log = "\
2025-06-12 00:00:01,000|I| IbkrClient: Initialising OAuth 1.0a
2025-06-12 00:00:02,000|E| response error :: 400 :: Bad Request :: {\"error\":\"Bad Request: no bridge\",\"statusCode\":400}
2025-06-12 00:00:03,000|I| retrying
2025-06-12 00:00:04,000|E| response error :: 400 :: Bad Request :: {\"error\":\"Bad Request: no bridge\",\"statusCode\":400}
2025-06-12 00:00:05,000|E| {\"error\":\"something IBKR never said before\"}
429
2025-06-12 00:00:06,000|E| HTTP 429 Too Many Requests
";
        let findings = scan_log(log);
        let summary: Vec<(Option<&str>, usize, usize, usize)> = findings
            .iter()
            .map(|f| (f.explanation.entry.map(|e| e.title), f.count, f.first_line, f.last_line))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Some("no bridge"), 2, 2, 4),
                (None, 1, 5, 5),
                (Some("too many requests"), 1, 7, 7)
            ]
        );
        let text = render_log("bot.log", &findings);
        assert!(
            text.starts_with("bot.log: 3 distinct IBKR error(s), 4 line(s) in all"),
            "{text}"
        );
        assert!(text.contains("2 time(s), lines 2-4"), "{text}");
    }
}
