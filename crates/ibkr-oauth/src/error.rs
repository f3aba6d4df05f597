//! Errors of the OAuth core. Each says which input was wrong and, where we know, what to do.

/// What went wrong while parsing a credential or computing a step of the flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not PEM at all (no `-----BEGIN ...-----` block, or bad base64 inside).
    #[error("not a readable PEM block ({0}); expected text starting with -----BEGIN ...-----")]
    Pem(String),
    /// A PEM block of the wrong kind, e.g. a public key where a private key belongs.
    #[error("found a `{found}` PEM block where {expected} was expected; {hint}")]
    PemLabel {
        /// The label found.
        found: String,
        /// What belongs there.
        expected: &'static str,
        /// What to do about it.
        hint: &'static str,
    },
    /// The key's DER was rejected by the RSA library.
    #[error("the RSA private key was rejected ({0}); check that the file is an unencrypted 2048-bit RSA key")]
    KeyRejected(String),
    /// The DH parameters could not be read or are unusable.
    #[error("Diffie-Hellman parameters: {0}")]
    DhParams(String),
    /// A value that should be hex is not.
    #[error("{field} is not valid hex: {reason}")]
    Hex {
        /// The value's name.
        field: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// A value that should be base64 is not.
    #[error("{field} is not valid base64: {reason}")]
    Base64 {
        /// The value's name.
        field: String,
        /// What the decoder said.
        reason: String,
    },
    /// RSA PKCS#1 v1.5 decryption failed: wrong key, or the ciphertext is damaged.
    #[error(
        "the access token secret does not decrypt with this encryption key ({bytes} bytes of ciphertext for a {key_bytes}-byte key); check that IB_ENCRYPTION_KEY_PATH is private_encryption.pem and the secret is copied whole"
    )]
    Decrypt {
        /// Length of the ciphertext.
        bytes: usize,
        /// Length of the key's modulus.
        key_bytes: usize,
    },
    /// The RSA library refused to sign.
    #[error("RSA-SHA256 signing failed")]
    Sign,
    /// The server's Diffie-Hellman response is not a usable public value.
    #[error("diffie_hellman_response {0}")]
    DhResponse(&'static str),
    /// An Authorization header could not be parsed.
    #[error("Authorization header: {0}")]
    Header(String),
    /// The randomness source failed.
    #[error("the system random number generator failed")]
    Random,
}
