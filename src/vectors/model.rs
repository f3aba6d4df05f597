//! Format 1 of the known-answer vector files, as JSON (see `vector-format.md` in the README).
//! Unknown keys are rejected so that a misspelt expectation cannot be skipped silently.

use serde::Deserialize;

/// A vector file as written on disk; [`super::load`] checks and decodes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVectorFile {
    pub format: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub consumer_key: String,
    pub realm: String,
    pub signature_key_pem: String,
    pub encryption_key_pem: String,
    pub dh_param_pem: String,
    pub dh_prime_hex: String,
    pub dh_generator_hex: String,
    pub access_token: String,
    pub access_token_secret: String,
    pub expect_access_token_secret_plain_b64: String,
    pub expect_prepend_hex: String,
    pub live_session_token: RawLstCase,
    #[serde(default)]
    pub requests: Vec<RawRequestCase>,
}

/// The LST request and every value derived along the handshake.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLstCase {
    pub method: String,
    pub url: String,
    pub nonce: String,
    pub timestamp: String,
    pub dh_random_hex: String,
    pub expect_dh_challenge_hex: String,
    pub expect_base_string: String,
    pub expect_signature: String,
    pub dh_response_hex: String,
    pub expect_shared_secret_hex: String,
    pub expect_live_session_token: String,
    pub expect_live_session_token_signature: String,
}

/// An ordinary signed request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequestCase {
    pub name: String,
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub form: Vec<(String, String)>,
    pub oauth: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub lst: Option<String>,
    pub expect_base_string: String,
    pub expect_signature: String,
}
