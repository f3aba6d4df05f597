//! IBKR's snapshot value formats into typed values: `C`/`H` prefixes on prices, thousands
//! separators, `K`/`M`/`B` volumes, percentages, and empty or missing values.

use super::catalogue::ValueKind;

/// What a price prefix says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PricePrefix {
    /// `C`: the value is the previous day's close (no trade yet today).
    PriorClose,
    /// `H`: trading is halted.
    Halted,
}

/// A parsed field value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    Price {
        value: f64,
        prefix: Option<PricePrefix>,
    },
    Number(f64),
    Integer(i64),
    Flag(bool),
    Text(String),
    /// The key was absent or the string empty: IBKR has no data for it (yet).
    Missing,
}

impl FieldValue {
    /// The numeric value, for prices and numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Price { value, .. } | Self::Number(value) => Some(*value),
            Self::Integer(n) => Some(*n as f64),
            _ => None,
        }
    }
}

/// A value that does not have its field's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{raw:?} is not a valid {kind:?} value: {reason}")]
pub struct ParseError {
    pub kind: ValueKind,
    pub raw: String,
    pub reason: &'static str,
}

/// A plain decimal with optional sign and thousands separators: `1,300`, `-0.25`, `+1.5`.
fn decimal(text: &str) -> Option<f64> {
    let text = text.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    // Separators only between groups of three digits.
    let groups: Vec<&str> = whole.split(',').collect();
    let well_grouped = groups.len() == 1
        || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    let all_digits =
        groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit())) && fraction.chars().all(|c| c.is_ascii_digit());
    if !well_grouped || !all_digits {
        return None;
    }
    let joined: String = groups.concat();
    let number: f64 = format!(
        "{}.{}",
        if joined.is_empty() { "0" } else { &joined },
        if fraction.is_empty() { "0" } else { fraction }
    )
    .parse()
    .ok()?;
    Some(sign * number)
}

/// `25.5M`, `1.2K`, `3B` or a plain number.
fn abbreviated(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, factor) = match text.chars().last()? {
        'K' | 'k' => (&text[..text.len() - 1], 1e3),
        'M' | 'm' => (&text[..text.len() - 1], 1e6),
        'B' | 'b' => (&text[..text.len() - 1], 1e9),
        _ => (text, 1.0),
    };
    decimal(number).map(|n| n * factor)
}

/// Parses a raw JSON value (IBKR sends strings; 87_raw is a number) as `kind`.
pub fn parse(kind: ValueKind, raw: Option<&serde_json::Value>) -> Result<FieldValue, ParseError> {
    let text = match raw {
        None | Some(serde_json::Value::Null) => return Ok(FieldValue::Missing),
        Some(serde_json::Value::String(s)) => s.trim().to_owned(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => return Ok(FieldValue::Flag(*b)),
        Some(other) => other.to_string(),
    };
    if text.is_empty() {
        return Ok(FieldValue::Missing);
    }
    let error = |reason| ParseError {
        kind,
        raw: text.clone(),
        reason,
    };
    match kind {
        ValueKind::Price | ValueKind::SignedPrice => {
            let (prefix, number) = match text.chars().next() {
                Some('C') => (Some(PricePrefix::PriorClose), &text[1..]),
                Some('H') => (Some(PricePrefix::Halted), &text[1..]),
                _ => (None, text.as_str()),
            };
            // Negative prices exist (spreads, some futures): the sign is kept.
            let value = decimal(number).ok_or_else(|| error("expected a price such as 1.65, C1.65 or H1.65"))?;
            Ok(FieldValue::Price { value, prefix })
        }
        ValueKind::Size => {
            let value = abbreviated(&text).ok_or_else(|| error("expected a size such as 600, 1,300 or 1.2K"))?;
            if value < 0.0 || value.fract() != 0.0 {
                return Err(error("a size is a non-negative whole number"));
            }
            Ok(FieldValue::Integer(value as i64))
        }
        ValueKind::FormattedVolume => abbreviated(&text)
            .map(FieldValue::Number)
            .ok_or_else(|| error("expected a volume such as 25.5M, 1.2K or 950")),
        ValueKind::Integer => {
            let value = decimal(&text).ok_or_else(|| error("expected a whole number"))?;
            if value.fract() != 0.0 || value.abs() > 9.0e15 {
                return Err(error("expected a whole number"));
            }
            Ok(FieldValue::Integer(value as i64))
        }
        ValueKind::Number | ValueKind::Decimal => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .or_else(|| decimal(&text))
            .map(FieldValue::Number)
            .ok_or_else(|| error("expected a number")),
        ValueKind::Percent => decimal(text.trim_end_matches('%'))
            .map(FieldValue::Number)
            .ok_or_else(|| error("expected a percentage such as 1.25 or 1.25%")),
        ValueKind::Flag => match text.as_str() {
            "1" | "true" => Ok(FieldValue::Flag(true)),
            "0" | "false" => Ok(FieldValue::Flag(false)),
            _ => Err(error("expected \"1\" or \"0\"")),
        },
        ValueKind::Date | ValueKind::Text => Ok(FieldValue::Text(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn p(kind: ValueKind, raw: serde_json::Value) -> Result<FieldValue, ParseError> {
        parse(kind, Some(&raw))
    }

    #[test]
    fn ibkr_formats() {
        assert_eq!(
            p(ValueKind::Price, json!("168.42")).unwrap(),
            FieldValue::Price {
                value: 168.42,
                prefix: None
            }
        );
        assert_eq!(
            p(ValueKind::Price, json!("C512.30")).unwrap(),
            FieldValue::Price {
                value: 512.30,
                prefix: Some(PricePrefix::PriorClose)
            }
        );
        assert_eq!(
            p(ValueKind::Price, json!("H1.65")).unwrap(),
            FieldValue::Price {
                value: 1.65,
                prefix: Some(PricePrefix::Halted)
            }
        );
        assert_eq!(p(ValueKind::Size, json!("1,300")).unwrap(), FieldValue::Integer(1300));
        assert_eq!(p(ValueKind::Size, json!("598")).unwrap(), FieldValue::Integer(598));
        assert_eq!(
            p(ValueKind::FormattedVolume, json!("25.5M")).unwrap(),
            FieldValue::Number(25_500_000.0)
        );
        assert_eq!(
            p(ValueKind::FormattedVolume, json!("1.2K")).unwrap(),
            FieldValue::Number(1_200.0)
        );
        assert_eq!(p(ValueKind::Number, json!(1.22e7)).unwrap(), FieldValue::Number(1.22e7));
        assert_eq!(p(ValueKind::Percent, json!("1.25%")).unwrap(), FieldValue::Number(1.25));
        assert_eq!(p(ValueKind::SignedPrice, json!("-0.87")).unwrap().as_f64(), Some(-0.87));
        assert_eq!(
            p(ValueKind::Integer, json!("83916700")).unwrap(),
            FieldValue::Integer(83_916_700)
        );
        assert_eq!(p(ValueKind::Flag, json!("1")).unwrap(), FieldValue::Flag(true));
        assert_eq!(parse(ValueKind::Price, None).unwrap(), FieldValue::Missing);
        assert_eq!(p(ValueKind::Price, json!("")).unwrap(), FieldValue::Missing);
    }

    #[test]
    fn garbage_is_an_error_that_says_what_was_expected() {
        for (kind, raw) in [
            (ValueKind::Price, "abc"),
            (ValueKind::Price, "1,23.4"),
            (ValueKind::Size, "-5"),
            (ValueKind::Size, "1.5"),
            (ValueKind::FormattedVolume, "12.2X"),
            (ValueKind::Integer, "1.5"),
            (ValueKind::Flag, "yes"),
            (ValueKind::Percent, "%"),
        ] {
            let err = p(kind, json!(raw)).unwrap_err();
            assert!(
                err.to_string().contains("expected") || err.to_string().contains("whole"),
                "{err}"
            );
        }
    }

    fn group(n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn formatted_numbers_parse_back(whole in 0u64..10_000_000_000, cents in 0u32..100, prefix in 0usize..3) {
            let text = format!("{}{}.{cents:02}", ["", "C", "H"][prefix], group(whole));
            let value = parse(ValueKind::Price, Some(&serde_json::Value::String(text.clone()))).unwrap().as_f64().unwrap();
            let expected = whole as f64 + f64::from(cents) / 100.0;
            prop_assert!((value - expected).abs() <= expected.abs() * 1e-12, "{text} -> {value}");
            prop_assert_eq!(parse(ValueKind::Size, Some(&serde_json::Value::String(group(whole)))).unwrap(), FieldValue::Integer(whole as i64));
        }

        #[test]
        fn abbreviated_volumes_parse_back(tenths in 0u64..10_000, suffix in 0usize..4) {
            let (letter, factor) = [("", 1.0), ("K", 1e3), ("M", 1e6), ("B", 1e9)][suffix];
            let text = format!("{}.{}{letter}", tenths / 10, tenths % 10);
            let value = parse(ValueKind::FormattedVolume, Some(&serde_json::Value::String(text.clone()))).unwrap().as_f64().unwrap();
            let expected = tenths as f64 / 10.0 * factor;
            prop_assert!((value - expected).abs() <= expected * 1e-12 + 1e-9, "{text} -> {value}");
        }

        #[test]
        fn garbage_never_panics(text in "\\PC{0,24}", kind in 0usize..11) {
            let kinds = [ValueKind::Price, ValueKind::SignedPrice, ValueKind::Size, ValueKind::FormattedVolume, ValueKind::Integer, ValueKind::Number, ValueKind::Percent, ValueKind::Decimal, ValueKind::Flag, ValueKind::Date, ValueKind::Text];
            let _ = parse(kinds[kind], Some(&serde_json::Value::String(text)));
        }
    }
}
