//! JSON path expressions for assertions and captures: `$`, `.name`, `.84` (field ids are keys),
//! `[0]`, `[-1]` (from the end), `['name']`, and `[*]` (every element; the result is an array).

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(i64),
    Wildcard,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parses a path; the error says at which character and what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| format!("JSON path {text:?} must start with `$`"))?;
        let bytes = rest.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        let fail = |pos: usize, what: &str| format!("JSON path {text:?}: at character {}: {what}", pos + 1);
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    let start = i + 1;
                    let end = rest[start..].find(['.', '[']).map_or(rest.len(), |n| start + n);
                    if end == start {
                        return Err(fail(i + 1, "expected a key after `.`"));
                    }
                    segments.push(Segment::Key(rest[start..end].to_owned()));
                    i = end;
                }
                b'[' => {
                    let close = rest[i..]
                        .find(']')
                        .map(|n| i + n)
                        .ok_or_else(|| fail(i + 1, "missing `]`"))?;
                    let inner = rest[i + 1..close].trim();
                    let segment = if inner == "*" {
                        Segment::Wildcard
                    } else if let Some(quoted) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        Segment::Key(quoted.to_owned())
                    } else {
                        Segment::Index(
                            inner
                                .parse()
                                .map_err(|_| fail(i + 1, "expected an index, `*` or a quoted key"))?,
                        )
                    };
                    segments.push(segment);
                    i = close + 1;
                }
                _ => return Err(fail(i + 1, "expected `.` or `[`")),
            }
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The value at this path, or `None` when any step is missing. With `[*]` the result is an
    /// array of every match (missing ones left out).
    pub fn select(&self, root: &Value) -> Option<Value> {
        select(&self.segments, root)
    }

    /// Whether the path has a wildcard (its value is always an array).
    pub fn is_multi(&self) -> bool {
        self.segments.contains(&Segment::Wildcard)
    }
}

fn select(segments: &[Segment], value: &Value) -> Option<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(value.clone());
    };
    match first {
        Segment::Key(key) => select(rest, value.as_object()?.get(key)?),
        Segment::Index(index) => {
            let array = value.as_array()?;
            let position = if *index < 0 {
                array.len().checked_sub(index.unsigned_abs() as usize)?
            } else {
                *index as usize
            };
            select(rest, array.get(position)?)
        }
        Segment::Wildcard => {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => return None,
            };
            Some(Value::Array(
                items.into_iter().filter_map(|item| select(rest, item)).collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects() {
        let doc = json!([{"conid": 1, "84": "1.5", "a b": {"x": [10, 20]}}, {"conid": 2}]);
        let get = |p: &str| JsonPath::parse(p).unwrap().select(&doc);
        assert_eq!(get("$"), Some(doc.clone()));
        assert_eq!(get("$[0].conid"), Some(json!(1)));
        assert_eq!(get("$[0].84"), Some(json!("1.5")));
        assert_eq!(get("$[0]['a b'].x[1]"), Some(json!(20)));
        assert_eq!(get("$[-1].conid"), Some(json!(2)));
        assert_eq!(get("$[*].conid"), Some(json!([1, 2])));
        assert_eq!(get("$[5]"), None);
        assert_eq!(get("$[0].missing"), None);
        assert_eq!(get("$[-3]"), None);
    }

    #[test]
    fn rejects_bad_paths_with_positions() {
        assert!(JsonPath::parse("accounts").unwrap_err().contains("must start with `$`"));
        assert!(JsonPath::parse("$.").unwrap_err().contains("character 2"));
        assert!(JsonPath::parse("$[0").unwrap_err().contains("missing `]`"));
        assert!(JsonPath::parse("$[x]").unwrap_err().contains("expected an index"));
        assert!(JsonPath::parse("$x").unwrap_err().contains("expected `.` or `[`"));
    }
}
