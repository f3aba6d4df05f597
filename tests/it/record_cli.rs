//! Record against the mock (standing in for live), replay offline, and diff recordings by shape.

use std::path::Path;

use crate::common::{bin, text};
use serde_json::{Value, json};

fn step_statuses(report: &Path) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["steps"].as_array().unwrap().iter().map(|st| {
                (
                    st["name"].as_str().unwrap().to_owned(),
                    st["status"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn record_then_replay_gives_the_same_results_offline() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let cassettes = dir.path().join("cassettes");
    // An unpaced mock and run: the cassettes are the same as at IBKR's pace, without the wait.
    let (mock, _) = crate::common::start_mock(|c| c.rate_limit = u32::MAX).await;
    let (base, env_file, cassettes2, live_report) = (
        mock.base_url(),
        dir.path().join("ibkr.env"),
        cassettes.clone(),
        dir.path().join("live.json"),
    );
    let live_report2 = live_report.clone();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(["run", "--base-url", &base, "--rate", "0", "--record"])
            .arg(&cassettes2)
            .arg("--env-file")
            .arg(&env_file)
            .arg("--report")
            .arg(format!("json={}", live_report2.display()))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let recorded_requests = mock.requests_received();

    let replay_report = dir.path().join("replay.json");
    let out = bin()
        .arg("run")
        .arg(format!("--target=replay:{}", cassettes.display()))
        .arg("--report")
        .arg(format!("json={}", replay_report.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        step_statuses(&live_report),
        step_statuses(&replay_report),
        "same scenario results"
    );
    assert_eq!(
        mock.requests_received(),
        recorded_requests,
        "the replay never contacted the recorded address"
    );

    // Nothing identifying or secret in the cassettes.
    let mut all = String::new();
    for entry in std::fs::read_dir(&cassettes).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(!all.contains("DU1234567"), "the real account id is replaced");
    assert!(all.contains("DU0000001"));
    let creds = crate::common::generated().credentials().unwrap();
    let secret = creds.access_token_secret.expose();
    let plain = ibkr_probe::oauth::lst::decrypt_access_token_secret(&creds.encryption_key, secret).unwrap();
    let mut needles = vec![
        secret[..20].to_owned(),
        hex::encode(plain.expose())[..20].to_owned(),
        creds.access_token.clone(),
    ];
    for (k, token) in mock.issued_secrets() {
        needles.push(hex::encode(k.expose())[..20].to_owned());
        needles.push(token.to_base64().expose()[..20].to_owned());
        needles.push(token.signature(&creds.consumer_key)[..20].to_owned());
    }
    for needle in needles {
        assert!(!all.contains(&needle), "cassettes leak {needle}");
    }
    mock.stop().await;
}

fn write_cassette(dir: &Path, name: &str, interactions: Value) {
    std::fs::create_dir_all(dir).unwrap();
    let doc = json!({"format": 1, "scenario": name, "interactions": interactions});
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}

fn snapshot(body: Value, status: u16) -> Value {
    json!([{"method": "GET", "path": "/iserver/marketdata/snapshot", "query": [["conids", "1"], ["fields", "31,84"]], "status": status, "headers": {}, "body": body}])
}

#[test]
fn diff_finds_shape_changes_and_ignores_prices() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    write_cassette(
        &base,
        "snap",
        snapshot(json!([{"conid": "1", "31": "1.45", "84": "1.42", "_updated": 1}]), 200),
    );
    let cases = [
        (
            "prices",
            json!([{"conid": "1", "31": "1.99", "84": "1.97", "_updated": 2}]),
            200,
            None,
        ),
        (
            "removed",
            json!([{"conid": "1", "31": "1.45"}]),
            200,
            Some("field removed: $[*].84"),
        ),
        (
            "retyped",
            json!([{"conid": 1, "31": "1.45", "84": "1.42"}]),
            200,
            Some("type changed: $[*].conid: string -> number"),
        ),
        (
            "status",
            json!({"error": "Bad Request: no bridge", "statusCode": 400}),
            400,
            Some("status changed: 200 -> 400"),
        ),
    ];
    for (name, body, status, expected) in cases {
        let new = dir.path().join(name);
        write_cassette(&new, "snap", snapshot(body, status));
        let junit = dir.path().join(format!("{name}.xml"));
        let out = bin()
            .arg("diff")
            .arg(&base)
            .arg(&new)
            .arg("--report")
            .arg(format!("junit={}", junit.display()))
            .output()
            .unwrap();
        match expected {
            None => assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out)),
            Some(needle) => {
                assert_eq!(out.status.code(), Some(4), "{name}: {}", text(&out));
                assert!(text(&out).contains(needle), "{name}: {}", text(&out));
                assert!(std::fs::read_to_string(&junit).unwrap().contains("<failure"), "{name}");
            }
        }
    }
    // A key added to the ignore list stops counting.
    let out = bin()
        .arg("diff")
        .arg(&base)
        .arg(dir.path().join("removed"))
        .args(["--ignore", "84", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn broken_cassettes_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write_cassette(&good, "snap", snapshot(json!([]), 200));
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("snap.json"),
        "{\n  \"format\": 1,\n  \"scenario\": \"x\",\n  \"interactions\": [ {\"method\": \"GET\" ]\n}\n",
    )
    .unwrap();
    let out = bin().arg("diff").arg(&good).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("snap.json:4:"), "{}", text(&out));
    let out = bin()
        .arg("run")
        .arg(format!("--target=replay:{}", bad.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("snap.json:4:"), "{}", text(&out));
    std::fs::write(
        bad.join("snap.json"),
        "{\"format\": 2, \"scenario\": \"x\", \"interactions\": []}",
    )
    .unwrap();
    let out = bin().arg("diff").arg(&good).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("unsupported cassette format 2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_miss_names_the_unrecorded_request() {
    let dir = tempfile::tempdir().unwrap();
    write_cassette(
        &dir.path().join("c"),
        "accounts",
        json!([{"method": "GET", "path": "/iserver/accounts", "query": [], "status": 200, "headers": {}, "body": {"accounts": ["DU0000001"]}}]),
    );
    let source = ibkr_probe::record::replay::ReplaySource::load(&dir.path().join("c")).unwrap();
    let (mock, log) = crate::common::start_mock(|c| c.replay = Some(std::sync::Arc::new(source))).await;
    let client = crate::common::client(mock.base_url());
    client.live_session_token().await.unwrap();
    client.init_brokerage_session().await.unwrap();
    let accounts = client
        .expect_json("accounts", reqwest::Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!(accounts["accounts"][0], "DU0000001");
    let miss = client
        .request(
            reqwest::Method::GET,
            "/iserver/secdef/search",
            &[("symbol", "ZZZ")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(miss.status, 404);
    assert_eq!(
        miss.json().unwrap()["error"],
        "not recorded: GET /iserver/secdef/search?symbol=ZZZ"
    );
    assert!(log.last().contains("replay miss"));
    mock.stop().await;
}

/// A baseline recorded this month still matches next month's run: requests are matched by what
/// the step asked for (`month={{month}}`), not by the month code the calendar filled in.
#[test]
fn a_baseline_does_not_drift_with_the_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let out = crate::common::run_embedded()
        .args(["scenarios/known-conids.yaml", "--record"])
        .arg(&base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let cassette = base.join("known-conids.json");
    let recorded = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        recorded.contains("\"asked\": \"GET /iserver/secdef/strikes?conid={{conid}}&month={{month}}&sectype=OPT\""),
        "{recorded}"
    );
    // The same run a month later: every month code and strike in the requests is another.
    let mut later: Value = serde_json::from_str(&recorded).unwrap();
    for interaction in later["interactions"].as_array_mut().unwrap() {
        for pair in interaction["query"].as_array_mut().unwrap() {
            if pair[0] == "month" {
                pair[1] = Value::from("ZZZ99");
            }
            if pair[0] == "strike" {
                pair[1] = Value::from("1.5");
            }
        }
    }
    let new = dir.path().join("new");
    std::fs::create_dir(&new).unwrap();
    std::fs::write(
        new.join("known-conids.json"),
        serde_json::to_string_pretty(&later).unwrap(),
    )
    .unwrap();
    let out = bin().arg("diff").arg(&base).arg(&new).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("new request"), "{}", text(&out));
    // And the baseline still replays when the month code comes out otherwise.
    let out = crate::common::run_embedded()
        .args(["scenarios/known-conids.yaml", "--var", "month=JAN99"])
        .arg(format!("--target=replay:{}", base.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A replay's websocket sends the recorded frames, not the mock's own: a recording whose quotes
/// were edited to put the bid above the ask fails the streaming scenario's consistency check,
/// and a topic nobody recorded is a miss in the mock's log.
#[tokio::test(flavor = "multi_thread")]
async fn a_replay_serves_the_recorded_stream_frames() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let cassettes = dir.path().join("cassettes");
    let (mock, _) = crate::common::start_mock(|c| c.rate_limit = u32::MAX).await;
    let (base, env_file, cassettes2) = (mock.base_url(), dir.path().join("ibkr.env"), cassettes.clone());
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args([
                "run",
                "scenarios/streaming.yaml",
                "--base-url",
                &base,
                "--rate",
                "0",
                "--record",
            ])
            .arg(&cassettes2)
            .arg("--env-file")
            .arg(&env_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    mock.stop().await;
    let replay = |path: &str| {
        bin()
            .args(["run", path])
            .arg(format!("--target=replay:{}", cassettes.display()))
            .output()
            .unwrap()
    };
    let out = replay("scenarios/streaming.yaml");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let file = std::fs::read_dir(&cassettes).unwrap().next().unwrap().unwrap().path();
    let mut cassette: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut edited = 0;
    for frame in cassette["stream"].as_array_mut().unwrap() {
        let on_quotes = frame["topic"].as_str().is_some_and(|t| t.starts_with("smd+"));
        if frame["direction"] == "received" && on_quotes {
            frame["message"]["84"] = json!("999999.00");
            edited += 1;
        }
    }
    assert!(edited > 0, "quotes were recorded: {cassette}");
    std::fs::write(&file, serde_json::to_string_pretty(&cassette).unwrap()).unwrap();
    let out = replay("scenarios/streaming.yaml");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("a quote arrives"), "{}", text(&out));
    assert!(text(&out).contains("below"), "ask below bid: {}", text(&out));

    // Orders were not recorded: subscribing to them gets nothing, and the log says so.
    let orders = dir.path().join("orders.yaml");
    std::fs::write(
        &orders,
        format!(
            "name: {}\nuse: [{}]\nsteps:\n  - name: open\n    stream_open: {{}}\n  - name: orders\n    subscribe: {{topic: orders}}\n  - name: an order\n    expect_message: {{topic: sor, within: 300ms}}\n",
            cassette["scenario"].as_str().unwrap(),
            std::fs::canonicalize("scenarios/setup/session.yaml").unwrap().display()
        ),
    )
    .unwrap();
    let out = replay(orders.to_str().unwrap());
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("replay miss: no frame was recorded on sor"),
        "{}",
        text(&out)
    );
}
