//! The runner as a library: poll-until, pacing, captures, and the report formats against golden
//! files (set UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then review the diff).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ibkr_probe::client::ClientOptions;
use ibkr_probe::clock::{Clock, ManualClock};
use ibkr_probe::report::{self, ReportFormat};
use ibkr_probe::scenario::load::{self, LoadedScenario};
use ibkr_probe::scenario::outcome::{RunReport, ScenarioReport, StepReport, StepStatus};
use ibkr_probe::scenario::run::{self, RunOptions, Target};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn scenario(text: &str) -> LoadedScenario {
    load::parse(Path::new("inline.yaml"), text, &HashSet::new()).unwrap()
}

/// Run options on a manual clock: pacing, polls and sleeps advance it instead of waiting.
fn options(target: Target, rate: f64) -> RunOptions {
    RunOptions {
        target,
        tags: Vec::new(),
        vars: HashMap::new(),
        client: ClientOptions {
            rate,
            max_retries: 0,
            timeout: Duration::from_secs(5),
            clock: ManualClock::new(SystemTime::now()),
            ..ClientOptions::default()
        },
        record: None,
        allow_trading: false,
        progress: None,
        mock_keys: None,
    }
}

/// Runs `loaded` unpaced on a manual clock; returns the report and how much of the clock's time
/// the run took (its polls and waits, none of them real).
async fn run_timed(loaded: &LoadedScenario, target: Target) -> (RunReport, Duration) {
    let options = options(target, 0.0);
    let clock = options.client.clock.clone();
    let started = clock.mark();
    let report = run::run(std::slice::from_ref(loaded), options, std::future::pending())
        .await
        .unwrap();
    (report, clock.since(started))
}

/// A scripted live target: wiremock answering the LST like IBKR, plus `mocks`.
async fn scripted(mocks: Vec<Mock>) -> (MockServer, Target) {
    let server = crate::common::lst_server().await;
    for mock in mocks {
        mock.mount(&server).await;
    }
    let target = Target::Live {
        base_url: format!("{}/v1/api", server.uri()),
        credentials: Box::new(crate::common::generated().credentials().unwrap()),
    };
    (server, target)
}

const POLL: &str = "name: poll\nsteps:\n  - name: lst\n    lst: {}\n  - name: wait for data\n    request: {path: /data}\n    poll:\n      until: {\"$.ready\": {equals: true}}\n      interval: 100ms\n      backoff: 1.2\n      deadline: DEADLINE\nSTOP    expect:\n      json: {\"$.value\": {equals: 42}}\n";

#[tokio::test]
async fn poll_until_succeeds_after_n_attempts() {
    let not_yet = Mock::given(method("GET"))
        .and(path("/v1/api/data"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ready": false})))
        .up_to_n_times(3);
    let ready = Mock::given(method("GET"))
        .and(path("/v1/api/data"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ready": true, "value": 42})));
    let (_server, target) = scripted(vec![not_yet, ready]).await;
    let loaded = scenario(&POLL.replace("DEADLINE", "5s").replace("STOP", ""));
    let report = run::run(
        std::slice::from_ref(&loaded),
        options(target, 0.0),
        std::future::pending(),
    )
    .await
    .unwrap();
    let step = &report.scenarios[0].steps[1];
    assert_eq!(step.status, StepStatus::Passed, "{step:?}");
    assert_eq!(step.attempts, 4);
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test]
async fn poll_until_reports_the_deadline_with_attempts() {
    let never = Mock::given(method("GET"))
        .and(path("/v1/api/data"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ready": false})));
    let (_server, target) = scripted(vec![never]).await;
    let loaded = scenario(&POLL.replace("DEADLINE", "400ms").replace("STOP", ""));
    let (report, took) = run_timed(&loaded, target).await;
    assert!(
        took <= Duration::from_millis(400),
        "the poll gave up by its deadline: {took:?}"
    );
    let StepStatus::Failed(message) = &report.scenarios[0].steps[1].status else {
        panic!("{report:?}")
    };
    assert!(message.starts_with("poll: condition not met after"), "{message}");
    assert!(message.contains("$.ready: expected true, got false"), "{message}");
    assert!(report.scenarios[0].steps[1].attempts >= 3);
    assert_eq!(report.exit_code(), 4);
}

#[tokio::test]
async fn a_poll_stops_at_once_on_an_answer_that_cannot_turn_into_success() {
    let refused = || {
        Mock::given(method("GET"))
            .and(path("/v1/api/data"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "Bad Request: no bridge"})))
    };
    let (_server, target) = scripted(vec![refused()]).await;
    let loaded = scenario(&POLL.replace("DEADLINE", "30s").replace("STOP", ""));
    let (report, took) = run_timed(&loaded, target).await;
    assert_eq!(took, Duration::ZERO, "no waiting for the deadline, nor one interval");
    let step = &report.scenarios[0].steps[1];
    assert_eq!(step.attempts, 1);
    let StepStatus::Failed(message) = &step.status else {
        panic!("{report:?}")
    };
    assert!(message.contains("HTTP 400 will not turn into success"), "{message}");
    assert!(message.contains("no bridge"), "{message}");

    // `stop_on: []` polls on whatever comes, until the deadline.
    let (_server, target) = scripted(vec![refused()]).await;
    let loaded = scenario(&POLL.replace("DEADLINE", "350ms").replace("STOP", "      stop_on: []\n"));
    let report = run::run(
        std::slice::from_ref(&loaded),
        options(target, 0.0),
        std::future::pending(),
    )
    .await
    .unwrap();
    let step = &report.scenarios[0].steps[1];
    assert!(step.attempts >= 3, "{step:?}");
    let StepStatus::Failed(message) = &step.status else {
        panic!("{report:?}")
    };
    assert!(message.starts_with("poll: condition not met"), "{message}");
}

/// Records when, by the run's clock, each request arrived.
struct Arrivals {
    clock: Arc<dyn Clock>,
    at: Arc<Mutex<Vec<SystemTime>>>,
}

impl Respond for Arrivals {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(self.clock.now());
        ResponseTemplate::new(200).set_body_json(json!({}))
    }
}

#[tokio::test]
async fn pacing_never_exceeds_the_configured_rate() {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let mut options = options(Target::Mock, 5.0);
    let tickle = Mock::given(method("POST"))
        .and(path("/v1/api/tickle"))
        .respond_with(Arrivals {
            clock: options.client.clock.clone(),
            at: arrivals.clone(),
        });
    let (_server, target) = scripted(vec![tickle]).await;
    options.target = target;
    let mut text = "name: burst\nsteps:\n  - name: lst\n    lst: {}\n".to_owned();
    for i in 0..8 {
        text.push_str(&format!(
            "  - name: tickle {i}\n    request: {{method: POST, path: /tickle}}\n"
        ));
    }
    let loaded = scenario(&text);
    let report = run::run(std::slice::from_ref(&loaded), options, std::future::pending())
        .await
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report:?}");
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 8);
    for pair in arrivals.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(gap >= Duration::from_millis(200), "requests {gap:?} apart at 5/s");
    }
}

#[tokio::test]
async fn captures_flow_into_later_steps_and_expect_error_decodes_ibkr_bodies() {
    let text = "name: flow\nsteps:\n  - name: lst\n    lst: {}\n  - name: before init\n    request: {path: /iserver/accounts}\n    expect_error: no bridge\n  - name: init\n    session_init: {}\n  - name: accounts\n    request: {path: /iserver/accounts}\n    capture: {account: \"$.accounts[0]\"}\n  - name: uses the capture\n    request: {path: /iserver/accounts}\n    expect:\n      json:\n        \"$.selectedAccount\": {equals: \"{{account}}\"}\n        \"$.accounts\": {contains: \"{{account}}\", length: 1}\n  - name: a wrong expectation fails with what differed\n    request: {path: /iserver/accounts}\n    expect:\n      json:\n        \"$.selectedAccount\": {equals: U999}\n  - name: skipped after the failure\n    request: {path: /tickle, method: POST}\n";
    let loaded = scenario(text);
    let report = run::run(
        std::slice::from_ref(&loaded),
        options(Target::Mock, 0.0),
        std::future::pending(),
    )
    .await
    .unwrap();
    let steps = &report.scenarios[0].steps;
    assert!(steps[..5].iter().all(|s| s.status == StepStatus::Passed), "{steps:#?}");
    assert_eq!(
        steps[5].status,
        StepStatus::Failed("$.selectedAccount: expected \"U999\", got \"DU1234567\"".into())
    );
    assert!(
        steps[5]
            .server_log
            .iter()
            .any(|l| l.contains("GET /v1/api/iserver/accounts -> 200")),
        "{:?}",
        steps[5].server_log
    );
    assert!(matches!(steps[6].status, StepStatus::Skipped(_)));
    assert_eq!(report.exit_code(), 4);
}

fn sample_report() -> RunReport {
    let step = |name: &str, status: StepStatus, ms: u64| StepReport {
        name: name.into(),
        status,
        duration: Duration::from_millis(ms),
        attempts: 1,
        server_log: Vec::new(),
    };
    let mut failed = step(
        "values by field id",
        StepStatus::Failed("$[0].86: expected < 100, got 598".into()),
        101,
    );
    failed.attempts = 3;
    failed.server_log = vec!["mock: GET /v1/api/iserver/marketdata/snapshot -> 200".into()];
    RunReport {
        target: "mock (http://127.0.0.1:1/v1/api)".into(),
        duration: Duration::from_millis(1234),
        interrupted: false,
        scenarios: vec![
            ScenarioReport {
                name: "auth".into(),
                file: PathBuf::from("scenarios/auth.yaml"),
                tags: vec!["auth".into()],
                skipped: None,
                steps: vec![
                    step("live session token", StepStatus::Passed, 12),
                    step(
                        "open the brokerage session",
                        StepStatus::Error("ssodh/init: no answer within 10s after 4 attempt(s)".into()),
                        40_000,
                    ),
                ],
            },
            ScenarioReport {
                name: "field mapping".into(),
                file: PathBuf::from("scenarios/field-mapping.yaml"),
                tags: vec![],
                skipped: None,
                steps: vec![
                    failed,
                    step("after", StepStatus::Skipped("an earlier step failed".into()), 0),
                ],
            },
            ScenarioReport {
                name: "guide <contracts> & \"quotes\"".into(),
                file: PathBuf::from("scenarios/guide-contracts.yaml"),
                tags: vec![],
                skipped: Some("not for target live (targets: [mock])".into()),
                steps: vec![],
            },
        ],
    }
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs; if the change is deliberate rerun with UPDATE_GOLDEN=1 and review",
        path.display()
    );
}

#[test]
fn report_formats_match_golden_files() {
    let report = sample_report();
    assert_eq!(report.exit_code(), 3, "an error outranks a failure");
    golden("report.json", &report::render(&report, ReportFormat::Json));
    golden("report.xml", &report::render(&report, ReportFormat::Junit));
    golden("report.txt", &report::terminal::render(&report, false));
    let colored = report::terminal::render(&report, true);
    assert!(colored.contains("\x1b[31mFAIL\x1b[0m"));
}

#[tokio::test]
async fn the_library_refuses_trading_steps_in_live_mode_too() {
    let text = "name: order\nsteps:\n  - name: lst\n    lst: {}\n  - name: cancel\n    request: {method: DELETE, path: /iserver/account/DU1/order/42}\n";
    let loaded = scenario(text);
    let (server, target) = scripted(vec![]).await;
    let err = run::run(
        std::slice::from_ref(&loaded),
        options(target, 0.0),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(err.contains("read-only") && err.contains("cancel"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}

#[test]
fn a_trading_scenario_for_the_mock_only_does_not_block_a_live_run() {
    let steps = "steps:\n  - name: lst\n    lst: {}\n  - name: cancel\n    request: {method: DELETE, path: /iserver/account/DU1/order/42}\n";
    let mock_only = scenario(&format!("name: flow\ntargets: [mock]\n{steps}"));
    assert!(run::trading_refusal(std::slice::from_ref(&mock_only)).is_none());
    let anywhere = scenario(&format!("name: flow\n{steps}"));
    let refusal = run::trading_refusal(&[mock_only, anywhere]).unwrap();
    assert!(refusal.contains("DELETE /iserver/account/DU1/order/42") && refusal.contains("--allow-trading"));
}
