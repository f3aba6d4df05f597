//! Checks on what users believe about fields: a mapping file compared with IBKR's table, and
//! snapshot values checked for consistency (ask >= bid, last within the day's range, sizes whole,
//! a "price" that is really a size).

use serde::Serialize;
use serde_json::Value;

use super::catalogue::{self, Meaning, ValueKind};
use super::parse::{FieldValue, parse};

/// One entry of a user's mapping, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingVerdict {
    pub id: String,
    pub believed: String,
    pub correct: bool,
    /// IBKR's name for the id, or why the id is unknown.
    pub actual: String,
    /// For a wrong entry: the id that carries what the user meant, if there is one.
    pub right_id: Option<String>,
}

/// Compares `id -> believed meaning` entries with IBKR's table.
pub fn check_mapping(entries: &[(String, String)]) -> Vec<MappingVerdict> {
    entries
        .iter()
        .map(|(id, believed)| {
            let Some(field) = catalogue::by_id(id) else {
                return MappingVerdict {
                    id: id.clone(),
                    believed: believed.clone(),
                    correct: false,
                    actual: "not in IBKR's field table".into(),
                    right_id: None,
                };
            };
            let meant = Meaning::parse(believed);
            let correct = match (meant, field.meaning) {
                (Some(meant), Some(actual)) => meant == actual,
                (Some(_), None) => false,
                (None, _) => catalogue::by_name(believed).iter().any(|f| f.id == field.id),
            };
            let right_id = if correct {
                None
            } else {
                meant
                    .map(|m| m.field().id.to_owned())
                    .or_else(|| catalogue::by_name(believed).first().map(|f| f.id.to_owned()))
            };
            MappingVerdict {
                id: id.clone(),
                believed: believed.clone(),
                correct,
                actual: field.name.to_owned(),
                right_id,
            }
        })
        .collect()
}

/// Reads a mapping file: YAML or JSON, a map of id -> meaning (`85: Ask`).
pub fn read_mapping(text: &str) -> Result<Vec<(String, String)>, String> {
    let map: indexmap::IndexMap<String, String> = serde_saphyr::from_str(text).map_err(|e| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_owned()
    })?;
    if map.is_empty() {
        return Err("the mapping is empty; expected lines like `85: Ask Size`".into());
    }
    Ok(map.into_iter().collect())
}

/// A value read for a meaning in a snapshot entry, with the field it came from.
struct Reading {
    meaning: Meaning,
    id: String,
    value: FieldValue,
}

/// What checking a snapshot element found: values that are not there (a stream update carries
/// changed fields only, so they may come later), and values that are there and wrong.
#[derive(Debug, Default)]
pub struct Problems {
    pub missing: Vec<String>,
    pub wrong: Vec<String>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.wrong.is_empty()
    }

    /// Every problem, the missing values first.
    pub fn all(self) -> Vec<String> {
        let mut all = self.missing;
        all.extend(self.wrong);
        all
    }
}

/// Checks one snapshot element. `mapping` says which field id the caller reads each meaning
/// from (IBKR's own ids unless the scenario overrides them).
pub fn check_snapshot(entry: &Value, meanings: &[Meaning], mapping: &[(Meaning, String)]) -> Problems {
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    let mut readings = Vec::new();
    for meaning in meanings {
        let id = mapping
            .iter()
            .find(|(m, _)| m == meaning)
            .map_or(meaning.field().id.to_owned(), |(_, id)| id.clone());
        let kind = if meaning.is_price() {
            ValueKind::Price
        } else {
            meaning.field().kind
        };
        match parse(kind, entry.get(&id)) {
            Ok(FieldValue::Missing) => missing.push(format!("{} (field {id}) is missing", meaning.name())),
            Ok(value) => readings.push(Reading {
                meaning: *meaning,
                id,
                value,
            }),
            Err(e) => problems.push(format!("{} (field {id}): {e}", meaning.name())),
        }
    }
    let prices: Vec<&Reading> = readings.iter().filter(|r| r.meaning.is_price()).collect();
    prices_from_price_fields(&prices, &mut problems);
    prices_that_look_like_sizes(&prices, &mut problems);
    quote_consistency(&readings, &mut problems);
    Problems {
        missing,
        wrong: problems,
    }
}

/// A price read from a field that is not one: IBKR's table says what the field carries, whatever
/// its value happens to be (an ask size of 600 can sit above a bid of 228.51).
fn prices_from_price_fields(prices: &[&Reading], problems: &mut Vec<String>) {
    for reading in prices {
        let Some(field) = catalogue::by_id(&reading.id) else {
            continue;
        };
        if !matches!(field.kind, ValueKind::Price | ValueKind::SignedPrice) {
            problems.push(format!(
                "{} is read from field {}, which IBKR's table says is {} ({}), not a price; {} is field {}",
                reading.meaning.name(),
                reading.id,
                field.name,
                format!("{:?}", field.kind).to_lowercase(),
                reading.meaning.name(),
                reading.meaning.field().id
            ));
        }
    }
}

/// A value that does not sit with the other prices: a whole number half again above (or below)
/// their median is a size or a count, whatever field it came from.
fn prices_that_look_like_sizes(prices: &[&Reading], problems: &mut Vec<String>) {
    for reading in prices {
        let Some(value) = reading.value.as_f64() else { continue };
        let mut others: Vec<f64> = prices
            .iter()
            .filter(|o| o.meaning != reading.meaning)
            .filter_map(|o| o.value.as_f64())
            .filter(|v| *v > 0.0)
            .collect();
        if others.is_empty() || value.fract() != 0.0 || value <= 0.0 {
            continue;
        }
        others.sort_by(f64::total_cmp);
        let median = others[others.len() / 2];
        if value > median * 1.5 || value < median / 1.5 {
            problems.push(format!(
                "{} (field {}) = {value} looks like a size, not a price (other prices here are near {median})",
                reading.meaning.name(),
                reading.id,
            ));
        }
    }
}

/// A quote that cannot be: ask below bid, last outside the day's range, a size that is not a
/// whole number.
fn quote_consistency(readings: &[Reading], problems: &mut Vec<String>) {
    let get = |m: Meaning| readings.iter().find(|r| r.meaning == m);
    let number = |m: Meaning| get(m).and_then(|r| r.value.as_f64());
    if let (Some(bid), Some(ask)) = (number(Meaning::Bid), number(Meaning::Ask))
        && ask < bid
    {
        problems.push(format!(
            "ask {ask} is below bid {bid}: a crossed quote, or a field read as the wrong one"
        ));
    }
    if let (Some(last), Some(low), Some(high)) = (number(Meaning::Last), number(Meaning::Low), number(Meaning::High))
        && (last < low || last > high)
    {
        problems.push(format!("last {last} is outside the day's range {low}..{high}"));
    }
    for size in [Meaning::BidSize, Meaning::AskSize, Meaning::LastSize] {
        if let Some(reading) = get(size) {
            match reading.value {
                FieldValue::Integer(n) if n >= 0 => {}
                ref other => problems.push(format!(
                    "{} (field {}) = {other:?} is not a non-negative whole number",
                    size.name(),
                    reading.id
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_guides_table_has_four_wrong_entries() {
        let guide: Vec<(String, String)> = [
            ("31", "Last"),
            ("84", "Bid"),
            ("85", "Ask"),
            ("86", "Volume"),
            ("87", "Open"),
            ("88", "Previous Close"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let verdicts = check_mapping(&guide);
        let wrong: Vec<(&str, &str, Option<&str>)> = verdicts
            .iter()
            .filter(|v| !v.correct)
            .map(|v| (v.id.as_str(), v.actual.as_str(), v.right_id.as_deref()))
            .collect();
        assert_eq!(
            wrong,
            vec![
                ("85", "Ask Size", Some("86")),
                ("86", "Ask Price", Some("87")),
                ("87", "Volume", Some("7295")),
                ("88", "Bid Size", Some("7741"))
            ]
        );
    }

    #[test]
    fn snapshot_checks() {
        let quote =
            json!({"31": "1.45", "84": "1.42", "85": "598", "86": "1.47", "88": "412", "70": "1.76", "71": "1.18"});
        let all = [
            Meaning::Last,
            Meaning::Bid,
            Meaning::Ask,
            Meaning::AskSize,
            Meaning::BidSize,
            Meaning::High,
            Meaning::Low,
        ];
        assert!(
            check_snapshot(&quote, &all, &[]).is_empty(),
            "{:?}",
            check_snapshot(&quote, &all, &[])
        );
        // The guide's reading: ask from field 85.
        let problems = check_snapshot(&quote, &[Meaning::Bid, Meaning::Ask], &[(Meaning::Ask, "85".into())]).wrong;
        assert!(
            problems
                .iter()
                .any(|p| p.contains("field 85, which IBKR's table says is Ask Size") && p.contains("field 86")),
            "{problems:?}"
        );
        // AAPL: an ask size of 600 above a bid of 228.51 passes ask >= bid, but is no price.
        let aapl = json!({"31": "228.60", "84": "228.51", "85": "600", "86": "228.55"});
        let problems = check_snapshot(&aapl, &[Meaning::Bid, Meaning::Ask], &[(Meaning::Ask, "85".into())]).wrong;
        assert!(
            problems
                .iter()
                .any(|p| p.contains("field 85, which IBKR's table says is Ask Size")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("looks like a size")), "{problems:?}");
        assert!(check_snapshot(&aapl, &[Meaning::Last, Meaning::Bid, Meaning::Ask], &[]).is_empty());
        let crossed = json!({"84": "1.50", "86": "1.40"});
        assert!(check_snapshot(&crossed, &[Meaning::Bid, Meaning::Ask], &[]).all()[0].contains("below bid"));
        let out_of_range = json!({"31": "2.50", "70": "1.76", "71": "1.18"});
        assert!(
            check_snapshot(&out_of_range, &[Meaning::Last, Meaning::High, Meaning::Low], &[]).all()[0]
                .contains("outside")
        );
        let bad_size = json!({"85": "-3"});
        assert!(!check_snapshot(&bad_size, &[Meaning::AskSize], &[]).is_empty());
        let missing = json!({});
        let problems = check_snapshot(&missing, &[Meaning::Bid], &[]);
        assert!(
            problems.wrong.is_empty() && problems.missing[0].contains("missing"),
            "{problems:?}"
        );
    }

    #[test]
    fn mapping_files() {
        assert_eq!(read_mapping("85: Ask Size\n\"86\": Ask\n").unwrap().len(), 2);
        assert_eq!(read_mapping("{\"85\": \"Ask\"}").unwrap()[0].1, "Ask");
        assert!(read_mapping("").is_err());
        assert!(read_mapping("[1, 2]").is_err());
    }
}
