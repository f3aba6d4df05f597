//! What the server side knows about one consumer: the mock's `mock-server.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::oauth::{DhParams, RsaPublicKey, Secret, SecretBytes, SecretString};

/// The server's record of a consumer: its public keys, the access token and the access token
/// secret (IBKR encrypted it for the consumer, so it knows the plaintext and the ciphertext).
#[derive(Clone)]
pub struct ServerCredentials {
    pub consumer_key: String,
    pub realm: String,
    pub access_token: String,
    pub access_token_secret_plain: SecretBytes,
    pub signature_public_key: RsaPublicKey,
    pub dh_params: DhParams,
    /// For naming mistakes only (swapped keys, an undecrypted secret); older files lack them.
    pub encryption_public_key: Option<RsaPublicKey>,
    pub access_token_secret_encrypted: Option<SecretString>,
}

impl std::fmt::Debug for ServerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCredentials")
            .field("consumer_key", &self.consumer_key)
            .field("realm", &self.realm)
            .field("access_token", &self.access_token)
            .field("signature_public_key", &self.signature_public_key)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    format: u32,
    consumer_key: String,
    realm: String,
    access_token: String,
    access_token_secret_plain_hex: String,
    signature_public_key_pem: String,
    dh_param_pem: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption_public_key_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token_secret_b64: Option<String>,
}

impl ServerCredentials {
    /// The `mock-server.json` text. It holds the plain secret: written 0600, never printed.
    pub fn to_json(&self) -> String {
        let file = ServerFile {
            format: 1,
            consumer_key: self.consumer_key.clone(),
            realm: self.realm.clone(),
            access_token: self.access_token.clone(),
            access_token_secret_plain_hex: hex::encode(self.access_token_secret_plain.expose()),
            signature_public_key_pem: self.signature_public_key.to_pem(),
            dh_param_pem: self.dh_params.to_pkcs3_pem(),
            encryption_public_key_pem: self.encryption_public_key.as_ref().map(RsaPublicKey::to_pem),
            access_token_secret_b64: self.access_token_secret_encrypted.as_ref().map(|s| s.expose().clone()),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    /// Reads `mock-server.json` (as written by `keys generate`), naming the field on error.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = zeroize::Zeroizing::new(super::read_file("--credentials", path)?);
        let invalid = |message: String| ConfigError::File {
            path: path.to_path_buf(),
            message,
        };
        let file: ServerFile =
            serde_json::from_str(&text).map_err(|e| invalid(format!("not a mock-server.json: {e}")))?;
        let secret = hex::decode(&file.access_token_secret_plain_hex)
            .map_err(|e| invalid(format!("access_token_secret_plain_hex: {e}")))?;
        let invalid_field = |field: &str, e: crate::oauth::Error| invalid(format!("{field}: {e}"));
        Ok(Self {
            signature_public_key: RsaPublicKey::from_pem(&file.signature_public_key_pem)
                .map_err(|e| invalid_field("signature_public_key_pem", e))?,
            dh_params: DhParams::from_pkcs3_pem(&file.dh_param_pem).map_err(|e| invalid_field("dh_param_pem", e))?,
            encryption_public_key: file
                .encryption_public_key_pem
                .as_deref()
                .map(RsaPublicKey::from_pem)
                .transpose()
                .map_err(|e| invalid_field("encryption_public_key_pem", e))?,
            access_token_secret_encrypted: file.access_token_secret_b64.map(Secret::new),
            consumer_key: file.consumer_key,
            realm: file.realm,
            access_token: file.access_token,
            access_token_secret_plain: Secret::new(secret),
        })
    }
}
