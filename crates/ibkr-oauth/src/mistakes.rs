//! The catalogue of known client mistakes in IBKR's OAuth signing, in one place: `diagnose
//! compare` recomputes a user's values with each of them, and the mock, when a signature fails,
//! tries them against the signature it received and logs the one that reproduces it.
//!
//! A mistake is found by verification, not by signing: both sides hold the user's signature and
//! a public key (or the LST), and ask which candidate input it signs. That also covers RSA-SHA1,
//! which the signing library here does not produce.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};

use super::base_string::{QueryConvention, SigningRequest, base_string, query_pairs, split_url};
use super::encode::{Space, percent_decode, percent_encode};
use super::lst::{AccessTokenSecret, LiveSessionToken, Prepend};
use super::secret::{Secret, SecretBytes, SecretString};
use super::sign;
pub use super::sign::Digest;

/// One known mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mistake {
    /// The LST base string was signed without the prepend.
    PrependMissing,
    /// The prepend in uppercase hex.
    PrependUppercase,
    /// The prepend as base64 instead of hex.
    PrependBase64,
    /// The prepend taken from the still-encrypted secret's text.
    PrependEncryptedText,
    /// The prepend as the hex of the still-encrypted secret.
    PrependEncryptedHex,
    /// The LST request signed with the encryption key instead of the signature key.
    SignedWithEncryptionKey,
    /// RSA-SHA1 instead of RSA-SHA256.
    RsaSha1,
    /// `realm` included among the signed parameters.
    RealmInBaseString,
    /// `/` left unencoded in the base string.
    SlashUnencoded,
    /// Parameters in the order sent rather than sorted.
    ParametersUnsorted,
    /// The query string left in the URL part of the base string.
    QueryInUrl,
    /// The query parameters left out of the base string.
    QueryLeftOut,
    /// Parameter values percent-encoded twice.
    ValuesEncodedTwice,
    /// A signed URL with a trailing slash the request does not have.
    UrlTrailingSlash,
    /// A signed URL with another scheme (http for https).
    UrlScheme,
    /// A signed URL with another host.
    UrlHost,
    /// A signed URL without (or with another) `/v1/api` prefix.
    UrlPathPrefix,
    /// A signed method other than the request's.
    MethodDiffers,
    /// K without the sign byte Java's encoding adds.
    KUnsigned,
    /// K padded to the prime's length.
    KPadded,
    /// The LST derived with HMAC-SHA256 instead of HMAC-SHA1.
    LstHmacSha256,
    /// The LST computed over the prepend's hex text instead of its bytes.
    LstOverPrependText,
    /// The LST keyed with K's hex text instead of its bytes.
    LstKeyedWithKHex,
    /// The LST validated with its base64 text as the key.
    ValidationKeyText,
    /// The LST validated with HMAC-SHA256 instead of HMAC-SHA1.
    ValidationHmacSha256,
    /// Requests signed with the LST's base64 text as the HMAC key.
    LstAsText,
    /// Requests signed with HMAC-SHA1 instead of HMAC-SHA256.
    HmacSha1,
    /// The signature percent-encoded twice in the header.
    SignatureEncodedTwice,
    /// `oauth_timestamp` in milliseconds instead of seconds.
    TimestampMilliseconds,
}

impl Mistake {
    /// The mistake in words, with what IBKR expects instead.
    pub fn describe(self) -> &'static str {
        match self {
            Self::PrependMissing => {
                "the prepend is missing: the signature is over the base string without the prepend; put the decrypted access token secret (hex) in front"
            }
            Self::PrependUppercase => "the prepend is uppercase hex; IBKR expects lowercase",
            Self::PrependBase64 => "the prepend is base64, not hex, of the decrypted secret",
            Self::PrependEncryptedText => {
                "the prepend is the access token secret as the portal gave it: it was never decrypted with the encryption key"
            }
            Self::PrependEncryptedHex => {
                "the prepend is hex of the still-encrypted access token secret: decrypt it with the encryption key first"
            }
            Self::SignedWithEncryptionKey => {
                "the request was signed with the encryption key: the signature and encryption keys are swapped"
            }
            Self::RsaSha1 => "RSA-SHA1 was used; the live session token request is signed with RSA-SHA256",
            Self::RealmInBaseString => "realm is in the base string; it belongs only in the Authorization header",
            Self::SlashUnencoded => "the `/` in the URL is not percent-encoded in the base string",
            Self::ParametersUnsorted => "the parameters are not sorted by name in the base string",
            Self::QueryInUrl => {
                "the query string was left in the URL part of the base string; its pairs go, decoded, among the sorted parameters"
            }
            Self::QueryLeftOut => {
                "the query parameters are left out of the base string (IBKR also accepts that; this file expects them in)"
            }
            Self::ValuesEncodedTwice => "parameter values were percent-encoded twice",
            Self::UrlTrailingSlash => "the signed URL differs from the requested one by a trailing slash",
            Self::UrlScheme => "the signed URL's scheme (http/https) differs from the requested one",
            Self::UrlHost => "the signed URL's host differs from the requested one",
            Self::UrlPathPrefix => "the signed URL lacks (or repeats) the /v1/api prefix of the requested path",
            Self::MethodDiffers => "the signed method differs from the request's (or is not uppercase)",
            Self::KUnsigned => {
                "K lacks its leading 00 sign byte; Java's BigInteger.toByteArray() keeps it when the top bit is set"
            }
            Self::KPadded => {
                "K is padded to the prime's length; IBKR uses Java's BigInteger.toByteArray() (minimal, 00 only for the sign)"
            }
            Self::LstHmacSha256 => "the LST was computed with HMAC-SHA256; IBKR uses HMAC-SHA1",
            Self::LstOverPrependText => {
                "the LST was computed over the prepend's hex text instead of the secret's bytes"
            }
            Self::LstKeyedWithKHex => "the LST was keyed with K's hex text instead of its bytes",
            Self::ValidationKeyText => "the validation used the LST's base64 text as the key instead of its bytes",
            Self::ValidationHmacSha256 => "the validation used HMAC-SHA256; IBKR uses HMAC-SHA1",
            Self::LstAsText => "the LST's base64 text was used as the HMAC key instead of its decoded bytes",
            Self::HmacSha1 => "HMAC-SHA1 was used; IBKR's requests use HMAC-SHA256",
            Self::SignatureEncodedTwice => {
                "the signature was percent-encoded twice (it is encoded once, in the header only)"
            }
            Self::TimestampMilliseconds => "oauth_timestamp is in milliseconds; IBKR expects seconds",
        }
    }
}

/// A signed request, as a client built it or a server received it.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The request as signed: its `oauth` parameters in the order the client sent them.
    pub request: SigningRequest<'a>,
    /// The realm of the Authorization header.
    pub realm: &'a str,
}

impl<'a> Signed<'a> {
    /// IBKR's base string for this request (query in the base string, as the 2018 spec has it).
    fn correct_base(&self) -> String {
        base_string(&self.request, QueryConvention::InBaseString)
    }

    /// The request with another URL, method or parameters, as a mistaken client signs it.
    fn varied(&self, url: &'a str, method: &'a str, oauth: &'a [(&'a str, &'a str)]) -> SigningRequest<'a> {
        SigningRequest {
            method,
            url,
            form: self.request.form,
            oauth,
        }
    }
}

/// `METHOD & enc(url) & enc(pairs joined in the given order)`, for the variants that need an
/// order or a URL the correct construction never produces.
fn assemble<'p>(method: &str, url: &str, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
    let joined: Vec<String> = pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!(
        "{method}&{}&{}",
        percent_encode(url, Space::Plus),
        percent_encode(&joined.join("&"), Space::Plus)
    )
}

/// The base string with the URL's `/` left unencoded (as a client that encodes only the query).
pub fn slash_unencoded(base: &str) -> String {
    let mut parts = base.splitn(3, '&');
    let method = parts.next().unwrap_or("");
    let url = parts.next().unwrap_or("").replace("%2F", "/");
    let params = parts.next().unwrap_or("");
    format!("{method}&{url}&{params}")
}

/// URLs a client may have signed instead of `url`, each with its mistake.
fn url_variants(url: &str) -> Vec<(Mistake, String)> {
    let (base, query) = split_url(url);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let Some((scheme, rest)) = base.split_once("://") else {
        return Vec::new();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut out = Vec::new();
    let slash = match path.strip_suffix('/') {
        Some(trimmed) => trimmed.to_owned(),
        None => format!("{path}/"),
    };
    out.push((
        Mistake::UrlTrailingSlash,
        format!("{scheme}://{authority}{slash}{query}"),
    ));
    let other_scheme = if scheme == "https" { "http" } else { "https" };
    out.push((Mistake::UrlScheme, format!("{other_scheme}://{authority}{path}{query}")));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, format!(":{port}")),
        None => (authority, String::new()),
    };
    for other in ["localhost", "127.0.0.1", "api.ibkr.com"] {
        if other != host {
            out.push((Mistake::UrlHost, format!("{scheme}://{other}{port}{path}{query}")));
        }
    }
    let prefixed = match path.strip_prefix("/v1/api") {
        Some(bare) => bare.to_owned(),
        None => format!("/v1/api{path}"),
    };
    out.push((
        Mistake::UrlPathPrefix,
        format!("{scheme}://{authority}{prefixed}{query}"),
    ));
    out
}

/// Base strings a client making one mistake would have built for `signed`, without those of the
/// `accepted` conventions (a server takes both of IBKR's; a vector file expects one). The first
/// of a duplicate wins.
pub fn base_string_mistakes(signed: &Signed<'_>, accepted: &[QueryConvention]) -> Vec<(Mistake, String)> {
    let correct: Vec<String> = accepted.iter().map(|c| base_string(&signed.request, *c)).collect();
    let mut with_realm = signed.request.oauth.to_vec();
    with_realm.push(("realm", signed.realm));
    let mut out: Vec<(Mistake, String)> = Vec::new();
    for convention in [QueryConvention::InBaseString, QueryConvention::UrlOnly] {
        let request = signed.request;
        out.push((
            Mistake::RealmInBaseString,
            base_string(
                &signed.varied(signed.request.url, signed.request.method, &with_realm),
                convention,
            ),
        ));
        out.push((
            Mistake::SlashUnencoded,
            slash_unencoded(&base_string(&request, convention)),
        ));
        for (mistake, url) in url_variants(signed.request.url) {
            out.push((
                mistake,
                base_string(
                    &signed.varied(&url, signed.request.method, signed.request.oauth),
                    convention,
                ),
            ));
        }
        let mut methods = vec![signed.request.method.to_ascii_lowercase()];
        methods.extend(
            ["GET", "POST", "PUT", "DELETE"]
                .iter()
                .filter(|m| **m != signed.request.method)
                .map(|m| (*m).to_owned()),
        );
        for method in &methods {
            out.push((
                Mistake::MethodDiffers,
                base_string(
                    &signed.varied(signed.request.url, method, signed.request.oauth),
                    convention,
                ),
            ));
        }
    }
    out.push((
        Mistake::QueryLeftOut,
        base_string(&signed.request, QueryConvention::UrlOnly),
    ));
    out.push((
        Mistake::ValuesEncodedTwice,
        base_string(&signed.request, QueryConvention::PerValueEncoded),
    ));
    let (base_url, query) = split_url(signed.request.url);
    let mut sent_order: Vec<(String, String)> = Vec::new();
    let mut pairs = query_pairs(query);
    while let Some(pair) = pairs.next_pair() {
        sent_order.push((pair.name.into_owned(), pair.value.into_owned()));
    }
    sent_order.extend(
        signed
            .request
            .form
            .iter()
            .chain(signed.request.oauth)
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    out.push((
        Mistake::ParametersUnsorted,
        assemble(
            signed.request.method,
            base_url,
            sent_order.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        ),
    ));
    if !query.is_empty() {
        let mut sorted: Vec<(&str, &str)> = signed
            .request
            .form
            .iter()
            .chain(signed.request.oauth)
            .copied()
            .collect();
        sorted.sort_unstable();
        out.push((
            Mistake::QueryInUrl,
            assemble(signed.request.method, signed.request.url, sorted),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(_, base)| !correct.contains(base) && seen.insert(base.clone()));
    out
}

/// Which private or session key a candidate signs with.
#[derive(Clone)]
pub enum Key {
    /// The RSA signature key (its public half is what IBKR holds).
    Signature,
    /// The RSA encryption key: swapped keys.
    Encryption,
    /// An HMAC key: the LST's bytes or a mistaken stand-in for them.
    Hmac(SecretBytes),
}

/// One way a client may have produced its signature.
pub struct Candidate {
    /// The mistake this candidate reproduces (or the correct way, for the reference).
    pub mistake: Mistake,
    /// The signed text; secret for the LST request, which starts with the prepend.
    pub base: SecretString,
    /// The key it signs with.
    pub key: Key,
    /// The hash inside the signature.
    pub digest: Digest,
    /// The signature was percent-encoded once more than the header's own encoding.
    pub encoded_twice: bool,
}

impl Candidate {
    fn new(mistake: Mistake, base: String, key: Key) -> Self {
        Self {
            mistake,
            base: Secret::new(base),
            key,
            digest: Digest::Sha256,
            encoded_twice: false,
        }
    }
}

/// Prepends a client may have used instead of the right one, for the LST base string.
pub fn prepend_mistakes(secret: &AccessTokenSecret, encrypted_b64: Option<&str>) -> Vec<(Mistake, SecretString)> {
    let right = super::lst::prepend(secret);
    let mut out = vec![
        (Mistake::PrependMissing, Secret::new(String::new())),
        (Mistake::PrependUppercase, Secret::new(right.expose().to_uppercase())),
        (Mistake::PrependBase64, Secret::new(BASE64.encode(secret.expose()))),
    ];
    if let Some(encrypted) = encrypted_b64 {
        out.push((Mistake::PrependEncryptedText, Secret::new(encrypted.to_owned())));
        if let Ok(bytes) = BASE64.decode(encrypted) {
            out.push((Mistake::PrependEncryptedHex, Secret::new(hex::encode(bytes))));
        }
    }
    out
}

/// The conventions IBKR is seen to accept: a server's idea of correct.
pub const IBKR_ACCEPTS: &[QueryConvention] = &[QueryConvention::InBaseString, QueryConvention::UrlOnly];

/// Every single-mistake way of signing the LST request `signed` (RSA-SHA256 over the prepend
/// and the base string).
pub fn lst_request_candidates(
    signed: &Signed<'_>,
    accepted: &[QueryConvention],
    secret: &AccessTokenSecret,
    encrypted_b64: Option<&str>,
) -> Vec<Candidate> {
    let prepend: Prepend = super::lst::prepend(secret);
    let correct = signed.correct_base();
    let mut out: Vec<Candidate> = prepend_mistakes(secret, encrypted_b64)
        .into_iter()
        .map(|(mistake, p)| Candidate::new(mistake, format!("{}{correct}", p.expose()), Key::Signature))
        .collect();
    out.extend(
        base_string_mistakes(signed, accepted)
            .into_iter()
            .map(|(mistake, base)| Candidate::new(mistake, format!("{}{base}", prepend.expose()), Key::Signature)),
    );
    let right = format!("{}{correct}", prepend.expose());
    out.push(Candidate::new(
        Mistake::SignedWithEncryptionKey,
        right.clone(),
        Key::Encryption,
    ));
    out.push(Candidate {
        digest: Digest::Sha1,
        ..Candidate::new(Mistake::RsaSha1, right, Key::Signature)
    });
    out
}

/// K as a client may have mis-encoded it, most telling first: without the sign byte (which,
/// when K's top bit is set, also gives the prime's length), then padded.
pub fn k_encodings(k: &SecretBytes, prime_bits: u64) -> Vec<(Mistake, SecretBytes)> {
    let bytes = k.expose();
    let unsigned = bytes.strip_prefix(&[0u8]).unwrap_or(bytes);
    let prime_len = (prime_bits as usize).div_ceil(8);
    let mut padded = vec![0u8; prime_len.saturating_sub(unsigned.len())];
    padded.extend_from_slice(unsigned);
    let mut out = Vec::new();
    if unsigned != bytes.as_slice() {
        out.push((Mistake::KUnsigned, Secret::new(unsigned.to_vec())));
    }
    if padded != *bytes {
        out.push((Mistake::KPadded, Secret::new(padded)));
    }
    out
}

/// The raw HMAC of `data` under `key` with the given hash.
pub fn hmac_raw(digest: Digest, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
    match digest {
        Digest::Sha256 => mac::<Hmac<sha2::Sha256>>(key, data),
        Digest::Sha1 => mac::<Hmac<sha1::Sha1>>(key, data),
    }
}

/// The live session tokens (as bytes) a client holds after one mistake in deriving it from K and
/// the decrypted secret: a mis-encoded K, HMAC-SHA256, the prepend's text as data, K's hex as key.
pub fn lst_mistakes(k: &SecretBytes, secret: &AccessTokenSecret, prime_bits: u64) -> Vec<(Mistake, SecretBytes)> {
    let secret = secret.expose();
    let mut out: Vec<(Mistake, SecretBytes)> = k_encodings(k, prime_bits)
        .into_iter()
        .map(|(mistake, k)| (mistake, Secret::new(hmac_raw(Digest::Sha1, k.expose(), secret))))
        .collect();
    let k = k.expose();
    let prepend = hex::encode(secret);
    out.push((Mistake::LstHmacSha256, Secret::new(hmac_raw(Digest::Sha256, k, secret))));
    out.push((
        Mistake::LstOverPrependText,
        Secret::new(hmac_raw(Digest::Sha1, k, prepend.as_bytes())),
    ));
    out.push((
        Mistake::LstKeyedWithKHex,
        Secret::new(hmac_raw(Digest::Sha1, hex::encode(k).as_bytes(), secret)),
    ));
    out
}

/// Every single-mistake way of signing an ordinary request with HMAC-SHA256 and `lst`.
/// `lst_variants` are the LSTs a client deriving its LST wrongly would hold ([`lst_mistakes`]).
pub fn hmac_request_candidates(
    signed: &Signed<'_>,
    accepted: &[QueryConvention],
    lst: &LiveSessionToken,
    lst_variants: &[(Mistake, SecretBytes)],
) -> Vec<Candidate> {
    let key = || Key::Hmac(Secret::new(lst.expose_bytes().to_vec()));
    let correct = signed.correct_base();
    let mut out: Vec<Candidate> = lst_variants
        .iter()
        .map(|(mistake, token)| Candidate::new(*mistake, correct.clone(), Key::Hmac(token.clone())))
        .collect();
    out.push(Candidate::new(
        Mistake::LstAsText,
        correct.clone(),
        Key::Hmac(Secret::new(lst.to_base64().expose().as_bytes().to_vec())),
    ));
    out.push(Candidate {
        digest: Digest::Sha1,
        ..Candidate::new(Mistake::HmacSha1, correct.clone(), key())
    });
    out.push(Candidate {
        encoded_twice: true,
        ..Candidate::new(Mistake::SignatureEncodedTwice, correct, key())
    });
    out.extend(
        base_string_mistakes(signed, accepted)
            .into_iter()
            .map(|(mistake, base)| Candidate::new(mistake, base, key())),
    );
    out
}

/// Every single-mistake way of signing an ordinary request with RSA-SHA256 (no prepend).
pub fn rsa_request_candidates(signed: &Signed<'_>, accepted: &[QueryConvention]) -> Vec<Candidate> {
    let correct = signed.correct_base();
    let mut out = vec![
        Candidate::new(Mistake::SignedWithEncryptionKey, correct.clone(), Key::Encryption),
        Candidate {
            digest: Digest::Sha1,
            ..Candidate::new(Mistake::RsaSha1, correct.clone(), Key::Signature)
        },
        Candidate {
            encoded_twice: true,
            ..Candidate::new(Mistake::SignatureEncodedTwice, correct, Key::Signature)
        },
    ];
    out.extend(
        base_string_mistakes(signed, accepted)
            .into_iter()
            .map(|(mistake, base)| Candidate::new(mistake, base, Key::Signature)),
    );
    out
}

/// The public halves (PKCS#1 DER) of the consumer's RSA keys, as IBKR holds them.
#[derive(Debug, Clone, Copy)]
pub struct PublicKeys<'a> {
    /// The signature key's public half.
    pub signature: &'a [u8],
    /// The encryption key's public half, when known.
    pub encryption: Option<&'a [u8]>,
}

fn hmac_matches(key: &[u8], digest: Digest, data: &[u8], signature: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    hmac_raw(digest, key, data).ct_eq(signature).into()
}

/// Whether `candidate` reproduces `signature` (base64, as the header carried it once decoded).
pub fn reproduces(candidate: &Candidate, signature: &str, keys: &PublicKeys<'_>) -> bool {
    let decoded;
    let signature = if candidate.encoded_twice {
        decoded = percent_decode(signature, false);
        if decoded == signature {
            return false;
        }
        decoded.as_ref()
    } else {
        signature
    };
    let data = candidate.base.expose().as_bytes();
    match &candidate.key {
        Key::Signature => sign::verify_rsa(keys.signature, candidate.digest, data, signature),
        Key::Encryption => keys
            .encryption
            .is_some_and(|der| sign::verify_rsa(der, candidate.digest, data, signature)),
        Key::Hmac(key) => BASE64
            .decode(signature)
            .is_ok_and(|raw| hmac_matches(key.expose(), candidate.digest, data, &raw)),
    }
}

/// The first mistake whose candidate reproduces `signature`.
pub fn find(candidates: &[Candidate], signature: &str, keys: &PublicKeys<'_>) -> Option<Mistake> {
    candidates
        .iter()
        .find(|c| reproduces(c, signature, keys))
        .map(|c| c.mistake)
}

/// A timestamp outside the window that fits it once read as milliseconds.
pub fn timestamp_mistake(timestamp: &str, now_secs: u64, window_secs: u64) -> Option<Mistake> {
    let millis: u64 = timestamp.parse().ok()?;
    (millis >= 1_000_000_000_000 && (millis / 1000).abs_diff(now_secs) <= window_secs)
        .then_some(Mistake::TimestampMilliseconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OAUTH: &[(&str, &str)] = &[
        ("oauth_consumer_key", "MOCKCONS1"),
        ("oauth_nonce", "n1"),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", "1700000000"),
        ("oauth_token", "abc"),
    ];

    fn signed(url: &str) -> Signed<'_> {
        Signed {
            request: SigningRequest {
                method: "GET",
                url,
                form: &[],
                oauth: OAUTH,
            },
            realm: "limited_poa",
        }
    }

    #[test]
    fn url_variants_name_what_differs() {
        let variants = url_variants("http://127.0.0.1:5000/v1/api/iserver/accounts?x=1");
        let urls: Vec<(Mistake, &str)> = variants.iter().map(|(m, u)| (*m, u.as_str())).collect();
        assert!(urls.contains(&(
            Mistake::UrlTrailingSlash,
            "http://127.0.0.1:5000/v1/api/iserver/accounts/?x=1"
        )));
        assert!(urls.contains(&(Mistake::UrlScheme, "https://127.0.0.1:5000/v1/api/iserver/accounts?x=1")));
        assert!(urls.contains(&(Mistake::UrlHost, "http://localhost:5000/v1/api/iserver/accounts?x=1")));
        assert!(urls.contains(&(Mistake::UrlPathPrefix, "http://127.0.0.1:5000/iserver/accounts?x=1")));
    }

    #[test]
    fn no_mistake_reproduces_the_correct_base_string() {
        for url in ["http://h/v1/api/p", "https://h:1/v1/api/p?b=2&a=1,3"] {
            let s = signed(url);
            let correct = base_string(&s.varied(url, "GET", OAUTH), QueryConvention::InBaseString);
            let url_only = base_string(&s.varied(url, "GET", OAUTH), QueryConvention::UrlOnly);
            for (mistake, base) in base_string_mistakes(&s, IBKR_ACCEPTS) {
                assert!(
                    base != correct && base != url_only,
                    "{mistake:?} gives a correct base string"
                );
            }
        }
    }

    #[test]
    fn each_hmac_mistake_is_found_from_its_own_signature() {
        let lst = LiveSessionToken::from_base64("dGhpcyBpcyBhIDIwLWJ5dGUgdG9r").unwrap();
        let s = signed("http://127.0.0.1:5000/v1/api/iserver/marketdata/snapshot?conids=1,2&fields=31");
        let candidates = hmac_request_candidates(&s, IBKR_ACCEPTS, &lst, &[]);
        let keys = PublicKeys {
            signature: &[],
            encryption: None,
        };
        for candidate in &candidates {
            let Key::Hmac(key) = &candidate.key else { unreachable!() };
            let data = candidate.base.expose().as_bytes();
            let raw = match candidate.digest {
                Digest::Sha256 => {
                    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.expose()).unwrap();
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
                Digest::Sha1 => {
                    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.expose()).unwrap();
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
            };
            let mut signature = BASE64.encode(raw);
            if candidate.encoded_twice {
                signature = percent_encode(&signature, Space::Percent);
            }
            assert_eq!(
                find(&candidates, &signature, &keys),
                Some(candidate.mistake),
                "{:?}",
                candidate.mistake
            );
        }
        let right = sign::hmac_sha256(
            &lst,
            base_string(&s.varied(s.request.url, "GET", OAUTH), QueryConvention::InBaseString).as_bytes(),
        );
        assert_eq!(
            find(&candidates, &right, &keys),
            None,
            "a correct signature is no mistake"
        );
    }

    #[test]
    fn millisecond_timestamps() {
        assert_eq!(
            timestamp_mistake("1700000000123", 1_700_000_010, 300),
            Some(Mistake::TimestampMilliseconds)
        );
        assert_eq!(timestamp_mistake("1700000000", 1_700_000_010, 300), None);
        assert_eq!(timestamp_mistake("1600000000123", 1_700_000_010, 300), None);
    }
}
