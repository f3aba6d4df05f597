//! Reading scenario files: YAML into the model, then every path, pattern, duration and template
//! reference is checked before anything runs. Errors carry `file:line:column`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::assert;
use super::model::{Fragment, Predicate, Scenario, Step};
use super::path::JsonPath;
use super::template;

/// A scenario file that cannot be used, with the position of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub path: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::files::located(&self.path, self.line, self.column),
            self.message
        )
    }
}

impl std::error::Error for ScenarioError {}

/// A checked predicate: path and pattern compiled once.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// The JSON path or header name as written.
    pub target: String,
    pub path: Option<JsonPath>,
    pub predicate: Predicate,
    /// Compiled when the pattern has no template; otherwise compiled after rendering.
    pub regex: Option<regex::Regex>,
}

impl CheckSpec {
    /// Renders a check's templates and evaluates it.
    pub(super) fn evaluate(
        &self,
        actual: Option<&Value>,
        vars: &HashMap<String, String>,
        now: SystemTime,
    ) -> Result<(), String> {
        let mut predicate = self.predicate.clone();
        for value in [&mut predicate.equals, &mut predicate.contains].into_iter().flatten() {
            *value = template::render_json(value, vars, now)?;
        }
        if let Some(options) = &mut predicate.one_of {
            for value in options.iter_mut() {
                *value = template::render_json(value, vars, now)?;
            }
        }
        let rendered_regex;
        let regex = match (&self.regex, &predicate.matches) {
            (Some(re), _) => Some(re),
            (None, Some(pattern)) => {
                let pattern = template::render(pattern, vars, now)?;
                rendered_regex =
                    regex::Regex::new(&pattern).map_err(|e| format!("bad pattern after templating: {e}"))?;
                Some(&rendered_regex)
            }
            (None, None) => None,
        };
        assert::check(&predicate, regex, actual)
    }
}

/// Stores what each capture selects in `body` as a variable; the first that selects nothing is
/// the step's failure.
pub(super) fn capture(
    captures: &[(String, JsonPath)],
    body: &Value,
    vars: &mut HashMap<String, String>,
) -> Result<(), String> {
    for (name, path) in captures {
        let value = path
            .select(body)
            .ok_or_else(|| format!("capture `{name}`: {path} selected nothing in {}", assert::show(body)))?;
        vars.insert(name.clone(), assert::as_text(&value));
    }
    Ok(())
}

/// Durations and checks of a step, parsed.
#[derive(Debug, Clone, Default)]
pub struct CompiledStep {
    /// A `sleep` step's wait.
    pub sleep: Option<Duration>,
    pub json: Vec<CheckSpec>,
    pub headers: Vec<CheckSpec>,
    pub captures: Vec<(String, JsonPath)>,
    pub poll: Option<CompiledPoll>,
    pub snapshot: Option<CompiledSnapshot>,
    /// A stream step's action and checks.
    pub stream: Option<StreamAction>,
}

/// What a stream step does, compiled from its YAML.
#[derive(Debug, Clone)]
pub enum StreamAction {
    /// Opens the socket, with this many reconnects allowed.
    Open { reconnects: u32 },
    /// Sends a frame (templates filled at run time): a subscription, an unsubscription, `tic`.
    Send(String),
    /// Waits for a frame on `topic` passing the checks.
    Expect {
        topic: String,
        within: Duration,
        json: Vec<CheckSpec>,
        fields: Option<CompiledSnapshot>,
    },
    /// Waits `duration`; a data frame (on `topic`, if given) fails the step.
    Silence { topic: Option<String>, duration: Duration },
}

/// Snapshot field checks, resolved against the catalogue.
#[derive(Debug, Clone)]
pub struct CompiledSnapshot {
    pub meanings: Vec<crate::fields::Meaning>,
    pub mapping: Vec<(crate::fields::Meaning, String)>,
}

#[derive(Debug, Clone)]
pub struct CompiledPoll {
    pub until: Vec<CheckSpec>,
    pub interval: Duration,
    pub backoff: f64,
    pub deadline: Duration,
    pub max_attempts: Option<u32>,
    /// `None`: the default rule (every 4xx but 408 and 429).
    pub stop_on: Option<Vec<u16>>,
}

impl CompiledPoll {
    /// Whether an answer with this status ends the poll: it will not turn into success.
    pub fn stops_on(&self, status: u16) -> bool {
        match &self.stop_on {
            Some(list) => list.contains(&status),
            None => (400..500).contains(&status) && status != 408 && status != 429,
        }
    }
}

/// The shortest wait between poll attempts.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A scenario ready to run.
#[derive(Debug)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub scenario: Scenario,
    pub steps: Vec<CompiledStep>,
    /// Every variable the scenario declares or references (not its captures, nor helpers): a
    /// `--var` outside all of them is a typo, or would be overwritten.
    pub variable_names: HashSet<String>,
    /// `{{env.NAME}}` references whose variable is not set, with where they are: an error when
    /// the scenario is selected to run.
    pub missing_env: Vec<ScenarioError>,
    /// The scenario's own mock (`mock:`), checked: the runner starts one with these settings.
    pub mock: Option<ScenarioMock>,
}

/// A scenario's `mock:` settings, read and checked when the scenario loads.
#[derive(Debug, Clone)]
pub struct ScenarioMock {
    pub activate_at: Option<crate::mock::ActivateAt>,
    pub faults: Vec<crate::mock::Fault>,
    pub idle_timeout: Option<Duration>,
    pub rate_limit: Option<u32>,
}

impl ScenarioMock {
    /// Applies these settings over a mock's defaults; `+DURATION` counts from the mock's clock.
    pub fn apply(&self, config: &mut crate::mock::MockConfig) {
        config.activate_at = self.activate_at.map(|at| at.moment(config.clock.now()));
        config.faults.extend(self.faults.iter().cloned());
        if let Some(idle) = self.idle_timeout {
            config.idle_timeout = idle;
        }
        if let Some(rate) = self.rate_limit {
            config.rate_limit = rate;
        }
    }
}

/// One row of a scenario's data table: its variables, and a label for reports (` [symbol=AAPL]`).
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub label: String,
    pub vars: Vec<(String, String)>,
}

impl LoadedScenario {
    /// The rows to run: one per row of `each:`, or a single unlabelled one. A `--var` in
    /// `overrides` wins over a row's value, and the label shows the value that is used.
    pub fn rows(&self, overrides: &std::collections::HashMap<String, String>) -> Vec<Row> {
        if self.scenario.each.is_empty() {
            return vec![Row::default()];
        }
        self.scenario
            .each
            .iter()
            .map(|row| {
                let vars: Vec<(String, String)> = row
                    .iter()
                    .map(|(k, v)| (k.clone(), overrides.get(k).unwrap_or(v).clone()))
                    .collect();
                let pairs: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Row {
                    label: format!(" [{}]", pairs.join(", ")),
                    vars,
                }
            })
            .collect()
    }
}

/// Expands paths: files as given, folders to their `*.yaml`/`*.yml` files, sorted.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut out = Vec::new();
    for path in paths {
        let error = |message: String| ScenarioError {
            path: path.clone(),
            line: 0,
            column: 0,
            message,
        };
        if path.is_dir() {
            let files = crate::files::list(path, &["yaml", "yml"])
                .map_err(|e| error(format!("cannot list the folder: {e}")))?;
            if files.is_empty() {
                return Err(error("holds no *.yaml scenario files".into()));
            }
            out.extend(files);
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            return Err(error("no such file or folder".into()));
        }
    }
    Ok(out)
}

/// Reads and checks one scenario. `extra_vars` are the `--var` names (always defined).
pub fn load(path: &Path, extra_vars: &HashSet<String>) -> Result<LoadedScenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(path, &text, extra_vars)
}

/// Parses and checks scenario text; files it `use`s are read from disk, next to `path`.
pub fn parse(path: &Path, text: &str, extra_vars: &HashSet<String>) -> Result<LoadedScenario, ScenarioError> {
    parse_with(path, text, extra_vars, &|file| std::fs::read_to_string(file))
}

/// [`parse`], reading the files the scenario `use`s with `read` (the bundled copies, say).
pub fn parse_with(
    path: &Path,
    text: &str,
    extra_vars: &HashSet<String>,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<LoadedScenario, ScenarioError> {
    let mut scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| yaml_error(path, &e))?;
    let mut fragments: Vec<(PathBuf, Vec<Step>)> = Vec::with_capacity(scenario.uses.len());
    for used in &scenario.uses {
        let file = path.parent().unwrap_or(Path::new("")).join(&used.value);
        let text = read(&file).map_err(|e| ScenarioError {
            path: path.to_path_buf(),
            line: used.referenced.line(),
            column: used.referenced.column(),
            message: format!(
                "`use: {}`: cannot read {} ({e}); paths are relative to this file",
                used.value,
                file.display()
            ),
        })?;
        let fragment: Fragment = serde_saphyr::from_str(&text).map_err(|e| yaml_error(&file, &e))?;
        fragments.push((file, fragment.steps));
    }
    let (steps, variable_names, missing_env, mock) = {
        let mut checker = Checker {
            path,
            defined: extra_vars.clone(),
            used: HashSet::new(),
            captured: HashSet::new(),
            has_lst: false,
            has_stream: false,
            missing_env: Vec::new(),
        };
        // The mock's settings are reported first, as they come first in a file.
        let mock = scenario.mock.as_ref().map(|m| checker.mock(m)).transpose()?;
        let steps = checker.check(&scenario, &fragments)?;
        let mut names = checker.used;
        names.retain(|name| !checker.captured.contains(name) && !template::is_helper(name));
        (steps, names, checker.missing_env, mock)
    };
    // The shared steps run first: the runner sees one list.
    let own = std::mem::take(&mut scenario.steps);
    scenario.steps = fragments.into_iter().flat_map(|(_, steps)| steps).chain(own).collect();
    Ok(LoadedScenario {
        path: path.to_path_buf(),
        scenario,
        steps,
        variable_names,
        missing_env,
        mock,
    })
}

fn yaml_error(path: &Path, error: &serde_saphyr::Error) -> ScenarioError {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let full = error.to_string();
    let first = full.lines().next().unwrap_or("").trim();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    let message = match message.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest,
        _ => message,
    };
    // The YAML library's advice to its programmer is no use to the person writing the file.
    let message = message.replace(
        ", set DuplicateKeyPolicy in Options if acceptable",
        "; each key may appear once in a mapping",
    );
    let message = message.as_str();
    ScenarioError {
        path: path.to_path_buf(),
        line,
        column,
        message: with_suggestion(message),
    }
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of a, b" messages.
fn with_suggestion(message: &str) -> String {
    let unknown = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("unknown variant"));
    let expected = message
        .split_once("expected one of ")
        .map(|(_, list)| list)
        .or_else(|| message.split_once("expected ").map(|(_, e)| e));
    match (unknown, expected) {
        (Some(unknown), Some(list)) => {
            let candidates = list.split(',').map(|c| c.trim().trim_matches('`'));
            format!("{message}{}", did_you_mean(unknown, candidates, 0.75))
        }
        _ => message.to_owned(),
    }
}

/// ` (did you mean `x`?)` for the candidate closest to `word`, if one scores above `threshold`
/// (Jaro-Winkler); empty otherwise.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>, threshold: f64) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > threshold)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

struct Checker<'a> {
    path: &'a Path,
    defined: HashSet<String>,
    /// Names declared under `variables:` or referenced by a template.
    used: HashSet<String>,
    /// Names a step captures: a `--var` of that name would be overwritten.
    captured: HashSet<String>,
    /// Whether an `lst` step came yet: signed requests need the live session token first.
    has_lst: bool,
    /// Whether a `stream_open` step came yet: the other stream steps use its socket.
    has_stream: bool,
    /// Environment variables the scenario uses that are not set: an error only when it is selected.
    missing_env: Vec<ScenarioError>,
}

impl<'a> Checker<'a> {
    fn error(&self, at: &Location, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            path: self.path.to_path_buf(),
            line: at.line(),
            column: at.column(),
            message: message.into(),
        }
    }

    fn check(
        &mut self,
        scenario: &Scenario,
        fragments: &'a [(PathBuf, Vec<Step>)],
    ) -> Result<Vec<CompiledStep>, ScenarioError> {
        if scenario.steps.is_empty() && fragments.iter().all(|(_, steps)| steps.is_empty()) {
            return Err(self.error(
                &scenario.name.referenced,
                "a scenario needs at least one step under `steps:`",
            ));
        }
        for (name, value) in &scenario.variables {
            self.templates(&value.referenced, &[value.value.as_str()])?;
            self.defined.insert(name.clone());
            self.used.insert(name.clone());
        }
        for (index, row) in scenario.each.iter().enumerate() {
            if row.is_empty() {
                return Err(self.error(
                    &scenario.name.referenced,
                    format!(
                        "row {} of `each` is empty; give each row its variables, e.g. {{symbol: AAPL}}",
                        index + 1
                    ),
                ));
            }
            for name in row.keys() {
                self.defined.insert(name.clone());
                self.used.insert(name.clone());
            }
        }
        let own_path = self.path;
        let mut compiled = Vec::new();
        for (file, steps) in fragments {
            self.path = file;
            for step in steps {
                compiled.push(self.step(step)?);
            }
        }
        self.path = own_path;
        for step in &scenario.steps {
            compiled.push(self.step(step)?);
        }
        Ok(compiled)
    }

    fn step(&mut self, step: &Step) -> Result<CompiledStep, ScenarioError> {
        self.action(step)?;
        let at = &step.name.referenced;
        let mut compiled = CompiledStep::default();
        if let Some(sleep) = &step.sleep {
            compiled.sleep = Some(self.duration(sleep)?);
            return Ok(compiled);
        }
        if let Some(request) = &step.request {
            self.request(request)?;
        }
        compiled.stream = self.stream(step)?;
        if let Some(expect) = &step.expect {
            compiled.json = self.checks(&expect.json, true)?;
            compiled.headers = self.checks(&expect.headers, false)?;
            if let Some(snapshot) = &expect.snapshot {
                compiled.snapshot = Some(self.snapshot(&snapshot.fields, &snapshot.mapping)?);
            }
        }
        if let Some(poll) = &step.poll {
            compiled.poll = Some(self.poll(poll, at)?);
        }
        if let Some(expected) = &step.expect_error {
            self.templates(&expected.referenced, &[expected.value.as_str()])?;
        }
        for (name, path) in &step.capture {
            let parsed = JsonPath::parse(&path.value).map_err(|e| self.error(&path.referenced, e))?;
            compiled.captures.push((name.clone(), parsed));
        }
        // Captures are defined for later steps only.
        for name in step.capture.keys() {
            self.captured.insert(name.clone());
            self.defined.insert(name.clone());
        }
        Ok(compiled)
    }

    /// A step does one thing, after an `lst` step if it signs, and carries only the checks its
    /// action can have.
    fn action(&mut self, step: &Step) -> Result<(), ScenarioError> {
        let at = &step.name.referenced;
        let streams = [
            step.stream_open.is_some(),
            step.stream_send.is_some(),
            step.subscribe.is_some(),
            step.unsubscribe.is_some(),
            step.expect_message.is_some(),
            step.expect_silence.is_some(),
        ];
        let is_stream = streams.contains(&true);
        let actions = [
            step.lst.is_some(),
            step.session_init.is_some(),
            step.request.is_some(),
            step.sleep.is_some(),
        ];
        if actions.iter().chain(&streams).filter(|a| **a).count() != 1 {
            return Err(self.error(
                at,
                format!(
                    "step {:?} needs exactly one of `lst`, `session_init`, `request`, `sleep`, `stream_open`, `stream_send`, `subscribe`, `unsubscribe`, `expect_message`, `expect_silence`",
                    step.name.value
                ),
            ));
        }
        if is_stream {
            return self.stream_action(step);
        }
        if step.lst.is_some() {
            self.has_lst = true;
        } else if (step.request.is_some() || step.session_init.is_some()) && !self.has_lst {
            return Err(self.error(
                at,
                format!(
                    "step {:?} sends a signed request before any `lst` step: start with `- name: live session token` / `lst: {{}}`, or `use: [setup/session.yaml]`",
                    step.name.value
                ),
            ));
        }
        let checks = step.expect.is_some() || step.expect_error.is_some() || !step.capture.is_empty();
        if step.sleep.is_some() && (checks || step.poll.is_some() || step.retries.is_some()) {
            return Err(self.error(at, "a `sleep` step only waits; it takes no checks"));
        }
        if step.retries.is_some() && step.request.is_none() {
            return Err(self.error(at, "`retries` bounds the retries of a `request`; this step has none"));
        }
        if step.lst.is_some() && (step.expect.is_some() || !step.capture.is_empty() || step.poll.is_some()) {
            return Err(self.error(
                at,
                "an `lst` step takes only `expect_error`; check session values in a later request step",
            ));
        }
        if step.poll.is_some() && step.request.is_none() {
            return Err(self.error(at, "`poll` repeats a `request`; this step has none"));
        }
        Ok(())
    }

    /// A stream step comes after what it needs (an `lst` step before `stream_open`, a
    /// `stream_open` before the rest) and carries no checks but its own (and captures, on
    /// `expect_message`).
    fn stream_action(&mut self, step: &Step) -> Result<(), ScenarioError> {
        let at = &step.name.referenced;
        let name = &step.name.value;
        if step.stream_open.is_some() {
            if !self.has_lst {
                return Err(self.error(
                    at,
                    format!("step {name:?} opens the stream before any `lst` step: the socket needs a live session token and a brokerage session (`use: [setup/session.yaml]`)"),
                ));
            }
            self.has_stream = true;
        } else if !self.has_stream {
            return Err(self.error(
                at,
                format!("step {name:?} uses the stream before any `stream_open` step: add `- name: open the stream` / `stream_open: {{}}` before it"),
            ));
        }
        let checks =
            step.expect.is_some() || step.expect_error.is_some() || step.poll.is_some() || step.retries.is_some();
        if checks {
            return Err(self.error(
                at,
                "a stream step takes no `expect`, `expect_error`, `poll` or `retries`: check frames with `expect_message` or `expect_silence`",
            ));
        }
        if !step.capture.is_empty() && step.expect_message.is_none() {
            return Err(self.error(
                at,
                "`capture` on a stream step reads the frame `expect_message` waits for; this step has none",
            ));
        }
        Ok(())
    }

    /// A stream step's action, compiled: subscriptions become the frames IBKR reads.
    fn stream(&mut self, step: &Step) -> Result<Option<StreamAction>, ScenarioError> {
        if let Some(open) = &step.stream_open {
            return Ok(Some(StreamAction::Open {
                reconnects: open
                    .reconnects
                    .unwrap_or(crate::client::stream::StreamOptions::default().reconnects),
            }));
        }
        if let Some(frame) = &step.stream_send {
            self.templates(&frame.referenced, &[frame.value.as_str()])?;
            return Ok(Some(StreamAction::Send(frame.value.clone())));
        }
        if let Some(topic) = &step.subscribe {
            return Ok(Some(StreamAction::Send(self.topic_frame(topic, true)?)));
        }
        if let Some(topic) = &step.unsubscribe {
            return Ok(Some(StreamAction::Send(self.topic_frame(topic, false)?)));
        }
        if let Some(expect) = &step.expect_message {
            self.templates(&expect.topic.referenced, &[expect.topic.value.as_str()])?;
            let within = match &expect.within {
                Some(within) => self.duration(within)?,
                None => Duration::from_secs(10),
            };
            let fields = (!expect.fields.is_empty())
                .then(|| self.snapshot(&expect.fields, &expect.mapping))
                .transpose()?;
            return Ok(Some(StreamAction::Expect {
                topic: expect.topic.value.clone(),
                within,
                json: self.checks(&expect.json, true)?,
                fields,
            }));
        }
        if let Some(silence) = &step.expect_silence {
            if let Some(topic) = &silence.topic {
                self.templates(&topic.referenced, &[topic.value.as_str()])?;
            }
            return Ok(Some(StreamAction::Silence {
                topic: silence.topic.as_ref().map(|t| t.value.clone()),
                duration: self.duration(&silence.duration)?,
            }));
        }
        Ok(None)
    }

    /// The frame that subscribes to (or ends) a topic, templates left in:
    /// `smd+{{conid}}+{"fields":["84","86"]}`, `umd+{{conid}}+{}`, `sor+{}`, `umh+{{id}}`.
    fn topic_frame(&mut self, spec: &super::model::TopicSpec, subscribe: bool) -> Result<String, ScenarioError> {
        let topic = &spec.topic;
        let needs = |what: &str, value: &Option<Spanned<String>>| {
            value
                .as_ref()
                .map(|v| v.value.clone())
                .ok_or_else(|| self.error(&topic.referenced, format!("topic `{}` needs `{what}`", topic.value)))
        };
        let frame = match (topic.value.as_str(), subscribe) {
            ("market_data", true) => {
                let mut ids = Vec::new();
                for field in &spec.fields {
                    if crate::fields::by_id(&field.value).is_some() {
                        ids.push(field.value.clone());
                    } else {
                        ids.push(self.meaning(field)?.field().id.to_owned());
                    }
                }
                if ids.is_empty() {
                    return Err(self.error(
                        &topic.referenced,
                        "a market-data subscription needs `fields` (meanings such as bid, ask, last, or field ids)",
                    ));
                }
                format!(
                    "smd+{}+{}",
                    needs("conid", &spec.conid)?,
                    serde_json::json!({"fields": ids})
                )
            }
            ("market_data", false) => format!("umd+{}+{{}}", needs("conid", &spec.conid)?),
            ("orders", true) => "sor+{}".to_owned(),
            ("orders", false) => "uor+{}".to_owned(),
            ("pnl", true) => "spl+{}".to_owned(),
            ("pnl", false) => "upl+{}".to_owned(),
            ("history", true) => {
                let args = spec
                    .args
                    .as_ref()
                    .map_or_else(|| serde_json::json!({}), |a| a.value.clone());
                format!("smh+{}+{args}", needs("conid", &spec.conid)?)
            }
            ("history", false) => format!("umh+{}", needs("server_id", &spec.server_id)?),
            (other, _) => {
                let names = ["market_data", "orders", "pnl", "history"];
                let suggestion = did_you_mean(other, names, 0.7);
                return Err(self.error(
                    &topic.referenced,
                    format!("unknown topic {other:?}{suggestion}; expected market_data (smd), orders (sor), pnl (spl) or history (smh)"),
                ));
            }
        };
        self.templates(&topic.referenced, &[frame.as_str()])?;
        Ok(frame)
    }

    /// A request's method, path and the templates in its path, query and body.
    fn request(&mut self, request: &super::model::RequestSpec) -> Result<(), ScenarioError> {
        let method = request.method.value.to_ascii_uppercase();
        if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method.as_str()) {
            return Err(self.error(
                &request.method.referenced,
                format!(
                    "unknown method {:?}; expected GET, POST, PUT, DELETE or PATCH",
                    request.method.value
                ),
            ));
        }
        if !request.path.value.starts_with('/') {
            return Err(self.error(
                &request.path.referenced,
                "the path starts with `/`, e.g. /iserver/accounts",
            ));
        }
        self.templates(&request.path.referenced, &[request.path.value.as_str()])?;
        for value in request.query.values() {
            self.templates(&value.referenced, &[value.value.as_str()])?;
        }
        if let Some(json) = &request.json {
            self.templates(&json.referenced, &template::json_strings(&json.value))?;
        }
        Ok(())
    }

    /// `poll:` with its defaults (every 500 ms for up to 30 s), never faster than IBKR allows.
    fn poll(&mut self, poll: &super::model::Poll, at: &Location) -> Result<CompiledPoll, ScenarioError> {
        let interval = poll
            .interval
            .as_ref()
            .map(|d| self.duration(d))
            .transpose()?
            .unwrap_or(Duration::from_millis(500));
        let deadline = poll
            .deadline
            .as_ref()
            .map(|d| self.duration(d))
            .transpose()?
            .unwrap_or(Duration::from_secs(30));
        if interval < MIN_POLL_INTERVAL {
            let at = poll.interval.as_ref().map_or(at, |i| &i.referenced);
            return Err(self.error(
                at,
                format!(
                    "poll interval {} is too short: at least {} (IBKR allows about 10 requests/s for everything)",
                    humantime::format_duration(interval),
                    humantime::format_duration(MIN_POLL_INTERVAL)
                ),
            ));
        }
        let backoff = poll.backoff.unwrap_or(1.0);
        if !(1.0..=10.0).contains(&backoff) {
            return Err(self.error(at, format!("poll backoff {backoff} must be between 1 and 10")));
        }
        if poll.until.is_empty() {
            return Err(self.error(at, "`poll.until` needs at least one condition"));
        }
        Ok(CompiledPoll {
            until: self.checks(&poll.until, true)?,
            interval,
            backoff,
            deadline,
            max_attempts: poll.max_attempts,
            stop_on: poll.stop_on.clone(),
        })
    }

    fn checks(
        &mut self,
        map: &indexmap::IndexMap<String, Spanned<Predicate>>,
        json: bool,
    ) -> Result<Vec<CheckSpec>, ScenarioError> {
        map.iter()
            .map(|(target, predicate)| {
                let at = &predicate.referenced;
                let path = if json {
                    Some(JsonPath::parse(target).map_err(|e| self.error(at, e))?)
                } else {
                    None
                };
                let p = &predicate.value;
                let mut strings: Vec<&str> = Vec::new();
                for value in [&p.equals, &p.contains].into_iter().flatten() {
                    strings.extend(template::json_strings(value));
                }
                for value in p.one_of.iter().flatten() {
                    strings.extend(template::json_strings(value));
                }
                if let Some(pattern) = &p.matches {
                    strings.push(pattern);
                }
                self.templates(at, &strings)?;
                let regex = match &p.matches {
                    Some(pattern) if !pattern.contains("{{") => Some(
                        regex::Regex::new(pattern)
                            .map_err(|e| self.error(at, format!("`matches` is not a valid regular expression: {e}")))?,
                    ),
                    _ => None,
                };
                Ok(CheckSpec {
                    target: target.clone(),
                    path,
                    predicate: p.clone(),
                    regex,
                })
            })
            .collect()
    }

    fn templates(&mut self, at: &Location, texts: &[&str]) -> Result<(), ScenarioError> {
        for text in texts {
            for reference in template::references(text) {
                self.used.insert(reference.to_owned());
                if let Some(name) = template::env_name(reference)
                    && std::env::var_os(name).is_none()
                {
                    let error = self.error(
                        at,
                        format!("`{{{{{reference}}}}}`: the environment variable {name} is not set; set it, or use a variable"),
                    );
                    self.missing_env.push(error);
                }
                if !self.defined.contains(reference) && !template::is_helper(reference) {
                    let mut known: Vec<&str> = self.defined.iter().map(String::as_str).collect();
                    known.sort_unstable();
                    let suggestion = did_you_mean(reference, known.iter().copied(), 0.8);
                    let listed = if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    };
                    return Err(self.error(
                        at,
                        format!("undefined variable `{reference}`{suggestion}; defined here: {listed}; helpers: today, month_code(N)"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn meaning(&self, word: &Spanned<String>) -> Result<crate::fields::Meaning, ScenarioError> {
        crate::fields::Meaning::parse(&word.value).ok_or_else(|| {
            let names: Vec<&str> = crate::fields::Meaning::NAMES
                .iter()
                .map(|(_, words)| words[0])
                .collect();
            let suggestion = did_you_mean(&word.value, names.iter().copied(), 0.8);
            self.error(
                &word.referenced,
                format!(
                    "unknown field meaning {:?}{suggestion}; expected one of {}",
                    word.value,
                    names.join(", ")
                ),
            )
        })
    }

    /// Field checks by meaning (`expect.snapshot`, `expect_message.fields`), resolved against
    /// IBKR's table.
    fn snapshot(
        &self,
        fields: &[Spanned<String>],
        mapping_written: &indexmap::IndexMap<String, Spanned<String>>,
    ) -> Result<CompiledSnapshot, ScenarioError> {
        let meanings = fields.iter().map(|w| self.meaning(w)).collect::<Result<Vec<_>, _>>()?;
        let mut mapping = Vec::new();
        for (word, id) in mapping_written {
            let meaning = self.meaning(&Spanned::new(word.clone(), id.referenced, id.defined))?;
            if crate::fields::by_id(&id.value).is_none() {
                return Err(self.error(
                    &id.referenced,
                    format!(
                        "field id {:?} is not in IBKR's table (`ibkr-probe fields` lists them)",
                        id.value
                    ),
                ));
            }
            mapping.push((meaning, id.value.clone()));
        }
        Ok(CompiledSnapshot { meanings, mapping })
    }

    fn mock(&self, settings: &super::model::MockSettings) -> Result<ScenarioMock, ScenarioError> {
        let activate_at = match &settings.activate_at {
            Some(at) => Some(at.value.parse().map_err(|e| self.error(&at.referenced, e))?),
            None => None,
        };
        let faults = settings
            .faults
            .iter()
            .map(|fault| fault.value.parse().map_err(|e| self.error(&fault.referenced, e)))
            .collect::<Result<_, _>>()?;
        let idle_timeout = settings
            .idle_timeout
            .as_ref()
            .map(|idle| self.duration(idle))
            .transpose()?;
        Ok(ScenarioMock {
            activate_at,
            faults,
            idle_timeout,
            rate_limit: settings.rate_limit,
        })
    }

    fn duration(&self, text: &Spanned<String>) -> Result<Duration, ScenarioError> {
        humantime::parse_duration(&text.value).map_err(|e| {
            self.error(
                &text.referenced,
                format!("{e}; expected a duration such as 500ms, 10s or 2m"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<LoadedScenario, ScenarioError> {
        parse(Path::new("s.yaml"), text, &HashSet::new())
    }

    const GOOD: &str = "name: ok\nvariables:\n  symbol: ARM\nsteps:\n  - name: lst\n    lst: {}\n  - name: search\n    request:\n      path: /iserver/secdef/search\n      query: {symbol: \"{{symbol}}\"}\n    expect:\n      status: 200\n      json:\n        \"$[0].conid\": {equals: \"653400472\"}\n    capture: {conid: \"$[0].conid\"}\n  - name: strikes\n    request:\n      path: /iserver/secdef/strikes\n      query: {conid: \"{{conid}}\", month: \"{{month_code(1)}}\"}\n";

    #[test]
    fn a_good_scenario_loads() {
        let loaded = parse_text(GOOD).unwrap();
        assert_eq!(loaded.steps.len(), 3);
        assert_eq!(loaded.steps[1].captures[0].0, "conid");
    }

    #[test]
    fn used_steps_run_first_and_their_errors_name_their_own_file() {
        let setup = "steps:\n  - name: lst\n    lst: {}\n  - name: accounts\n    request: {path: /iserver/accounts}\n";
        let read = |file: &Path| -> std::io::Result<String> {
            match file.to_str() {
                Some("dir/setup/session.yaml") => Ok(setup.to_owned()),
                Some("dir/setup/broken.yaml") => Ok(
                    "steps:\n  - name: lst\n    lst: {}\n  - name: b\n    request:\n      path: \"/x/{{nope}}\"\n"
                        .to_owned(),
                ),
                _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")),
            }
        };
        let scenario =
            |used: &str| format!("name: x\nuse: [{used}]\nsteps:\n  - name: own\n    request: {{path: /tickle}}\n");
        let path = Path::new("dir/s.yaml");
        let loaded = parse_with(path, &scenario("setup/session.yaml"), &HashSet::new(), &read).unwrap();
        let names: Vec<&str> = loaded.scenario.steps.iter().map(|s| s.name.value.as_str()).collect();
        assert_eq!(names, ["lst", "accounts", "own"]);
        assert_eq!(loaded.steps.len(), 3);

        let error = parse_with(path, &scenario("setup/missing.yaml"), &HashSet::new(), &read).unwrap_err();
        assert_eq!((error.path.as_path(), error.line), (path, 2), "{error}");
        assert!(error.message.contains("cannot read dir/setup/missing.yaml"), "{error}");
        let error = parse_with(path, &scenario("setup/broken.yaml"), &HashSet::new(), &read).unwrap_err();
        assert_eq!(error.path, Path::new("dir/setup/broken.yaml"), "{error}");
        assert!(error.message.contains("undefined variable `nope`"), "{error}");
    }

    #[test]
    fn sleep_and_retries_go_with_the_right_steps_and_path_keys_need_no_quotes() {
        let sleep = "name: x\nsteps:\n  - name: wait\n    sleep: 2s\n";
        assert_eq!(parse_text(sleep).unwrap().steps[0].sleep, Some(Duration::from_secs(2)));
        let checked = format!("{sleep}    expect: {{status: 200}}\n");
        assert!(parse_text(&checked).unwrap_err().message.contains("only waits"));
        let retries = "name: x\nsteps:\n  - name: lst\n    lst: {}\n    retries: 0\n";
        assert!(parse_text(retries).unwrap_err().message.contains("`retries` bounds"));
        let keys = "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    expect:\n      json:\n        $[0].31: {exists: true}\n        $.a[*].b: {type: string}\n";
        let loaded = parse_text(keys).unwrap();
        let targets: Vec<&str> = loaded.steps[1].json.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(targets, ["$[0].31", "$.a[*].b"]);
    }

    #[test]
    fn a_poll_interval_below_the_minimum_is_refused_where_it_is_written() {
        let text = "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    poll:\n      until: {\"$.a\": {exists: true}}\n      interval: 0s\n";
        let error = parse_text(text).unwrap_err();
        assert_eq!((error.line, error.column), (9, 17), "{error}");
        assert!(
            error.message.contains("poll interval 0s is too short: at least 100ms"),
            "{error}"
        );
        assert!(parse_text(&text.replace("0s", "100ms")).is_ok());
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let cases = [
            (
                "name: x\nsteps:\n  - name: a\n    lst: {}\n    expct: {}\n",
                5,
                "unknown field `expct`",
                Some("did you mean `expect`?"),
            ),
            (
                "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    expect: {status: abc}\n",
                7,
                "",
                None,
            ),
            (
                "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request:\n      path: \"/x/{{conidd}}\"\n",
                7,
                "undefined variable `conidd`",
                None,
            ),
            (
                "name: x\nsteps:\n  - name: a\n    lst: {}\n    request: {path: /x}\n",
                3,
                "exactly one of",
                None,
            ),
            (
                "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    expect:\n      json:\n        \"accounts\": {exists: true}\n",
                9,
                "must start with `$`",
                None,
            ),
            (
                "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    expect:\n      json:\n        \"$\": {matches: \"(\"}\n",
                9,
                "regular expression",
                None,
            ),
            (
                "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    poll:\n      until: {\"$\": {exists: true}}\n      deadline: soon\n",
                9,
                "duration",
                None,
            ),
            ("name: [x\n", 1, "", None),
            ("name: x\nsteps: []\n", 1, "at least one step", None),
            (
                "name: x\nsteps:\n  - name: a\n    request: {path: /x}\n",
                3,
                "before any `lst` step",
                None,
            ),
        ];
        for (text, line, needle, suggestion) in cases {
            let err = parse_text(text).unwrap_err();
            assert_eq!(err.line, line, "{text}\n{err}");
            assert!(err.message.contains(needle), "{err}");
            if let Some(s) = suggestion {
                assert!(err.message.contains(s), "{err}");
            }
            assert!(err.to_string().starts_with(&format!("s.yaml:{line}:")), "{err}");
        }
    }

    #[test]
    fn captures_are_defined_only_after_their_step() {
        let text = "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: \"/x/{{c}}\"}\n    capture: {c: \"$.c\"}\n";
        assert!(parse_text(text).unwrap_err().message.contains("undefined variable `c`"));
    }
}
