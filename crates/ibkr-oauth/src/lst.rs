//! The live session token: decrypting the access token secret, the prepend, deriving the LST
//! from K, and checking it against the server's `live_session_token_signature`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::dh::SharedSecret;
use super::error::Error;
use super::keys::RsaPrivateKey;
use super::secret::{Secret, SecretBytes, SecretString};

/// The decrypted access token secret: the HMAC-SHA1 data for the LST.
pub type AccessTokenSecret = SecretBytes;
/// The decrypted access token secret as lowercase hex, put in front of the LST base string.
pub type Prepend = SecretString;

/// Decodes a base64 value, naming `field` and the usual causes when it is not base64.
pub fn decode_base64(field: &str, text: &str) -> Result<Vec<u8>, Error> {
    BASE64.decode(text).map_err(|e| {
        let hint = if !text.len().is_multiple_of(4) {
            format!(
                "{e}; its length {} is not a multiple of 4: was it truncated or padded with spaces?",
                text.len()
            )
        } else {
            e.to_string()
        };
        Error::Base64 {
            field: field.to_owned(),
            reason: hint,
        }
    })
}

/// Decrypts the access token secret (base64 RSA PKCS#1 v1.5 ciphertext) with the encryption key.
pub fn decrypt_access_token_secret(key: &RsaPrivateKey, secret_b64: &str) -> Result<AccessTokenSecret, Error> {
    let ciphertext = decode_base64("access token secret", secret_b64)?;
    let decrypting = key.decrypting_key();
    let mut buffer = zeroize::Zeroizing::new(vec![0u8; decrypting.min_output_size()]);
    let plain = decrypting
        .decrypt(&ciphertext, buffer.as_mut_slice())
        .map_err(|_| Error::Decrypt {
            bytes: ciphertext.len(),
            key_bytes: decrypting.key_size_bytes(),
        })?;
    Ok(Secret::new(plain.to_vec()))
}

/// The prepend: the decrypted secret as lowercase hex.
pub fn prepend(secret: &AccessTokenSecret) -> Prepend {
    Secret::new(hex::encode(secret.expose()))
}

/// The live session token: 20 bytes of HMAC-SHA1 output, the key of every later request's
/// HMAC-SHA256. It is used as bytes, never as its base64 text.
#[derive(Clone)]
pub struct LiveSessionToken(SecretBytes);

impl std::fmt::Debug for LiveSessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveSessionToken([redacted])")
    }
}

impl LiveSessionToken {
    /// LST = HMAC-SHA1(key = K bytes, data = decrypted access token secret).
    pub fn derive(k: &SharedSecret, secret: &AccessTokenSecret) -> Self {
        Self(Secret::new(hmac_sha1(k.expose(), secret.expose()).to_vec()))
    }

    /// Reads an LST from its base64 form.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        decode_base64("live session token", text).map(|b| Self(Secret::new(b)))
    }

    /// The LST as base64, as IBKR's documents and clients print it. Secret.
    pub fn to_base64(&self) -> SecretString {
        Secret::new(BASE64.encode(self.0.expose()))
    }

    /// The raw bytes, the HMAC-SHA256 key for requests.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose()
    }

    /// hex HMAC-SHA1(key = LST bytes, data = consumer key): what the server returns as
    /// `live_session_token_signature`.
    pub fn signature(&self, consumer_key: &str) -> String {
        hex::encode(hmac_sha1(self.0.expose(), consumer_key.as_bytes()))
    }

    /// Checks the server's `live_session_token_signature` in constant time (case-insensitive hex).
    pub fn validate(&self, consumer_key: &str, server_signature_hex: &str) -> bool {
        use subtle::ConstantTimeEq;
        let Ok(expected) = hex::decode(server_signature_hex.trim()) else {
            return false;
        };
        let ours = hmac_sha1(self.0.expose(), consumer_key.as_bytes());
        ours.as_slice().ct_eq(&expected).into()
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}
