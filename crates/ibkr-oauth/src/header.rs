//! The `Authorization: OAuth realm="…", oauth_…="…"` header, nonces and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use super::encode::{Space, into_string, percent_decode, percent_encode_bytes};
use super::error::Error;
use super::random::RandomSource;

/// Builds the header value: realm first, then `params` in the order given, then the signature.
/// Every value is percent-encoded once (RFC 5849 §3.5.1), so the base64 signature's `+`, `/` and
/// `=` appear as `%2B`, `%2F` and `%3D`.
pub fn authorization_header(realm: &str, params: &[(&str, &str)], signature_b64: &str) -> String {
    let size = 32
        + realm.len()
        + signature_b64.len() * 3 / 2
        + params.iter().map(|(n, v)| n.len() + v.len() + 6).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"OAuth realm=\"");
    percent_encode_bytes(&mut out, realm.as_bytes(), Space::Percent);
    out.push(b'"');
    let signature = ("oauth_signature", signature_b64);
    for (name, value) in params.iter().chain(std::iter::once(&signature)) {
        out.extend_from_slice(b", ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        percent_encode_bytes(&mut out, value.as_bytes(), Space::Percent);
        out.push(b'"');
    }
    into_string(out)
}

/// A parsed Authorization header: realm (if any) and every other parameter, decoded, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// The `realm`, not a signed parameter.
    pub realm: Option<String>,
    /// Every other parameter, decoded, in the order sent.
    pub params: Vec<(String, String)>,
}

impl AuthorizationHeader {
    /// The decoded value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Parses `OAuth name="value", ...`. Values must be quoted; a parameter given twice is an error.
pub fn parse_authorization_header(value: &str) -> Result<AuthorizationHeader, Error> {
    let rest = value.trim_start();
    let rest = match rest.get(..5) {
        Some(scheme) if scheme.eq_ignore_ascii_case("oauth") => &rest[5..],
        _ => return Err(Error::Header("does not start with `OAuth `".into())),
    };
    let mut header = AuthorizationHeader {
        realm: None,
        params: Vec::new(),
    };
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, quoted) = part
            .split_once('=')
            .ok_or_else(|| Error::Header(format!("`{}` has no `=`", truncate(part))))?;
        let name = name.trim();
        let quoted = quoted.trim();
        let inner = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .ok_or_else(|| Error::Header(format!("the value of `{name}` is not in double quotes")))?;
        let decoded = percent_decode(inner, false).into_owned();
        if name == "realm" {
            header.realm = Some(decoded);
        } else if header.get(name).is_some() {
            return Err(Error::Header(format!("`{name}` appears twice")));
        } else {
            header.params.push((name.to_owned(), decoded));
        }
    }
    Ok(header)
}

fn truncate(text: &str) -> &str {
    let end = text.char_indices().nth(40).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// A fresh `oauth_nonce`: 20 lowercase hex characters, as in IBKR's examples.
pub fn nonce(rng: &mut dyn RandomSource) -> Result<String, Error> {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// `oauth_timestamp`: whole seconds since the Unix epoch at `now`.
pub fn timestamp(now: SystemTime) -> String {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builds_the_ibkr_shape() {
        let h = authorization_header(
            "limited_poa",
            &[("oauth_consumer_key", "BEARHEDGE"), ("oauth_nonce", "ab")],
            "a+b/c=",
        );
        assert_eq!(
            h,
            r#"OAuth realm="limited_poa", oauth_consumer_key="BEARHEDGE", oauth_nonce="ab", oauth_signature="a%2Bb%2Fc%3D""#
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "Bearer x",
            "OAuth a=b",
            "OAuth a=\"b",
            "OAuth a",
            "OAuth a=\"1\", a=\"2\"",
            "",
        ] {
            assert!(parse_authorization_header(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn header_round_trips(
            realm in "[ -~]{0,20}",
            params in proptest::collection::btree_map("oauth_[a-z_]{1,12}", "\\PC{0,40}", 0..6),
            signature in "[A-Za-z0-9+/]{0,40}={0,2}",
        ) {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let header = authorization_header(&realm, &pairs, &signature);
            let parsed = parse_authorization_header(&header).unwrap();
            prop_assert_eq!(parsed.realm.as_deref(), Some(realm.as_str()));
            let mut expected: Vec<(String, String)> = params.into_iter().collect();
            expected.push(("oauth_signature".into(), signature));
            prop_assert_eq!(parsed.params, expected);
        }
    }
}
