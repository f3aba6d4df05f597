//! Signatures: RSA-SHA256 (PKCS#1 v1.5) with the signature key for the LST request, and
//! HMAC-SHA256 with the LST's bytes for every other request. Both are base64, not yet URL-encoded.

use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::error::Error;
use super::keys::RsaPrivateKey;
use super::lst::LiveSessionToken;

/// The two signature methods IBKR uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// The LST request (and the 2018 token requests).
    RsaSha256,
    /// Every request after the LST, keyed with it.
    HmacSha256,
}

impl SignatureMethod {
    /// The `oauth_signature_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaSha256 => "RSA-SHA256",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Parses an `oauth_signature_method` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "RSA-SHA256" => Some(Self::RsaSha256),
            "HMAC-SHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }
}

/// base64 RSA-SHA256 (PKCS#1 v1.5) signature of `data` with a parsed private key.
pub fn rsa_sha256(key: &RsaPrivateKey, data: &[u8]) -> Result<String, Error> {
    let pair = key.signing_key();
    let mut signature = vec![0u8; pair.public_modulus_len()];
    // aws-lc-rs ignores the RNG argument for PKCS#1 v1.5 (deterministic padding).
    pair.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        data,
        &mut signature,
    )
    .map_err(|_| Error::Sign)?;
    Ok(BASE64.encode(&signature))
}

/// The hash inside a signature: SHA-256 is IBKR's; SHA-1 only ever as a client's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256.
    Sha256,
    /// SHA-1.
    Sha1,
}

/// Checks a base64 RSA-SHA256 signature against a PKCS#1 `RSAPublicKey` DER.
pub fn verify_rsa_sha256(public_key_pkcs1_der: &[u8], data: &[u8], signature_b64: &str) -> bool {
    verify_rsa(public_key_pkcs1_der, Digest::Sha256, data, signature_b64)
}

/// Checks a base64 RSA PKCS#1 v1.5 signature with the given hash.
pub fn verify_rsa(public_key_pkcs1_der: &[u8], digest: Digest, data: &[u8], signature_b64: &str) -> bool {
    let Ok(signature) = BASE64.decode(signature_b64) else {
        return false;
    };
    let algorithm = match digest {
        Digest::Sha256 => &RSA_PKCS1_2048_8192_SHA256,
        Digest::Sha1 => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
    };
    UnparsedPublicKey::new(algorithm, public_key_pkcs1_der)
        .verify(data, &signature)
        .is_ok()
}

fn hmac_sha256_mac(lst: &LiveSessionToken, data: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(lst.expose_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac
}

/// base64 HMAC-SHA256 of `data`, keyed with the LST's bytes.
pub fn hmac_sha256(lst: &LiveSessionToken, data: &[u8]) -> String {
    BASE64.encode(hmac_sha256_mac(lst, data).finalize().into_bytes())
}

/// Length of a base64 HMAC-SHA256 signature.
pub const HMAC_SHA256_BASE64_LEN: usize = 44;

/// [`hmac_sha256`] into a fixed array, for the per-request path: no allocation.
pub fn hmac_sha256_base64(lst: &LiveSessionToken, data: &[u8]) -> [u8; HMAC_SHA256_BASE64_LEN] {
    let mut out = [0u8; HMAC_SHA256_BASE64_LEN];
    BASE64
        .encode_slice(hmac_sha256_mac(lst, data).finalize().into_bytes(), &mut out)
        .unwrap_or_else(|_| unreachable!("32 bytes are 44 in base64"));
    out
}

/// Checks a base64 HMAC-SHA256 signature in constant time.
pub fn verify_hmac_sha256(lst: &LiveSessionToken, data: &[u8], signature_b64: &str) -> bool {
    let Ok(signature) = BASE64.decode(signature_b64) else {
        return false;
    };
    hmac_sha256_mac(lst, data).verify_slice(&signature).is_ok()
}
