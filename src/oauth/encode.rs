//! Percent-encoding as OAuth 1.0a uses it: everything but `A-Za-z0-9-._~` becomes `%XX`.

use std::borrow::Cow;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// How a space is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// `+`, as Python's `quote_plus` in IBKR's samples writes it (the outer base-string encoding).
    Plus,
    /// `%20`, as RFC 5849 §3.6 writes it.
    Percent,
}

/// `A-Za-z0-9-._~`, as a table: this test runs once per byte of every base string.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_' || c == b'~';
        b += 1;
    }
    table
};

fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// Appends `input` to `out`, percent-encoded. This is on the signing hot path, so it writes bytes.
pub fn percent_encode_bytes(out: &mut Vec<u8>, input: &str, space: Space) {
    let mut rest = input.as_bytes();
    out.reserve(rest.len() + rest.len() / 2);
    while let Some(position) = rest.iter().position(|&b| !is_unreserved(b)) {
        out.extend_from_slice(&rest[..position]);
        let b = rest[position];
        if b == b' ' && space == Space::Plus {
            out.push(b'+');
        } else {
            out.push(b'%');
            out.push(HEX_UPPER[usize::from(b >> 4)]);
            out.push(HEX_UPPER[usize::from(b & 0x0f)]);
        }
        rest = &rest[position + 1..];
    }
    out.extend_from_slice(rest);
}

/// Text built from `&str` pieces and ASCII escapes is UTF-8 by construction; the lossy fallback
/// only keeps this free of panics.
pub fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `input` percent-encoded, as a new string.
pub fn percent_encode(input: &str, space: Space) -> String {
    let mut out = Vec::with_capacity(input.len() * 3 / 2);
    percent_encode_bytes(&mut out, input, space);
    into_string(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` sequences and, for form and query data, `+` as a space. A `%` not followed by
/// two hex digits is kept as it is; bytes that are not UTF-8 afterwards become U+FFFD.
pub fn percent_decode(input: &str, plus_is_space: bool) -> Cow<'_, str> {
    let bytes = input.as_bytes();
    if !bytes.iter().any(|b| *b == b'%' || (plus_is_space && *b == b'+')) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex_value(*b)),
                bytes.get(i + 2).and_then(|b| hex_value(*b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_keeps_unreserved() {
        assert_eq!(percent_encode("a-b._~Z9", Space::Plus), "a-b._~Z9");
        assert_eq!(percent_encode("a b,c/d=e&f+g", Space::Plus), "a+b%2Cc%2Fd%3De%26f%2Bg");
        assert_eq!(percent_encode("a b", Space::Percent), "a%20b");
        assert_eq!(percent_encode("é", Space::Percent), "%C3%A9");
    }

    #[test]
    fn decodes_and_survives_bad_sequences() {
        assert_eq!(percent_decode("a%2Cb+c", true), "a,b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%ff", true), "\u{fffd}");
    }
}
