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

/// Whether `b` is in `A-Za-z0-9-._~`. Comparisons joined with `|` rather than `||`, so that
/// the compiler can check a whole block of bytes at once with vector instructions.
const fn is_unreserved(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b.wrapping_sub(b'-') < 2)
        | (b == b'_')
        | (b == b'~')
}

/// Each byte's encoding as a little-endian `u32`: up to three output bytes, then their count.
/// One table per way of writing a space.
const fn encoding_table(space: Space) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = if is_unreserved(b) {
            b as u32 | 1 << 24
        } else if b == b' ' && matches!(space, Space::Plus) {
            b'+' as u32 | 1 << 24
        } else {
            let high = HEX_UPPER[(b >> 4) as usize] as u32;
            let low = HEX_UPPER[(b & 0x0f) as usize] as u32;
            b'%' as u32 | high << 8 | low << 16 | 3 << 24
        };
        i += 1;
    }
    table
}

const ENCODE_PLUS: [u32; 256] = encoding_table(Space::Plus);
const ENCODE_PERCENT: [u32; 256] = encoding_table(Space::Percent);

/// Block width: one SSE2 or NEON register.
const BLOCK: usize = 16;

/// Whether any byte of `block` needs escaping. Written without an early exit, so that the
/// compiler checks the whole block at once with vector instructions.
fn needs_escaping(block: &[u8; BLOCK]) -> bool {
    block.iter().fold(false, |any, &b| any | !is_unreserved(b))
}

/// Appends up to one block of bytes, each through `table`, without a branch per byte: a byte to
/// escape costs what any other byte costs, where a branch on it would often be mispredicted.
/// It writes four bytes per input byte straight into `out` and cuts the excess off after
/// (measured faster than a stack buffer copied afterwards).
fn encode_block(out: &mut Vec<u8>, bytes: &[u8], table: &[u32; 256]) {
    let start = out.len();
    // Room for 16 escapes plus the count byte the last write leaves behind.
    out.resize(start + 3 * BLOCK + 4, 0);
    let mut len = 0;
    if let Some(window) = out.get_mut(start..) {
        for &b in bytes.iter().take(BLOCK) {
            let encoded = table[usize::from(b)];
            if let Some(slot) = window.get_mut(len..len + 4) {
                slot.copy_from_slice(&encoded.to_le_bytes());
            }
            len += (encoded >> 24) as usize;
        }
    }
    out.truncate(start + len);
}

/// Appends `input` to `out`, percent-encoded. This is on the signing hot path: blocks with
/// nothing to escape (most) are checked at once and copied whole, the others and the short tail
/// go through a byte-at-a-time block encoder.
pub fn percent_encode_bytes(out: &mut Vec<u8>, input: &[u8], space: Space) {
    let table = match space {
        Space::Plus => &ENCODE_PLUS,
        Space::Percent => &ENCODE_PERCENT,
    };
    let (blocks, tail) = input.as_chunks::<BLOCK>();
    out.reserve(input.len() + 3 * BLOCK);
    for block in blocks {
        if needs_escaping(block) {
            encode_block(out, block, table);
        } else {
            out.extend_from_slice(block);
        }
    }
    if !tail.is_empty() {
        encode_block(out, tail, table);
    }
}

/// Text built from `&str` pieces and ASCII escapes is UTF-8 by construction; the lossy fallback
/// only keeps this free of panics.
pub fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `input` percent-encoded, as a new string.
pub fn percent_encode(input: &str, space: Space) -> String {
    let mut out = Vec::with_capacity(input.len() * 3 / 2);
    percent_encode_bytes(&mut out, input.as_bytes(), space);
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

    /// Every byte value at every position of inputs from 1 to 40 bytes long: covers the short
    /// runs copied as one block and the long ones copied as they are.
    #[test]
    fn every_byte_at_every_position_and_length() {
        let reference = |input: &[u8]| {
            input.iter().fold(String::new(), |mut out, &b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
                out
            })
        };
        for len in 1..=40usize {
            let filler: Vec<u8> = (0..len).map(|i| b"azAZ09-._~"[i % 10]).collect();
            for position in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = filler.clone();
                    bytes[position] = b;
                    let mut out = Vec::new();
                    percent_encode_bytes(&mut out, &bytes, Space::Percent);
                    assert_eq!(out, reference(&bytes).as_bytes(), "{b:#04x} at {position} of {len}");
                }
            }
        }
    }

    #[test]
    fn tables_agree_with_the_definition() {
        for b in 0..=255u8 {
            let rfc = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            assert_eq!(is_unreserved(b), rfc, "{b:#04x}");
            assert_eq!(ENCODE_PLUS[usize::from(b)] >> 24 == 1, rfc || b == b' ', "{b:#04x}");
            assert_eq!(ENCODE_PERCENT[usize::from(b)] >> 24 == 1, rfc, "{b:#04x}");
        }
        assert_eq!(percent_encode("a b", Space::Plus), "a+b");
        assert_eq!(percent_encode(&" ".repeat(40), Space::Plus), "+".repeat(40));
        assert_eq!(percent_encode(&"/".repeat(40), Space::Percent), "%2F".repeat(40));
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
