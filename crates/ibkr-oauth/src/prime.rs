//! Safe primes for fresh DH groups (`keys generate --dh-generate`): p = 2q + 1 with p and q prime.
//!
//! Slow by nature (a 2048-bit safe prime takes minutes), which is why the default group is
//! RFC 7919 ffdhe2048.

use num_bigint::BigUint;
use num_traits::{One, Zero};

use super::error::Error;
use super::random::RandomSource;

/// Small primes for trial division of both q and 2q + 1.
fn small_primes() -> Vec<u32> {
    let limit = 2000u32;
    let mut sieve = vec![true; limit as usize];
    let mut primes = Vec::new();
    for n in 2..limit {
        if sieve[n as usize] {
            primes.push(n);
            let mut m = n * n;
            while m < limit {
                sieve[m as usize] = false;
                m += n;
            }
        }
    }
    primes
}

fn random_below(rng: &mut dyn RandomSource, bound: &BigUint) -> Result<BigUint, Error> {
    let bytes = (bound.bits() as usize).div_ceil(8) + 8;
    let mut buffer = vec![0u8; bytes];
    rng.fill(&mut buffer)?;
    Ok(BigUint::from_bytes_be(&buffer) % bound)
}

/// Miller-Rabin with `rounds` random bases: false means composite for sure.
pub fn is_probable_prime(n: &BigUint, rounds: usize, rng: &mut dyn RandomSource) -> Result<bool, Error> {
    let two = BigUint::from(2u8);
    if *n < two {
        return Ok(false);
    }
    if *n == two || *n == BigUint::from(3u8) {
        return Ok(true);
    }
    if !n.bit(0) {
        return Ok(false);
    }
    let n_minus_1 = n - 1u8;
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    let range = n - 3u8;
    'witness: for _ in 0..rounds {
        let a = random_below(rng, &range)? + 2u8;
        let mut x = a.modpow(&d, n);
        if x.is_one() || x == n_minus_1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&two, n);
            if x == n_minus_1 {
                continue 'witness;
            }
        }
        return Ok(false);
    }
    Ok(true)
}

/// A random safe prime of exactly `bits` bits (at least 16).
pub fn generate_safe_prime(bits: u64, rng: &mut dyn RandomSource) -> Result<BigUint, Error> {
    if bits < 16 {
        return Err(Error::DhParams(format!("{bits} bits is too small for a safe prime")));
    }
    let primes = small_primes();
    let bytes = (bits as usize - 1).div_ceil(8);
    loop {
        let mut buffer = vec![0u8; bytes];
        rng.fill(&mut buffer)?;
        let mut q = BigUint::from_bytes_be(&buffer);
        // Exactly bits-1 bits for q, odd, so p = 2q+1 has exactly `bits` bits.
        let excess = bytes as u64 * 8 - (bits - 1);
        q >>= excess;
        q.set_bit(bits - 2, true);
        q.set_bit(0, true);
        let sieved = primes.iter().all(|&sp| {
            let r = (&q % sp).to_u32_digits().first().copied().unwrap_or(0);
            let sp_big = BigUint::from(sp);
            // q divisible by sp, or p = 2q+1 divisible by sp, rules the pair out (unless equal).
            (r != 0 || q == sp_big) && (2 * u64::from(r) + 1) % u64::from(sp) != 0
        });
        if !sieved || q.is_zero() {
            continue;
        }
        if !is_probable_prime(&q, 1, rng)? {
            continue;
        }
        let p: BigUint = (&q << 1u8) + 1u8;
        if is_probable_prime(&p, 24, rng)? && is_probable_prime(&q, 24, rng)? {
            return Ok(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRandom;

    #[test]
    fn known_primes_and_composites() {
        let mut rng = SystemRandom;
        for p in [2u64, 3, 5, 7919, 2_147_483_647, 0xffff_ffff_ffff_ffc5] {
            assert!(is_probable_prime(&BigUint::from(p), 16, &mut rng).unwrap(), "{p}");
        }
        // Carmichael numbers fool Fermat but not Miller-Rabin.
        for c in [0u64, 1, 4, 561, 1105, 1729, 2_147_483_649, 0xffff_ffff_ffff_ffc3] {
            assert!(!is_probable_prime(&BigUint::from(c), 16, &mut rng).unwrap(), "{c}");
        }
    }

    #[test]
    fn small_safe_prime_is_safe_and_sized() {
        let mut rng = SystemRandom;
        let p = generate_safe_prime(128, &mut rng).unwrap();
        assert_eq!(p.bits(), 128);
        let q = (&p - 1u8) >> 1u8;
        assert!(is_probable_prime(&p, 32, &mut rng).unwrap());
        assert!(is_probable_prime(&q, 32, &mut rng).unwrap());
    }
}
