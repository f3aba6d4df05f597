//! Randomness as an input: the OAuth core never draws random numbers by itself, so tests and
//! known-answer vectors can fix every value.

use super::error::Error;

/// A source of random bytes. Production uses [`SystemRandom`]; tests pass fixed bytes.
pub trait RandomSource {
    /// Fills `dest` completely.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's CSPRNG, through aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        aws_lc_rs::rand::fill(dest).map_err(|_| Error::Random)
    }
}
