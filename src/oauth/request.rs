//! The whole signing path of one request, from its parts to the `Authorization` header: what the
//! client sends and what the benchmarks time.

use std::cell::RefCell;

use super::base_string::{Prepared, QueryConvention, SigningRequest, lst_base_string, prepared_base_string_into};
use super::encode::{Space, into_string, percent_encode_bytes};
use super::error::Error;
use super::header::authorization_header;
use super::keys::RsaPrivateKey;
use super::lst::{LiveSessionToken, Prepend};
use super::sign::{self, SignatureMethod};

/// Who signs: the consumer, its access token, and the realm for the header.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub consumer_key: &'a str,
    pub access_token: &'a str,
    pub realm: &'a str,
}

/// Signs ordinary requests HMAC-SHA256 for one identity, base URL and query convention.
///
/// What is the same in every request (the identity's base-string parameters, the encoded base
/// URL and the header text around the per-request values) is encoded once here, as a key is
/// parsed once, so a request encodes only the rest of its URL, its query, nonce, timestamp and
/// signature. Base string and header are byte for byte what [`base_string`](super::base_string)
/// and [`authorization_header`] write for the same request.
#[derive(Clone)]
pub struct RequestSigner {
    convention: QueryConvention,
    /// `oauth_consumer_key`, `oauth_signature_method`, `oauth_token` and the base URL.
    prepared: Prepared,
    /// `OAuth realm="…", oauth_consumer_key="…", oauth_nonce="`.
    header_head: Vec<u8>,
    /// `", oauth_token="…", oauth_signature="`.
    header_tail: Vec<u8>,
}

/// Between the nonce and the timestamp in the header.
const HEADER_MIDDLE: &[u8] = b"\", oauth_signature_method=\"HMAC-SHA256\", oauth_timestamp=\"";

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSigner")
            .field("convention", &self.convention)
            .finish_non_exhaustive()
    }
}

impl RequestSigner {
    /// A signer for requests to URLs under `base_url` (others are signed too, with their whole
    /// URL encoded per request).
    pub fn new(identity: Identity<'_>, base_url: &str, convention: QueryConvention) -> Self {
        let fixed = [
            ("oauth_consumer_key", identity.consumer_key),
            ("oauth_signature_method", SignatureMethod::HmacSha256.as_str()),
            ("oauth_token", identity.access_token),
        ];
        let mut header_head = b"OAuth realm=\"".to_vec();
        percent_encode_bytes(&mut header_head, identity.realm.as_bytes(), Space::Percent);
        header_head.extend_from_slice(b"\", oauth_consumer_key=\"");
        percent_encode_bytes(&mut header_head, identity.consumer_key.as_bytes(), Space::Percent);
        header_head.extend_from_slice(b"\", oauth_nonce=\"");
        let mut header_tail = b"\", oauth_token=\"".to_vec();
        percent_encode_bytes(&mut header_tail, identity.access_token.as_bytes(), Space::Percent);
        header_tail.extend_from_slice(b"\", oauth_signature=\"");
        Self {
            convention,
            prepared: Prepared::new(&fixed, base_url, convention),
            header_head,
            header_tail,
        }
    }

    /// The `Authorization` header of one request, signed with the LST.
    pub fn authorization(
        &self,
        method: &str,
        url: &str,
        nonce: &str,
        timestamp: &str,
        token: &LiveSessionToken,
    ) -> String {
        let oauth = [("oauth_nonce", nonce), ("oauth_timestamp", timestamp)];
        let request = SigningRequest {
            method,
            url,
            form: &[],
            oauth: &oauth,
        };
        let sign = |buffer: &mut Vec<u8>| {
            prepared_base_string_into(buffer, &request, self.convention, &self.prepared);
            sign::hmac_sha256_base64(token, buffer)
        };
        // One buffer per thread for the base string: no allocation or UTF-8 check per request.
        thread_local! {
            static BASE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let signature = BASE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => sign(&mut buffer),
            Err(_) => sign(&mut Vec::new()),
        });
        let mut out = Vec::with_capacity(
            self.header_head.len() + HEADER_MIDDLE.len() + self.header_tail.len() + 3 * (nonce.len() + timestamp.len()) + 80,
        );
        out.extend_from_slice(&self.header_head);
        percent_encode_bytes(&mut out, nonce.as_bytes(), Space::Percent);
        out.extend_from_slice(HEADER_MIDDLE);
        percent_encode_bytes(&mut out, timestamp.as_bytes(), Space::Percent);
        out.extend_from_slice(&self.header_tail);
        percent_encode_bytes(&mut out, &signature, Space::Percent);
        out.push(b'"');
        into_string(out)
    }
}

/// The `Authorization` header of the LST request: RSA-SHA256 over the prepend and the base string,
/// with the DH challenge among the parameters.
pub fn lst_authorization(
    identity: Identity<'_>,
    url: &str,
    nonce: &str,
    timestamp: &str,
    challenge_hex: &str,
    prepend: &Prepend,
    key: &RsaPrivateKey,
) -> Result<String, Error> {
    let params = [
        ("diffie_hellman_challenge", challenge_hex),
        ("oauth_consumer_key", identity.consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", SignatureMethod::RsaSha256.as_str()),
        ("oauth_timestamp", timestamp),
        ("oauth_token", identity.access_token),
    ];
    let request = SigningRequest {
        method: "POST",
        url,
        form: &[],
        oauth: &params,
    };
    let base = lst_base_string(prepend, &request, QueryConvention::InBaseString);
    let signature = sign::rsa_sha256(key, base.expose().as_bytes())?;
    Ok(authorization_header(identity.realm, &params, &signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::base_string;
    use proptest::prelude::*;

    /// The same request signed the long way: every parameter encoded, then the generic header.
    fn unprepared(identity: Identity<'_>, url: &str, nonce: &str, timestamp: &str, convention: QueryConvention) -> String {
        let token = LiveSessionToken::from_base64("YBWbLw+9RYP2nWrPQHxHZkBb1aM=").unwrap_or_else(|e| panic!("{e}"));
        let params = [
            ("oauth_consumer_key", identity.consumer_key),
            ("oauth_nonce", nonce),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", timestamp),
            ("oauth_token", identity.access_token),
        ];
        let request = SigningRequest {
            method: "GET",
            url,
            form: &[],
            oauth: &params,
        };
        let signature = sign::hmac_sha256(&token, base_string::base_string(&request, convention).as_bytes());
        authorization_header(identity.realm, &params, &signature)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Preparing the identity and base URL once changes no byte of any header, in any
        /// convention, whatever the identity and query hold (names that sort among or before the
        /// `oauth_` ones included) and whether or not the URL is under the base URL.
        #[test]
        fn prepared_signer_writes_what_the_long_way_writes(
            consumer_key in "\\PC{0,12}",
            access_token in "[ -~]{0,24}",
            realm in "[ -~]{0,12}",
            query in proptest::collection::vec(("(oauth_[a-z]{0,6}|[a-z=]{1,6})", "[A-Za-z0-9 ,:/%+=]{0,12}"), 0..4),
            nonce in "[0-9a-f ]{0,20}",
            timestamp in "[0-9]{0,10}",
            convention in proptest::sample::select(QueryConvention::ALL.to_vec()),
            base_url in proptest::sample::select(vec!["https://api.ibkr.com/v1/api", "https://api.ibkr.com/v1/apx", ""]),
        ) {
            let identity = Identity { consumer_key: &consumer_key, access_token: &access_token, realm: &realm };
            let pairs: Vec<String> = query.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let url = format!("https://api.ibkr.com/v1/api/x?{}", pairs.join("&"));
            let token = LiveSessionToken::from_base64("YBWbLw+9RYP2nWrPQHxHZkBb1aM=").unwrap_or_else(|e| panic!("{e}"));
            let signer = RequestSigner::new(identity, base_url, convention);
            prop_assert_eq!(
                signer.authorization("GET", &url, &nonce, &timestamp, &token),
                unprepared(identity, &url, &nonce, &timestamp, convention)
            );
        }
    }
}
