//! The mock with an independent client: Voyz/ibind (Python), which signs differently from ours
//! (query left out of the base string, `Host: api.ibkr.com` sent to the mock's address).
//!
//! Needs `pip install 'ibind[oauth]'`. Without it the test says so and passes, unless
//! IBKR_PROBE_REQUIRE_IBIND=1 (as .ci/run sets), where a missing ibind is a failure.

mod common;

use std::process::Command;

use serde_json::Value;

fn ibind_available() -> bool {
    Command::new("python3")
        .args(["-c", "import ibind, Crypto"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn ibind_gets_an_lst_validates_it_and_calls_the_endpoints() {
    if !ibind_available() {
        assert!(
            std::env::var("IBKR_PROBE_REQUIRE_IBIND").is_err(),
            "IBKR_PROBE_REQUIRE_IBIND is set but `python3 -c 'import ibind'` fails: pip install 'ibind[oauth]'"
        );
        eprintln!("skipped: ibind is not installed (pip install 'ibind[oauth]')");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    common::generated().write(dir.path(), false).unwrap();
    let (mock, log) = common::start_mock(|_| {}).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/ibind_client.py");
    let base = format!("{}/", mock.base_url());
    let dir_arg = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(&dir_arg)
            .arg(&base)
            .env("IBIND_LOGS_DIR", &dir_arg)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "ibind failed:\n{stderr}\nmock log:\n{}",
        log.lines().join("\n")
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert_eq!(seen["lst_validated"], true);
    assert_eq!(seen["accounts"][0], "DU1234567");
    assert_eq!(seen["search_conid"], "653400472");
    assert_eq!(seen["has_143_call"], true);
    assert!(
        seen["info_conids"]
            .as_array()
            .unwrap()
            .contains(&Value::from(804_155_360u64))
    );
    assert_eq!(seen["first_snapshot_keys"], serde_json::json!(["conid", "conidEx"]));
    assert_eq!(seen["second_snapshot"]["85"], "598");
    assert_eq!(seen["tickle_authenticated"], true);
    assert!(log.lines().iter().all(|l| !l.contains("-> 401")), "{:?}", log.lines());
    mock.stop().await;
}
