//! Load: the mock command under 20 concurrent clients, its memory and a clean stop on SIGTERM;
//! the runner run many times in a row without leaking sockets. Prints its figures (the README
//! records them).

mod common;

#[cfg(target_os = "linux")]
mod linux {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use reqwest::Method;

    use super::common;

    /// A field of /proc/PID/status in kB.
    fn status_kb(pid: u32, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The descriptor count is the whole process's: the two tests take turns, so one's child
    /// process and sockets never count against the other.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mock_holds_concurrent_load_and_stops_on_sigterm() {
        let _turn = ONE_AT_A_TIME.lock().await;
        const CLIENTS: usize = 20;
        // A fixed amount of work, not a fixed time: the test ends as soon as the mock is done.
        const REQUESTS_EACH: u64 = 100;
        let dir = tempfile::tempdir().unwrap();
        common::generated().write(dir.path(), false).unwrap();
        let mut mock = Command::new(env!("CARGO_BIN_EXE_ibkr-probe"))
            .args([
                "mock",
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "1000000",
                "--credentials",
            ])
            .arg(dir.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(mock.stderr.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_owned();
        // Keep draining the log so the mock never blocks on a full pipe.
        let drain = std::thread::spawn(move || lines.count());

        let mut options = common::options(base);
        options.max_retries = 0;
        let client =
            Arc::new(ibkr_probe::client::Client::new(common::generated().credentials().unwrap(), options).unwrap());
        common::make_ready(&client).await;
        let rss_before = status_kb(mock.id(), "VmRSS:");
        let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let started = Instant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (client, ok, errors) = (client.clone(), ok.clone(), errors.clone());
                tokio::spawn(async move {
                    let paths = [
                        "/iserver/accounts",
                        "/iserver/secdef/search",
                        "/iserver/marketdata/snapshot",
                    ];
                    for _ in 0..REQUESTS_EACH {
                        let path = paths[i % paths.len()];
                        let query: &[(&str, &str)] = match path {
                            "/iserver/secdef/search" => &[("symbol", "ARM")],
                            "/iserver/marketdata/snapshot" => {
                                &[("conids", "653400472,804155360"), ("fields", "31,84,86")]
                            }
                            _ => &[],
                        };
                        match client.request(Method::GET, path, query, None).await {
                            Ok(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                            _ => errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed();
        let (ok, errors) = (ok.load(Ordering::Relaxed), errors.load(Ordering::Relaxed));
        let (rss_after, peak) = (status_kb(mock.id(), "VmRSS:"), status_kb(mock.id(), "VmHWM:"));
        println!(
            "load: {CLIENTS} clients for {:.1} s: {ok} requests ok, {errors} errors, {:.0} requests/s; mock RSS {rss_before} kB -> {rss_after} kB, peak {peak} kB",
            elapsed.as_secs_f64(),
            ok as f64 / elapsed.as_secs_f64()
        );
        assert_eq!(errors, 0);
        assert_eq!(ok, CLIENTS as u64 * REQUESTS_EACH);
        assert!(peak < 200 * 1024, "peak memory {peak} kB");
        assert!(
            rss_after < rss_before + 64 * 1024,
            "memory grew from {rss_before} kB to {rss_after} kB"
        );

        let stop = Instant::now();
        assert!(
            Command::new("kill")
                .args(["-TERM", &mock.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let status = loop {
            if let Some(status) = mock.try_wait().unwrap() {
                break status;
            }
            assert!(
                stop.elapsed() < Duration::from_secs(10),
                "the mock did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
        assert!(drain.join().unwrap() > 1000, "one log line per request");
    }

    fn open_descriptors() -> usize {
        std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
    }

    #[tokio::test]
    async fn the_runner_run_many_times_leaks_no_sockets() {
        let _turn = ONE_AT_A_TIME.lock().await;
        use ibkr_probe::scenario::{load, run};
        let (mock, _) = common::start_mock(|c| c.rate_limit = 1_000_000).await;
        let text = "name: loop\nsteps:\n  - name: lst\n    lst: {}\n  - name: init\n    session_init: {}\n  - name: accounts\n    request: {path: /iserver/accounts}\n";
        let loaded = load::parse(std::path::Path::new("loop.yaml"), text, &Default::default()).unwrap();
        let mut counts = Vec::new();
        for _ in 0..15 {
            let target = run::Target::Live {
                base_url: mock.base_url(),
                credentials: Box::new(common::generated().credentials().unwrap()),
            };
            let mut client = common::options(mock.base_url());
            client.rate = 0.0;
            let options = run::RunOptions {
                target,
                tags: Vec::new(),
                vars: Default::default(),
                client,
                record: None,
                allow_trading: false,
                progress: None,
                mock_keys: None,
            };
            let report = run::run(std::slice::from_ref(&loaded), options, std::future::pending())
                .await
                .unwrap();
            assert_eq!(report.exit_code(), 0, "{report:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
            counts.push(open_descriptors());
        }
        println!("open descriptors after each run: {counts:?}");
        let (first, last) = (counts[2], counts[counts.len() - 1]);
        assert!(last <= first + 4, "descriptors grew from {first} to {last}: {counts:?}");
        mock.stop().await;
    }
}
