//! The whole signing path of one request, from its parts to the `Authorization` header: what the
//! client sends and what the benchmarks time.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;

use super::base_string::{
    QueryConvention, SigningRequest, base_string_into, cmp_joined, lst_base_string, query_pairs, split_url,
};
use super::encode::{Space, into_string, percent_encode_bytes};
use super::error::Error;
use super::header::authorization_header;
use super::keys::RsaPrivateKey;
use super::lst::{LiveSessionToken, Prepend};
use super::sign::{self, SignatureMethod};

/// Who signs: the consumer, its access token, and the realm for the header.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The consumer key (9 characters).
    pub consumer_key: &'a str,
    /// The access token.
    pub access_token: &'a str,
    /// `limited_poa` for portal keys.
    pub realm: &'a str,
}

/// Signs ordinary requests HMAC-SHA256 for one identity, base URL and query convention.
///
/// Everything that is the same in every request is encoded once here, as a key is parsed once:
/// the encoded base URL, the base string's run of `oauth_*` parameters around the nonce and the
/// timestamp, and the header around them. A request then encodes only the rest of its URL, its
/// query, nonce, timestamp and signature, and reuses the encoded nonce and timestamp in the
/// header. A request that does not fit the template (a query to decode, out of order, or with
/// names among the `oauth_` ones; the per-value-encoded convention) takes the general path.
/// Both give byte for byte what [`base_string`](fn@super::base_string) and
/// [`authorization_header`] write.
#[derive(Clone)]
pub struct RequestSigner {
    convention: QueryConvention,
    consumer_key: String,
    access_token: String,
    url_prefix: String,
    url_prefix_encoded: Vec<u8>,
    /// `oauth_consumer_key%3D…%26oauth_nonce%3D`.
    before_nonce: Vec<u8>,
    /// `%26oauth_token%3D…`.
    after_timestamp: Vec<u8>,
    /// `OAuth realm="…", oauth_consumer_key="…", oauth_nonce="`.
    header_head: Vec<u8>,
    /// `", oauth_token="…", oauth_signature="`.
    header_tail: Vec<u8>,
}

/// Between the nonce and the timestamp in the base string.
const BETWEEN_NONCE_AND_TIMESTAMP: &[u8] = b"%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D";
/// Between the nonce and the timestamp in the header.
const HEADER_MIDDLE: &[u8] = b"\", oauth_signature_method=\"HMAC-SHA256\", oauth_timestamp=\"";

/// Where the encoded nonce and timestamp sit in a templated base string.
struct Slots {
    nonce: Range<usize>,
    timestamp: Range<usize>,
}

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
        let encoded = |prefix: &[u8], value: &str, suffix: &[u8], space| {
            let mut out = prefix.to_vec();
            percent_encode_bytes(&mut out, value.as_bytes(), space);
            out.extend_from_slice(suffix);
            out
        };
        let header_head = [
            encoded(
                b"OAuth realm=\"",
                identity.realm,
                b"\", oauth_consumer_key=\"",
                Space::Percent,
            ),
            encoded(b"", identity.consumer_key, b"\", oauth_nonce=\"", Space::Percent),
        ]
        .concat();
        Self {
            convention,
            consumer_key: identity.consumer_key.to_owned(),
            access_token: identity.access_token.to_owned(),
            url_prefix: base_url.to_owned(),
            url_prefix_encoded: encoded(b"", base_url, b"", Space::Plus),
            before_nonce: encoded(
                b"oauth_consumer_key%3D",
                identity.consumer_key,
                b"%26oauth_nonce%3D",
                Space::Plus,
            ),
            after_timestamp: encoded(b"%26oauth_token%3D", identity.access_token, b"", Space::Plus),
            header_head,
            header_tail: encoded(
                b"\", oauth_token=\"",
                identity.access_token,
                b"\", oauth_signature=\"",
                Space::Percent,
            ),
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
        let mut out = Vec::with_capacity(
            self.header_head.len()
                + HEADER_MIDDLE.len()
                + self.header_tail.len()
                + 3 * (nonce.len() + timestamp.len())
                + 80,
        );
        let mut write_header = |base: &mut Vec<u8>| {
            base.clear();
            let slots = self.write_templated(base, method, url, nonce, timestamp);
            if slots.is_none() {
                self.write_general(base, method, url, nonce, timestamp);
            }
            let signature = sign::hmac_sha256_base64(token, base);
            // The base string's encoding writes a space as `+`, the header's as `%20`: reuse
            // the encoded nonce and timestamp unless a space made them differ.
            let encoded = |range: &Range<usize>| base.get(range.clone()).filter(|bytes| !bytes.contains(&b'+'));
            let write_value = |out: &mut Vec<u8>, value: &str, slot: Option<&Range<usize>>| match slot.and_then(encoded)
            {
                Some(bytes) => out.extend_from_slice(bytes),
                None => percent_encode_bytes(out, value.as_bytes(), Space::Percent),
            };
            out.extend_from_slice(&self.header_head);
            write_value(&mut out, nonce, slots.as_ref().map(|s| &s.nonce));
            out.extend_from_slice(HEADER_MIDDLE);
            write_value(&mut out, timestamp, slots.as_ref().map(|s| &s.timestamp));
            out.extend_from_slice(&self.header_tail);
            percent_encode_bytes(&mut out, &signature, Space::Percent);
            out.push(b'"');
        };
        // One buffer per thread for the base string: no allocation or UTF-8 check per request.
        thread_local! {
            static BASE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        BASE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => write_header(&mut buffer),
            Err(_) => write_header(&mut Vec::new()),
        });
        into_string(out)
    }

    /// Writes the base string as the template with the request's parts filled in, and says where
    /// the nonce and timestamp went; `None` (with `out` to be cleared) when the request does not
    /// fit the template.
    fn write_templated(
        &self,
        out: &mut Vec<u8>,
        method: &str,
        url: &str,
        nonce: &str,
        timestamp: &str,
    ) -> Option<Slots> {
        if self.convention == QueryConvention::PerValueEncoded {
            return None;
        }
        let (base_url, query) = split_url(url);
        out.extend_from_slice(method.as_bytes());
        out.push(b'&');
        let url_rest = match base_url.strip_prefix(self.url_prefix.as_str()) {
            Some(rest) => {
                out.extend_from_slice(&self.url_prefix_encoded);
                rest
            }
            None => base_url,
        };
        percent_encode_bytes(out, url_rest.as_bytes(), Space::Plus);
        out.push(b'&');

        let first = ("oauth_consumer_key", self.consumer_key.as_str());
        let last = ("oauth_token", self.access_token.as_str());
        let mut slots = None;
        let mut previous: Option<(&str, &str)> = None;
        let mut pairs = query_pairs(if self.convention == QueryConvention::InBaseString {
            query
        } else {
            ""
        });
        while let Some(pair) = pairs.next_pair() {
            // A pair with something to decode, or without `=`, has no `joined` text: the general
            // path handles it.
            let (Cow::Borrowed(name), Cow::Borrowed(value), Some(joined)) = (pair.name, pair.value, pair.joined) else {
                return None;
            };
            let key = (name, value);
            if previous.is_some_and(|previous| cmp_joined(previous, key).is_gt()) {
                return None;
            }
            if cmp_joined(key, first).is_lt() {
                if previous.is_some() {
                    out.extend_from_slice(b"%26");
                }
            } else if cmp_joined(key, last).is_gt() {
                if slots.is_none() {
                    slots = Some(self.write_oauth_run(out, previous.is_some(), nonce, timestamp));
                }
                out.extend_from_slice(b"%26");
            } else {
                return None;
            }
            percent_encode_bytes(out, joined.as_bytes(), Space::Plus);
            previous = Some(key);
        }
        Some(match slots {
            Some(slots) => slots,
            None => self.write_oauth_run(out, previous.is_some(), nonce, timestamp),
        })
    }

    /// Writes the five `oauth_*` parameters, which sort together, and where the nonce and the
    /// timestamp went.
    fn write_oauth_run(&self, out: &mut Vec<u8>, after_pairs: bool, nonce: &str, timestamp: &str) -> Slots {
        if after_pairs {
            out.extend_from_slice(b"%26");
        }
        out.extend_from_slice(&self.before_nonce);
        let nonce_start = out.len();
        percent_encode_bytes(out, nonce.as_bytes(), Space::Plus);
        let nonce_range = nonce_start..out.len();
        out.extend_from_slice(BETWEEN_NONCE_AND_TIMESTAMP);
        let timestamp_start = out.len();
        percent_encode_bytes(out, timestamp.as_bytes(), Space::Plus);
        let timestamp_range = timestamp_start..out.len();
        out.extend_from_slice(&self.after_timestamp);
        Slots {
            nonce: nonce_range,
            timestamp: timestamp_range,
        }
    }

    /// Writes the base string the general way, every parameter sorted and encoded.
    fn write_general(&self, out: &mut Vec<u8>, method: &str, url: &str, nonce: &str, timestamp: &str) {
        let oauth = [
            ("oauth_consumer_key", self.consumer_key.as_str()),
            ("oauth_nonce", nonce),
            ("oauth_signature_method", SignatureMethod::HmacSha256.as_str()),
            ("oauth_timestamp", timestamp),
            ("oauth_token", self.access_token.as_str()),
        ];
        let request = SigningRequest {
            method,
            url,
            form: &[],
            oauth: &oauth,
        };
        base_string_into(out, &request, self.convention);
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
    use crate::base_string;
    use proptest::prelude::*;

    /// The same request signed the long way: every parameter encoded, then the generic header.
    fn unprepared(
        identity: Identity<'_>,
        url: &str,
        nonce: &str,
        timestamp: &str,
        convention: QueryConvention,
    ) -> String {
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

    /// Whether a request fits the template, or takes the general path.
    fn templated(signer: &RequestSigner, url: &str) -> bool {
        signer.write_templated(&mut Vec::new(), "GET", url, "n", "1").is_some()
    }

    #[test]
    fn ordinary_requests_fit_the_template_and_odd_ones_do_not() {
        let identity = Identity {
            consumer_key: "TESTCONS",
            access_token: "6f531f8fd316915af53f",
            realm: "test_realm",
        };
        let signer = RequestSigner::new(identity, "https://h/v1/api", QueryConvention::InBaseString);
        for url in [
            "https://h/v1/api/tickle",
            "https://h/v1/api/iserver/marketdata/snapshot?conids=1,2&fields=31,84",
            "https://h/v1/api/iserver/marketdata/history?bar=1h&conid=1&period=1d",
            "https://elsewhere/x?a=1&zz=",
        ] {
            assert!(templated(&signer, url), "{url}");
        }
        for url in [
            "https://h/v1/api/x?fields=1&conids=2",
            "https://h/v1/api/iserver/marketdata/history?conid=1&period=1d&bar=1h",
            "https://h/v1/api/x?symbol=BRK%20B",
            "https://h/v1/api/x?a=b+c",
            "https://h/v1/api/x?oauth_extra=1",
            "https://h/v1/api/x?flag",
        ] {
            assert!(!templated(&signer, url), "{url}");
        }
        let per_value = RequestSigner::new(identity, "https://h/v1/api", QueryConvention::PerValueEncoded);
        assert!(!templated(&per_value, "https://h/v1/api/tickle"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Queries that fit the template (sorted, nothing to decode, no `oauth_` names) in both
        /// conventions that use it: the template writes what the long way writes.
        #[test]
        fn templated_requests_match_the_long_way(
            before in proptest::collection::btree_map("[a-n][a-z]{0,5}", "[A-Za-z0-9,:/.~-]{0,12}", 0..3),
            after in proptest::collection::btree_map("[p-z][a-z]{0,5}", "[A-Za-z0-9,:/.~-]{0,12}", 0..3),
            nonce in "[0-9a-f ]{0,20}",
            timestamp in "[0-9]{0,10}",
            convention in proptest::sample::select(vec![QueryConvention::InBaseString, QueryConvention::UrlOnly]),
        ) {
            let identity = Identity { consumer_key: "TESTCONS", access_token: "6f531f8fd316915af53f", realm: "limited_poa" };
            let pairs: Vec<String> = before.iter().chain(&after).map(|(n, v)| format!("{n}={v}")).collect();
            let url = format!("https://api.ibkr.com/v1/api/x/y?{}", pairs.join("&"));
            let token = LiveSessionToken::from_base64("YBWbLw+9RYP2nWrPQHxHZkBb1aM=").unwrap_or_else(|e| panic!("{e}"));
            let signer = RequestSigner::new(identity, "https://api.ibkr.com/v1/api", convention);
            prop_assert!(templated(&signer, &url));
            prop_assert_eq!(
                signer.authorization("GET", &url, &nonce, &timestamp, &token),
                unprepared(identity, &url, &nonce, &timestamp, convention)
            );
        }

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
