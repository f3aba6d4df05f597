//! The mock against recorded IBKR traffic (`tests/data/ibkr-recorded/`): for each recorded
//! request of an endpoint the mock serves, the mock's answer is compared by shape with the
//! recording, using the project's own `diff`. Every difference must be listed, with its reason,
//! in `mock-differences.json` beside the recordings; a listed difference that no longer occurs
//! is an error too, so the list stays true.

mod common;

use std::path::{Path, PathBuf};

use ibkr_probe::record::diff::{compare, ignore_list};
use ibkr_probe::record::{Cassette, FORMAT, Interaction};
use reqwest::Method;
use serde_json::Value;

/// The recordings of endpoints the mock serves so far (the other files wait for their endpoints).
const COVERED: &[&str] = &[
    "GET-iserver-accounts.json",
    "GET-iserver-accounts-no-bridge.json",
    "GET-iserver-auth-status.json",
    "POST-iserver-auth-ssodh-init.json",
    "POST-tickle.json",
    "POST-logout.json",
    "GET-iserver-secdef-search.json",
    "GET-iserver-marketdata-unsubscribeall.json",
    "GET-portfolio-accounts.json",
    "GET-portfolio-subaccounts.json",
    "GET-portfolio-acct-meta.json",
    "GET-portfolio-acct-summary.json",
    "GET-portfolio-acct-ledger.json",
    "GET-portfolio-acct-positions-0.json",
    "GET-portfolio-acct-positions-page-beyond-end.json",
    "GET-portfolio-acct-position-conid.json",
    "GET-portfolio-acct-position-conid-nonexistent.json",
    "GET-portfolio-acct-positions-0-invalid-account.json",
    "GET-portfolio-acct-allocation.json",
    "GET-trsrv-stocks.json",
    "GET-trsrv-stocks-unknown-symbol.json",
    "GET-trsrv-secdef.json",
    "GET-iserver-contract-conid-info.json",
    "GET-iserver-contract-conid-info-invalid-conid.json",
    "GET-iserver-secdef-strikes.json",
    "GET-iserver-secdef-strikes-unknown-month.json",
    "POST-iserver-marketdata-unsubscribe.json",
    "POST-iserver-marketdata-unsubscribe-unknown.json",
];

/// A request made before the recorded one: method, path, query.
type Step = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

/// What a recording's request needs first, as the recording session did it.
fn set_up(file: &str) -> &'static [Step] {
    match file {
        f if f.contains("secdef-strikes") => &[("GET", "/iserver/secdef/search", &[("symbol", "SPY")])],
        "POST-iserver-marketdata-unsubscribe.json" => &[
            ("GET", "/iserver/accounts", &[]),
            (
                "GET",
                "/iserver/marketdata/snapshot",
                &[("conids", "756733"), ("fields", "31")],
            ),
        ],
        _ => &[],
    }
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ibkr-recorded")
}

fn interaction(method: &str, path: &str, query: &[(String, String)], status: u16, body: Value) -> Interaction {
    Interaction {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_vec(),
        status,
        headers: Default::default(),
        body,
        asked: None,
    }
}

/// `(file, what)` for every difference between the mock and the recordings.
async fn differences() -> Vec<(String, String)> {
    let (mock, _) = common::start_mock(|c| c.rate_limit = 1_000_000).await;
    let mut found = Vec::new();
    for file in COVERED {
        let recorded: Value = serde_json::from_str(&std::fs::read_to_string(folder().join(file)).unwrap()).unwrap();
        let request = &recorded["request"];
        let method = request["method"].as_str().unwrap();
        let path = request["path"].as_str().unwrap();
        let query: Vec<(String, String)> = request["query"]
            .as_object()
            .map(|q| {
                q.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let client = common::client(mock.base_url());
        client.live_session_token().await.unwrap();
        if !file.contains("no-bridge") && path != "/iserver/auth/ssodh/init" {
            client.init_brokerage_session().await.unwrap();
        }
        for (method, path, query) in set_up(file) {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            client.request(method, path, query, None).await.unwrap();
        }
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body = match &request["body"] {
            Value::Null if method == "POST" => Some(serde_json::json!({})),
            Value::Null => None,
            body => Some(body.clone()),
        };
        let answer = client
            .request_with_retries(
                Method::from_bytes(method.as_bytes()).unwrap(),
                path,
                &pairs,
                body.as_ref(),
                0,
            )
            .await
            .unwrap();
        let status = recorded["status"].as_u64().unwrap() as u16;
        if recorded["body"].is_null() {
            // Only the status was recorded.
            if status != answer.status {
                found.push((
                    file.to_string(),
                    format!("status changed: {status} -> {}", answer.status),
                ));
            }
            continue;
        }
        let cassette = |interaction: Interaction| Cassette {
            format: FORMAT,
            scenario: (*file).to_owned(),
            interactions: vec![interaction],
        };
        let base = cassette(interaction(method, path, &query, status, recorded["body"].clone()));
        let new = cassette(interaction(
            method,
            path,
            &query,
            answer.status,
            answer.json().unwrap_or(Value::Null),
        ));
        for change in compare(file, &base, &new, &ignore_list(&[])) {
            found.push((file.to_string(), change.what));
        }
    }
    mock.stop().await;
    found
}

#[tokio::test]
async fn the_mock_answers_as_ibkr_was_recorded_except_where_listed() {
    let listed: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(folder().join("mock-differences.json")).unwrap()).unwrap();
    for entry in &listed {
        assert!(
            entry["reason"].as_str().is_some_and(|r| r.len() > 10),
            "every listed difference says why: {entry}"
        );
    }
    let is_listed = |file: &str, what: &str| {
        listed
            .iter()
            .any(|e| e["file"] == file && e["difference"].as_str().is_some_and(|d| what.starts_with(d)))
    };
    let found = differences().await;
    println!(
        "mock vs recordings: {} recorded requests compared, {} differences, all listed: {}",
        COVERED.len(),
        found.len(),
        found.iter().all(|(f, w)| is_listed(f, w))
    );
    let unlisted: Vec<String> = found
        .iter()
        .filter(|(f, w)| !is_listed(f, w))
        .map(|(f, w)| format!("{f}: {w}"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "differences not in mock-differences.json:\n{}",
        unlisted.join("\n")
    );
    let stale: Vec<&Value> = listed
        .iter()
        .filter(|e| {
            !found
                .iter()
                .any(|(f, w)| e["file"] == f.as_str() && e["difference"].as_str().is_some_and(|d| w.starts_with(d)))
        })
        .collect();
    assert!(stale.is_empty(), "listed differences that no longer occur: {stale:?}");
}
