//! Recomputes every value of a vector file with the project's own code, in the order of the
//! handshake, and compares each with the file's expectation.
//!
//! When a step diverges, later steps continue from the file's expected value, not ours, so each
//! wrong step shows up on its own instead of dragging every later step down with it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::load::VectorFile;
use crate::oauth::{
    DhExponent, LiveSessionToken, QueryConvention, Secret, SecretBytes, SecretString, SignatureMethod, SigningRequest,
    base_string, dh, lst, lst_base_string, sign,
};

/// The result of one step.
#[derive(Debug)]
pub struct StepOutcome {
    /// Stable step name, e.g. `shared_secret` or `requests[2].signature`.
    pub step: String,
    /// Whether the values derive from a secret and must be shown as fingerprints.
    pub secret: bool,
    pub status: StepStatus,
}

/// Whether a step matched.
#[derive(Debug)]
pub enum StepStatus {
    Ok,
    /// The values differ; `position` is the index of the first differing character.
    Mismatch {
        expected: SecretString,
        computed: SecretString,
        position: usize,
    },
    /// Our code could not compute the value from the file's inputs.
    Failed {
        expected: SecretString,
        error: String,
    },
}

impl StepOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self.status, StepStatus::Ok)
    }
}

/// Index of the first differing character (or the shorter length when one is a prefix).
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    let common = a.bytes().zip(b.bytes()).position(|(x, y)| x != y);
    match common {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

fn compare(
    step: impl Into<String>,
    secret: bool,
    expected: &str,
    computed: Result<String, crate::oauth::Error>,
) -> StepOutcome {
    let status = match computed {
        Ok(computed) => match first_difference(expected, &computed) {
            None => StepStatus::Ok,
            Some(position) => StepStatus::Mismatch {
                expected: Secret::new(expected.to_owned()),
                computed: Secret::new(computed),
                position,
            },
        },
        Err(e) => StepStatus::Failed {
            expected: Secret::new(expected.to_owned()),
            error: e.to_string(),
        },
    };
    StepOutcome {
        step: step.into(),
        secret,
        status,
    }
}

/// Our value when the step matched, the file's otherwise.
fn carry<T>(outcome: &StepOutcome, ours: Option<T>, theirs: impl FnOnce() -> T) -> T {
    match (outcome.is_ok(), ours) {
        (true, Some(value)) => value,
        _ => theirs(),
    }
}

/// Runs every step of one file. A step that fails hands the file's expected value to the next,
/// so one mistake is reported once.
pub fn verify(file: &VectorFile) -> Vec<StepOutcome> {
    let mut steps = Vec::with_capacity(9 + 2 * file.raw.requests.len());
    let group = |p: &crate::oauth::DhParams| format!("prime {:x} generator {:x}", p.prime(), p.generator());
    steps.push(compare(
        "dh_params_pem_equals_hex",
        false,
        &group(&file.dh_from_hex),
        Ok(group(&file.dh_from_pem)),
    ));
    let (secret_plain, prepend) = secret_steps(file, &mut steps);
    let a = DhExponent::from_bytes(file.dh_random.expose().clone());
    lst_request_steps(file, &a, &prepend, &mut steps);
    if let Some(token) = token_steps(file, &a, &secret_plain, &mut steps) {
        request_steps(file, &token, &mut steps);
    }
    steps
}

/// 1-2: the access token secret decrypted, and the prepend from it.
fn secret_steps(file: &VectorFile, steps: &mut Vec<StepOutcome>) -> (SecretBytes, Secret<String>) {
    let raw = &file.raw;
    let decrypted = lst::decrypt_access_token_secret(&file.encryption_key, &raw.access_token_secret);
    let outcome = compare(
        "decrypt_access_token_secret",
        true,
        &BASE64.encode(file.expect_secret_plain.expose()),
        decrypted
            .as_ref()
            .map(|s| BASE64.encode(s.expose()))
            .map_err(Clone::clone),
    );
    let secret_plain: SecretBytes = carry(&outcome, decrypted.ok(), || file.expect_secret_plain.clone());
    steps.push(outcome);

    let prepend = lst::prepend(&secret_plain);
    let outcome = compare("prepend", true, &raw.expect_prepend_hex, Ok(prepend.expose().clone()));
    let prepend = carry(&outcome, Some(prepend), || Secret::new(raw.expect_prepend_hex.clone()));
    steps.push(outcome);
    (secret_plain, prepend)
}

/// 3-5: the DH challenge A, the LST request's base string with the prepend in front, and its
/// RSA-SHA256 signature.
fn lst_request_steps(file: &VectorFile, a: &DhExponent, prepend: &Secret<String>, steps: &mut Vec<StepOutcome>) {
    let (raw, lst_case) = (&file.raw, &file.raw.live_session_token);
    let challenge = dh::challenge_hex(&file.dh_from_hex, a);
    let outcome = compare(
        "dh_challenge",
        false,
        &lst_case.expect_dh_challenge_hex,
        Ok(challenge.clone()),
    );
    let challenge = carry(&outcome, Some(challenge), || lst_case.expect_dh_challenge_hex.clone());
    steps.push(outcome);

    let oauth = [
        ("diffie_hellman_challenge", challenge.as_str()),
        ("oauth_consumer_key", raw.consumer_key.as_str()),
        ("oauth_nonce", lst_case.nonce.as_str()),
        ("oauth_signature_method", SignatureMethod::RsaSha256.as_str()),
        ("oauth_timestamp", lst_case.timestamp.as_str()),
        ("oauth_token", raw.access_token.as_str()),
    ];
    let request = SigningRequest {
        method: &lst_case.method,
        url: &lst_case.url,
        form: &[],
        oauth: &oauth,
    };
    let lst_base = lst_base_string(prepend, &request, QueryConvention::InBaseString);
    let outcome = compare(
        "lst_base_string",
        true,
        &lst_case.expect_base_string,
        Ok(lst_base.expose().clone()),
    );
    let lst_base = carry(&outcome, Some(lst_base), || {
        Secret::new(lst_case.expect_base_string.clone())
    });
    steps.push(outcome);

    steps.push(compare(
        "lst_request_signature",
        true,
        &lst_case.expect_signature,
        sign::rsa_sha256(&file.signature_key, lst_base.expose().as_bytes()),
    ));
}

/// 6-8: K from the server's B, the LST, and its validation signature (also checked in constant
/// time). `None` when there is no token to sign requests with.
fn token_steps(
    file: &VectorFile,
    a: &DhExponent,
    secret_plain: &SecretBytes,
    steps: &mut Vec<StepOutcome>,
) -> Option<LiveSessionToken> {
    let (raw, lst_case) = (&file.raw, &file.raw.live_session_token);
    let k = dh::shared_secret(&file.dh_from_hex, a, &lst_case.dh_response_hex);
    let outcome = compare(
        "shared_secret",
        true,
        &lst_case.expect_shared_secret_hex,
        k.as_ref().map(|k| hex::encode(k.expose())).map_err(Clone::clone),
    );
    let k = carry(&outcome, k.ok(), || file.expect_shared_secret.clone());
    steps.push(outcome);

    let token = LiveSessionToken::derive(&k, secret_plain);
    let outcome = compare(
        "live_session_token",
        true,
        &lst_case.expect_live_session_token,
        Ok(token.to_base64().expose().clone()),
    );
    let token = carry(&outcome, Some(Ok(token)), || {
        LiveSessionToken::from_base64(&lst_case.expect_live_session_token)
    });
    steps.push(outcome);
    let expected_signature = &lst_case.expect_live_session_token_signature;
    let token = match token {
        Ok(token) => token,
        Err(e) => {
            // load() checked this base64, so this is unreachable in practice; report, don't panic.
            steps.push(compare(
                "live_session_token_signature",
                true,
                expected_signature,
                Err(e),
            ));
            return None;
        }
    };
    let mut outcome = compare(
        "live_session_token_signature",
        true,
        expected_signature,
        Ok(token.signature(&raw.consumer_key)),
    );
    if outcome.is_ok() && !token.validate(&raw.consumer_key, expected_signature) {
        outcome.status = StepStatus::Failed {
            expected: Secret::new(expected_signature.clone()),
            error: "the constant-time validation disagrees with the computed signature".into(),
        };
    }
    steps.push(outcome);
    Some(token)
}

/// 9: each ordinary request's base string and signature (HMAC with the LST, or RSA-SHA256).
fn request_steps(file: &VectorFile, token: &LiveSessionToken, steps: &mut Vec<StepOutcome>) {
    for (index, case) in file.raw.requests.iter().enumerate() {
        let oauth: Vec<(&str, &str)> = case.oauth.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let form: Vec<(&str, &str)> = case.form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = SigningRequest {
            method: &case.method,
            url: &case.url,
            form: &form,
            oauth: &oauth,
        };
        let base = base_string(&request, QueryConvention::InBaseString);
        let outcome = compare(
            format!("requests[{index}].base_string"),
            false,
            &case.expect_base_string,
            Ok(base.clone()),
        );
        let base = carry(&outcome, Some(base), || case.expect_base_string.clone());
        steps.push(outcome);

        let method = case
            .oauth
            .get("oauth_signature_method")
            .and_then(|m| SignatureMethod::parse(m));
        let signature = match method {
            Some(SignatureMethod::RsaSha256) => sign::rsa_sha256(&file.signature_key, base.as_bytes()),
            _ => match &case.lst {
                Some(text) => LiveSessionToken::from_base64(text).map(|t| sign::hmac_sha256(&t, base.as_bytes())),
                None => Ok(sign::hmac_sha256(token, base.as_bytes())),
            },
        };
        steps.push(compare(
            format!("requests[{index}].signature"),
            true,
            &case.expect_signature,
            signature,
        ));
    }
}
