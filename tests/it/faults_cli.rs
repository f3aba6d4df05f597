//! A live-mode `run` against each of the mock's faults ends within its timeouts and retry budget,
//! with exit 3 or 4 and a report that names the fault; an order step is refused before any byte
//! is sent.

use crate::common::{bin, text};

use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_ends_cleanly_with_a_named_cause() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let cases = [
        ("rate-limit", "HTTP 429", 3),
        ("invalid-signature", "Invalid signature", 4),
        ("server-error", "HTTP 50", 3),
        ("malformed-json", "not JSON", 3),
        ("drop-connection", "network error", 3),
        ("slow", "no answer within 1s", 3),
    ];
    // The faults are independent: each has its own mock and run, side by side.
    let mut runs = tokio::task::JoinSet::new();
    for (fault, needle, code) in cases {
        let (mock, _) = crate::common::start_mock(|c| {
            c.faults = vec![fault.parse().unwrap()];
            c.slow_delay = Duration::from_secs(5);
        })
        .await;
        let report = dir.path().join(format!("{fault}.json"));
        let env_file = dir.path().join("ibkr.env");
        let report_arg = format!("json={}", report.display());
        runs.spawn(async move {
            let base = mock.base_url();
            let started = Instant::now();
            let out = tokio::task::spawn_blocking(move || {
                bin()
                    .args([
                        "run",
                        "scenarios/auth.yaml",
                        "--base-url",
                        &base,
                        "--timeout",
                        "1s",
                        "--report",
                        &report_arg,
                        "--env-file",
                    ])
                    .arg(&env_file)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            let elapsed = started.elapsed();
            mock.stop().await;
            (fault, needle, code, report, out, elapsed)
        });
    }
    for (fault, needle, code, report, out, elapsed) in runs.join_all().await {
        assert_eq!(out.status.code(), Some(code), "{fault}: {}", text(&out));
        assert!(elapsed < Duration::from_secs(20), "{fault}: took {elapsed:?}");
        let json = std::fs::read_to_string(&report).unwrap();
        assert!(json.contains(needle), "{fault}: report lacks {needle:?}:\n{json}");
        assert!(!text(&out).contains("panicked"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_step_is_refused_before_any_byte_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let scenario = dir.path().join("order.yaml");
    std::fs::write(
        &scenario,
        "name: order\nsteps:\n  - name: lst\n    lst: {}\n  - name: place an order\n    request:\n      method: POST\n      path: /iserver/account/DU1234567/orders\n      json: {orders: [{conid: 265598, side: BUY, quantity: 1, orderType: MKT}]}\n",
    )
    .unwrap();
    let (mock, _) = crate::common::start_mock(|_| {}).await;
    let base = mock.base_url();
    let env_file = dir.path().join("ibkr.env");
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .arg("run")
            .arg(&scenario)
            .args(["--base-url", &base, "--env-file"])
            .arg(&env_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("place an order") && text(&out).contains("--allow-trading"),
        "{}",
        text(&out)
    );
    assert_eq!(mock.requests_received(), 0, "nothing reached the server");
    mock.stop().await;
}

/// `mock --help` lists the fault kinds by hand; every kind the mock plays is there.
#[test]
fn mock_help_names_every_fault() {
    let out = bin().args(["mock", "--help"]).output().unwrap();
    let help = text(&out);
    for (name, _) in ibkr_probe::mock::FaultKind::ALL {
        assert!(
            help.contains(name),
            "`mock --help` does not name the fault {name}:\n{help}"
        );
    }
}
