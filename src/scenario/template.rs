//! `{{name}}` templating. Besides variables and captures there are date helpers, so a live
//! scenario can name next month's options: `{{month_code(1)}}` is `DEC26` in November 2026,
//! `{{today}}` is `20261124`; and `{{env.NAME}}` reads an environment variable (an account id
//! kept in CI's settings, say).

use std::collections::HashMap;
use std::time::SystemTime;

/// Names a template refers to, with their byte offsets, for checking before a run.
pub fn references(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// Whether a reference is a built-in helper (and well-formed).
pub fn is_helper(reference: &str) -> bool {
    reference == "today" || parse_month_code(reference).is_some() || env_name(reference).is_some()
}

/// `NAME` of an `env.NAME` reference.
pub fn env_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("env.")
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn parse_month_code(reference: &str) -> Option<i32> {
    let inner = reference.strip_prefix("month_code(")?.strip_suffix(')')?;
    inner.trim().trim_start_matches('+').parse().ok()
}

fn helper(reference: &str, now: SystemTime) -> Option<String> {
    use crate::calendar::{MONTH_CODES, civil};
    if let Some(name) = env_name(reference) {
        return std::env::var(name).ok();
    }
    let (year, month, day) = civil(now);
    if reference == "today" {
        return Some(format!("{year:04}{month:02}{day:02}"));
    }
    let offset = parse_month_code(reference)?;
    let index = year * 12 + i64::from(month) - 1 + i64::from(offset);
    let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as usize);
    Some(format!("{}{:02}", MONTH_CODES[m], y.rem_euclid(100)))
}

/// Replaces every `{{name}}`; an unknown name is an error naming it.
pub fn render(text: &str, vars: &HashMap<String, String>, now: SystemTime) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed `{{{{` in {text:?}"))?;
        let name = after[..end].trim();
        match vars.get(name).cloned().or_else(|| helper(name, now)) {
            Some(value) => out.push_str(&value),
            None => return Err(format!("undefined variable `{name}`")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders every string inside a JSON value.
pub fn render_json(
    value: &serde_json::Value,
    vars: &HashMap<String, String>,
    now: SystemTime,
) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match value {
        Value::String(s) => Value::String(render(s, vars, now)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, vars, now))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, vars, now)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Every string inside a JSON value, for reference checks.
pub fn json_strings(value: &serde_json::Value) -> Vec<&str> {
    use serde_json::Value;
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(json_strings).collect(),
        Value::Object(map) => map.values().flat_map(json_strings).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn renders_variables_and_helpers() {
        let vars = HashMap::from([("conid".to_owned(), "653400472".to_owned())]);
        // 2026-11-24T08:00:00Z
        let now = at(1_795_507_200 + 8 * 3600);
        assert_eq!(
            render("c={{conid}}&m={{ month_code(1) }}", &vars, now).unwrap(),
            "c=653400472&m=DEC26"
        );
        assert_eq!(render("{{month_code(2)}}", &vars, now).unwrap(), "JAN27");
        assert_eq!(render("{{month_code(-11)}}", &vars, now).unwrap(), "DEC25");
        assert_eq!(render("{{today}}", &vars, now).unwrap(), "20261124");
        assert_eq!(render("no templates", &vars, now).unwrap(), "no templates");
        assert!(render("{{nope}}", &vars, now).unwrap_err().contains("`nope`"));
        assert!(render("{{conid", &vars, now).is_err());
    }

    #[test]
    fn finds_references() {
        assert_eq!(references("a {{x}} b {{ month_code(1) }}"), vec!["x", "month_code(1)"]);
        assert!(is_helper("month_code(+3)") && is_helper("today") && !is_helper("month_code(x)"));
    }
}
