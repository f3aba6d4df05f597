//! The mock against recorded IBKR traffic (`tests/data/ibkr-recorded/`): for each recorded
//! request of an endpoint the mock serves, the mock's answer is compared by shape with the
//! recording, using the project's own `diff` without its default ignore list (which exists for
//! run-to-run noise and would hide `6509`, `hardware_info` and the like). Every difference must be listed, with its reason,
//! in `mock-differences.json` beside the recordings; a listed difference that no longer occurs
//! is an error too, so the list stays true.

use std::path::{Path, PathBuf};

use ibkr_probe::record::diff::compare;
use ibkr_probe::record::{Cassette, FORMAT, Interaction};
use reqwest::Method;
use serde_json::Value;

/// A request made before the recorded one: method, path, query, JSON body.
type Step = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

const ACCOUNTS: Step = ("GET", "/iserver/accounts", &[], None);
const SUBSCRIBE_SPY: Step = (
    "GET",
    "/iserver/marketdata/snapshot",
    &[("conids", "756733"), ("fields", "31,84")],
    None,
);
const UNSUBSCRIBE_SPY: Step = (
    "POST",
    "/iserver/marketdata/unsubscribe",
    &[],
    Some(r#"{"conid":756733}"#),
);
/// The recordings' order: buy 1 SPY at 1.00, GTC (working, far below the market).
const PLACE_SPY: Step = (
    "POST",
    "/iserver/account/DU1234567/orders",
    &[],
    Some(r#"{"orders":[{"conid":756733,"side":"BUY","quantity":1,"orderType":"LMT","price":1.0,"tif":"GTC"}]}"#),
);
const LIST_ORDERS: Step = ("GET", "/iserver/account/orders", &[], None);

/// Query values replaced before the request is sent: (file, parameter, recorded, sent). ibind's
/// captured AAPL history carries conid 532640894, which is not AAPL's (265598) and not in the
/// mock's universe; the body says AAPL, so the mock is asked for AAPL.
const SUBSTITUTE: &[(&str, &str, &str, &str)] =
    &[("GET-iserver-marketdata-history.json", "conid", "532640894", "265598")];

/// What a recording's request needs first, as the recording session did it, and the faults
/// the recorded failure needs.
fn set_up(file: &str) -> (Vec<Step>, &'static [&'static str]) {
    let steps = match file {
        f if f.contains("secdef-strikes") => vec![("GET", "/iserver/secdef/search", &[("symbol", "SPY")][..], None)],
        "POST-iserver-marketdata-unsubscribe.json" | "GET-iserver-marketdata-snapshot.json" => {
            vec![ACCOUNTS, SUBSCRIBE_SPY]
        }
        "POST-iserver-account-acct-orders.json" => vec![ACCOUNTS, SUBSCRIBE_SPY],
        "DELETE-iserver-account-acct-order-id.json"
        | "POST-iserver-account-acct-order-id-modify.json"
        | "GET-iserver-account-order-status-id.json" => vec![ACCOUNTS, SUBSCRIBE_SPY, PLACE_SPY],
        "GET-iserver-account-orders.json" => vec![ACCOUNTS, SUBSCRIBE_SPY, PLACE_SPY, LIST_ORDERS],
        // The recorded account already had the most working buy orders on SPY and no market data.
        "POST-iserver-account-acct-orders-whatif.json" => {
            let mut steps = vec![ACCOUNTS, SUBSCRIBE_SPY];
            steps.extend([PLACE_SPY; 15]);
            steps.push(UNSUBSCRIBE_SPY);
            steps
        }
        f if f.contains("accounts-not-queried") => Vec::new(),
        // Recorded with the brokerage session already up.
        "POST-iserver-auth-ssodh-init.json" => vec![(
            "POST",
            "/iserver/auth/ssodh/init",
            &[][..],
            Some(r#"{"publish":true,"compete":true}"#),
        )],
        f if f.starts_with("GET-iserver-marketdata")
            || f.starts_with("GET-iserver-account-")
            || f.starts_with("POST-iserver-account-") =>
        {
            vec![ACCOUNTS]
        }
        _ => Vec::new(),
    };
    let faults: &[&str] = match file {
        "POST-iserver-auth-ssodh-init-410.json" => &["gone"],
        "POST-iserver-auth-ssodh-init-500-sso-dh.json" => &["sso-dh"],
        _ => &[],
    };
    (steps, faults)
}

/// The websocket shapes wait for issue 18's stream; everything else the mock serves is compared.
fn recordings() -> Vec<(String, Value)> {
    let mut files: Vec<(String, Value)> = std::fs::read_dir(folder())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let is_recording = name.ends_with(".json") && name != "mock-differences.json";
            is_recording.then(|| {
                let text = std::fs::read_to_string(folder().join(&name)).unwrap();
                (name, serde_json::from_str(&text).unwrap())
            })
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
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

/// `(file, what)` for every difference between the mock and the recordings, and how many
/// recordings were compared.
async fn differences() -> (Vec<(String, String)>, usize) {
    let mut found = Vec::new();
    let mut compared = 0;
    let mut not_served = Vec::new();
    for (file, recorded) in recordings() {
        let file = file.as_str();
        let request = &recorded["request"];
        let method = request["method"].as_str().unwrap();
        let path = request["path"].as_str().unwrap();
        if !ibkr_probe::mock::serves(method, path) {
            not_served.push(format!("{method} {path}"));
            continue;
        }
        compared += 1;
        let query: Vec<(String, String)> = request["query"]
            .as_object()
            .map(|q| {
                q.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let query: Vec<(String, String)> = query
            .into_iter()
            .map(|(k, v)| {
                match SUBSTITUTE
                    .iter()
                    .find(|(f, key, from, _)| *f == file && *key == k && *from == v)
                {
                    Some((_, _, _, to)) => (k, (*to).to_owned()),
                    None => (k, v),
                }
            })
            .collect();
        let (steps, faults) = set_up(file);
        let (mock, _) = crate::common::start_mock(|c| {
            c.rate_limit = u32::MAX;
            c.warm_up = std::time::Duration::ZERO;
            c.faults = faults.iter().map(|f| f.parse().unwrap()).collect();
        })
        .await;
        let client = crate::common::client(mock.base_url());
        client.live_session_token().await.unwrap();
        if !file.contains("no-bridge") && path != "/iserver/auth/ssodh/init" {
            client.init_brokerage_session().await.unwrap();
        }
        for (method, path, query, body) in steps {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let body: Option<Value> = body.map(|b| serde_json::from_str(b).unwrap());
            let answer = client.request(method, path, query, body.as_ref()).await.unwrap();
            assert!(
                answer.status < 300,
                "{file}: set-up step {path} answered {}",
                answer.status
            );
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
            mock.stop().await;
            continue;
        }
        let cassette = |interaction: Interaction| Cassette {
            format: FORMAT,
            scenario: (*file).to_owned(),
            interactions: vec![interaction],
            stream: Vec::new(),
        };
        let base = cassette(interaction(method, path, &query, status, recorded["body"].clone()));
        let new = cassette(interaction(
            method,
            path,
            &query,
            answer.status,
            answer.json().unwrap_or(Value::Null),
        ));
        for change in compare(file, &base, &new, &[]) {
            found.push((file.to_string(), change.what));
        }
        mock.stop().await;
    }
    // Said, not hidden: docs/mock.md lists these as recorded but not served.
    match not_served.is_empty() {
        true => println!("recorded, not served: none"),
        false => println!("recorded, not served: {}", not_served.join(", ")),
    }
    (found, compared)
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
    // Each entry: a file, the differences it accepts (each the start of what `diff` says) and why.
    let accepted: Vec<(&str, &str)> = listed
        .iter()
        .flat_map(|e| {
            let file = e["file"].as_str().unwrap();
            e["differences"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| (file, d.as_str().unwrap()))
        })
        .collect();
    let is_listed = |file: &str, what: &str| accepted.iter().any(|(f, d)| *f == file && what.starts_with(d));
    let (found, compared) = differences().await;
    assert!(compared >= 60, "only {compared} recordings compared");
    println!(
        "mock vs recordings: {compared} recorded requests compared, {} differences, all listed: {}",
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
    let stale: Vec<&(&str, &str)> = accepted
        .iter()
        .filter(|(file, d)| !found.iter().any(|(f, w)| f == file && w.starts_with(d)))
        .collect();
    assert!(stale.is_empty(), "listed differences that no longer occur: {stale:?}");
}

/// docs/mock.md is the list of served endpoints with their sources: it names every route, with
/// its methods, and no route the mock does not serve.
#[test]
fn docs_list_every_served_endpoint() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mock.md")).unwrap();
    let rows: Vec<(&str, &str)> = docs
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let path = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            path.starts_with('/').then(|| (cells[1], path))
        })
        .collect();
    let mut served = 0;
    for (methods, pattern) in ibkr_probe::mock::endpoints() {
        let listed: String = rows
            .iter()
            .filter(|(_, path)| *path == pattern)
            .map(|(methods, _)| *methods)
            .collect();
        assert!(!listed.is_empty(), "docs/mock.md does not list {pattern}");
        for method in methods {
            assert!(listed.contains(method), "docs/mock.md lists {pattern} without {method}");
            served += 1;
        }
    }
    for (_, path) in &rows {
        let known = *path == "/oauth/live_session_token" || ibkr_probe::mock::endpoints().any(|(_, p)| p == *path);
        assert!(known, "docs/mock.md lists {path}, which the mock does not serve");
    }
    println!("docs/mock.md lists all {served} endpoints (method and path) the mock serves, and the handshake");
    assert!(served >= 40, "{served}");
}
