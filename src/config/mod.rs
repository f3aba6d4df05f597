//! Credentials: where they come from (environment, `.env` files, a generated set) and the checked
//! form the client uses. Values are read once; keys are parsed once.

pub mod env;
pub mod generate;
mod server;

pub use server::ServerCredentials;

use std::path::{Path, PathBuf};

use crate::oauth::{DhParams, RsaPrivateKey, SecretString};

/// Realm for IBKR's public test consumer `TESTCONS`.
pub const TEST_REALM: &str = "test_realm";
/// Realm for consumer keys from the self-service portal.
pub const LIMITED_POA: &str = "limited_poa";

/// A complete, parsed credential set: what a client needs to obtain a live session token.
pub struct Credentials {
    pub consumer_key: String,
    pub access_token: String,
    /// The base64 RSA ciphertext as IBKR's portal hands it out.
    pub access_token_secret: SecretString,
    pub signature_key: RsaPrivateKey,
    pub encryption_key: RsaPrivateKey,
    pub dh_params: DhParams,
    pub realm: String,
    /// Things worth telling the user that do not stop a run (e.g. a key file others can read).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("consumer_key", &self.consumer_key)
            .field("access_token", &self.access_token)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// A credential value or file that is missing or unusable, named by its variable or path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Every required variable that is not set, each with what it should hold.
    #[error("not set: {}", missing_list(.0))]
    Missing(Vec<(&'static str, &'static str)>),
    #[error("{}: cannot read ({source}); check {variable}", path.display())]
    Unreadable {
        variable: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} ({variable}): {source}", path.display())]
    Invalid {
        variable: &'static str,
        path: PathBuf,
        source: crate::oauth::Error,
    },
    #[error("{}: line {line}: {message}", path.display())]
    EnvFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

fn missing_list(missing: &[(&str, &str)]) -> String {
    missing
        .iter()
        .map(|(variable, hint)| format!("{variable} ({hint})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes a file readable by its owner only (0600 on Unix), replacing any old one.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, contents)?;
    file.sync_all()
}

/// A file's permission bits (`0o600`), where the platform has them.
pub fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether group or others may read a file with these bits (a private key should be 0600).
pub fn readable_by_others(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// A warning when a private key file can be read by group or others.
pub fn permission_warning(path: &Path) -> Option<String> {
    let mode = file_mode(path).filter(|m| readable_by_others(*m))?;
    Some(format!(
        "warning: {} is readable by others (mode {mode:03o}); run chmod 600 {}",
        path.display(),
        path.display()
    ))
}

pub(crate) fn read_file(variable: &'static str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        variable,
        path: path.to_path_buf(),
        source,
    })
}
