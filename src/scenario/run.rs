//! The runner: scenarios in order, steps in order, fail-fast within a scenario, all traffic
//! through one pacer. It produces a [`RunReport`]; writing it is the reporters' job.
//!
//! Scenarios run one after another on purpose: against one IBKR account there is one brokerage
//! session, and a second LST or snapshot subscription from a parallel scenario would change what
//! the first one observes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use serde_json::Value;

use super::assert::{as_text, show};
use super::load::{CheckSpec, CompiledStep, LoadedScenario, Row};
use super::model::{Step, TargetKind};
use super::outcome::{RunReport, ScenarioReport, StepReport, StepStatus};
use super::template;
use crate::client::{ApiResponse, Client, ClientError, ClientOptions, IbkrMessage};
use crate::config::generate::{DhChoice, GeneratedCredentials};
use crate::config::{Credentials, ServerCredentials};
use crate::mock::{MockConfig, MockServer};

/// Where the run goes.
pub enum Target {
    /// The embedded mock, with [`RunOptions::mock_keys`] or fresh keys.
    Mock,
    /// IBKR (or anything that speaks like it) at a base URL with the user's credentials.
    Live {
        base_url: String,
        credentials: Box<Credentials>,
    },
    /// The embedded mock answering from cassettes (`run --record` made them), loaded from `dir`.
    Replay {
        dir: PathBuf,
        source: Arc<crate::record::replay::ReplaySource>,
    },
}

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Self::Mock => TargetKind::Mock,
            // A replay stands in for the live run it recorded.
            Self::Live { .. } | Self::Replay { .. } => TargetKind::Live,
        }
    }
}

/// How to run.
pub struct RunOptions {
    pub target: Target,
    /// Only scenarios with at least one of these tags (all when empty).
    pub tags: Vec<String>,
    /// `--var k=v`, overriding scenario variables.
    pub vars: HashMap<String, String>,
    /// Template for every client (base URL is set per target).
    pub client: ClientOptions,
    /// Write a redacted cassette per scenario into this folder.
    pub record: Option<PathBuf>,
    /// Let live steps place, modify or cancel orders. Without it a live run with such a step is
    /// refused before anything is sent.
    pub allow_trading: bool,
    /// Told of each scenario and step as the run goes, for live output.
    pub progress: Option<Progress>,
    /// The embedded mock's consumer; `None` draws fresh keys for the run.
    pub mock_keys: Option<MockKeys>,
}

/// Both sides of the embedded mock's consumer: what the client signs with and what the mock
/// checks against.
pub struct MockKeys {
    pub client: Credentials,
    pub server: ServerCredentials,
}

impl MockKeys {
    /// Fresh keys: two RSA key pairs and an access token (about 0.3 s).
    pub fn generate() -> Result<Self, String> {
        let generated = GeneratedCredentials::generate(
            "MOCKCONS1",
            crate::config::LIMITED_POA,
            DhChoice::Ffdhe2048,
            &mut crate::oauth::SystemRandom,
        )
        .map_err(|e| format!("cannot generate credentials for the embedded mock: {e}"))?;
        Ok(Self {
            client: generated.credentials().map_err(|e| e.to_string())?,
            server: generated.server(),
        })
    }

    /// A set written by `keys generate`: the client's `ibkr.env` and the mock's
    /// `mock-server.json`, which must belong together.
    pub fn from_folder(dir: &std::path::Path) -> Result<Self, String> {
        use crate::config::generate::{ENV_FILE, MOCK_SERVER_FILE};
        if !dir.join(ENV_FILE).is_file() || !dir.join(MOCK_SERVER_FILE).is_file() {
            return Err(format!(
                "{}: not a folder written by `ibkr-probe keys generate` (it needs {ENV_FILE} and {MOCK_SERVER_FILE})",
                dir.display()
            ));
        }
        let client = crate::config::env::EnvSource::from_env_file(&dir.join(ENV_FILE))
            .and_then(|source| source.credentials())
            .map_err(|e| e.to_string())?;
        let server = ServerCredentials::from_file(&dir.join(MOCK_SERVER_FILE)).map_err(|e| e.to_string())?;
        if client.consumer_key != server.consumer_key || client.access_token != server.access_token {
            return Err(format!(
                "{}: ibkr.env and mock-server.json are not from one `keys generate` run (their consumer key or access token differ)",
                dir.display()
            ));
        }
        Ok(Self { client, server })
    }
}

/// What the run tells its observer while it goes.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// The run has a target: `mock (http://127.0.0.1:PORT)`, `live (...)`.
    Started { target: &'a str },
    /// A scenario begins (its steps empty), or is skipped whole (`skipped` set).
    Scenario(&'a ScenarioReport),
    /// A step begins.
    StepStarted { name: &'a str },
    /// A step ended, or was skipped.
    StepFinished(&'a StepReport),
}

/// An observer of a run.
pub type Progress = Arc<dyn Fn(&RunEvent<'_>) + Send + Sync>;

/// Endpoints that place, modify or cancel orders: refused in live mode without `--allow-trading`.
pub fn is_trading_endpoint(method: &str, path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    let order_path = path.contains("/order") || path.starts_with("/iserver/reply");
    order_path && !method.eq_ignore_ascii_case("GET")
}

/// Steps of `scenario` that would trade against live IBKR, as "file:line: step" lines. A
/// scenario whose `targets` leave out live never runs there, so it has none.
pub fn trading_steps(loaded: &LoadedScenario) -> Vec<String> {
    let scenario = &loaded.scenario;
    if scenario
        .targets
        .as_ref()
        .is_some_and(|t| !t.contains(&TargetKind::Live))
    {
        return Vec::new();
    }
    scenario
        .steps
        .iter()
        .filter_map(|step| {
            let request = step.request.as_ref()?;
            is_trading_endpoint(&request.method.value, &request.path.value).then(|| {
                format!(
                    "{}:{}: step {:?} calls {} {}",
                    loaded.path.display(),
                    step.name.referenced.line(),
                    step.name.value,
                    request.method.value,
                    request.path.value
                )
            })
        })
        .collect()
}

/// Live mode is read-only: the refusal, naming every step that would trade, or `None`.
pub fn trading_refusal(scenarios: &[LoadedScenario]) -> Option<String> {
    let steps: Vec<String> = scenarios.iter().flat_map(trading_steps).collect();
    (!steps.is_empty()).then(|| {
        format!(
            "live mode is read-only; these steps would place, modify or cancel orders:\n  {}\npass --allow-trading to run them against a real account",
            steps.join("\n  ")
        )
    })
}

/// The recorder keeps each final answer the client reports as one interaction of a cassette.
impl crate::client::Observer for crate::record::Recorder {
    fn answered(&self, exchange: &crate::client::Exchange<'_>) {
        let response = exchange.response;
        self.record(crate::record::interaction(
            exchange.method,
            exchange.url,
            exchange.base_url,
            response.status,
            &response.headers,
            &response.body,
        ));
    }
}

/// Collects the embedded mock's log so failing steps can show what the server saw.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<String>>>);

impl LogBuffer {
    fn len(&self) -> usize {
        self.0.lock().map_or(0, |l| l.len())
    }

    /// The lines since `start`, at most [`LOG_LINES_SHOWN`]: the first and last half, with a
    /// line saying how many were left out between.
    fn since(&self, start: usize) -> Vec<String> {
        let Ok(lines) = self.0.lock() else {
            return Vec::new();
        };
        let lines = lines.get(start..).unwrap_or_default();
        if lines.len() <= LOG_LINES_SHOWN {
            return lines.to_vec();
        }
        let half = LOG_LINES_SHOWN / 2;
        let mut out = lines[..half].to_vec();
        out.push(format!("… {} more server log lines left out …", lines.len() - 2 * half));
        out.extend_from_slice(&lines[lines.len() - half..]);
        out
    }

    fn sink(&self) -> crate::mock::LogSink {
        let lines = self.0.clone();
        Arc::new(move |line: &str| {
            if let Ok(mut lines) = lines.lock() {
                lines.push(line.to_owned());
            }
        })
    }
}

/// Why steps and scenarios a signal stopped did not run.
const INTERRUPTED: &str = "run interrupted";

/// Server log lines shown for one failed step.
const LOG_LINES_SHOWN: usize = 20;

/// A server a scenario talks to: a base URL and the log to quote (mock only).
struct Endpoint {
    base_url: String,
    log: Option<LogBuffer>,
    /// Keeps a per-scenario mock alive for the scenario's duration.
    _server: Option<MockServer>,
}

/// Runs every loaded scenario and returns the report. `interrupt` resolving stops the run; the
/// report then marks what did not run.
pub async fn run(
    scenarios: &[LoadedScenario],
    mut options: RunOptions,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<RunReport, String> {
    let started = Instant::now();
    let kind = options.target.kind();
    if matches!(options.target, Target::Live { .. })
        && !options.allow_trading
        && let Some(refusal) = trading_refusal(scenarios)
    {
        return Err(refusal);
    }
    let shared_client = crate::client::Shared::new(&options.client).map_err(|e| e.to_string())?;
    let label = match &options.target {
        Target::Mock => "mock".to_owned(),
        Target::Live { .. } => "live".to_owned(),
        Target::Replay { dir, .. } => format!("replay of {}", dir.display()),
    };
    // The target's credentials move into the run; `options` keeps the rest.
    let target = std::mem::replace(&mut options.target, Target::Mock);
    let (credentials, mock_server, shared) = open_target(target, &mut options).await?;
    let target_name = format!("{label} ({})", shared.base_url);
    let emit = |event: RunEvent<'_>| {
        if let Some(progress) = &options.progress {
            progress(&event);
        }
    };
    emit(RunEvent::Started { target: &target_name });

    let context = Context {
        kind,
        options: &options,
        shared: &shared,
        mock_server: mock_server.as_ref(),
        credentials: &credentials,
        shared_client: &shared_client,
        emit: &emit,
    };
    let mut reports = Vec::with_capacity(scenarios.len());
    let mut interrupted = false;
    tokio::pin!(interrupt);
    for loaded in scenarios {
        if !is_selected(loaded, &options.tags) {
            continue;
        }
        for row in loaded.rows(&options.vars) {
            let report = run_scenario(&context, loaded, &row, &mut interrupted, &mut interrupt).await?;
            reports.push(report);
        }
    }
    Ok(RunReport {
        target: target_name,
        scenarios: reports,
        duration: started.elapsed(),
        interrupted,
    })
}

/// What every scenario of a run shares.
struct Context<'a> {
    kind: TargetKind,
    options: &'a RunOptions,
    shared: &'a Endpoint,
    /// The embedded mock's consumer, for scenarios that start their own mock.
    mock_server: Option<&'a ServerCredentials>,
    credentials: &'a Arc<Credentials>,
    shared_client: &'a crate::client::Shared,
    emit: &'a dyn Fn(RunEvent<'_>),
}

/// Runs one scenario, for one row of its data table. `interrupted` is set when the interrupt
/// fires, and the remaining steps are then reported as not run.
async fn run_scenario(
    context: &Context<'_>,
    loaded: &LoadedScenario,
    row: &Row,
    interrupted: &mut bool,
    interrupt: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Result<ScenarioReport, String> {
    let (options, emit) = (context.options, context.emit);
    let scenario = &loaded.scenario;
    let mut report = ScenarioReport {
        name: format!("{}{}", scenario.name.value, row.label),
        file: loaded.path.clone(),
        tags: scenario.tags.clone(),
        skipped: skip_reason(context.kind, loaded, *interrupted),
        steps: Vec::new(),
    };
    emit(RunEvent::Scenario(&report));
    if report.skipped.is_some() {
        return Ok(report);
    }
    let own;
    let endpoint = match (&loaded.mock, context.mock_server) {
        (Some(settings), Some(server)) => {
            own = scenario_mock(settings, server, &options.client.clock).await?;
            &own
        }
        _ => context.shared,
    };
    let mut client_options = options.client.clone();
    client_options.base_url = endpoint.base_url.clone();
    let recorder = options.record.as_ref().map(|_| crate::record::Recorder::default());
    client_options.observer = recorder
        .clone()
        .map(|r| Arc::new(r) as Arc<dyn crate::client::Observer>);
    let client = Client::with_shared(context.credentials.clone(), client_options, context.shared_client)
        .map_err(|e| e.to_string())?;
    let vars = scenario_vars(loaded, row, &options.vars, client.options().clock.now())?;
    let mut run = ScenarioRun {
        client,
        endpoint,
        recorder,
        vars,
        stream: None,
    };
    let mut failed = false;
    for (step, compiled) in scenario.steps.iter().zip(&loaded.steps) {
        let finished = if failed || *interrupted {
            let why = if *interrupted {
                INTERRUPTED
            } else {
                "an earlier step failed"
            };
            StepReport {
                name: step.name.value.clone(),
                status: StepStatus::Skipped(why.into()),
                duration: Duration::ZERO,
                attempts: 0,
                server_log: Vec::new(),
            }
        } else {
            emit(RunEvent::StepStarted { name: &step.name.value });
            let finished = run.step(step, compiled, interrupted, interrupt).await;
            failed = !matches!(finished.status, StepStatus::Passed);
            finished
        };
        emit(RunEvent::StepFinished(&finished));
        report.steps.push(finished);
    }
    if let Some(stream) = run.stream.take() {
        stream.close().await;
    }
    if let (Some(dir), Some(recorder)) = (&options.record, &run.recorder) {
        write_cassette(dir, loaded, &row.label, recorder.take(), context.credentials)?;
    }
    Ok(report)
}

/// Why a scenario does not run: not meant for this target (a scenario with its own mock runs
/// only on the mock), or the run was interrupted before it.
fn skip_reason(kind: TargetKind, loaded: &LoadedScenario, interrupted: bool) -> Option<String> {
    let scenario = &loaded.scenario;
    let allowed = scenario.targets.as_ref().is_none_or(|t| t.contains(&kind));
    if !allowed || (loaded.mock.is_some() && kind != TargetKind::Mock) {
        let targets = scenario.targets.as_deref().unwrap_or(&[TargetKind::Mock]);
        return Some(format!("not for target {kind:?} (targets: {targets:?})").to_lowercase());
    }
    interrupted.then(|| INTERRUPTED.to_owned())
}

/// The scenario's variables rendered in order, then the row's, then `--var`s.
fn scenario_vars(
    loaded: &LoadedScenario,
    row: &Row,
    overrides: &HashMap<String, String>,
    now: SystemTime,
) -> Result<HashMap<String, String>, String> {
    let mut vars = HashMap::new();
    for (name, value) in &loaded.scenario.variables {
        let rendered =
            template::render(&value.value, &vars, now).map_err(|e| format!("{}: {e}", loaded.path.display()))?;
        vars.insert(name.clone(), rendered);
    }
    vars.extend(row.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(vars)
}

/// What a scenario's steps share: the client, the server (and its log), the recorder and the
/// variables captures add to.
struct ScenarioRun<'e> {
    client: Client,
    endpoint: &'e Endpoint,
    recorder: Option<crate::record::Recorder>,
    vars: HashMap<String, String>,
    /// The websocket, from a `stream_open` step to the scenario's end.
    stream: Option<crate::client::stream::Stream>,
}

impl ScenarioRun<'_> {
    /// Runs one step and reports it, with the server's log lines when it failed.
    async fn step(
        &mut self,
        step: &Step,
        compiled: &CompiledStep,
        interrupted: &mut bool,
        interrupt: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> StepReport {
        let log_start = self.endpoint.log.as_ref().map_or(0, LogBuffer::len);
        let recorded_start = self.recorder.as_ref().map_or(0, crate::record::Recorder::len);
        let started = Instant::now();
        let act = async {
            match &compiled.stream {
                Some(action) => {
                    let stream_step = super::stream::StreamStep {
                        client: &self.client,
                        stream: &mut self.stream,
                        observer: self
                            .recorder
                            .clone()
                            .map(|r| Arc::new(r) as Arc<dyn crate::client::stream::StreamObserver>),
                        captures: &compiled.captures,
                        vars: &mut self.vars,
                    };
                    (stream_step.run(action).await, 1)
                }
                None => {
                    if let Some(stream) = &mut self.stream {
                        // A lost socket shows at the next stream step, not in this one.
                        let _ = stream.tic_if_due(&self.client).await;
                    }
                    run_step(&self.client, step, compiled, &mut self.vars).await
                }
            }
        };
        let outcome = tokio::select! {
            outcome = act => Some(outcome),
            () = interrupt.as_mut() => None,
        };
        let (status, attempts) = outcome.unwrap_or_else(|| {
            *interrupted = true;
            (StepStatus::Skipped(INTERRUPTED.into()), 0)
        });
        if let (Some(recorder), Some(request)) = (&self.recorder, &step.request) {
            recorder.label_since(recorded_start, &request.as_written());
        }
        let server_log = match (&status, &self.endpoint.log) {
            (StepStatus::Failed(_) | StepStatus::Error(_), Some(log)) => log.since(log_start),
            _ => Vec::new(),
        };
        StepReport {
            name: step.name.value.clone(),
            status,
            duration: started.elapsed(),
            attempts,
            server_log,
        }
    }
}

/// Redacts a scenario's interactions and writes them as `DIR/<scenario>.json`.
fn write_cassette(
    dir: &std::path::Path,
    loaded: &LoadedScenario,
    row_label: &str,
    recording: crate::record::Recording,
    credentials: &Credentials,
) -> Result<(), String> {
    let mut redactor = crate::record::redact::Redactor::new(vec![
        credentials.access_token.clone(),
        credentials.access_token_secret.expose().clone(),
    ]);
    let crate::record::Recording {
        mut interactions,
        mut stream,
    } = recording;
    for interaction in &mut interactions {
        redactor.interaction(interaction);
    }
    for frame in &mut stream {
        redactor.frame(frame);
    }
    let cassette = crate::record::Cassette {
        format: crate::record::FORMAT,
        scenario: format!("{}{row_label}", loaded.scenario.name.value),
        interactions,
        stream,
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let path = dir.join(crate::record::cassette_name(&loaded.path, row_label));
    crate::files::write_atomically(&path, &cassette.to_json())
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// The run's shared server and the client's credentials: the embedded mock (answering from
/// cassettes for a replay) with its consumer, or the live base URL with the user's credentials.
async fn open_target(
    target: Target,
    options: &mut RunOptions,
) -> Result<(Arc<Credentials>, Option<ServerCredentials>, Endpoint), String> {
    let replay = match target {
        Target::Live { base_url, credentials } => {
            let endpoint = Endpoint {
                base_url,
                log: None,
                _server: None,
            };
            return Ok((Arc::new(*credentials), None, endpoint));
        }
        Target::Replay { source, .. } => Some(source),
        Target::Mock => None,
    };
    let keys = match options.mock_keys.take() {
        Some(keys) => keys,
        None => MockKeys::generate()?,
    };
    let (mut config, log) = embedded_config(&keys.server, &options.client.clock);
    config.replay = replay;
    if options.client.rate == 0.0 {
        // An unpaced run at machine speed: no pacing, and prices right after the pre-flight.
        config.rate_limit = u32::MAX;
        config.warm_up = std::time::Duration::ZERO;
    }
    let server = start_mock(config).await?;
    let endpoint = Endpoint {
        base_url: server.base_url(),
        log: Some(log),
        _server: Some(server),
    };
    Ok((Arc::new(keys.client), Some(keys.server), endpoint))
}

/// An embedded mock's settings: the run's clock, its log kept for failing steps, and
/// websocket updates four times a second, so a scenario's second of silence after an
/// unsubscription means something and the run stays quick.
fn embedded_config(server: &ServerCredentials, clock: &Arc<dyn crate::clock::Clock>) -> (MockConfig, LogBuffer) {
    let log = LogBuffer::default();
    let mut config = MockConfig::new(server.clone());
    config.log = log.sink();
    config.clock = clock.clone();
    config.stream_tick = Duration::from_millis(250);
    (config, log)
}

async fn start_mock(config: MockConfig) -> Result<MockServer, String> {
    MockServer::start(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("cannot start the embedded mock on 127.0.0.1: {e}"))
}

async fn scenario_mock(
    settings: &super::load::ScenarioMock,
    server: &ServerCredentials,
    clock: &Arc<dyn crate::clock::Clock>,
) -> Result<Endpoint, String> {
    let (mut config, log) = embedded_config(server, clock);
    settings.apply(&mut config);
    let server = start_mock(config).await?;
    Ok(Endpoint {
        base_url: server.base_url(),
        log: Some(log),
        _server: Some(server),
    })
}

/// A client error as a step status: IBKR's refusals are failed checks, the rest runtime errors.
fn client_error_status(error: &ClientError, expect_error: Option<&str>) -> StepStatus {
    match (error, expect_error) {
        (ClientError::Ibkr { message, .. }, Some(expected)) => expected_error(message, expected),
        // Pacing and server failures are runtime failures (exit 3), not checks that failed.
        (ClientError::Ibkr { message, .. }, _) if message.status == 429 || message.status >= 500 => {
            StepStatus::Error(error.to_string())
        }
        (ClientError::Ibkr { .. } | ClientError::LstValidation, _) => StepStatus::Failed(error.to_string()),
        (_, _) => StepStatus::Error(error.to_string()),
    }
}

fn expected_error(message: &IbkrMessage, expected: &str) -> StepStatus {
    if message
        .message
        .to_ascii_lowercase()
        .contains(&expected.to_ascii_lowercase())
    {
        StepStatus::Passed
    } else {
        StepStatus::Failed(format!("expected the error {expected:?}, got {message}"))
    }
}

async fn run_step(
    client: &Client,
    step: &Step,
    compiled: &CompiledStep,
    vars: &mut HashMap<String, String>,
) -> (StepStatus, u32) {
    let clock = &client.options().clock;
    let now = clock.now();
    let expect_error = match step
        .expect_error
        .as_ref()
        .map(|e| template::render(&e.value, vars, now))
        .transpose()
    {
        Ok(e) => e,
        Err(e) => return (StepStatus::Failed(e), 0),
    };
    if let Some(wait) = compiled.sleep {
        clock.sleep(wait).await;
        return (StepStatus::Passed, 0);
    }
    if step.lst.is_some() {
        return match client.live_session_token().await {
            Ok(summary) if expect_error.is_none() => (StepStatus::Passed, summary.attempts),
            Ok(_) => (
                StepStatus::Failed(format!(
                    "expected the error {:?}, but the LST handshake succeeded",
                    expect_error.unwrap_or_default()
                )),
                1,
            ),
            Err(e) => (client_error_status(&e, expect_error.as_deref()), 1),
        };
    }
    let request = if step.session_init.is_some() {
        (
            Method::POST,
            "/iserver/auth/ssodh/init".to_owned(),
            Vec::new(),
            Some(serde_json::json!({"publish": true, "compete": true})),
        )
    } else if let Some(request) = &step.request {
        match render_request(request, vars, now) {
            Ok(parts) => parts,
            Err(e) => return (StepStatus::Failed(e), 0),
        }
    } else {
        return (StepStatus::Error("step has no action".into()), 0);
    };
    let expect_error = expect_error.as_deref();
    match send(client, step, compiled.poll.as_ref(), &request, vars, expect_error).await {
        Ok((response, attempts)) => (
            check_response(step, compiled, &response, expect_error, vars, now),
            attempts,
        ),
        Err(ended) => ended,
    }
}

/// Sends the step's request, again and again while it polls, until the answer it waits for.
/// Returns the answer and how many were sent, or how the step ended without one.
async fn send(
    client: &Client,
    step: &Step,
    poll: Option<&super::load::CompiledPoll>,
    (method, path, query, body): &RenderedRequest,
    vars: &HashMap<String, String>,
    expect_error: Option<&str>,
) -> Result<(ApiResponse, u32), (StepStatus, u32)> {
    let clock = &client.options().clock;
    let query_refs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let retries = step.retries.unwrap_or(client.options().max_retries);
    let (now, started) = (clock.now(), clock.mark());
    let mut interval = poll.map_or(Duration::ZERO, |p| p.interval);
    let mut attempts = 0;
    loop {
        let request = client.request_with_retries(method.clone(), path, &query_refs, body.as_ref(), retries);
        let response = request
            .await
            .map_err(|e| (client_error_status(&e, expect_error), attempts + 1))?;
        attempts += 1;
        let Some(poll) = poll else {
            return Ok((response, attempts));
        };
        if poll.stops_on(response.status) {
            let body: String = String::from_utf8_lossy(&response.body).chars().take(200).collect();
            return Err((
                StepStatus::Failed(format!(
                    "poll stopped after {attempts} attempt(s): HTTP {} will not turn into success ({body}); set `poll.stop_on` to poll on it",
                    response.status
                )),
                attempts,
            ));
        }
        let Some(unmet) = first_unmet(&poll.until, &response, vars, now) else {
            return Ok((response, attempts));
        };
        let elapsed = clock.since(started);
        let out_of_attempts = poll.max_attempts.is_some_and(|max| attempts >= max);
        if out_of_attempts || elapsed + interval > poll.deadline {
            return Err((
                StepStatus::Failed(format!(
                    "poll: condition not met after {attempts} attempt(s) over {:.1} s: {unmet}",
                    elapsed.as_secs_f64()
                )),
                attempts,
            ));
        }
        clock.sleep(interval).await;
        interval = interval.mul_f64(poll.backoff);
    }
}

type RenderedRequest = (Method, String, Vec<(String, String)>, Option<Value>);

fn render_request(
    request: &super::model::RequestSpec,
    vars: &HashMap<String, String>,
    now: SystemTime,
) -> Result<RenderedRequest, String> {
    let method = Method::from_bytes(request.method.value.to_ascii_uppercase().as_bytes()).map_err(|e| e.to_string())?;
    let path = template::render(&request.path.value, vars, now)?;
    let query = request
        .query
        .iter()
        .map(|(k, v)| Ok((k.clone(), template::render(&v.value, vars, now)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let body = request
        .json
        .as_ref()
        .map(|j| template::render_json(&j.value, vars, now))
        .transpose()?;
    Ok((method, path, query, body))
}

/// The first check in `checks` that does not hold on the response's JSON, described.
fn first_unmet(
    checks: &[CheckSpec],
    response: &ApiResponse,
    vars: &HashMap<String, String>,
    now: SystemTime,
) -> Option<String> {
    let body = response.json().ok();
    checks.iter().find_map(|check| {
        let actual = match (&check.path, &body) {
            (Some(path), Some(body)) => path.select(body),
            _ => None,
        };
        check
            .evaluate(actual.as_ref(), vars, now)
            .err()
            .map(|why| format!("{}: {why}", check.target))
    })
}

fn check_response(
    step: &Step,
    compiled: &CompiledStep,
    response: &ApiResponse,
    expect_error: Option<&str>,
    vars: &mut HashMap<String, String>,
    now: SystemTime,
) -> StepStatus {
    if let Some(expected) = expect_error {
        if response.is_success() {
            return StepStatus::Failed(format!("expected the error {expected:?}, got HTTP {}", response.status));
        }
        return expected_error(&IbkrMessage::parse(response.status, &response.body), expected);
    }
    let status_expect = step.expect.as_ref().and_then(|e| e.status.clone());
    let status_ok = status_expect
        .as_ref()
        .map_or(response.is_success(), |s| s.allows(response.status));
    if !status_ok {
        let wanted = status_expect.map_or_else(|| "a 2xx status".to_owned(), |s| format!("status {s}"));
        let body = String::from_utf8_lossy(&response.body);
        let body: String = body.chars().take(200).collect();
        let message = format!("expected {wanted}, got {}: {body}", response.status);
        // Pacing and server failures the step did not ask for are runtime failures (exit 3),
        // as for every other command, not checks that failed.
        return if response.status == 429 || response.status >= 500 {
            StepStatus::Error(message)
        } else {
            StepStatus::Failed(message)
        };
    }
    for check in &compiled.headers {
        let value = response
            .headers
            .get(check.target.as_str())
            .and_then(|v| v.to_str().ok())
            .map(|v| Value::String(v.to_owned()));
        if let Err(why) = check.evaluate(value.as_ref(), vars, now) {
            return StepStatus::Failed(format!("header {}: {why}", check.target));
        }
    }
    let needs_json = !compiled.json.is_empty() || !compiled.captures.is_empty() || compiled.snapshot.is_some();
    if !needs_json {
        return StepStatus::Passed;
    }
    let body = match response.json() {
        Ok(body) => body,
        Err(e) => {
            return StepStatus::Error(format!(
                "the response is not JSON ({e}): {}",
                String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(120)
                    .collect::<String>()
            ));
        }
    };
    for check in &compiled.json {
        let actual = check.path.as_ref().and_then(|p| p.select(&body));
        if let Err(why) = check.evaluate(actual.as_ref(), vars, now) {
            return StepStatus::Failed(format!("{}: {why}", check.target));
        }
    }
    if let Some(snapshot) = &compiled.snapshot
        && let Some(failure) = snapshot_failure(snapshot, &body)
    {
        return StepStatus::Failed(failure);
    }
    match super::load::capture(&compiled.captures, &body, vars) {
        Ok(()) => StepStatus::Passed,
        Err(why) => StepStatus::Failed(why),
    }
}

/// Field checks on every snapshot element that carries data; the problems found, if any.
fn snapshot_failure(snapshot: &super::load::CompiledSnapshot, body: &Value) -> Option<String> {
    let Some(entries) = body.as_array() else {
        return Some(format!("snapshot: expected an array, got {}", show(body)));
    };
    let mut problems = Vec::new();
    let mut with_data = 0;
    for entry in entries {
        let has_data = entry.as_object().is_some_and(|m| {
            m.keys()
                .any(|k| k.chars().all(|c| c.is_ascii_digit()) && k != "6119" && k != "6509")
        });
        if !has_data {
            continue;
        }
        with_data += 1;
        let conid = entry.get("conid").map_or("?".to_owned(), as_text);
        for problem in crate::fields::check::check_snapshot(entry, &snapshot.meanings, &snapshot.mapping).all() {
            problems.push(format!("conid {conid}: {problem}"));
        }
    }
    if with_data == 0 {
        return Some("snapshot: no element carries field values yet (the first request only subscribes; poll until data arrives)".into());
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Whether `--tag` selects a scenario: any of its tags is asked for, or no tag is.
fn is_selected(loaded: &LoadedScenario, tags: &[String]) -> bool {
    tags.is_empty() || loaded.scenario.tags.iter().any(|t| tags.contains(t))
}

/// Why a selection cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// A flag asks for something the scenarios do not have (exit 1).
    #[error("{0}")]
    CommandLine(String),
    /// A selected scenario cannot run as written here (exit 2).
    #[error("{0}")]
    Input(String),
}

/// Refuses a run that would test less than was asked: `--tag`s that select no scenario, a
/// `--var` that no selected scenario declares or uses (a typo would otherwise go green), or a
/// selected scenario that needs an environment variable which is not set.
pub fn check_selection(
    scenarios: &[LoadedScenario],
    tags: &[String],
    vars: &HashMap<String, String>,
) -> Result<(), SelectionError> {
    let selected: Vec<&LoadedScenario> = scenarios.iter().filter(|l| is_selected(l, tags)).collect();
    if let Some(error) = selected.iter().flat_map(|l| &l.missing_env).next() {
        return Err(SelectionError::Input(error.to_string()));
    }
    if selected.is_empty() {
        let mut known: Vec<&str> = scenarios
            .iter()
            .flat_map(|l| l.scenario.tags.iter().map(String::as_str))
            .collect();
        known.sort_unstable();
        known.dedup();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        return Err(SelectionError::CommandLine(if tags.is_empty() {
            "no scenario to run: the paths hold no scenario file".to_owned()
        } else {
            format!(
                "--tag {} selects no scenario; tags in these files: {known}",
                tags.join(", --tag ")
            )
        }));
    }
    let mut names: Vec<&str> = selected
        .iter()
        .flat_map(|l| l.variable_names.iter().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut unused: Vec<&String> = vars.keys().filter(|name| !names.contains(&name.as_str())).collect();
    unused.sort();
    if let Some(name) = unused.first() {
        let suggestion = super::load::did_you_mean(name, names.iter().copied(), 0.8);
        let listed = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        return Err(SelectionError::CommandLine(format!(
            "--var {name}: no selected scenario uses a variable of that name (captures are set by their steps){suggestion}; variables they use: {listed}"
        )));
    }
    Ok(())
}

/// Names of variables defined by `--var` for the loader's template checks.
pub fn var_names(vars: &HashMap<String, String>) -> HashSet<String> {
    vars.keys().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_shows_at_most_twenty_log_lines_and_says_how_many_were_left_out() {
        let log = LogBuffer::default();
        let sink = log.sink();
        for i in 0..2300 {
            sink(&format!("line {i}"));
        }
        let shown = log.since(0);
        assert_eq!(shown.len(), LOG_LINES_SHOWN + 1);
        assert_eq!(shown[0], "line 0");
        assert_eq!(shown[10], "… 2280 more server log lines left out …");
        assert_eq!(shown[20], "line 2299");
        assert_eq!(log.since(2295).len(), 5);
    }
}
