//! A wrapper for secret-bearing values: it never prints its contents and wipes them on drop.
//!
//! Leaking a secret takes an explicit [`Secret::expose`], which makes every such place easy to
//! find in review.

use std::fmt;
use zeroize::Zeroize;

/// A value that must not reach a terminal, a log or a report.
///
/// `Debug` and `Display` print `[redacted]`; the memory is zeroized when the value is dropped.
pub struct Secret<T: Zeroize>(T);

/// Secret raw bytes: a decrypted access token secret, K, the LST, a DH exponent.
pub type SecretBytes = Secret<Vec<u8>>;
/// Secret text: the prepend, a base string that starts with it, a private key's PEM.
pub type SecretString = Secret<String>;

impl<T: Zeroize> Secret<T> {
    /// Takes ownership of `value`; from now on it is only reachable through [`Secret::expose`].
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value itself. Call sites are the places where a secret can leak: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A short, non-reversible label for a secret so two values can be compared by eye:
/// `sha256:` and the first 8 hex digits of the SHA-256 of the bytes.
pub fn fingerprint(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    format!("sha256:{}", hex::encode(&digest[..4]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = SecretString::new("4766f306ad7408bb".to_owned());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "4766f306ad7408bb");
    }

    #[test]
    fn fingerprint_is_short_and_stable() {
        // SHA-256("abc") = ba7816bf...
        assert_eq!(fingerprint(b"abc"), "sha256:ba7816bf");
    }
}
