//! Recordings of what a server answered ("cassettes"): written by `run --record DIR` with every
//! secret and identity removed, served back by `mock --replay DIR`, and compared by shape with
//! `diff`.

pub mod diff;
pub mod redact;
pub mod replay;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only cassette format this build reads and writes.
pub const FORMAT: u32 = 1;

/// One request and the answer it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    pub method: String,
    /// The path under the base URL, e.g. `/iserver/accounts`.
    pub path: String,
    /// Query parameters in request order.
    #[serde(default)]
    pub query: Vec<(String, String)>,
    pub status: u16,
    /// Headers that matter for behaviour: content type and retry hints.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body: JSON when it parsed, a string otherwise.
    pub body: Value,
    /// What the scenario step asked for, before its templates were filled in
    /// (`GET /iserver/secdef/strikes?conid={{conid}}&month={{month}}&sectype=OPT`): `diff` matches
    /// requests by it, so month codes and strikes taken from the calendar or the market do not
    /// make a committed baseline drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
}

/// One websocket frame of a scenario's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamFrame {
    /// `sent` by the client or `received` from the server.
    pub direction: String,
    /// The frame's topic: the `topic` key of a received frame (none for acknowledgements such
    /// as `{"message":"Unsubscribed 123"}`), the topic key of a sent one (`smd+265598`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// A received frame's JSON, or a sent frame's text as a string.
    pub message: Value,
}

/// All interactions of one scenario, in order, and its websocket frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    pub format: u32,
    pub scenario: String,
    pub interactions: Vec<Interaction>,
    /// Websocket frames in the order sent and received (absent when the scenario had none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stream: Vec<StreamFrame>,
}

/// A cassette that cannot be read, with file, line and column (line 0: the file as a whole).
#[derive(Debug)]
pub struct CassetteError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for CassetteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::files::located(&self.path, self.line as u64, self.column as u64))?;
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for CassetteError {}

impl Cassette {
    /// Pretty JSON with a stable key order: diffs of committed cassettes stay readable.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads one cassette file.
    pub fn read(path: &Path) -> Result<Self, CassetteError> {
        let fail = |line, column, message: String| CassetteError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(0, 0, format!("cannot read: {e}")))?;
        let cassette: Cassette = serde_json::from_str(&text).map_err(|e| fail(e.line(), e.column(), e.to_string()))?;
        if cassette.format != FORMAT {
            return Err(fail(
                1,
                1,
                format!(
                    "unsupported cassette format {}; this build reads format {FORMAT}",
                    cassette.format
                ),
            ));
        }
        Ok(cassette)
    }

    /// Every `*.json` cassette in a folder, sorted by file name.
    pub fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, Cassette)>, CassetteError> {
        let fail = |message: String| CassetteError {
            path: dir.to_path_buf(),
            line: 0,
            column: 0,
            message,
        };
        let files = crate::files::list(dir, &["json"]).map_err(|e| fail(format!("cannot list the folder: {e}")))?;
        if files.is_empty() {
            return Err(fail("holds no *.json cassettes".into()));
        }
        files
            .into_iter()
            .map(|path| Cassette::read(&path).map(|c| (path, c)))
            .collect()
    }
}

/// Whether a folder already holds a recording, which `run --record` must not silently replace.
pub fn holds_cassettes(dir: &Path) -> bool {
    crate::files::list(dir, &["json"]).is_ok_and(|files| !files.is_empty())
}

/// Collects a client's interactions and websocket frames while a scenario runs.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Recording>>);

/// What a recorder holds.
#[derive(Default)]
pub struct Recording {
    pub interactions: Vec<Interaction>,
    pub stream: Vec<StreamFrame>,
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn record(&self, interaction: Interaction) {
        self.lock().interactions.push(interaction);
    }

    /// Keeps one websocket frame.
    pub fn frame(&self, frame: StreamFrame) {
        self.lock().stream.push(frame);
    }

    /// How many interactions are recorded so far.
    pub fn len(&self) -> usize {
        self.lock().interactions.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.lock().stream.is_empty()
    }

    /// Marks the interactions recorded since `start` with what their step asked for.
    pub fn label_since(&self, start: usize, asked: &str) {
        for interaction in self.lock().interactions.iter_mut().skip(start) {
            interaction.asked = Some(asked.to_owned());
        }
    }

    /// Everything recorded so far, emptying the recorder.
    pub fn take(&self) -> Recording {
        std::mem::take(&mut *self.lock())
    }
}

/// The recorder keeps every frame of a scenario's stream.
impl crate::client::stream::StreamObserver for Recorder {
    fn frame(&self, frame: crate::client::stream::Frame<'_>) {
        use crate::client::stream::{Frame, topic_key};
        let frame = match frame {
            Frame::Sent(text) => StreamFrame {
                direction: "sent".into(),
                topic: Some(topic_key(text).to_owned()),
                message: Value::String(text.to_owned()),
            },
            Frame::Received(value) => StreamFrame {
                direction: "received".into(),
                topic: value["topic"].as_str().map(str::to_owned),
                message: value.clone(),
            },
        };
        Recorder::frame(self, frame);
    }
}

/// Builds an interaction from a response; `base_url` is cut off the URL.
pub fn interaction(
    method: &str,
    url: &str,
    base_url: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Interaction {
    let relative = url.strip_prefix(base_url).unwrap_or(url);
    let (path, query) = crate::oauth::base_string::split_url(relative);
    let query = crate::oauth::base_string::query_pairs(query)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let headers = ["content-type", "retry-after"]
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*name).to_owned(), v.to_owned()))
        })
        .collect();
    let body =
        serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    Interaction {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        status,
        headers,
        body,
        asked: None,
    }
}

/// A file name for a scenario's cassette: its file stem, and the data-table row's label when the
/// scenario runs once per row (`known-conids-symbol-AAPL.json`).
pub fn cassette_name(scenario_file: &Path, row_label: &str) -> String {
    let stem = scenario_file.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
    let safe: String = format!("{stem}{row_label}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut safe = safe.trim_end_matches('-').to_owned();
    while safe.contains("--") {
        safe = safe.replace("--", "-");
    }
    format!("{safe}.json")
}
