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

/// Index of the first byte of `bytes` equal to `x` or `y`. Blocks holding neither are passed over
/// with one vector check each; only the block with the match is searched a byte at a time.
fn find_either(bytes: &[u8], x: u8, y: u8) -> Option<usize> {
    let (blocks, _) = bytes.as_chunks::<16>();
    let skipped = 16
        * blocks
            .iter()
            .take_while(|block| !block.iter().fold(false, |hit, &b| hit | (b == x) | (b == y)))
            .count();
    let found = bytes.get(skipped..)?.iter().position(|&b| b == x || b == y)?;
    Some(skipped + found)
}

/// Splits a URL into the part before `?` and its query string (without a `#fragment`).
pub fn split_url(url: &str) -> (&str, &str) {
    let Some(mark) = find_either(url.as_bytes(), b'?', b'#') else {
        return (url, "");
    };
    let (base, rest) = url.split_at(mark);
    match rest.strip_prefix('?') {
        Some(query) => (
            base,
            &query[..find_either(query.as_bytes(), b'#', b'#').unwrap_or(query.len())],
        ),
        None => (base, ""),
    }
}

/// Decoded `name=value` pairs of a query string (`+` as space, empty segments skipped).
pub fn query_pairs(query: &str) -> QueryPairs<'_> {
    QueryPairs {
        rest: query,
        decode: query.bytes().fold(false, |any, b| any | (b == b'%') | (b == b'+')),
    }
}

/// The iterator of [`query_pairs`]. Whether anything needs decoding is checked once for the whole
/// query; usually nothing does, and every name and value is borrowed as it is.
#[derive(Debug, Clone)]
pub struct QueryPairs<'a> {
    rest: &'a str,
    decode: bool,
}

/// One query parameter, decoded, with the `name=value` text it came from when that text is also
/// its decoded form (nothing to decode, an `=` present): it can then be encoded in one piece.
pub(crate) struct QueryPair<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) value: Cow<'a, str>,
    pub(crate) joined: Option<&'a str>,
}

impl<'a> QueryPairs<'a> {
    /// The next pair, with its `name=value` text when that can be encoded in one piece.
    pub(crate) fn next_pair(&mut self) -> Option<QueryPair<'a>> {
        while !self.rest.is_empty() {
            let bytes = self.rest.as_bytes();
            // The first `=` ends the name, unless a `&` ends the pair before it.
            let (name_end, end) = match find_either(bytes, b'&', b'=') {
                Some(equals) if bytes[equals] == b'=' => {
                    let value = &bytes[equals + 1..];
                    (
                        equals,
                        equals + 1 + find_either(value, b'&', b'&').unwrap_or(value.len()),
                    )
                }
                Some(ampersand) => (ampersand, ampersand),
                None => (bytes.len(), bytes.len()),
            };
            let (pair, rest) = self.rest.split_at(end);
            self.rest = rest.get(1..).unwrap_or_default();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = (&pair[..name_end], pair.get(name_end + 1..).unwrap_or_default());
            if self.decode {
                return Some(QueryPair {
                    name: percent_decode(name, true),
                    value: percent_decode(value, true),
                    joined: None,
                });
            }
            return Some(QueryPair {
                name: Cow::Borrowed(name),
                value: Cow::Borrowed(value),
                joined: (name_end < pair.len()).then_some(pair),
            });
        }
        None
    }
}

impl<'a> Iterator for QueryPairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        self.next_pair().map(|pair| (pair.name, pair.value))
    }
}

/// Byte-wise order of `name=value`, the order of a base string's parameters, without building
/// the joined strings (a client that sends its query in this order signs without sorting).
pub fn cmp_joined((a_name, a_value): (&str, &str), (b_name, b_value): (&str, &str)) -> Ordering {
    let (a_bytes, b_bytes) = (a_name.as_bytes(), b_name.as_bytes());
    let common = a_bytes.len().min(b_bytes.len());
    match cmp_short(&a_bytes[..common], &b_bytes[..common]) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    // One name is a prefix of the other: the shorter one continues with `=`.
    let next = |name: &[u8]| name.get(common).copied();
    match (next(a_bytes), next(b_bytes)) {
        (None, None) => cmp_short(a_value.as_bytes(), b_value.as_bytes()),
        (None, Some(byte)) if byte != b'=' => b'='.cmp(&byte),
        (Some(byte), None) if byte != b'=' => byte.cmp(&b'='),
        // A name containing `=` right there: compare the joined bytes the slow way.
        _ => {
            let a = a_name.bytes().chain(std::iter::once(b'=')).chain(a_value.bytes());
            a.cmp(b_name.bytes().chain(std::iter::once(b'=')).chain(b_value.bytes()))
        }
    }
}

/// Byte-wise order of two short slices. Parameter names mostly differ within their first eight
/// bytes, which compare as one big-endian word; the rest goes a byte at a time, cheaper than a
/// `memcmp` call at these lengths.
fn cmp_short(a: &[u8], b: &[u8]) -> Ordering {
    if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>())
        && x != y
    {
        return u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y));
    }
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .map_or_else(|| a.len().cmp(&b.len()), |(x, y)| x.cmp(y))
}

/// Appends `name%3Dvalue`, each side percent-encoded as the outer encoding does.
fn write_pair(out: &mut Vec<u8>, name: &str, value: &str) {
    percent_encode_bytes(out, name.as_bytes(), Space::Plus);
    out.extend_from_slice(b"%3D");
    percent_encode_bytes(out, value.as_bytes(), Space::Plus);
}

/// Appends the base string of `request`.
fn write_base_string(out: &mut Vec<u8>, request: &SigningRequest<'_>, convention: QueryConvention) {
    let (base_url, query) = split_url(request.url);
    let mut params: Vec<QueryPair> = Vec::with_capacity(request.oauth.len() + request.form.len() + 4);
    if convention != QueryConvention::UrlOnly {
        let mut pairs = query_pairs(query);
        while let Some(pair) = pairs.next_pair() {
            params.push(pair);
        }
    }
    params.extend(request.form.iter().chain(request.oauth).map(|(name, value)| QueryPair {
        name: Cow::Borrowed(name),
        value: Cow::Borrowed(value),
        joined: None,
    }));
    if convention == QueryConvention::PerValueEncoded {
        for param in &mut params {
            param.name = Cow::Owned(percent_encode(&param.name, Space::Percent));
            param.value = Cow::Owned(percent_encode(&param.value, Space::Percent));
            param.joined = None;
        }
    }
    params.sort_unstable_by(|a, b| cmp_joined((&a.name, &a.value), (&b.name, &b.value)));

    out.extend_from_slice(request.method.as_bytes());
    out.push(b'&');
    percent_encode_bytes(out, base_url.as_bytes(), Space::Plus);
    out.push(b'&');
    for (i, param) in params.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"%26");
        }
        match param.joined {
            // `=` encodes as the `%3D` between the two.
            Some(joined) => percent_encode_bytes(out, joined.as_bytes(), Space::Plus),
            None => write_pair(out, &param.name, &param.value),
        }
    }
}

/// Writes the base string into `buffer` (cleared first) without making a `String` of it.
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
        let mut fast = pairs;
        fast.sort_by(|a, b| cmp_joined(*a, *b));
        let mut joined: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        joined.sort();
        let fast_joined: Vec<String> = fast.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(fast_joined, joined);
    }

    #[test]
    fn find_either_finds_the_first_match_at_any_position() {
        for len in 0..40 {
            let mut bytes = vec![b'a'; len];
            assert_eq!(find_either(&bytes, b'?', b'#'), None);
            for position in (0..len).rev() {
                bytes[position] = if position % 2 == 0 { b'?' } else { b'#' };
                assert_eq!(find_either(&bytes, b'?', b'#'), Some(position), "{position} of {len}");
            }
        }
    }

    #[test]
    fn short_comparison_is_slice_order() {
        let words: [&[u8]; 9] = [
            b"",
            b"a",
            b"ab",
            b"oauth_nonce",
            b"oauth_no",
            b"oauth_token",
            b"oauth_timestamp",
            b"\xff",
            b"oauth_nonce\x00",
        ];
        for a in words {
            for b in words {
                assert_eq!(cmp_short(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn fragment_is_not_part_of_the_url() {
        assert_eq!(split_url("http://h/p?a=1#frag"), ("http://h/p", "a=1"));
        assert_eq!(split_url("http://h/p#frag"), ("http://h/p", ""));
        assert_eq!(split_url("http://h/p#frag?a=1"), ("http://h/p", ""));
        assert_eq!(split_url("http://h/p?"), ("http://h/p", ""));
        assert_eq!(split_url("http://h/p?a=1?b#"), ("http://h/p", "a=1?b"));
        assert_eq!(split_url("http://h/p"), ("http://h/p", ""));
    }

    #[test]
    fn query_pairs_decode_only_what_needs_it() {
        let pairs: Vec<(String, String)> = query_pairs("a=1&&b&c=x=y&d%20e=f+g&=v&h=%2C&")
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let expect = [
            ("a", "1"),
            ("b", ""),
            ("c", "x=y"),
            ("d e", "f g"),
            ("", "v"),
            ("h", ","),
        ];
        assert_eq!(pairs, expect.map(|(n, v)| (n.to_owned(), v.to_owned())));
        assert!(query_pairs("a=1&b=2").all(|(n, v)| matches!((n, v), (Cow::Borrowed(_), Cow::Borrowed(_)))));
        let mut pairs = query_pairs("a=1&b&c=");
        let joined: Vec<Option<&str>> = std::iter::from_fn(|| pairs.next_pair()).map(|p| p.joined).collect();
        assert_eq!(joined, [Some("a=1"), None, Some("c=")]);
        assert_eq!(query_pairs("").count(), 0);
        assert_eq!(query_pairs("&&").count(), 0);
    }
}
