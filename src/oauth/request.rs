//! The whole signing path of one request, from its parts to the `Authorization` header: what the
//! client sends and what the benchmarks time.

use super::base_string::{QueryConvention, SigningRequest, base_string, base_string_into, lst_base_string};
use super::error::Error;
use super::header::authorization_header;
use super::keys::RsaPrivateKey;
use super::lst::{LiveSessionToken, Prepend};
use super::sign::{self, SignatureMethod};

/// Who signs: the consumer, its access token, and the realm for the header.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub consumer_key: &'a str,
    pub access_token: &'a str,
    pub realm: &'a str,
}

/// The `Authorization` header of an ordinary request, signed HMAC-SHA256 with the LST.
pub fn hmac_authorization(
    identity: Identity<'_>,
    method: &str,
    url: &str,
    nonce: &str,
    timestamp: &str,
    token: &LiveSessionToken,
    convention: QueryConvention,
) -> String {
    let params = [
        ("oauth_consumer_key", identity.consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", SignatureMethod::HmacSha256.as_str()),
        ("oauth_timestamp", timestamp),
        ("oauth_token", identity.access_token),
    ];
    let request = SigningRequest {
        method,
        url,
        form: &[],
        oauth: &params,
    };
    // One buffer per thread for the base string: no allocation or UTF-8 check per request.
    thread_local! {
        static BASE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let signature = BASE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            base_string_into(&mut buffer, &request, convention);
            sign::hmac_sha256(token, &buffer)
        }
        Err(_) => sign::hmac_sha256(token, base_string(&request, convention).as_bytes()),
    });
    authorization_header(identity.realm, &params, &signature)
}

/// The `Authorization` header of the LST request: RSA-SHA256 over the prepend and the base string,
/// with the DH challenge among the parameters.
pub fn lst_authorization(
    identity: Identity<'_>,
    url: &str,
    nonce: &str,
    timestamp: &str,
    challenge_hex: &str,
    prepend: &Prepend,
    key: &RsaPrivateKey,
) -> Result<String, Error> {
    let params = [
        ("diffie_hellman_challenge", challenge_hex),
        ("oauth_consumer_key", identity.consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", SignatureMethod::RsaSha256.as_str()),
        ("oauth_timestamp", timestamp),
        ("oauth_token", identity.access_token),
    ];
    let request = SigningRequest {
        method: "POST",
        url,
        form: &[],
        oauth: &params,
    };
    let base = lst_base_string(prepend, &request, QueryConvention::InBaseString);
    let signature = sign::rsa_sha256(key, base.expose().as_bytes())?;
    Ok(authorization_header(identity.realm, &params, &signature))
}
