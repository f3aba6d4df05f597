//! Credentials parsed once: RSA private keys (PKCS#1 or PKCS#8 PEM) and DH parameters
//! (PKCS#3 PEM or hex). Signing and decryption reuse the parsed keys; nothing re-parses.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey};
use num_bigint::BigUint;
use num_traits::One;
use zeroize::Zeroize;

use super::der;
use super::error::Error;

/// How a private key PEM was encoded, so diagnostics can report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `-----BEGIN RSA PRIVATE KEY-----`
    Pkcs1,
    /// `-----BEGIN PRIVATE KEY-----`
    Pkcs8,
}

/// Facts noticed while reading a PEM file that are worth telling the user about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PemNotes {
    /// The file had Windows (CRLF) line endings.
    pub crlf: bool,
    /// Lines had leading or trailing spaces or tabs.
    pub stray_whitespace: bool,
}

/// One PEM block after tolerant reading: label, DER bytes and what had to be cleaned up.
struct PemBlock {
    label: String,
    der: Vec<u8>,
    notes: PemNotes,
}

impl Drop for PemBlock {
    fn drop(&mut self) {
        self.der.zeroize();
    }
}

/// Reads the first PEM block, accepting CRLF line endings and spaces around lines.
fn read_pem(text: &str) -> Result<PemBlock, Error> {
    let mut notes = PemNotes {
        crlf: text.contains("\r\n"),
        stray_whitespace: false,
    };
    let mut cleaned = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.len() != line.trim_end_matches('\r').len() {
            notes.stray_whitespace = true;
        }
        if !trimmed.is_empty() {
            cleaned.push_str(trimmed);
            cleaned.push('\n');
        }
    }
    let parsed = pem::parse(&cleaned).map_err(|e| Error::Pem(e.to_string()));
    cleaned.zeroize();
    let parsed = parsed?;
    Ok(PemBlock {
        label: parsed.tag().to_owned(),
        der: parsed.into_contents(),
        notes,
    })
}

/// An RSA private key, parsed once, able to sign (RSA-SHA256) and decrypt (PKCS#1 v1.5).
///
/// IBKR hands out two: `private_signature.pem` signs the LST request, `private_encryption.pem`
/// decrypts the access token secret. The type does not print itself.
pub struct RsaPrivateKey {
    signing: KeyPair,
    decrypting: Pkcs1PrivateDecryptingKey,
    format: KeyFormat,
    notes: PemNotes,
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("bits", &self.bits())
            .field("format", &self.format)
            .field("public_fingerprint", &self.public_key_fingerprint())
            .finish_non_exhaustive()
    }
}

impl RsaPrivateKey {
    /// Parses a PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`) PEM.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let block = read_pem(text)?;
        let (signing, format) = match block.label.as_str() {
            "PRIVATE KEY" => (KeyPair::from_pkcs8(&block.der), KeyFormat::Pkcs8),
            "RSA PRIVATE KEY" => (KeyPair::from_der(&block.der), KeyFormat::Pkcs1),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(Error::PemLabel {
                    found: block.label.clone(),
                    expected: "an unencrypted RSA private key",
                    hint: "decrypt it first: openssl pkey -in KEY.pem -out private.pem",
                });
            }
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {
                return Err(Error::PemLabel {
                    found: block.label.clone(),
                    expected: "an RSA private key",
                    hint: "this is the public half (the one uploaded to IBKR); point to private_signature.pem or private_encryption.pem",
                });
            }
            _ => {
                return Err(Error::PemLabel {
                    found: block.label.clone(),
                    expected: "an RSA private key (`PRIVATE KEY` or `RSA PRIVATE KEY`)",
                    hint: "point to the private key file written by openssl genrsa",
                });
            }
        };
        let signing = signing.map_err(|e| Error::KeyRejected(e.to_string()))?;
        // The decrypting key type only reads PKCS#8; the key pair writes it for us, also for PKCS#1 input.
        let pkcs8 = signing
            .as_der()
            .map_err(|_| Error::KeyRejected("could not re-encode as PKCS#8".into()))?;
        let decrypting = PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref())
            .map_err(|e| Error::KeyRejected(e.to_string()))
            .and_then(|k| {
                Pkcs1PrivateDecryptingKey::new(k)
                    .map_err(|_| Error::KeyRejected("not usable for PKCS#1 v1.5 decryption".into()))
            })?;
        Ok(Self {
            signing,
            decrypting,
            format,
            notes: block.notes,
        })
    }

    /// Key size in bits (IBKR expects 2048).
    pub fn bits(&self) -> usize {
        self.signing.public_modulus_len() * 8
    }

    /// Whether the PEM was PKCS#1 or PKCS#8.
    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// What the tolerant PEM reader had to clean up.
    pub fn pem_notes(&self) -> PemNotes {
        self.notes
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER (what `public_*.pem` holds).
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        self.signing
            .public_key()
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER, the form signature verification takes.
    pub fn public_key_pkcs1_der(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        self.signing.public_key().as_ref().to_vec()
    }

    /// SHA-256 of the public key's SubjectPublicKeyInfo DER, hex, to compare with what was uploaded
    /// (`openssl pkey -pubin -in public.pem -outform DER | sha256sum` prints the same).
    pub fn public_key_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.public_key_spki_der()))
    }

    pub(crate) fn signing_key(&self) -> &KeyPair {
        &self.signing
    }

    pub(crate) fn decrypting_key(&self) -> &Pkcs1PrivateDecryptingKey {
        &self.decrypting
    }
}

/// A Diffie-Hellman group: prime p and generator g (already reduced mod p).
#[derive(Clone, PartialEq, Eq)]
pub struct DhParams {
    prime: BigUint,
    generator: BigUint,
}

impl std::fmt::Debug for DhParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhParams")
            .field("prime_bits", &self.prime_bits())
            .field("generator", &format_args!("{:x}", self.generator))
            .finish()
    }
}

impl DhParams {
    /// Builds a group from numbers, checking that it can be used at all.
    ///
    /// IBKR's 2018 example has a generator larger than the prime: it is reduced mod p, as
    /// Java's `modPow` effectively does.
    pub fn new(prime: BigUint, generator: BigUint) -> Result<Self, Error> {
        if prime.bits() < 64 || !prime.bit(0) {
            return Err(Error::DhParams(format!(
                "the prime must be odd and large; this one has {} bits",
                prime.bits()
            )));
        }
        let generator = generator % &prime;
        if generator <= BigUint::one() || generator == &prime - 1u8 {
            return Err(Error::DhParams("the generator is 0, 1 or p-1 modulo the prime".into()));
        }
        Ok(Self { prime, generator })
    }

    /// Reads `dhparam.pem` (PKCS#3 `-----BEGIN DH PARAMETERS-----`).
    pub fn from_pkcs3_pem(text: &str) -> Result<Self, Error> {
        let block = read_pem(text)?;
        if block.label != "DH PARAMETERS" {
            return Err(Error::PemLabel {
                found: block.label.clone(),
                expected: "`DH PARAMETERS` (PKCS#3)",
                hint: "IBKR's dhparam.pem comes from `openssl dhparam -outform PEM 2048`; an X9.42 `X9.42 DH PARAMETERS` file will not do",
            });
        }
        let numbers =
            der::parse_integer_sequence(&block.der).map_err(|e| Error::DhParams(format!("not PKCS#3 DER: {e}")))?;
        match numbers.as_slice() {
            [p, g] | [p, g, _] => Self::new(p.clone(), g.clone()),
            _ => Err(Error::DhParams(format!(
                "PKCS#3 holds a prime, a generator and optionally a length; found {} integers",
                numbers.len()
            ))),
        }
    }

    /// Builds a group from hex prime and generator (no `0x`).
    pub fn from_hex(prime_hex: &str, generator_hex: &str) -> Result<Self, Error> {
        let prime = parse_hex_uint("dh_prime_hex", prime_hex)?;
        let generator = parse_hex_uint("dh_generator_hex", generator_hex)?;
        Self::new(prime, generator)
    }

    /// The group as a PKCS#3 PEM, as `openssl dhparam` writes it.
    pub fn to_pkcs3_pem(&self) -> String {
        let der = der::encode_integer_sequence(&[&self.prime, &self.generator]);
        encode_pem("DH PARAMETERS", &der)
    }

    /// The prime p.
    pub fn prime(&self) -> &BigUint {
        &self.prime
    }

    /// The generator g.
    pub fn generator(&self) -> &BigUint {
        &self.generator
    }

    /// Size of the prime in bits (IBKR's portal asks for 2048).
    pub fn prime_bits(&self) -> u64 {
        self.prime.bits()
    }
}

/// Parses a hex number (either case, no `0x`), naming `field` on error.
pub fn parse_hex_uint(field: &'static str, text: &str) -> Result<BigUint, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Hex {
            field,
            reason: "empty".into(),
        });
    }
    if let Some(pos) = text.find(|c: char| !c.is_ascii_hexdigit()) {
        return Err(Error::Hex {
            field,
            reason: format!(
                "character {:?} at position {pos}",
                text[pos..].chars().next().unwrap_or('?')
            ),
        });
    }
    BigUint::parse_bytes(text.as_bytes(), 16).ok_or(Error::Hex {
        field,
        reason: "not a number".into(),
    })
}

/// A fresh 2048-bit RSA private key as PKCS#8 PEM, for `keys generate` and the embedded mock.
/// (The key is drawn by aws-lc's own CSPRNG: the one place randomness is not passed in.)
pub fn generate_rsa_2048_pem() -> Result<super::SecretString, Error> {
    let pair = KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| Error::KeyRejected("key generation failed".into()))?;
    let der = pair
        .as_der()
        .map_err(|_| Error::KeyRejected("could not encode the new key".into()))?;
    Ok(super::Secret::new(encode_pem("PRIVATE KEY", der.as_ref())))
}

/// A public key (SubjectPublicKeyInfo DER) as a `PUBLIC KEY` PEM, what IBKR's portal takes.
pub fn public_key_pem(spki_der: &[u8]) -> String {
    encode_pem("PUBLIC KEY", spki_der)
}

/// RSA PKCS#1 v1.5 encryption to a public key (SubjectPublicKeyInfo DER): what IBKR does to the
/// access token secret before handing it out.
pub fn encrypt_pkcs1(spki_der: &[u8], plain: &[u8]) -> Result<Vec<u8>, Error> {
    use aws_lc_rs::rsa::{Pkcs1PublicEncryptingKey, PublicEncryptingKey};
    let rejected = |what: &str| Error::KeyRejected(what.to_owned());
    let public = PublicEncryptingKey::from_der(spki_der).map_err(|e| rejected(&e.to_string()))?;
    let public = Pkcs1PublicEncryptingKey::new(public).map_err(|_| rejected("not an RSA encryption key"))?;
    let mut out = vec![0u8; public.ciphertext_size()];
    let len = public
        .encrypt(plain, &mut out)
        .map_err(|_| rejected("the plaintext is too long for this key"))?
        .len();
    out.truncate(len);
    Ok(out)
}

/// An RSA public key for checking signatures (what the mock holds for a consumer).
#[derive(Clone)]
pub struct RsaPublicKey {
    pkcs1_der: Vec<u8>,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublicKey(sha256:{})", self.fingerprint())
    }
}

impl RsaPublicKey {
    /// Reads a `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) PEM.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let block = read_pem(text)?;
        if !matches!(block.label.as_str(), "PUBLIC KEY" | "RSA PUBLIC KEY") {
            return Err(Error::PemLabel {
                found: block.label.clone(),
                expected: "an RSA public key (`PUBLIC KEY`)",
                hint: "point to public_signature.pem, the file uploaded to IBKR",
            });
        }
        let public = aws_lc_rs::rsa::PublicKey::from_der(&block.der).map_err(|e| Error::KeyRejected(e.to_string()))?;
        let spki_der = public
            .as_der()
            .map_err(|_| Error::KeyRejected("could not re-encode the public key".into()))?;
        Ok(Self {
            pkcs1_der: public.as_ref().to_vec(),
            spki_der: spki_der.as_ref().to_vec(),
        })
    }

    /// The public half of a private key.
    pub fn of(private: &RsaPrivateKey) -> Self {
        Self {
            pkcs1_der: private.public_key_pkcs1_der(),
            spki_der: private.public_key_spki_der(),
        }
    }

    /// The key as a `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        public_key_pem(&self.spki_der)
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER, hex.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&self.spki_der))
    }

    /// PKCS#1 `RSAPublicKey` DER, the form signature verification takes.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1_der
    }
}

/// PEM with Unix line endings, as OpenSSL writes it (the `pem` crate defaults to CRLF).
fn encode_pem(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der), config)
}
