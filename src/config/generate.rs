//! `keys generate`: a complete credential set like the one a user ends up with after IBKR's
//! self-service portal, plus the server-side file the mock reads.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::ServerCredentials;
use super::{ConfigError, Credentials};
use crate::oauth::keys::{encrypt_pkcs1, generate_rsa_2048_pem};
use crate::oauth::{DhParams, RandomSource, RsaPrivateKey, RsaPublicKey, Secret, SecretBytes, SecretString};

/// RFC 7919 ffdhe2048: a standard 2048-bit safe-prime group with generator 2.
pub const FFDHE2048_PRIME_HEX: &str = concat!(
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef9",
    "7d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935",
    "984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182b324fb61d108a94bb2c8e3fb",
    "b96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61",
    "9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa",
    "886b423861285c97ffffffffffffffff"
);

/// The RFC 7919 ffdhe2048 group.
pub fn ffdhe2048() -> DhParams {
    // A constant that is a valid group; `new` cannot reject it.
    DhParams::from_hex(FFDHE2048_PRIME_HEX, "2").unwrap_or_else(|e| unreachable!("ffdhe2048 is valid: {e}"))
}

/// Which DH group a generated set gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhChoice {
    /// RFC 7919 ffdhe2048: instant, and as good as a fresh group.
    Ffdhe2048,
    /// A fresh safe prime of this many bits (2048 takes minutes).
    Generate { bits: u64 },
}

/// File names, as IBKR's portal and the guide name them.
pub const PRIVATE_SIGNATURE: &str = "private_signature.pem";
pub const PUBLIC_SIGNATURE: &str = "public_signature.pem";
pub const PRIVATE_ENCRYPTION: &str = "private_encryption.pem";
pub const PUBLIC_ENCRYPTION: &str = "public_encryption.pem";
pub const DH_PARAM: &str = "dhparam.pem";
pub const ENV_FILE: &str = "ibkr.env";
pub const MOCK_SERVER_FILE: &str = "mock-server.json";

/// A freshly generated credential set, held in memory; [`GeneratedCredentials::write`] puts it on disk.
pub struct GeneratedCredentials {
    pub consumer_key: String,
    pub realm: String,
    pub access_token: String,
    access_token_secret: SecretString,
    secret_plain: SecretBytes,
    signature_private_pem: SecretString,
    encryption_private_pem: SecretString,
    signature_public: RsaPublicKey,
    encryption_public: RsaPublicKey,
    pub dh_params: DhParams,
}

impl GeneratedCredentials {
    /// Draws both RSA key pairs, an access token and a 32-byte secret encrypted to the encryption key.
    pub fn generate(
        consumer_key: &str,
        realm: &str,
        dh: DhChoice,
        rng: &mut dyn RandomSource,
    ) -> Result<Self, crate::oauth::Error> {
        let signature_private_pem = generate_rsa_2048_pem()?;
        let encryption_private_pem = generate_rsa_2048_pem()?;
        let signature_public = RsaPublicKey::of(&RsaPrivateKey::from_pem(signature_private_pem.expose())?);
        let encryption_key = RsaPrivateKey::from_pem(encryption_private_pem.expose())?;
        let mut token = [0u8; 10];
        rng.fill(&mut token)?;
        let mut plain = vec![0u8; 32];
        rng.fill(&mut plain)?;
        let ciphertext = encrypt_pkcs1(&encryption_key.public_key_spki_der(), &plain)?;
        let dh_params = match dh {
            DhChoice::Ffdhe2048 => ffdhe2048(),
            DhChoice::Generate { bits } => {
                DhParams::new(crate::oauth::prime::generate_safe_prime(bits, rng)?, 2u8.into())?
            }
        };
        Ok(Self {
            consumer_key: consumer_key.to_owned(),
            realm: realm.to_owned(),
            access_token: hex::encode(token),
            access_token_secret: Secret::new(BASE64.encode(ciphertext)),
            secret_plain: Secret::new(plain),
            signature_private_pem,
            encryption_private_pem,
            signature_public,
            encryption_public: RsaPublicKey::of(&encryption_key),
            dh_params,
        })
    }

    /// The client's view: everything needed to obtain an LST.
    pub fn credentials(&self) -> Result<Credentials, crate::oauth::Error> {
        Ok(Credentials {
            consumer_key: self.consumer_key.clone(),
            access_token: self.access_token.clone(),
            access_token_secret: self.access_token_secret.clone(),
            signature_key: RsaPrivateKey::from_pem(self.signature_private_pem.expose())?,
            encryption_key: RsaPrivateKey::from_pem(self.encryption_private_pem.expose())?,
            dh_params: self.dh_params.clone(),
            realm: self.realm.clone(),
            warnings: Vec::new(),
        })
    }

    /// The server's view: what IBKR (here, the mock) knows about this consumer.
    pub fn server(&self) -> ServerCredentials {
        ServerCredentials {
            consumer_key: self.consumer_key.clone(),
            realm: self.realm.clone(),
            access_token: self.access_token.clone(),
            access_token_secret_plain: self.secret_plain.clone(),
            signature_public_key: self.signature_public.clone(),
            dh_params: self.dh_params.clone(),
            encryption_public_key: Some(self.encryption_public.clone()),
            access_token_secret_encrypted: Some(self.access_token_secret.clone()),
        }
    }

    /// Writes every file into `dir` (created if needed), each mode 0600. Refuses a folder that
    /// already holds any of these files unless `force`. Returns the paths written.
    pub fn write(&self, dir: &Path, force: bool) -> Result<Vec<PathBuf>, ConfigError> {
        let write_error = |path: &Path, message: String| ConfigError::File {
            path: path.to_path_buf(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| write_error(dir, format!("cannot create the folder: {e}")))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| write_error(dir, format!("cannot resolve the folder: {e}")))?;
        let names = [
            PRIVATE_SIGNATURE,
            PUBLIC_SIGNATURE,
            PRIVATE_ENCRYPTION,
            PUBLIC_ENCRYPTION,
            DH_PARAM,
            ENV_FILE,
            MOCK_SERVER_FILE,
        ];
        let existing = names.iter().map(|n| dir.join(n)).find(|p| p.exists());
        if let (false, Some(existing)) = (force, existing) {
            return Err(write_error(
                &existing,
                "already exists; refusing to overwrite credentials (pass --force to replace them)".into(),
            ));
        }
        let path = |name: &str| dir.join(name);
        let env = format!(
            "# Written by ibkr-probe keys generate. Load with: set -a; . {env}; set +a\n\
             IB_CONSUMER_KEY={consumer}\nIB_ACCESS_TOKEN={token}\nIB_ACCESS_TOKEN_SECRET={secret}\n\
             IB_SIGNATURE_KEY_PATH={sig}\nIB_ENCRYPTION_KEY_PATH={enc}\nIB_DH_PARAM_PATH={dh}\nIB_REALM={realm}\n",
            env = path(ENV_FILE).display(),
            consumer = self.consumer_key,
            token = self.access_token,
            secret = self.access_token_secret.expose(),
            sig = path(PRIVATE_SIGNATURE).display(),
            enc = path(PRIVATE_ENCRYPTION).display(),
            dh = path(DH_PARAM).display(),
            realm = self.realm,
        );
        let env = Secret::new(env);
        let server = Secret::new(self.server().to_json());
        let files: [(&str, &str); 7] = [
            (PRIVATE_SIGNATURE, self.signature_private_pem.expose()),
            (PUBLIC_SIGNATURE, &self.signature_public.to_pem()),
            (PRIVATE_ENCRYPTION, self.encryption_private_pem.expose()),
            (PUBLIC_ENCRYPTION, &self.encryption_public.to_pem()),
            (DH_PARAM, &self.dh_params.to_pkcs3_pem()),
            (ENV_FILE, env.expose()),
            (MOCK_SERVER_FILE, server.expose()),
        ];
        let mut written = Vec::with_capacity(files.len());
        for (name, contents) in files {
            let target = path(name);
            super::write_private(&target, contents.as_bytes()).map_err(|e| write_error(&target, e.to_string()))?;
            written.push(target);
        }
        Ok(written)
    }
}
