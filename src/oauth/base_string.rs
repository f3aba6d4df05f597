//! Signature base strings: `METHOD & enc(url without query) & enc(sorted name=value pairs)`.
//!
//! Real traffic disagrees on what to do with query parameters, so the convention is a parameter:
//! see [`QueryConvention`]. Realm never enters a base string.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::encode::{Space, into_string, percent_decode, percent_encode, percent_encode_bytes};
use super::lst::Prepend;
use super::secret::{Secret, SecretString};

/// Where query parameters go and how parameter values are encoded before sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryConvention {
    /// IBKR's 2018 spec and its first-party Python sample: query parameters join the sorted list
    /// with raw (decoded) values, and the joined list is encoded once. IBKR answers 200.
    InBaseString,
    /// ibind and IBKR's current samples: the query stays in the URL only. IBKR answers 200.
    UrlOnly,
    /// OAuth 1.0a (RFC 5849 §3.4.1.3) to the letter: every name and value percent-encoded before
    /// joining, so `,` ends up as `%252C`. Accepted by the spec, unproven at IBKR.
    PerValueEncoded,
}

impl QueryConvention {
    /// Every convention, in the order a diagnosis tries them.
    pub const ALL: [QueryConvention; 3] = [Self::InBaseString, Self::UrlOnly, Self::PerValueEncoded];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::InBaseString => "query-in-base-string",
            Self::UrlOnly => "query-in-url-only",
            Self::PerValueEncoded => "rfc5849-per-value-encoded",
        }
    }
}

/// One request as signing sees it.
#[derive(Debug, Clone, Copy)]
pub struct SigningRequest<'a> {
    /// `GET`, `POST`, ...; used as given (callers pass uppercase).
    pub method: &'a str,
    /// The full URL, query string included.
    pub url: &'a str,
    /// An `application/x-www-form-urlencoded` body as decoded pairs; empty for JSON bodies.
    pub form: &'a [(&'a str, &'a str)],
    /// Every `oauth_*` parameter except `oauth_signature`, plus `diffie_hellman_challenge` for the LST.
    pub oauth: &'a [(&'a str, &'a str)],
}

/// Splits a URL into the part before `?` and its query string (without a `#fragment`).
pub fn split_url(url: &str) -> (&str, &str) {
    let url = url.find('#').map_or(url, |end| &url[..end]);
    url.split_once('?').unwrap_or((url, ""))
}

/// Decoded `name=value` pairs of a query string (`+` as space, empty segments skipped).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|s| !s.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(name, true), percent_decode(value, true))
    })
}

/// Byte-wise order of `name=value`, without building the joined strings.
fn cmp_joined(a: &(Cow<str>, Cow<str>), b: &(Cow<str>, Cow<str>)) -> Ordering {
    let (a_name, b_name) = (a.0.as_bytes(), b.0.as_bytes());
    let common = a_name.len().min(b_name.len());
    match a_name[..common].cmp(&b_name[..common]) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    // One name is a prefix of the other: the shorter one continues with `=`.
    let next = |name: &[u8]| name.get(common).copied();
    match (next(a_name), next(b_name)) {
        (None, None) => a.1.as_bytes().cmp(b.1.as_bytes()),
        (None, Some(byte)) if byte != b'=' => b'='.cmp(&byte),
        (Some(byte), None) if byte != b'=' => byte.cmp(&b'='),
        // A name containing `=` right there: compare the joined bytes the slow way.
        _ => {
            let left = a.0.bytes().chain(std::iter::once(b'=')).chain(a.1.bytes());
            let right = b.0.bytes().chain(std::iter::once(b'=')).chain(b.1.bytes());
            left.cmp(right)
        }
    }
}

/// Appends the base string of `request` to `out`.
fn write_base_string(out: &mut Vec<u8>, request: &SigningRequest<'_>, convention: QueryConvention) {
    let (base_url, query) = split_url(request.url);
    let mut params: Vec<(Cow<str>, Cow<str>)> = Vec::with_capacity(request.oauth.len() + request.form.len() + 4);
    if convention != QueryConvention::UrlOnly {
        params.extend(query_pairs(query));
    }
    params.extend(request.form.iter().map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v))));
    params.extend(
        request
            .oauth
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v))),
    );
    if convention == QueryConvention::PerValueEncoded {
        for (name, value) in &mut params {
            *name = Cow::Owned(percent_encode(name, Space::Percent));
            *value = Cow::Owned(percent_encode(value, Space::Percent));
        }
    }
    params.sort_unstable_by(cmp_joined);

    out.extend_from_slice(request.method.as_bytes());
    out.push(b'&');
    percent_encode_bytes(out, base_url, Space::Plus);
    out.push(b'&');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"%26");
        }
        percent_encode_bytes(out, name, Space::Plus);
        out.extend_from_slice(b"%3D");
        percent_encode_bytes(out, value, Space::Plus);
    }
}

/// Writes the base string into `buffer` (cleared first) without making a `String` of it: the
/// signing path hashes these bytes directly and reuses the buffer.
pub(crate) fn base_string_into(buffer: &mut Vec<u8>, request: &SigningRequest<'_>, convention: QueryConvention) {
    buffer.clear();
    buffer.reserve(estimate(request));
    write_base_string(buffer, request, convention);
}

/// The base string of an ordinary request (HMAC-SHA256, or RSA-SHA256 without a prepend).
pub fn base_string(request: &SigningRequest<'_>, convention: QueryConvention) -> String {
    let mut out = Vec::with_capacity(estimate(request));
    write_base_string(&mut out, request, convention);
    into_string(out)
}

/// The LST request's base string: the prepend, then the base string, with no separator.
/// Secret, since it starts with the decrypted access token secret.
pub fn lst_base_string(prepend: &Prepend, request: &SigningRequest<'_>, convention: QueryConvention) -> SecretString {
    let prepend = prepend.expose();
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(prepend.len() + estimate(request)));
    out.extend_from_slice(prepend.as_bytes());
    write_base_string(&mut out, request, convention);
    Secret::new(into_string(std::mem::take(&mut *out)))
}

fn estimate(request: &SigningRequest<'_>) -> usize {
    let params: usize = request
        .oauth
        .iter()
        .chain(request.form)
        .map(|(n, v)| n.len() + v.len() + 6)
        .sum();
    request.method.len() + request.url.len() * 3 / 2 + params * 5 / 4 + 8
}

#[cfg(test)]
mod tests {
    use super::*;

    const OAUTH: &[(&str, &str)] = &[("oauth_consumer_key", "TESTCONS"), ("oauth_nonce", "n1")];

    fn request(url: &str) -> SigningRequest<'_> {
        SigningRequest {
            method: "GET",
            url,
            form: &[],
            oauth: OAUTH,
        }
    }

    #[test]
    fn three_query_conventions_differ_only_where_they_should() {
        let req =
            request("https://api.ibkr.com/v1/api/iserver/marketdata/snapshot?conids=467996780,548854840&fields=31");
        let prefix = "GET&https%3A%2F%2Fapi.ibkr.com%2Fv1%2Fapi%2Fiserver%2Fmarketdata%2Fsnapshot&";
        assert_eq!(
            base_string(&req, QueryConvention::InBaseString),
            format!(
                "{prefix}conids%3D467996780%2C548854840%26fields%3D31%26oauth_consumer_key%3DTESTCONS%26oauth_nonce%3Dn1"
            )
        );
        assert_eq!(
            base_string(&req, QueryConvention::UrlOnly),
            format!("{prefix}oauth_consumer_key%3DTESTCONS%26oauth_nonce%3Dn1")
        );
        assert_eq!(
            base_string(&req, QueryConvention::PerValueEncoded),
            format!(
                "{prefix}conids%3D467996780%252C548854840%26fields%3D31%26oauth_consumer_key%3DTESTCONS%26oauth_nonce%3Dn1"
            )
        );
    }

    #[test]
    /// Decoded raw values, then the outer encoding writes a space as `+` (as the Python-made vector pins).
    fn query_values_are_decoded_before_raw_use() {
        let req = request("http://h/p?symbol=BRK%20B&x=a+b");
        assert_eq!(
            base_string(&req, QueryConvention::InBaseString),
            "GET&http%3A%2F%2Fh%2Fp&oauth_consumer_key%3DTESTCONS%26oauth_nonce%3Dn1%26symbol%3DBRK+B%26x%3Da+b"
        );
    }

    #[test]
    fn sorting_is_on_joined_name_value_bytes() {
        // "a=2" < "a_=1" because '=' (0x3D) sorts before '_' (0x5F).
        let req = SigningRequest {
            method: "POST",
            url: "http://h/",
            form: &[("a_", "1"), ("a", "2")],
            oauth: &[],
        };
        assert_eq!(
            base_string(&req, QueryConvention::InBaseString),
            "POST&http%3A%2F%2Fh%2F&a%3D2%26a_%3D1"
        );
    }

    #[test]
    fn joined_order_matches_sorting_the_joined_strings() {
        let pairs = [
            ("a", "2"),
            ("a_", "1"),
            ("a", "1"),
            ("ab", ""),
            ("a=", "x"),
            ("a", "=z"),
            ("", "v"),
            ("b", ""),
        ];
        let mut fast: Vec<(Cow<str>, Cow<str>)> = pairs
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
            .collect();
        fast.sort_by(cmp_joined);
        let mut joined: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        joined.sort();
        let fast_joined: Vec<String> = fast.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(fast_joined, joined);
    }

    #[test]
    fn fragment_is_not_part_of_the_url() {
        assert_eq!(split_url("http://h/p?a=1#frag"), ("http://h/p", "a=1"));
        assert_eq!(split_url("http://h/p#frag"), ("http://h/p", ""));
    }
}
