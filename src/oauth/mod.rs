//! IBKR's OAuth 1.0a flavour as pure functions: keys, the prepend, Diffie-Hellman, base strings,
//! RSA-SHA256, the live session token, HMAC-SHA256 request signatures and the Authorization
//! header. No I/O: the clock and randomness are passed in, so every value can be pinned by
//! known-answer vectors.

pub mod base_string;
mod der;
pub mod dh;
pub mod encode;
pub mod error;
pub mod header;
pub mod keys;
pub mod lst;
pub mod mistakes;
pub mod prime;
pub mod random;
pub mod request;
pub mod secret;
pub mod sign;

pub use base_string::{QueryConvention, SigningRequest, base_string, lst_base_string};
pub use dh::{DhExponent, SharedSecret};
pub use error::Error;
pub use keys::{DhParams, KeyFormat, RsaPrivateKey, RsaPublicKey};
pub use lst::{AccessTokenSecret, LiveSessionToken, Prepend};
pub use random::{RandomSource, SystemRandom};
pub use secret::{Secret, SecretBytes, SecretString, fingerprint};
pub use sign::SignatureMethod;
