//! The scenario file format (YAML), as users write it. Unknown keys are errors, and every value
//! that can be wrong at run time carries its source position so errors can point at it.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where the scenario applies; both when absent. `mock` scenarios need the mock's controls.
    #[serde(default)]
    pub targets: Option<Vec<TargetKind>>,
    /// Settings for a mock of this scenario's own (mock target only), e.g. an inactive consumer.
    #[serde(default)]
    pub mock: Option<MockSettings>,
    /// Variables, templated themselves; `--var k=v` overrides them.
    #[serde(default)]
    pub variables: IndexMap<String, Spanned<String>>,
    /// A data table: the scenario runs once per row, the row's values as variables
    /// (`each: [{symbol: ARM}, {symbol: AAPL}]`). `--var` still overrides them.
    #[serde(default)]
    pub each: Vec<IndexMap<String, String>>,
    /// Files of shared steps that run first, in order, relative to this file
    /// (`use: [setup/session.yaml]`).
    #[serde(default, rename = "use")]
    pub uses: Vec<Spanned<String>>,
    pub steps: Vec<Step>,
}

/// A file of shared steps for `use:`: a session set-up, say. It is no scenario of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    #[serde(default)]
    pub description: String,
    pub steps: Vec<Step>,
}

/// A target kind a scenario can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Mock,
    Live,
}

/// Mock controls for one scenario.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSettings {
    /// `+DURATION` or RFC 3339: `invalid consumer` until then.
    #[serde(default)]
    pub activate_at: Option<Spanned<String>>,
    /// Fault specs as for `mock --fault`.
    #[serde(default)]
    pub faults: Vec<Spanned<String>>,
    #[serde(default)]
    pub idle_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub rate_limit: Option<u32>,
}

/// One step: exactly one action (`lst`, `session_init`, `request`, `sleep` or a stream action),
/// then checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: Spanned<String>,
    /// The LST handshake with validation (`lst: {}`).
    #[serde(default)]
    pub lst: Option<Empty>,
    /// `POST /iserver/auth/ssodh/init` (`session_init: {}`).
    #[serde(default)]
    pub session_init: Option<Empty>,
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Wait this long (`sleep: 2s`), e.g. for IBKR to settle after ssodh/init.
    #[serde(default)]
    pub sleep: Option<Spanned<String>>,
    /// Retries of the request on 429, 5xx and connection failures (default 3). `retries: 0`
    /// hands the step the first answer, so `expect_error: Too Many Requests` can match.
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub expect: Option<Expect>,
    /// The step must fail with this IBKR message (decoded: `invalid consumer`, `no bridge`, ...).
    #[serde(default)]
    pub expect_error: Option<Spanned<String>>,
    /// Variables to set from the response: name -> JSON path.
    #[serde(default)]
    pub capture: IndexMap<String, Spanned<String>>,
    /// Repeat the request until these hold.
    #[serde(default)]
    pub poll: Option<Poll>,
    /// Opens IBKR's websocket for the stream steps after it (`stream_open: {}`).
    #[serde(default)]
    pub stream_open: Option<StreamOpen>,
    /// Sends one websocket frame as written, templated (`stream_send: tic`).
    #[serde(default)]
    pub stream_send: Option<Spanned<String>>,
    /// Subscribes to a topic on the stream.
    #[serde(default)]
    pub subscribe: Option<TopicSpec>,
    /// Ends a subscription.
    #[serde(default)]
    pub unsubscribe: Option<TopicSpec>,
    /// Waits for a frame on a topic that passes the checks.
    #[serde(default)]
    pub expect_message: Option<ExpectMessage>,
    /// Waits, and fails if a data frame comes.
    #[serde(default)]
    pub expect_silence: Option<ExpectSilence>,
}

/// `stream_open:` settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOpen {
    /// How often a lost socket is opened again and resubscribed before the step fails (default 3).
    #[serde(default)]
    pub reconnects: Option<u32>,
}

/// A topic to subscribe to or unsubscribe from: `market_data` (IBKR's `smd`/`umd`, needs
/// `conid`, takes `fields`), `orders` (`sor`/`uor`), `pnl` (`spl`/`upl`) or `history`
/// (`smh` with `conid` and `args`; `umh` with `server_id`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub topic: Spanned<String>,
    #[serde(default)]
    pub conid: Option<Spanned<String>>,
    /// Field meanings (`bid`, `last`) or ids (`84`) for market data.
    #[serde(default)]
    pub fields: Vec<Spanned<String>>,
    /// The JSON arguments of a history subscription (`{period: 1d, bar: 1h}`).
    #[serde(default)]
    pub args: Option<Spanned<serde_json::Value>>,
    /// The `serverId` a history answer gave, to end it.
    #[serde(default)]
    pub server_id: Option<Spanned<String>>,
}

/// A frame that must come: on `topic` (exact, templated: `smd+{{conid}}`, `sor`, `spl`), within
/// the time, passing every check. Frames on other topics, or without the checked values yet, are
/// passed over.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectMessage {
    pub topic: Spanned<String>,
    /// How long to wait (default 10s).
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    /// JSON path -> predicate, on the frame.
    #[serde(default)]
    pub json: IndexMap<String, Spanned<Predicate>>,
    /// Market-data fields by meaning, checked as `expect.snapshot` checks a snapshot element.
    #[serde(default)]
    pub fields: Vec<Spanned<String>>,
    /// Meaning -> field id, to check a mapping of your own.
    #[serde(default)]
    pub mapping: IndexMap<String, Spanned<String>>,
}

/// No data frame for a while: on `topic`, or on any data topic when it is left out (heartbeats,
/// `sts`, `act` and `tic` answers do not count).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSilence {
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    #[serde(rename = "for")]
    pub duration: Spanned<String>,
}

/// An empty mapping, for actions without settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A signed request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default = "default_method")]
    pub method: Spanned<String>,
    /// Path under the base URL, e.g. `/iserver/accounts`.
    pub path: Spanned<String>,
    #[serde(default)]
    pub query: IndexMap<String, Spanned<String>>,
    /// A JSON body; strings in it are templated.
    #[serde(default)]
    pub json: Option<Spanned<serde_json::Value>>,
}

impl RequestSpec {
    /// The request as written, templates unfilled, query sorted: `GET /p?a={{x}}&b=1`.
    pub fn as_written(&self) -> String {
        let mut query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={}", v.value)).collect();
        query.sort();
        let method = self.method.value.to_ascii_uppercase();
        match query.is_empty() {
            true => format!("{method} {}", self.path.value),
            false => format!("{method} {}?{}", self.path.value, query.join("&")),
        }
    }
}

fn default_method() -> Spanned<String> {
    Spanned::new(
        "GET".to_owned(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// What the response must look like.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// One status or a list of allowed ones.
    #[serde(default)]
    pub status: Option<StatusExpect>,
    /// Header name -> predicate.
    #[serde(default)]
    pub headers: IndexMap<String, Spanned<Predicate>>,
    /// JSON path -> predicate.
    #[serde(default)]
    pub json: IndexMap<String, Spanned<Predicate>>,
    /// Field checks on a `/iserver/marketdata/snapshot` answer, by meaning.
    #[serde(default)]
    pub snapshot: Option<SnapshotExpect>,
}

/// Snapshot fields named by meaning, checked for consistency in every element that has data:
/// ask >= bid, last within the day's range, sizes whole, no price that looks like a size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotExpect {
    /// Meanings to read: `bid`, `ask`, `ask_size`, `bid_size`, `last`, `high`, `low`, ...
    pub fields: Vec<Spanned<String>>,
    /// Meaning -> field id, to check a mapping of your own instead of IBKR's table.
    #[serde(default)]
    pub mapping: IndexMap<String, Spanned<String>>,
}

/// `status: 200` or `status: [200, 201]`.
#[derive(Debug, Clone)]
pub enum StatusExpect {
    One(u16),
    Any(Vec<u16>),
}

impl<'de> Deserialize<'de> for StatusExpect {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        fn code<E: serde::de::Error>(value: u64) -> Result<u16, E> {
            u16::try_from(value)
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| E::custom(format!("{value} is not an HTTP status (100 to 599)")))
        }
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StatusExpect;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an HTTP status such as 200, or a list such as [200, 201]")
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<StatusExpect, E> {
                code(value).map(StatusExpect::One)
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<StatusExpect, E> {
                Err(E::custom(format!("{value} is not an HTTP status (100 to 599)")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusExpect, A::Error> {
                let mut codes = Vec::new();
                while let Some(value) = seq.next_element::<u64>()? {
                    codes.push(code(value)?);
                }
                Ok(StatusExpect::Any(codes))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl std::fmt::Display for StatusExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::One(status) => write!(f, "{status}"),
            Self::Any(list) => {
                let list: Vec<String> = list.iter().map(u16::to_string).collect();
                write!(f, "one of {}", list.join(", "))
            }
        }
    }
}

impl StatusExpect {
    pub fn allows(&self, status: u16) -> bool {
        match self {
            Self::One(s) => *s == status,
            Self::Any(list) => list.contains(&status),
        }
    }
}

/// Checks on one value. All given checks must hold.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub exists: Option<bool>,
    pub equals: Option<serde_json::Value>,
    /// A regular expression the value (as text) must match.
    pub matches: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<JsonType>,
    /// Numeric comparisons; numeric strings such as `"1.65"` or `"1,300"` count as numbers.
    pub gt: Option<f64>,
    pub ge: Option<f64>,
    pub lt: Option<f64>,
    pub le: Option<f64>,
    /// Length of an array, object or string.
    pub length: Option<usize>,
    pub one_of: Option<Vec<serde_json::Value>>,
    /// An array holding this element, or a string holding this text.
    pub contains: Option<serde_json::Value>,
}

/// JSON types for `type:`; `integer` is a number without a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

/// Poll-until: repeat the step's request until every condition holds or the deadline passes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// JSON path -> predicate, as in `expect.json`.
    pub until: IndexMap<String, Spanned<Predicate>>,
    /// First wait between attempts (default 500ms).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    /// Factor applied to the interval after each attempt (default 1.0).
    #[serde(default)]
    pub backoff: Option<f64>,
    /// Give up after this long overall (default 30s).
    #[serde(default)]
    pub deadline: Option<Spanned<String>>,
    /// Give up after this many attempts (default: no limit besides the deadline).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Statuses that end the poll at once, as answers that will not turn into success (default:
    /// every 4xx except 408 and 429). `[]` polls on whatever comes.
    #[serde(default)]
    pub stop_on: Option<Vec<u16>>,
}
