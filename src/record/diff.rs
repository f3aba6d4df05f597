//! Comparing two recordings by shape, not by value: added and removed fields, changed types (a
//! conid string that became a number), changed status codes, new error messages. Prices,
//! timestamps and session ids change every run, so values are never compared (except IBKR's
//! `error` text), and keys whose mere presence varies are ignored (the default list below, which
//! `--ignore KEY` extends).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::{Cassette, CassetteError, Interaction};

/// Keys ignored by default: their presence or type varies from run to run.
pub const DEFAULT_IGNORE: &[&str] = &[
    "_updated",
    "server_id",
    "6119",
    "6508",
    "6509",
    "session",
    "sessionId",
    "ssoExpires",
    "hardware_info",
    "MAC",
    "serverInfo",
    "live_session_token_expiration",
];

/// One difference, in words, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The cassette file name.
    pub cassette: String,
    /// `METHOD /path` (and the occurrence when a request repeats).
    pub request: String,
    pub what: String,
}

/// The JSON type names used in messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// path -> set of types seen there; arrays fold their elements under `[*]`.
fn shape(value: &Value, path: &str, ignore: &[String], out: &mut BTreeMap<String, Vec<&'static str>>) {
    let types = out.entry(path.to_owned()).or_default();
    let name = type_name(value);
    if !types.contains(&name) {
        types.push(name);
        types.sort_unstable();
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if !ignore.iter().any(|i| i == key) {
                    shape(inner, &format!("{path}.{key}"), ignore, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{path}[*]"), ignore, out);
            }
        }
        _ => {}
    }
}

/// A request's identity: what its step asked for where the cassette says, else the request as
/// made (method, path, sorted query).
fn request_key(interaction: &Interaction) -> String {
    if let Some(asked) = &interaction.asked {
        return asked.clone();
    }
    let mut query: Vec<String> = interaction.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    query.sort();
    if query.is_empty() {
        format!("{} {}", interaction.method, interaction.path)
    } else {
        format!("{} {}?{}", interaction.method, interaction.path, query.join("&"))
    }
}

/// Compares two interactions of the same request.
fn compare_pair(base: &Interaction, new: &Interaction, ignore: &[String]) -> Vec<String> {
    let mut changes = Vec::new();
    if base.status != new.status {
        changes.push(format!("status changed: {} -> {}", base.status, new.status));
    }
    let error = |i: &Interaction| i.body.get("error").and_then(Value::as_str).map(str::to_owned);
    if let (Some(before), Some(after)) = (error(base), error(new)) {
        let strip = |t: &str| t.split_once(", error: ").map_or(t.to_owned(), |(_, m)| m.to_owned());
        if strip(&before) != strip(&after) {
            changes.push(format!("error message changed: {before:?} -> {after:?}"));
        }
    } else if let (None, Some(after)) = (error(base), error(new)) {
        changes.push(format!("new error message: {after:?}"));
    }
    let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
    shape(&base.body, "$", ignore, &mut before);
    shape(&new.body, "$", ignore, &mut after);
    changes.extend(shape_changes(&before, &after));
    changes
}

type Shape = BTreeMap<String, Vec<&'static str>>;

/// Fields removed, added or changed in type between two shapes.
fn shape_changes(before: &Shape, after: &Shape) -> Vec<String> {
    let mut changes = Vec::new();
    for (path, types) in before {
        match after.get(path) {
            None => changes.push(format!("field removed: {path} ({})", types.join("|"))),
            Some(new_types) if new_types != types => changes.push(format!(
                "type changed: {path}: {} -> {}",
                types.join("|"),
                new_types.join("|")
            )),
            Some(_) => {}
        }
    }
    for (path, types) in after {
        if !before.contains_key(path) {
            changes.push(format!("field added: {path} ({})", types.join("|")));
        }
    }
    changes
}

/// Compares two cassettes request by request (the n-th occurrence of a request with the n-th).
pub fn compare(name: &str, base: &Cassette, new: &Cassette, ignore: &[String]) -> Vec<Change> {
    let index = |cassette: &Cassette| {
        let mut seen: HashMap<String, usize> = HashMap::new();
        cassette
            .interactions
            .iter()
            .map(|i| {
                let key = request_key(i);
                let n = seen.entry(key.clone()).or_insert(0);
                *n += 1;
                (if *n == 1 { key } else { format!("{key} (#{n})") }, i.clone())
            })
            .collect::<Vec<_>>()
    };
    let (before, after) = (index(base), index(new));
    let change = |request: &str, what: String| Change {
        cassette: name.to_owned(),
        request: request.to_owned(),
        what,
    };
    let mut out = Vec::new();
    for (key, interaction) in &before {
        match after.iter().find(|(k, _)| k == key) {
            Some((_, other)) => out.extend(
                compare_pair(interaction, other, ignore)
                    .into_iter()
                    .map(|w| change(key, w)),
            ),
            None => out.push(change(key, "request no longer made".into())),
        }
    }
    for (key, _) in &after {
        if !before.iter().any(|(k, _)| k == key) {
            out.push(change(key, "new request".into()));
        }
    }
    let (before, after) = (topic_shapes(base, ignore), topic_shapes(new, ignore));
    for (topic, shape) in &before {
        let key = format!("websocket {topic}");
        match after.get(topic) {
            Some(other) => out.extend(shape_changes(shape, other).into_iter().map(|w| change(&key, w))),
            None => out.push(change(&key, "topic no longer received".into())),
        }
    }
    for topic in after.keys().filter(|t| !before.contains_key(*t)) {
        out.push(change(&format!("websocket {topic}"), "new topic".into()));
    }
    out
}

/// The shape of every received websocket frame, by topic, over all frames of the topic: IBKR's
/// updates carry changed fields only, so one frame's keys say little and the union says what the
/// topic sends. Heartbeats (`system` with `hb`, every 10 s) and `tic` answers (after 30 s) come
/// or not with how long a run took, so they are left out.
fn topic_shapes(cassette: &Cassette, ignore: &[String]) -> BTreeMap<String, Shape> {
    let mut shapes: BTreeMap<String, Shape> = BTreeMap::new();
    let timed = |message: &Value| message.get("hb").is_some() || message["topic"] == "tic";
    for frame in cassette
        .stream
        .iter()
        .filter(|f| f.direction == "received" && !timed(&f.message))
    {
        let topic = frame.topic.clone().unwrap_or_else(|| "(no topic)".into());
        shape(&frame.message, "$", ignore, shapes.entry(topic).or_default());
    }
    shapes
}

/// What comparing two folders found: every cassette name seen, and the changes.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub cassettes: Vec<String>,
    pub changes: Vec<Change>,
}

/// Compares every cassette of two folders (matched by file name).
pub fn compare_dirs(base: &Path, new: &Path, ignore: &[String]) -> Result<DiffReport, CassetteError> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let before = Cassette::read_dir(base)?;
    let after = Cassette::read_dir(new)?;
    let mut changes = Vec::new();
    for (path, cassette) in &before {
        match after.iter().find(|(p, _)| name(p) == name(path)) {
            Some((_, other)) => changes.extend(compare(&name(path), cassette, other, ignore)),
            None => changes.push(Change {
                cassette: name(path),
                request: String::new(),
                what: "cassette missing from the new recording".into(),
            }),
        }
    }
    for (path, _) in &after {
        if !before.iter().any(|(p, _)| name(p) == name(path)) {
            changes.push(Change {
                cassette: name(path),
                request: String::new(),
                what: "new cassette".into(),
            });
        }
    }
    let mut cassettes: Vec<String> = before.iter().chain(after.iter()).map(|(p, _)| name(p)).collect();
    cassettes.sort();
    cassettes.dedup();
    Ok(DiffReport { cassettes, changes })
}

/// The ignore list: the defaults plus the user's.
pub fn ignore_list(extra: &[String]) -> Vec<String> {
    DEFAULT_IGNORE
        .iter()
        .map(|s| (*s).to_owned())
        .chain(extra.iter().cloned())
        .collect()
}

impl DiffReport {
    /// For people: one line per change, grouped by cassette.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for cassette in &self.cassettes {
            let mine: Vec<&Change> = self.changes.iter().filter(|c| &c.cassette == cassette).collect();
            let _ = writeln!(
                out,
                "{} {cassette}",
                if mine.is_empty() { "same   " } else { "CHANGED" }
            );
            for change in mine {
                let _ = writeln!(
                    out,
                    "          {}{}",
                    if change.request.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", change.request)
                    },
                    change.what
                );
            }
        }
        let _ = writeln!(
            out,
            "{} cassette(s), {} shape change(s)",
            self.cassettes.len(),
            self.changes.len()
        );
        out
    }

    /// JUnit: one test case per cassette, failing with its changes.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("ibkr-probe diff");
        let mut suite = TestSuite::new("recordings");
        for cassette in &self.cassettes {
            let mine: Vec<String> = self
                .changes
                .iter()
                .filter(|c| &c.cassette == cassette)
                .map(|c| format!("{}: {}", c.request, c.what))
                .collect();
            let status = if mine.is_empty() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("{} shape change(s)", mine.len()));
                status.set_description(mine.join("\n"));
                status
            };
            suite.add_test_case(TestCase::new(cassette.as_str(), status));
        }
        report.add_test_suite(suite);
        report.to_string().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cassette(interactions: Vec<(&str, u16, Value)>) -> Cassette {
        Cassette {
            format: 1,
            scenario: "s".into(),
            interactions: interactions
                .into_iter()
                .map(|(path, status, body)| Interaction {
                    asked: None,
                    method: "GET".into(),
                    path: path.into(),
                    query: vec![],
                    status,
                    headers: Default::default(),
                    body,
                })
                .collect(),
            stream: Vec::new(),
        }
    }

    fn diff(base: Cassette, new: Cassette) -> Vec<String> {
        compare("c.json", &base, &new, &ignore_list(&[]))
            .into_iter()
            .map(|c| c.what)
            .collect()
    }

    #[test]
    fn shape_changes_are_found_and_values_ignored() {
        let base = cassette(vec![(
            "/s",
            200,
            json!([{"conid": "1", "31": "1.45", "84": "1.42", "_updated": 1}]),
        )]);
        // Prices and timestamps change: nothing to report.
        let prices = cassette(vec![(
            "/s",
            200,
            json!([{"conid": "1", "31": "1.50", "84": "1.47", "_updated": 2}]),
        )]);
        assert!(diff(base.clone(), prices).is_empty());
        let removed = cassette(vec![("/s", 200, json!([{"conid": "1", "31": "1.45"}]))]);
        assert_eq!(diff(base.clone(), removed), vec!["field removed: $[*].84 (string)"]);
        let retyped = cassette(vec![("/s", 200, json!([{"conid": 1, "31": "1.45", "84": "1.42"}]))]);
        assert_eq!(
            diff(base.clone(), retyped),
            vec!["type changed: $[*].conid: string -> number"]
        );
        let status = cassette(vec![("/s", 401, json!({"error": "id: 5, error: invalid consumer"}))]);
        let changes = diff(base, status);
        assert!(
            changes.contains(&"status changed: 200 -> 401".to_owned()),
            "{changes:?}"
        );
        assert!(
            changes
                .iter()
                .any(|c| c.starts_with("new error message: \"id: 5, error: invalid consumer\"")),
            "{changes:?}"
        );
    }

    #[test]
    fn error_ids_do_not_count_as_new_messages() {
        let a = cassette(vec![("/x", 401, json!({"error": "id: 5, error: invalid consumer"}))]);
        let b = cassette(vec![("/x", 401, json!({"error": "id: 9, error: invalid consumer"}))]);
        assert!(diff(a, b).is_empty());
    }

    fn received(topic: &str, message: Value) -> crate::record::StreamFrame {
        crate::record::StreamFrame {
            direction: "received".into(),
            topic: Some(topic.into()),
            message,
        }
    }

    #[test]
    fn websocket_topics_are_compared_by_the_shape_of_all_their_frames() {
        let mut base = cassette(vec![]);
        base.stream = vec![
            received("smd+1", json!({"topic": "smd+1", "conid": 1, "31": "1.0", "84": "0.9"})),
            // A delta with one field: the topic's shape is the union.
            received("smd+1", json!({"topic": "smd+1", "conid": 1, "31": "1.1"})),
            received("sor", json!({"topic": "sor", "args": [{"orderId": 1}]})),
        ];
        let mut new = cassette(vec![]);
        new.stream = vec![
            received(
                "smd+1",
                json!({"topic": "smd+1", "conid": "1", "31": "1.2", "84": "1.1"}),
            ),
            received("spl", json!({"topic": "spl", "args": {}})),
        ];
        let found = diff(base.clone(), new);
        assert!(
            found.contains(&"type changed: $.conid: number -> string".to_owned()),
            "{found:?}"
        );
        assert!(found.contains(&"topic no longer received".to_owned()), "{found:?}");
        assert!(found.contains(&"new topic".to_owned()), "{found:?}");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(diff(base.clone(), base.clone()).is_empty());
        // A longer run saw a heartbeat and a tic answer: not a change.
        let mut longer = base.clone();
        longer
            .stream
            .push(received("system", json!({"topic": "system", "hb": 1})));
        longer
            .stream
            .push(received("tic", json!({"topic": "tic", "alive": true})));
        assert!(diff(base, longer).is_empty());
    }
}
