//! Which known mistake did a user's own client make? Given a vector file holding the user's
//! values as expectations, every step that diverges is recomputed with each mistake of the
//! catalogue in `oauth::mistakes` (the one the mock uses too); a variant that reproduces the
//! user's value is reported in words.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use crate::oauth::mistakes::{self, Candidate, Digest, Key, Mistake, PublicKeys, Signed};
use crate::oauth::{DhExponent, LiveSessionToken, QueryConvention, SecretBytes, SignatureMethod, dh, lst};
use crate::vectors::{VectorFile, verify};

/// The convention a vector file's expectations are written in (the 2018 worked example's).
const EXPECTED: &[QueryConvention] = &[QueryConvention::InBaseString];

/// What was found for one diverging step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub step: String,
    /// The mistake in words, when a variant reproduces the user's value.
    pub mistake: Option<&'static str>,
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
    use crate::vectors::verify::StepStatus;
    // A failing step carries the file's value: the user's client computed it.
    let failing: Vec<(String, String)> = verify(file)
        .into_iter()
        .filter_map(|outcome| match outcome.status {
            StepStatus::Ok => None,
            StepStatus::Mismatch { expected, .. } | StepStatus::Failed { expected, .. } => {
                Some((outcome.step, expected.expose().clone()))
            }
        })
        .collect();
    let Some(truth) = truth(file) else {
        return failing
            .into_iter()
            .map(|(step, _)| Finding { step, mistake: None })
            .collect();
    };
    failing
        .into_iter()
        .map(|(step, user_value)| {
            let mistake = if step == "lst_request_signature" || step.ends_with(".signature") {
                signature_mistake(file, &truth, &step, &user_value)
            } else {
                variants(file, &truth, &step)
                    .into_iter()
                    .find(|(_, candidate)| *candidate == user_value)
                    .map(|(m, _)| m)
            };
            Finding {
                step,
                mistake: mistake.map(Mistake::describe),
            }
        })
        .collect()
}

fn parse_request_step(step: &str) -> Option<(usize, &str)> {
    let rest = step.strip_prefix("requests[")?;
    let (index, field) = rest.split_once("].")?;
    Some((index.parse().ok()?, field))
}

/// (mistake, the value a client making it would produce) for a step whose value is not a
/// signature. Signature steps go through [`signature_mistake`].
fn variants(file: &VectorFile, truth: &Truth, step: &str) -> Vec<(Mistake, String)> {
    let raw = &file.raw;
    let k_variants = mistakes::k_encodings(&truth.k, file.dh_from_hex.prime_bits());
    match step {
        "prepend" => mistakes::prepend_mistakes(&truth.secret, Some(&raw.access_token_secret))
            .into_iter()
            .map(|(mistake, prepend)| (mistake, prepend.expose().clone()))
            .collect(),
        "lst_base_string" => lst_candidates(file, truth)
            .into_iter()
            .filter(|c| matches!(c.key, Key::Signature) && c.digest == Digest::Sha256 && !c.encoded_twice)
            .map(|c| (c.mistake, c.base.expose().clone()))
            .collect(),
        "shared_secret" => k_variants
            .into_iter()
            .map(|(mistake, k)| (mistake, hex::encode(k.expose())))
            .collect(),
        "live_session_token" => mistakes::lst_mistakes(&truth.k, &truth.secret, file.dh_from_hex.prime_bits())
            .into_iter()
            .map(|(mistake, token)| (mistake, BASE64.encode(token.expose())))
            .collect(),
        "live_session_token_signature" => {
            let token_text = truth.token.to_base64();
            vec![
                (
                    Mistake::ValidationKeyText,
                    hex::encode(mistakes::hmac_raw(
                        Digest::Sha1,
                        token_text.expose().as_bytes(),
                        raw.consumer_key.as_bytes(),
                    )),
                ),
                (
                    Mistake::ValidationHmacSha256,
                    hex::encode(mistakes::hmac_raw(
                        Digest::Sha256,
                        truth.token.expose_bytes(),
                        raw.consumer_key.as_bytes(),
                    )),
                ),
            ]
        }
        other => match parse_request_step(other) {
            Some((index, "base_string")) => match raw.requests.get(index) {
                Some(case) => {
                    let (oauth, form) = request_params(case);
                    mistakes::base_string_mistakes(&signed(file, case, &oauth, &form), EXPECTED)
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
    }
}

/// The LST request's single-mistake candidates, from the file's inputs.
fn lst_candidates(file: &VectorFile, truth: &Truth) -> Vec<Candidate> {
    let raw = &file.raw;
    let t = &raw.live_session_token;
    let oauth: [(&str, &str); 6] = [
        ("diffie_hellman_challenge", truth.challenge.as_str()),
        ("oauth_consumer_key", raw.consumer_key.as_str()),
        ("oauth_nonce", t.nonce.as_str()),
        ("oauth_signature_method", SignatureMethod::RsaSha256.as_str()),
        ("oauth_timestamp", t.timestamp.as_str()),
        ("oauth_token", raw.access_token.as_str()),
    ];
    let signed = Signed {
        request: crate::oauth::SigningRequest {
            method: &t.method,
            url: &t.url,
            form: &[],
            oauth: &oauth,
        },
        realm: &raw.realm,
    };
    mistakes::lst_request_candidates(&signed, EXPECTED, &truth.secret, Some(&raw.access_token_secret))
}

/// Name-value pairs borrowed from a vector file.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// A request case's oauth and form parameters.
fn request_params(case: &crate::vectors::model::RawRequestCase) -> (Pairs<'_>, Pairs<'_>) {
    (
        case.oauth.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
        case.form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
    )
}

fn signed<'a>(
    file: &'a VectorFile,
    case: &'a crate::vectors::model::RawRequestCase,
    oauth: &'a [(&'a str, &'a str)],
    form: &'a [(&'a str, &'a str)],
) -> Signed<'a> {
    Signed {
        request: crate::oauth::SigningRequest {
            method: &case.method,
            url: &case.url,
            form,
            oauth,
        },
        realm: &file.raw.realm,
    }
}

/// The mistake that reproduces the user's signature for a signature step, if any.
fn signature_mistake(file: &VectorFile, truth: &Truth, step: &str, user_value: &str) -> Option<Mistake> {
    let signature_public = file.signature_key.public_key_pkcs1_der();
    let encryption_public = file.encryption_key.public_key_pkcs1_der();
    let keys = PublicKeys {
        signature: &signature_public,
        encryption: Some(&encryption_public),
    };
    if step == "lst_request_signature" {
        return mistakes::find(&lst_candidates(file, truth), user_value, &keys);
    }
    let (index, _) = parse_request_step(step)?;
    let case = file.raw.requests.get(index)?;
    let (oauth, form) = request_params(case);
    let signed = signed(file, case, &oauth, &form);
    let candidates = if case.oauth.get("oauth_signature_method").map(String::as_str) == Some("RSA-SHA256") {
        mistakes::rsa_request_candidates(&signed, EXPECTED)
    } else {
        let lst = case
            .lst
            .as_deref()
            .and_then(|l| LiveSessionToken::from_base64(l).ok())
            .unwrap_or_else(|| truth.token.clone());
        mistakes::hmac_request_candidates(&signed, EXPECTED, &lst, &[])
    };
    mistakes::find(&candidates, user_value, &keys)
}

/// What a template is made from: one credential set, as the user's own client reads it.
pub struct TemplateInputs<'a> {
    pub consumer_key: &'a str,
    pub realm: &'a str,
    pub access_token: &'a str,
    pub access_token_secret: &'a str,
    pub signature_key_pem: &'a str,
    pub encryption_key_pem: &'a str,
    pub dh: &'a crate::oauth::DhParams,
}

/// Where a step's expectation lives in a vector file's JSON.
fn expectation_pointer(step: &str) -> Option<String> {
    Some(match step {
        "decrypt_access_token_secret" => "/expect_access_token_secret_plain_b64".to_owned(),
        "prepend" => "/expect_prepend_hex".to_owned(),
        "dh_challenge" => "/live_session_token/expect_dh_challenge_hex".to_owned(),
        "lst_base_string" => "/live_session_token/expect_base_string".to_owned(),
        "lst_request_signature" => "/live_session_token/expect_signature".to_owned(),
        "shared_secret" => "/live_session_token/expect_shared_secret_hex".to_owned(),
        "live_session_token" => "/live_session_token/expect_live_session_token".to_owned(),
        "live_session_token_signature" => "/live_session_token/expect_live_session_token_signature".to_owned(),
        other => {
            let (index, field) = parse_request_step(other)?;
            format!("/requests/{index}/expect_{field}")
        }
    })
}

/// A format-1 vector file for the user's own client: these inputs, a fresh LST request (nonce,
/// timestamp, DH exponent, the server's answer) and two ordinary requests, with every expectation
/// set to the right value. Replace the values your client computes with its own, then run
/// `diagnose compare` on the file.
pub fn template(
    inputs: &TemplateInputs<'_>,
    rng: &mut dyn crate::oauth::RandomSource,
    now: std::time::SystemTime,
) -> Result<String, String> {
    use crate::oauth::header;
    let fail = |e: crate::oauth::Error| e.to_string();
    let mut exponent = [0u8; 32];
    rng.fill(&mut exponent).map_err(fail)?;
    let dh_random_hex = hex::encode(exponent);
    let server = DhExponent::generate(rng, 32).map_err(fail)?;
    let timestamp = header::timestamp(now);
    let base = "https://api.ibkr.com/v1/api";
    let ordinary = |rng: &mut dyn crate::oauth::RandomSource, name: &str, method: &str, path: &str| {
        Ok::<_, String>(serde_json::json!({
            "name": name,
            "method": method,
            "url": format!("{base}{path}"),
            "oauth": {
                "oauth_consumer_key": inputs.consumer_key,
                "oauth_nonce": header::nonce(rng).map_err(fail)?,
                "oauth_signature_method": "HMAC-SHA256",
                "oauth_timestamp": timestamp,
                "oauth_token": inputs.access_token,
            },
            "expect_base_string": "x",
            "expect_signature": "AA==",
        }))
    };
    let doc = serde_json::json!({
        "format": 1,
        "name": "my client",
        "description": "Made by `ibkr-probe diagnose compare --template`. Every expect_* value is what IBKR expects for these inputs; replace each one your client computes with its own value (same inputs: nonce, timestamp, dh_random_hex, dh_response_hex), then run `ibkr-probe diagnose compare FILE`. This file holds your private keys: keep it private.",
        "consumer_key": inputs.consumer_key,
        "realm": inputs.realm,
        "signature_key_pem": inputs.signature_key_pem,
        "encryption_key_pem": inputs.encryption_key_pem,
        "dh_param_pem": inputs.dh.to_pkcs3_pem(),
        "dh_prime_hex": format!("{:x}", inputs.dh.prime()),
        "dh_generator_hex": format!("{:x}", inputs.dh.generator()),
        "access_token": inputs.access_token,
        "access_token_secret": inputs.access_token_secret,
        "expect_access_token_secret_plain_b64": "AA==",
        "expect_prepend_hex": "00",
        "live_session_token": {
            "method": "POST",
            "url": format!("{base}/oauth/live_session_token"),
            "nonce": header::nonce(rng).map_err(fail)?,
            "timestamp": timestamp,
            "dh_random_hex": dh_random_hex,
            "expect_dh_challenge_hex": "00",
            "expect_base_string": "x",
            "expect_signature": "AA==",
            "dh_response_hex": dh::challenge_hex(inputs.dh, &server),
            "expect_shared_secret_hex": "00",
            "expect_live_session_token": "AA==",
            "expect_live_session_token_signature": "00",
        },
        "requests": [
            ordinary(rng, "snapshot", "GET", "/iserver/marketdata/snapshot?conids=265598&fields=31,84,86")?,
            ordinary(rng, "tickle", "POST", "/tickle")?,
        ],
    });
    fill_expectations(doc)
}

/// Fills a template's expectations in order: each pass computes the first one still wrong from
/// the ones before it.
fn fill_expectations(mut doc: serde_json::Value) -> Result<String, String> {
    for _ in 0..32 {
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let file = crate::vectors::load::load_text(std::path::Path::new("template.json"), &text)
            .map_err(|e| format!("{}: {}", e.field, e.message))?;
        let Some(outcome) = verify(&file).into_iter().find(|o| !o.is_ok()) else {
            return Ok(text + "\n");
        };
        let computed = match outcome.status {
            crate::vectors::verify::StepStatus::Mismatch { computed, .. } => computed,
            crate::vectors::verify::StepStatus::Failed { error, .. } => {
                return Err(format!("{}: {error}", outcome.step));
            }
            crate::vectors::verify::StepStatus::Ok => unreachable!("found as not ok"),
        };
        let pointer =
            expectation_pointer(&outcome.step).ok_or_else(|| format!("{}: differs in these inputs", outcome.step))?;
        if let Some(slot) = doc.pointer_mut(&pointer) {
            *slot = serde_json::Value::String(computed.expose().clone());
        }
    }
    Err("the expectations did not settle".into())
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
}
