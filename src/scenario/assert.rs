//! Evaluating a predicate on a value: every failure says what was expected and what came back.

use serde_json::Value;

use super::model::{JsonType, Predicate};

/// A number from a JSON number or a numeric string (`"1.65"`, `"1,300"`).
pub fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let cleaned: String = s.trim().chars().filter(|c| *c != ',').collect();
            cleaned.parse().ok().filter(|n: &f64| n.is_finite())
        }
        _ => None,
    }
}

/// The value as text for `matches` and messages: strings bare, anything else as JSON.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Short form of a value for messages.
pub fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, kind: JsonType) -> bool {
    match kind {
        JsonType::String => value.is_string(),
        JsonType::Number => value.is_number(),
        JsonType::Integer => value.is_i64() || value.is_u64(),
        JsonType::Boolean => value.is_boolean(),
        JsonType::Array => value.is_array(),
        JsonType::Object => value.is_object(),
        JsonType::Null => value.is_null(),
    }
}

/// Loose equality: the same JSON, numbers equal in value (`143` and `143.0`), or a string and a
/// number that spell the same number (IBKR sends conids as strings in one place, numbers in another).
pub fn loosely_equal(expected: &Value, actual: &Value) -> bool {
    expected == actual
        || match (expected, actual) {
            (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::Number(_))
            | (Value::Number(_), Value::String(_)) => {
                as_number(expected).zip(as_number(actual)).is_some_and(|(a, b)| a == b)
            }
            _ => false,
        }
}

/// Checks `predicate` against `actual` (`None` when the path selected nothing). `matches` must
/// already be compiled by the caller (`regex`).
pub fn check(predicate: &Predicate, regex: Option<&regex::Regex>, actual: Option<&Value>) -> Result<(), String> {
    if let Some(exists) = predicate.exists {
        match (exists, actual) {
            (true, None) => return Err("expected the value to exist, but it is missing".into()),
            (false, Some(value)) => return Err(format!("expected no value, got {}", show(value))),
            _ => {}
        }
    }
    let Some(value) = actual else {
        let only_exists = predicate.equals.is_none()
            && predicate.matches.is_none()
            && predicate.kind.is_none()
            && [predicate.gt, predicate.ge, predicate.lt, predicate.le]
                .iter()
                .all(Option::is_none)
            && predicate.length.is_none()
            && predicate.one_of.is_none()
            && predicate.contains.is_none();
        return if only_exists {
            Ok(())
        } else {
            Err("the value is missing".into())
        };
    };
    if let Some(expected) = &predicate.equals
        && !loosely_equal(expected, value)
    {
        return Err(format!("expected {}, got {}", show(expected), show(value)));
    }
    if let Some(kind) = predicate.kind
        && !has_type(value, kind)
    {
        let wanted = format!("{kind:?}").to_lowercase();
        return Err(format!(
            "expected type {wanted}, got {} {}",
            type_of(value),
            show(value)
        ));
    }
    if let Some(re) = regex
        && !re.is_match(&as_text(value))
    {
        return Err(format!("expected a match for /{}/, got {}", re.as_str(), show(value)));
    }
    check_bounds(predicate, value)?;
    check_collection(predicate, value)
}

/// `gt`, `ge`, `lt`, `le`: the value as a number (a numeric string counts, as IBKR sends many).
fn check_bounds(predicate: &Predicate, value: &Value) -> Result<(), String> {
    let comparisons = [
        (predicate.gt, ">"),
        (predicate.ge, ">="),
        (predicate.lt, "<"),
        (predicate.le, "<="),
    ];
    for (bound, op) in comparisons {
        let Some(bound) = bound else { continue };
        let Some(number) = as_number(value) else {
            return Err(format!("expected a number {op} {bound}, got {}", show(value)));
        };
        let holds = match op {
            ">" => number > bound,
            ">=" => number >= bound,
            "<" => number < bound,
            _ => number <= bound,
        };
        if !holds {
            return Err(format!("expected {op} {bound}, got {number}"));
        }
    }
    Ok(())
}

/// `length`, `one_of` and `contains`.
fn check_collection(predicate: &Predicate, value: &Value) -> Result<(), String> {
    if let Some(length) = predicate.length {
        let actual_length = match value {
            Value::Array(items) => items.len(),
            Value::Object(map) => map.len(),
            Value::String(s) => s.chars().count(),
            other => return Err(format!("expected something with a length, got {}", show(other))),
        };
        if actual_length != length {
            return Err(format!("expected length {length}, got {actual_length}"));
        }
    }
    if let Some(options) = &predicate.one_of
        && !options.iter().any(|o| loosely_equal(o, value))
    {
        return Err(format!(
            "expected one of {}, got {}",
            show(&Value::Array(options.clone())),
            show(value)
        ));
    }
    if let Some(needle) = &predicate.contains {
        let found = match value {
            Value::Array(items) => items.iter().any(|item| loosely_equal(needle, item)),
            Value::String(s) => s.contains(&as_text(needle)),
            _ => false,
        };
        if !found {
            return Err(format!("expected {} to contain {}", show(value), show(needle)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(yaml_like: serde_json::Value) -> Predicate {
        serde_json::from_value(yaml_like).unwrap()
    }

    #[test]
    fn each_predicate_passes_and_fails() {
        let v = json!("1,300");
        assert!(check(&p(json!({"exists": true})), None, Some(&v)).is_ok());
        assert!(
            check(&p(json!({"exists": true})), None, None)
                .unwrap_err()
                .contains("missing")
        );
        assert!(check(&p(json!({"exists": false})), None, None).is_ok());
        assert!(
            check(&p(json!({"exists": false})), None, Some(&v))
                .unwrap_err()
                .contains("1,300")
        );
        assert!(check(&p(json!({"ge": 1300, "lt": 1301})), None, Some(&v)).is_ok());
        assert_eq!(
            check(&p(json!({"gt": 1300})), None, Some(&v)).unwrap_err(),
            "expected > 1300, got 1300"
        );
        assert!(
            check(&p(json!({"gt": 1})), None, Some(&json!("abc")))
                .unwrap_err()
                .contains("a number")
        );
        assert!(check(&p(json!({"equals": 653400472})), None, Some(&json!("653400472"))).is_ok());
        assert!(
            check(&p(json!({"equals": "x"})), None, Some(&json!("y")))
                .unwrap_err()
                .contains("expected \"x\", got \"y\"")
        );
        assert!(check(&p(json!({"type": "integer"})), None, Some(&json!(5))).is_ok());
        assert!(check(&p(json!({"type": "integer"})), None, Some(&json!(5.5))).is_err());
        assert!(
            check(&p(json!({"type": "string"})), None, Some(&json!(5)))
                .unwrap_err()
                .contains("got integer")
        );
        assert!(check(&p(json!({"length": 2})), None, Some(&json!([1, 2]))).is_ok());
        assert!(check(&p(json!({"length": 3})), None, Some(&json!("ab"))).is_err());
        assert!(check(&p(json!({"one_of": ["C", "P"]})), None, Some(&json!("C"))).is_ok());
        assert!(check(&p(json!({"one_of": ["C", "P"]})), None, Some(&json!("X"))).is_err());
        assert!(check(&p(json!({"contains": 143.0})), None, Some(&json!([140.0, 143.0]))).is_ok());
        assert!(
            check(&p(json!({"contains": 143})), None, Some(&json!([140.0, 143.0]))).is_ok(),
            "143 and 143.0 are one number"
        );
        assert!(check(&p(json!({"equals": 1})), None, Some(&json!(1.5))).is_err());
        assert!(check(&p(json!({"contains": 804155360})), None, Some(&json!([1, 2]))).is_err());
        assert!(check(&p(json!({"contains": "bridge"})), None, Some(&json!("no bridge"))).is_ok());
        let re = regex::Regex::new("^DU\\d+$").unwrap();
        assert!(check(&p(json!({"matches": "x"})), Some(&re), Some(&json!("DU1234567"))).is_ok());
        assert!(
            check(&p(json!({"matches": "x"})), Some(&re), Some(&json!("U1")))
                .unwrap_err()
                .contains("/^DU\\d+$/")
        );
        assert!(
            check(&p(json!({"equals": 1})), None, None)
                .unwrap_err()
                .contains("missing")
        );
    }
}
