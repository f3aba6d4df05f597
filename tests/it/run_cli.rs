//! `ibkr-probe run` as a user runs it: the bundled scenarios, reports, broken scenario files,
//! live mode against a separately started mock, the read-only guard and Ctrl-C.

use crate::common::{bin, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn bundled_scenarios_pass_against_the_embedded_mock_with_reports() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let json = dir.path().join("r.json");
    let out = bin()
        .arg("run")
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('\x1b'),
        "NO_COLOR and a pipe: no colour codes"
    );

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let steps: usize = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["steps"].as_array().unwrap().len())
        .sum();
    assert!(steps >= 30, "{steps}");
    assert_eq!(report["totals"]["passed"], steps);

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<testcase ").count(), steps, "one testcase per step");
    assert_eq!(
        xml.matches("<testsuite ").count(),
        report["scenarios"].as_array().unwrap().len(),
        "one suite per scenario"
    );
    assert!(xml.contains(&format!("tests=\"{steps}\"")));
}

#[test]
fn malformed_scenarios_exit_2_with_positions_and_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad-yaml.yaml",
            "name: x\nsteps:\n  - name: [oops\n",
            "bad-yaml.yaml:3:",
        ),
        (
            "unknown-key.yaml",
            "name: x\nsteps:\n  - name: a\n    lst: {}\n    expect_eror: x\n",
            "unknown-key.yaml:5:5: unknown field `expect_eror`",
        ),
        (
            "wrong-type.yaml",
            "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request: {path: /x}\n    expect: {status: two-hundred}\n",
            "wrong-type.yaml:7:",
        ),
        (
            "undefined.yaml",
            "name: x\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request:\n      path: \"/iserver/{{acount}}\"\n",
            "undefined.yaml:7:",
        ),
    ];
    for (name, contents, needle) in cases {
        let file = write(dir.path(), name, contents);
        let report = dir.path().join(format!("{name}.json"));
        let out = crate::common::run_embedded()
            .arg(&file)
            .arg("--report")
            .arg(format!("json={}", report.display()))
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {all}");
        assert!(all.contains(needle), "{name}: expected {needle:?} in {all}");
        assert!(!all.contains("panicked"));
        assert!(!report.exists(), "{name}: no report for an invalid run");
    }
    let out = crate::common::run_embedded().args(["no/such/folder"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = crate::common::run_embedded()
        .args(["--report", "xml=out.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a bad flag is a command-line error");
    let out = crate::common::run_embedded()
        .args(["--var", "novalue"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn undefined_variable_suggests_the_close_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "s.yaml",
        "name: x\nvariables: {account: DU1}\nsteps:\n  - name: lst\n    lst: {}\n  - name: a\n    request:\n      path: \"/x/{{acount}}\"\n",
    );
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert!(text(&out).contains("did you mean `account`?"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn live_mode_against_an_inactive_key_fails_with_invalid_consumer() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let (mock, _log) =
        crate::common::start_mock(|c| c.activate_at = Some(std::time::SystemTime::now() + Duration::from_secs(3600)))
            .await;
    let env_file = dir.path().join("ibkr.env");
    let report = dir.path().join("live.xml");
    let base = mock.base_url();
    let args = (env_file.clone(), report.clone());
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(["run", "--base-url", &base, "--env-file"])
            .arg(&args.0)
            .arg("--report")
            .arg(format!("junit={}", args.1.display()))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("invalid consumer"));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.contains("invalid consumer"), "{xml}");
    assert!(
        xml.contains("not for target live"),
        "mock-only scenarios are skipped live"
    );
    mock.stop().await;
}

#[test]
fn live_mode_without_credentials_names_the_missing_variable() {
    let out = bin().args(["run", "--target", "live"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = text(&out);
    for name in [
        "IB_CONSUMER_KEY",
        "IB_ACCESS_TOKEN",
        "IB_ACCESS_TOKEN_SECRET",
        "IB_SIGNATURE_KEY_PATH",
        "IB_ENCRYPTION_KEY_PATH",
        "IB_DH_PARAM_PATH",
    ] {
        assert!(
            all.contains(name),
            "every missing variable is named at once: {name}: {all}"
        );
    }
}

#[test]
fn a_run_that_would_test_less_than_asked_is_refused() {
    let out = crate::common::run_embedded()
        .args(["--tag", "nightly"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--tag nightly selects no scenario"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("smoke"), "lists the tags there are: {}", text(&out));

    let out = crate::common::run_embedded()
        .args(["--var", "symbl=AAPL"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("did you mean `symbol`"), "{}", text(&out));

    let out = crate::common::run_embedded()
        .args(["--env-file", "no-such.env"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-such.env: no such file"), "{}", text(&out));

    let out = crate::common::run_embedded()
        .args(["--report", "json=/no/such/folder/r.json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "checked before the first request: {}",
        text(&out)
    );
    assert!(text(&out).contains("/no/such/folder"), "{}", text(&out));
    assert!(!text(&out).contains("ok "), "nothing ran: {}", text(&out));
}

#[test]
fn errors_are_written_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let step = "steps:\n  - name: a\n    request: {path: /tickle}\n";
    let cases = [
        (
            format!("name: x\n{step}    expect: {{status: ok}}\n"),
            "expected an HTTP status such as 200",
        ),
        (
            format!("name: x\n{step}    expect: {{status: -5}}\n"),
            "-5 is not an HTTP status",
        ),
        (format!("name: x\nname: y\n{step}"), "each key may appear once"),
    ];
    for (i, (yaml, expected)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("s{i}.yaml"), yaml);
        let out = crate::common::run_embedded().arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let all = text(&out);
        assert!(all.contains(expected), "{expected:?} in {all}");
        for internal in ["untagged enum", "StatusExpect", "DuplicateKeyPolicy", "invalid u64"] {
            assert!(!all.contains(internal), "{internal} in {all}");
        }
    }
    let out = crate::common::run_embedded()
        .args(["no-such-folder/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no-such-folder/: no such file or folder"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(":0:0"), "{}", text(&out));
    let out = bin().args(["run", "--base-url", "not-a-url"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad flag value is a bad command line: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("expected an http:// or https:// URL"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_server_failure_on_a_step_with_expect_status_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "fails.yaml",
        "name: server fails\nmock: {faults: [\"server-error\"]}\nsteps:\n  - name: lst\n    lst: {}\n  - name: tickle\n    request: {method: POST, path: /tickle}\n    expect: {status: 200}\n",
    );
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let file = write(
        dir.path(),
        "wrong.yaml",
        "name: wrong status\nsteps:\n  - name: lst\n    lst: {}\n  - name: tickle\n    request: {method: POST, path: /tickle}\n    expect: {status: 201}\n",
    );
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "a 2xx other than expected is a failed check: {}",
        text(&out)
    );
    assert!(text(&out).contains("expected status 201, got 200"), "{}", text(&out));
}

#[test]
fn a_report_on_standard_output_moves_the_terminal_report_to_standard_error() {
    let out = crate::common::run_embedded()
        .args(["scenarios/auth.yaml", "--report", "json=-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("standard output is the JSON report alone");
    assert_eq!(json["totals"]["failed"], 0);
    assert!(
        !Path::new(env!("CARGO_MANIFEST_DIR")).join("-").exists(),
        "no file named -"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth"), "{}", text(&out));
}

#[test]
fn record_does_not_replace_a_baseline_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let record = |extra: &[&str]| {
        crate::common::run_embedded()
            .args(["scenarios/auth.yaml", "--record"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(record(&[]).status.code(), Some(0));
    let out = record(&[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "as keys generate refuses to replace: {}",
        text(&out)
    );
    assert!(text(&out).contains("--overwrite"), "{}", text(&out));
    assert_eq!(record(&["--overwrite"]).status.code(), Some(0));
}

#[test]
fn the_environment_overrides_a_dotenv_file_and_flags_override_both() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    let out = bin().args(["keys", "generate"]).arg(&creds).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::copy(creds.join("ibkr.env"), dir.path().join(".env")).unwrap();
    let consumer = |env: Option<&str>, flag: Option<&str>| {
        let mut command = bin();
        command.current_dir(dir.path()).arg("diagnose");
        if let Some(key) = env {
            command.env("IB_CONSUMER_KEY", key);
        }
        if let Some(key) = flag {
            command.args(["--consumer-key", key]);
        }
        let out = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        stdout
            .lines()
            .find(|l| l.contains("consumer key format"))
            .unwrap_or_else(|| panic!("{}", text(&out)))
            .to_owned()
    };
    assert!(consumer(None, None).contains("MOCKCONS"), "{}", consumer(None, None));
    assert!(consumer(Some("FROMENV01"), None).contains("FROMENV01"));
    assert!(consumer(Some("FROMENV01"), Some("FROMFLAG1")).contains("FROMFLAG1"));
}

#[test]
fn live_mode_refuses_order_endpoints_without_allow_trading() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "order.yaml",
        "name: order\nsteps:\n  - name: lst\n    lst: {}\n  - name: place\n    request:\n      method: POST\n      path: /iserver/account/DU1/orders\n      json: {orders: []}\n",
    );
    let out = bin().args(["run", "--target", "live"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("read-only") && text(&out).contains("--allow-trading"),
        "{}",
        text(&out)
    );
}

#[test]
fn tags_and_vars_select_and_override() {
    let out = crate::common::run_embedded().args(["--tag", "guide"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("guide contracts") && !stdout.contains("snapshot warm-up"),
        "{stdout}"
    );
    // --var overrides the scenario's variable: searching a symbol the mock does not know fails.
    let out = crate::common::run_embedded()
        .args(["scenarios/known-conids.yaml", "--var", "symbol=NOPE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("$[0].conid"), "{}", text(&out));
}

/// Each step is printed when it ends, not when the run ends.
#[cfg(unix)]
#[test]
fn steps_are_printed_as_they_finish() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "slow.yaml",
        "name: slow\nsteps:\n  - name: lst\n    lst: {}\n  - name: waits for ever\n    request: {method: POST, path: /tickle}\n    poll:\n      until: {\"$.never\": {exists: true}}\n      interval: 200ms\n      deadline: 60s\n",
    );
    let errors = dir.path().join("stderr.txt");
    let mut child = crate::common::run_embedded()
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&errors).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let started = std::time::Instant::now();
    let seen = loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("the first step's line arrives while the run goes on");
        if line.contains("ok   lst") {
            break line;
        }
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running when {seen:?} was printed"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let rest: Vec<String> = receiver.iter().collect();
    let stderr = std::fs::read_to_string(&errors).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(3),
        "{status:?}; stdout after {seen:?}: {rest:?}; stderr: {stderr}"
    );
    assert!(rest.iter().any(|l| l.contains("run interrupted")), "{rest:?}");
}

#[test]
fn quiet_prints_failures_and_the_summary_only() {
    let out = crate::common::run_embedded()
        .args(["-q", "scenarios/auth.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("ok  "), "{stdout}");
    assert!(stdout.contains("steps: 4 passed"), "{stdout}");
    let out = crate::common::run_embedded()
        .args(["--color", "always", "scenarios/auth.yaml"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\x1b[32m"),
        "--color always colours a pipe"
    );
    let out = bin().args(["keys", "generate", "-v", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "-v belongs to commands that make requests");
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_a_complete_report_and_exits_3() {
    interrupted_run_writes_a_complete_report_and_exits_3("-INT");
}

#[cfg(unix)]
#[test]
fn sigterm_from_a_ci_timeout_behaves_like_ctrl_c() {
    interrupted_run_writes_a_complete_report_and_exits_3("-TERM");
}

#[cfg(unix)]
fn interrupted_run_writes_a_complete_report_and_exits_3(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "slow.yaml",
        "name: slow\nsteps:\n  - name: lst\n    lst: {}\n  - name: waits for ever\n    request: {method: POST, path: /tickle}\n    poll:\n      until: {\"$.never\": {exists: true}}\n      interval: 200ms\n      deadline: 60s\n  - name: after\n    request: {method: POST, path: /tickle}\n",
    );
    let report = dir.path().join("r.json");
    let mut child = crate::common::run_embedded()
        .arg(&file)
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once the handshake step has passed, the run is in (or entering) its endless poll.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ok   lst") {
        line.clear();
        let read = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(read > 0, "the run ended before its poll step");
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(3));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["interrupted"], true);
    let steps = json["scenarios"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "every step is in the report");
    assert_eq!(steps[1]["message"], "run interrupted");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn sleep_steps_per_step_retries_and_environment_templates() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = |retries: u32| {
        format!(
            "name: pacing\nmock: {{faults: [\"rate-limit:0.5\"]}}\nsteps:\n  - name: lst\n    lst: {{}}\n  - name: settle\n    sleep: 300ms\n  - name: the first answer counts\n    request: {{method: POST, path: /tickle, query: {{acct: \"{{{{env.PROBE_TEST_ACCOUNT}}}}\"}}}}\n    retries: {retries}\n    expect_error: Too Many Requests\n"
        )
    };
    let file = write(dir.path(), "pacing.yaml", &scenario(0));
    let out = crate::common::run_embedded()
        .arg(&file)
        .env("PROBE_TEST_ACCOUNT", "DU1234567")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("ok   settle (3"),
        "slept about 300 ms: {}",
        text(&out)
    );
    // With the client's retries the 429 is retried away, and the expected error never comes.
    let file = write(dir.path(), "pacing.yaml", &scenario(3));
    let out = crate::common::run_embedded()
        .arg(&file)
        .env("PROBE_TEST_ACCOUNT", "DU1234567")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    // A variable the environment lacks is named where it is used, before anything runs.
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("pacing.yaml:9:") && text(&out).contains("PROBE_TEST_ACCOUNT is not set"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_data_table_runs_the_scenario_once_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "search.yaml",
        "name: search\neach:\n  - {symbol: ARM, conid: 653400472}\n  - {symbol: AAPL, conid: 1}\nsteps:\n  - name: lst\n    lst: {}\n  - name: session\n    session_init: {}\n  - name: accounts\n    request: {path: /iserver/accounts}\n  - name: search\n    request: {path: /iserver/secdef/search, query: {symbol: \"{{symbol}}\"}}\n    expect:\n      json:\n        $[0].conid: {equals: \"{{conid}}\"}\n",
    );
    let json = dir.path().join("r.json");
    let out = crate::common::run_embedded()
        .arg(&file)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "the AAPL row expects a wrong conid: {}",
        text(&out)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["search [symbol=ARM, conid=653400472]", "search [symbol=AAPL, conid=1]"]
    );
    assert_eq!(report["totals"]["failed"], 1, "{report}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("expected \"1\", got \"265598\""), "{stdout}");
}

#[test]
fn man_prints_a_manual_page() {
    let out = bin().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH ibkr-probe 1") && page.contains("explain"), "{page}");
}

#[test]
fn completions_print_a_script() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ibkr-probe"));
}

#[test]
fn the_bundled_scenarios_run_from_any_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("run").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("14 scenario(s) run"),
        "{}",
        text(&out)
    );
    // An explicit folder that does not exist is still an error.
    let out = bin().args(["run", "nowhere"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The README's examples run as written: every `$ ibkr-probe run …` and `$ ibkr-probe explain …`
/// line of its console blocks, through a shell, in a fresh folder.
#[test]
fn the_readme_examples_run_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let examples: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("$ ibkr-probe "))
        .filter(|l| l.starts_with("run") || l.starts_with("explain"))
        .collect();
    assert!(examples.len() >= 2, "{examples:?}");
    let dir = tempfile::tempdir().unwrap();
    for example in examples {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("\"$PROBE\" {example}"))
            .env("PROBE", env!("CARGO_BIN_EXE_ibkr-probe"))
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{example}: {}", text(&out));
    }
}

/// The first example of scenarios/README.md runs as written against the embedded mock.
#[test]
fn the_scenario_format_example_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/README.md")).unwrap();
    let example = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "example.yaml", example);
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn review_findings_stay_fixed() {
    let dir = tempfile::tempdir().unwrap();
    // A signed request before any `lst` step is a file error, with what to do.
    let file = write(
        dir.path(),
        "no-lst.yaml",
        "name: x\nsteps:\n  - name: a\n    request: {path: /x}\n",
    );
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("before any `lst` step"), "{}", text(&out));
    assert!(!text(&out).contains("live_session_token()"), "{}", text(&out));
    // A --var of a captured name would be overwritten: refused.
    let out = bin()
        .args(["run", "--tag", "contracts", "--var", "conid=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A scenario that is not selected does not need its environment variables.
    write(
        dir.path(),
        "a.yaml",
        "name: a\ntags: [a]\nsteps:\n  - name: lst\n    lst: {}\n  - name: r\n    request: {path: \"/x/{{env.PROBE_UNSET_VARIABLE}}\"}\n",
    );
    write(
        dir.path(),
        "b.yaml",
        "name: b\ntags: [b]\nsteps:\n  - name: wait\n    sleep: 100ms\n",
    );
    std::fs::remove_file(dir.path().join("no-lst.yaml")).unwrap();
    let out = crate::common::run_embedded()
        .arg(dir.path())
        .args(["--tag", "b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = crate::common::run_embedded()
        .arg(dir.path())
        .args(["--tag", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Paths without a position print no :0:0.
    let out = bin().args(["diff", "no-such-1", "no-such-2"]).output().unwrap();
    assert!(!text(&out).contains(":0:0"), "{}", text(&out));
    // keys generate refuses the documentation example's realm.
    let out = bin()
        .args(["keys", "generate"])
        .arg(dir.path().join("k"))
        .args(["--realm", "test_realm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// `--mock-keys DIR` gives the embedded mock a set from `keys generate` instead of fresh keys;
/// a folder that is not such a set, a mixed set or a live target is refused before anything runs.
#[test]
fn mock_keys_take_a_generated_set_and_refuse_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let (set, other) = (dir.path().join("set"), dir.path().join("other"));
    crate::common::generated().write(&set, false).unwrap();
    let out = bin()
        .args(["run", "--mock-keys"])
        .arg(&set)
        .arg("scenarios/auth.yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = bin().args(["run", "--mock-keys"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a folder written by `ibkr-probe keys generate`"),
        "{}",
        text(&out)
    );

    let keys = bin().args(["keys", "generate"]).arg(&other).output().unwrap();
    assert_eq!(keys.status.code(), Some(0), "{}", text(&keys));
    std::fs::copy(other.join("mock-server.json"), set.join("mock-server.json")).unwrap();
    let out = bin().args(["run", "--mock-keys"]).arg(&set).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not from one `keys generate` run"),
        "{}",
        text(&out)
    );

    let out = bin()
        .args(["run", "--target", "live", "--mock-keys"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--mock-keys is for the embedded mock"),
        "{}",
        text(&out)
    );
}
