//! Diffie-Hellman for the live session token: the challenge A = g^a mod p and the shared
//! secret K = B^a mod p, encoded the way IBKR's Java server encodes it.

use num_bigint::BigUint;
use num_traits::One;

pub use crate::der::java_bytes;

use super::error::Error;
use super::keys::{DhParams, parse_hex_uint};
use super::random::RandomSource;
use super::secret::{Secret, SecretBytes};

/// Bytes of the exponent ibind draws (256 bits), our default.
pub const DEFAULT_EXPONENT_BYTES: usize = 32;
/// Bytes of the exponent IBKR's JavaScript demo draws.
pub const IBKR_DEMO_EXPONENT_BYTES: usize = 25;

/// The consumer's private DH exponent a. Secret: with it and the challenge anyone can compute K.
pub struct DhExponent(SecretBytes);

impl std::fmt::Debug for DhExponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DhExponent([redacted])")
    }
}

impl DhExponent {
    /// Uses caller-chosen big-endian bytes (from a vector file, or a test).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Secret::new(bytes))
    }

    /// Draws `len` random bytes (32 for 256 bits, 25 like IBKR's demo).
    pub fn generate(rng: &mut dyn RandomSource, len: usize) -> Result<Self, Error> {
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    fn value(&self) -> BigUint {
        BigUint::from_bytes_be(self.0.expose())
    }
}

/// The shared secret K in Java `BigInteger.toByteArray()` form. It keys the HMAC-SHA1 that
/// yields the LST.
pub type SharedSecret = SecretBytes;

/// A = g^a mod p.
pub fn challenge(params: &DhParams, a: &DhExponent) -> BigUint {
    params.generator().modpow(&a.value(), params.prime())
}

/// The challenge as IBKR expects it in `diffie_hellman_challenge`: lowercase hex, no leading zeros.
pub fn challenge_hex(params: &DhParams, a: &DhExponent) -> String {
    format!("{:x}", challenge(params, a))
}

/// K = B^a mod p, from the server's `diffie_hellman_response` (hex).
///
/// B must lie in 2..=p-2: 0, 1 and p-1 would make K predictable, so a server sending them is broken.
pub fn shared_secret(params: &DhParams, a: &DhExponent, response_hex: &str) -> Result<SharedSecret, Error> {
    let b = parse_hex_uint("diffie_hellman_response", response_hex)?;
    let p = params.prime();
    if b <= BigUint::one() || b >= (p - 1u8) {
        return Err(Error::DhResponse("is outside 2..p-2: the server's value is unusable"));
    }
    let k = b.modpow(&a.value(), p);
    Ok(Secret::new(java_bytes(&k)))
}

#[cfg(test)]
mod tests {
    use num_traits::Zero;

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn java_bytes_edges() {
        assert_eq!(java_bytes(&BigUint::zero()), vec![0]);
        assert_eq!(java_bytes(&BigUint::from(0x7fu8)), vec![0x7f]);
        assert_eq!(java_bytes(&BigUint::from(0x80u8)), vec![0x00, 0x80]);
        assert_eq!(java_bytes(&BigUint::from(0x0100u16)), vec![0x01, 0x00]);
    }

    #[test]
    fn rejects_degenerate_responses() {
        let params = DhParams::new(BigUint::from(0xffff_ffff_ffff_ffc5u64), BigUint::from(5u8)).unwrap();
        let a = DhExponent::from_bytes(vec![7; 8]);
        for bad in ["0", "1", "ffffffffffffffc4", "ffffffffffffffc5", "ffffffffffffffff"] {
            assert!(shared_secret(&params, &a, bad).is_err(), "{bad}");
        }
        assert!(shared_secret(&params, &a, "zz").is_err());
        assert!(shared_secret(&params, &a, "2").is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Length follows Java's rule (bits/8 + 1) and decoding as signed big-endian gives n back.
        #[test]
        fn java_bytes_length_and_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let n = BigUint::from_bytes_be(&bytes);
            let out = java_bytes(&n);
            prop_assert_eq!(out.len() as u64, n.bits() / 8 + 1);
            prop_assert!(out[0] & 0x80 == 0, "a positive number never has its sign bit set");
            prop_assert_eq!(BigUint::from_bytes_be(&out), n);
        }
    }
}
