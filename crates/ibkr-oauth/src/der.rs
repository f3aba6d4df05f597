//! The small part of DER that PKCS#3 `DH PARAMETERS` needs: a SEQUENCE of INTEGERs.
//!
//! A full ASN.1 crate would be heavier than the format: PKCS#3 is
//! `SEQUENCE { prime INTEGER, base INTEGER, privateValueLength INTEGER OPTIONAL }`.

use num_bigint::BigUint;
use num_traits::Zero;

const TAG_INTEGER: u8 = 0x02;
const TAG_SEQUENCE: u8 = 0x30;

/// Why a DER structure was rejected, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}")]
pub struct DerError {
    pub what: &'static str,
    pub offset: usize,
}

/// A non-negative integer as Java's `BigInteger.toByteArray()` writes it: minimal big-endian
/// two's complement, i.e. one leading `00` when the top bit is set, and `[0]` for zero.
///
/// IBKR's server keys the LST with these bytes. Clients that pad K to the prime's length or drop
/// the sign byte (Node's `computeSecret`, Go's `Bytes()`) derive a different LST about half the time.
pub fn java_bytes(n: &BigUint) -> Vec<u8> {
    if n.is_zero() {
        return vec![0];
    }
    let bytes = n.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        let mut out = Vec::with_capacity(bytes.len() + 1);
        out.push(0);
        out.extend_from_slice(&bytes);
        out
    } else {
        bytes
    }
}

fn err(what: &'static str, offset: usize) -> DerError {
    DerError { what, offset }
}

/// Reads one tag-length-value at `pos`; returns (tag, value range end, value start).
fn read_tlv(input: &[u8], pos: usize) -> Result<(u8, usize, usize), DerError> {
    let tag = *input.get(pos).ok_or(err("unexpected end of data", pos))?;
    let first = *input.get(pos + 1).ok_or(err("missing length", pos + 1))?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), pos + 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return Err(err("unsupported length form", pos + 1));
        }
        let bytes = input
            .get(pos + 2..pos + 2 + count)
            .ok_or(err("truncated length", pos + 2))?;
        let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, pos + 2 + count)
    };
    let end = start.checked_add(len).ok_or(err("length overflows", pos))?;
    if end > input.len() {
        return Err(err("value runs past the end of the data", start));
    }
    Ok((tag, end, start))
}

/// Parses `SEQUENCE { INTEGER... }` into non-negative integers. Trailing bytes are an error.
pub fn parse_integer_sequence(input: &[u8]) -> Result<Vec<BigUint>, DerError> {
    let (tag, end, mut pos) = read_tlv(input, 0)?;
    if tag != TAG_SEQUENCE {
        return Err(err("expected a SEQUENCE", 0));
    }
    if end != input.len() {
        return Err(err("trailing data after the SEQUENCE", end));
    }
    let mut out = Vec::new();
    while pos < end {
        let (tag, value_end, value_start) = read_tlv(input, pos)?;
        if tag != TAG_INTEGER {
            return Err(err("expected an INTEGER", pos));
        }
        let value = &input[value_start..value_end];
        if value.is_empty() {
            return Err(err("empty INTEGER", pos));
        }
        if value[0] & 0x80 != 0 {
            return Err(err("negative INTEGER", value_start));
        }
        out.push(BigUint::from_bytes_be(value));
        pos = value_end;
    }
    Ok(out)
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes non-negative integers as `SEQUENCE { INTEGER... }` (DER, minimal lengths).
pub fn encode_integer_sequence(values: &[&BigUint]) -> Vec<u8> {
    let mut body = Vec::new();
    for value in values {
        let bytes = java_bytes(value);
        body.push(TAG_INTEGER);
        push_length(&mut body, bytes.len());
        body.extend_from_slice(&bytes);
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(TAG_SEQUENCE);
    push_length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_small_and_large() {
        let p = BigUint::from_bytes_be(&[0xff; 256]);
        let g = BigUint::from(2u8);
        let der = encode_integer_sequence(&[&p, &g]);
        // 0x30 0x82 len, 0x02 0x82 0x01 0x01 0x00 ff.., 0x02 0x01 0x02
        assert_eq!(&der[..2], &[0x30, 0x82]);
        assert_eq!(parse_integer_sequence(&der).unwrap(), vec![p, g]);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x02],
            &[0x02, 0x01, 0x01],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(parse_integer_sequence(input).is_err(), "{input:?}");
        }
    }
}
