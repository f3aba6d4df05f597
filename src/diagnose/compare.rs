//! Which known mistake did a user's own client make? Given a vector file holding the user's
//! values as expectations, every step that diverges is recomputed with each classic mistake; a
//! variant that reproduces the user's value is reported in words.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;

use crate::oauth::{
    DhExponent, LiveSessionToken, QueryConvention, Secret, SecretBytes, SignatureMethod, SigningRequest, base_string,
    dh, lst, lst_base_string, sign,
};
use crate::vectors::{VectorFile, verify};

/// What was found for one diverging step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub step: String,
    /// The mistake in words, when a variant reproduces the user's value.
    pub mistake: Option<&'static str>,
}

fn hmac_bytes<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

type Sha1Mac = Hmac<sha1::Sha1>;
type Sha256Mac = Hmac<sha2::Sha256>;

/// The base string with the URL's `/` left unencoded (as a client that encodes only the query).
fn slash_unencoded(base: &str) -> String {
    let mut parts = base.splitn(3, '&');
    let method = parts.next().unwrap_or("");
    let url = parts.next().unwrap_or("").replace("%2F", "/");
    let params = parts.next().unwrap_or("");
    format!("{method}&{url}&{params}")
}

/// Correct intermediate values, computed with the project's own code from the file's inputs.
struct Truth {
    secret: SecretBytes,
    k: SecretBytes,
    token: LiveSessionToken,
    challenge: String,
}

fn truth(file: &VectorFile) -> Option<Truth> {
    let secret = lst::decrypt_access_token_secret(&file.encryption_key, &file.raw.access_token_secret).ok()?;
    let a = DhExponent::from_bytes(file.dh_random.expose().clone());
    let challenge = dh::challenge_hex(&file.dh_from_hex, &a);
    let k = dh::shared_secret(&file.dh_from_hex, &a, &file.raw.live_session_token.dh_response_hex).ok()?;
    let token = LiveSessionToken::derive(&k, &secret);
    Some(Truth {
        secret,
        k,
        token,
        challenge,
    })
}

/// Finds the mistake behind every diverging step of `file`.
pub fn compare(file: &VectorFile) -> Vec<Finding> {
    let failing: Vec<String> = verify(file)
        .into_iter()
        .filter(|s| !s.is_ok())
        .map(|s| s.step)
        .collect();
    let Some(truth) = truth(file) else {
        return failing
            .into_iter()
            .map(|step| Finding { step, mistake: None })
            .collect();
    };
    failing
        .into_iter()
        .map(|step| {
            let mistake = variants(file, &truth, &step)
                .into_iter()
                .find(|(_, candidate)| expected(file, &step) == Some(candidate.as_str()))
                .map(|(m, _)| m);
            Finding { step, mistake }
        })
        .collect()
}

/// The user's value for a step, as written in the file.
fn expected<'a>(file: &'a VectorFile, step: &str) -> Option<&'a str> {
    let raw = &file.raw;
    let t = &raw.live_session_token;
    Some(match step {
        "prepend" => &raw.expect_prepend_hex,
        "dh_challenge" => &t.expect_dh_challenge_hex,
        "lst_base_string" => &t.expect_base_string,
        "lst_request_signature" => &t.expect_signature,
        "shared_secret" => &t.expect_shared_secret_hex,
        "live_session_token" => &t.expect_live_session_token,
        "live_session_token_signature" => &t.expect_live_session_token_signature,
        "decrypt_access_token_secret" => &raw.expect_access_token_secret_plain_b64,
        other => {
            let (index, field) = parse_request_step(other)?;
            let request = raw.requests.get(index)?;
            match field {
                "base_string" => &request.expect_base_string,
                _ => &request.expect_signature,
            }
        }
    })
}

fn parse_request_step(step: &str) -> Option<(usize, &str)> {
    let rest = step.strip_prefix("requests[")?;
    let (index, field) = rest.split_once("].")?;
    Some((index.parse().ok()?, field))
}

/// (mistake, the value a client making it would produce) for one step.
fn variants(file: &VectorFile, truth: &Truth, step: &str) -> Vec<(&'static str, String)> {
    let raw = &file.raw;
    let t = &raw.live_session_token;
    let prepend = lst::prepend(&truth.secret);
    let lst_oauth = |with_realm: bool| {
        let mut params: Vec<(&str, &str)> = vec![
            ("diffie_hellman_challenge", truth.challenge.as_str()),
            ("oauth_consumer_key", raw.consumer_key.as_str()),
            ("oauth_nonce", t.nonce.as_str()),
            ("oauth_signature_method", SignatureMethod::RsaSha256.as_str()),
            ("oauth_timestamp", t.timestamp.as_str()),
            ("oauth_token", raw.access_token.as_str()),
        ];
        if with_realm {
            params.push(("realm", raw.realm.as_str()));
        }
        params
    };
    let lst_base = |prepend_text: &str, with_realm: bool| {
        let params = lst_oauth(with_realm);
        let request = SigningRequest {
            method: &t.method,
            url: &t.url,
            form: &[],
            oauth: &params,
        };
        lst_base_string(
            &Secret::new(prepend_text.to_owned()),
            &request,
            QueryConvention::InBaseString,
        )
        .expose()
        .clone()
    };
    let k = truth.k.expose();
    let unsigned = k.strip_prefix(&[0u8]).unwrap_or(k).to_vec();
    let prime_len = (file.dh_from_hex.prime_bits() as usize).div_ceil(8);
    let mut padded = vec![0u8; prime_len.saturating_sub(unsigned.len())];
    padded.extend_from_slice(&unsigned);
    let secret = truth.secret.expose();
    let rsa =
        |key: &crate::oauth::RsaPrivateKey, text: &str| sign::rsa_sha256(key, text.as_bytes()).unwrap_or_default();

    match step {
        "prepend" => vec![
            (
                "the prepend is uppercase hex; IBKR expects lowercase",
                prepend.expose().to_uppercase(),
            ),
            (
                "the prepend is base64, not hex, of the decrypted secret",
                BASE64.encode(secret),
            ),
            (
                "the prepend is the encrypted secret: it was never decrypted",
                raw.access_token_secret.clone(),
            ),
            (
                "the prepend is hex of the encrypted secret: it was never decrypted",
                hex::encode(BASE64.decode(&raw.access_token_secret).unwrap_or_default()),
            ),
        ],
        "lst_base_string" => vec![
            (
                "the prepend is missing in front of the base string",
                lst_base("", false),
            ),
            (
                "the prepend is uppercase hex",
                lst_base(&prepend.expose().to_uppercase(), false),
            ),
            (
                "realm is in the base string; it belongs only in the Authorization header",
                lst_base(prepend.expose(), true),
            ),
            (
                "the `/` in the URL is not percent-encoded",
                format!("{}{}", prepend.expose(), slash_unencoded(&lst_base("", false))),
            ),
        ],
        "lst_request_signature" => vec![
            (
                "the signature is over the base string without the prepend",
                rsa(&file.signature_key, &lst_base("", false)),
            ),
            (
                "the signature is over a base string with an uppercase prepend",
                rsa(&file.signature_key, &lst_base(&prepend.expose().to_uppercase(), false)),
            ),
            (
                "the LST request was signed with the encryption key: the keys are swapped",
                rsa(&file.encryption_key, &lst_base(prepend.expose(), false)),
            ),
            (
                "realm is in the signed base string",
                rsa(&file.signature_key, &lst_base(prepend.expose(), true)),
            ),
        ],
        "shared_secret" => vec![
            // The sign-byte variant first: when K's top bit is set, dropping the 00 also gives the
            // prime's length, and the missing sign byte is the better name for it.
            (
                "K lacks its leading 00 sign byte; Java's BigInteger.toByteArray() keeps it when the top bit is set",
                hex::encode(&unsigned),
            ),
            (
                "K is padded to the prime's length; IBKR uses Java's BigInteger.toByteArray() (minimal, 00 only for the sign)",
                hex::encode(&padded),
            ),
        ],
        "live_session_token" => vec![
            (
                "the LST was derived from K without its leading 00 sign byte",
                BASE64.encode(hmac_bytes::<Sha1Mac>(&unsigned, secret)),
            ),
            (
                "the LST was derived from K padded to the prime's length",
                BASE64.encode(hmac_bytes::<Sha1Mac>(&padded, secret)),
            ),
            (
                "the LST was computed with HMAC-SHA256; IBKR uses HMAC-SHA1",
                BASE64.encode(hmac_bytes::<Sha256Mac>(k, secret)),
            ),
            (
                "the LST was computed over the prepend's hex text instead of the secret's bytes",
                BASE64.encode(hmac_bytes::<Sha1Mac>(k, prepend.expose().as_bytes())),
            ),
            (
                "the LST was keyed with K's hex text instead of its bytes",
                BASE64.encode(hmac_bytes::<Sha1Mac>(hex::encode(k).as_bytes(), secret)),
            ),
        ],
        "live_session_token_signature" => {
            let token_text = truth.token.to_base64();
            vec![
                (
                    "the validation used the LST's base64 text as the key instead of its bytes",
                    hex::encode(hmac_bytes::<Sha1Mac>(
                        token_text.expose().as_bytes(),
                        raw.consumer_key.as_bytes(),
                    )),
                ),
                (
                    "the validation used HMAC-SHA256; IBKR uses HMAC-SHA1",
                    hex::encode(hmac_bytes::<Sha256Mac>(
                        truth.token.expose_bytes(),
                        raw.consumer_key.as_bytes(),
                    )),
                ),
            ]
        }
        other => match parse_request_step(other) {
            Some((index, field)) => request_variants(file, truth, index, field == "base_string"),
            None => Vec::new(),
        },
    }
}

fn request_variants(file: &VectorFile, truth: &Truth, index: usize, base_only: bool) -> Vec<(&'static str, String)> {
    let Some(case) = file.raw.requests.get(index) else {
        return Vec::new();
    };
    let oauth: Vec<(&str, &str)> = case.oauth.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let form: Vec<(&str, &str)> = case.form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut with_realm = oauth.clone();
    with_realm.push(("realm", file.raw.realm.as_str()));
    let request = SigningRequest {
        method: &case.method,
        url: &case.url,
        form: &form,
        oauth: &oauth,
    };
    let realm_request = SigningRequest {
        oauth: &with_realm,
        ..request
    };
    let correct = base_string(&request, QueryConvention::InBaseString);
    let bases: Vec<(&'static str, String)> = vec![
        (
            "realm is in the base string; it belongs only in the Authorization header",
            base_string(&realm_request, QueryConvention::InBaseString),
        ),
        ("the `/` in the URL is not percent-encoded", slash_unencoded(&correct)),
        (
            "the query parameters are left out of the base string (IBKR also accepts that; this file expects them in)",
            base_string(&request, QueryConvention::UrlOnly),
        ),
        (
            "parameter values were percent-encoded twice",
            base_string(&request, QueryConvention::PerValueEncoded),
        ),
    ];
    if base_only {
        return bases;
    }
    let rsa = case.oauth.get("oauth_signature_method").map(String::as_str) == Some("RSA-SHA256");
    let key = case
        .lst
        .as_deref()
        .and_then(|l| LiveSessionToken::from_base64(l).ok())
        .unwrap_or_else(|| truth.token.clone());
    let sign_with = |text: &str| {
        if rsa {
            sign::rsa_sha256(&file.signature_key, text.as_bytes()).unwrap_or_default()
        } else {
            sign::hmac_sha256(&key, text.as_bytes())
        }
    };
    let mut out: Vec<(&'static str, String)> = Vec::new();
    if !rsa {
        let key_text = key.to_base64();
        out.push((
            "the LST's base64 text was used as the HMAC key instead of its decoded bytes",
            BASE64.encode(hmac_bytes::<Sha256Mac>(
                key_text.expose().as_bytes(),
                correct.as_bytes(),
            )),
        ));
        out.push((
            "HMAC-SHA1 was used; IBKR's requests use HMAC-SHA256",
            BASE64.encode(hmac_bytes::<Sha1Mac>(key.expose_bytes(), correct.as_bytes())),
        ));
    }
    let encoded = crate::oauth::encode::percent_encode(&sign_with(&correct), crate::oauth::encode::Space::Plus);
    out.push((
        "the signature was percent-encoded before it was compared (it is encoded once, in the header only)",
        encoded,
    ));
    out.extend(bases.into_iter().map(|(mistake, base)| (mistake, sign_with(&base))));
    out
}

/// Checks how a user's `Authorization` header carries its signature: IBKR expects the base64
/// signature percent-encoded once. Returns the mistake in words, if any.
pub fn check_header(header: &str) -> Option<&'static str> {
    let start = header.find("oauth_signature=\"")? + "oauth_signature=\"".len();
    let value = &header[start..];
    let value = &value[..value.find('"').unwrap_or(value.len())];
    if value.contains(['+', '/', '=']) {
        Some("oauth_signature is not URL-encoded in the header: `+`, `/` and `=` must be sent as %2B, %2F and %3D")
    } else if value.contains("%25") {
        Some("oauth_signature is URL-encoded twice in the header (`%25` appears)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_encoding() {
        assert!(check_header(r#"OAuth realm="limited_poa", oauth_signature="ab+c/d=""#).is_some());
        assert!(
            check_header(r#"OAuth oauth_signature="ab%252Bc""#)
                .unwrap()
                .contains("twice")
        );
        assert_eq!(check_header(r#"OAuth oauth_signature="ab%2Bc%3D""#), None);
        assert_eq!(check_header("OAuth realm=\"x\""), None);
    }

    #[test]
    fn slash() {
        assert_eq!(
            slash_unencoded("GET&http%3A%2F%2Fh%2Fp&a%3D1%2F2"),
            "GET&http%3A//h/p&a%3D1%2F2"
        );
    }
}
