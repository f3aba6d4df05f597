//! The harness against its limits: the mock's cost of verifying signatures (`harness/mock_verified`
//! vs `harness/mock_unverified`, one signed request each, reported as requests/second too), and the runner's per-step overhead
//! (`harness/runner_20_steps` vs `harness/reqwest_20_requests`: the same 20 signed requests to the
//! same mock, through a scenario or through a plain reqwest loop).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ibkr_probe::client::{Client, ClientOptions};
use ibkr_probe::config::generate::{DhChoice, GeneratedCredentials};
use ibkr_probe::mock::{MockConfig, MockServer};
use ibkr_probe::oauth::request::{Identity, RequestSigner};
use ibkr_probe::oauth::{QueryConvention, SystemRandom, header};
use ibkr_probe::scenario::{load, run};
use reqwest::Method;

const STEPS: usize = 20;

fn quiet_mock(generated: &GeneratedCredentials, verify: bool) -> MockConfig {
    let mut config = MockConfig::new(generated.server());
    config.verify_signatures = verify;
    config.rate_limit = u32::MAX;
    config.log = std::sync::Arc::new(|_: &str| {});
    config
}

fn options(base_url: String) -> ClientOptions {
    ClientOptions {
        base_url,
        rate: 0.0,
        max_retries: 0,
        timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn harness(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let generated = GeneratedCredentials::generate("MOCKCONS1", "limited_poa", DhChoice::Ffdhe2048, &mut SystemRandom)
        .expect("credentials");
    let mut group = c.benchmark_group("harness");
    // Criterion then reports requests per second beside each time.
    group.throughput(Throughput::Elements(1));

    for (name, verify) in [("mock_verified", true), ("mock_unverified", false)] {
        let (mock, client) = runtime.block_on(async {
            let mock = MockServer::start(quiet_mock(&generated, verify), "127.0.0.1:0".parse().expect("addr"))
                .await
                .expect("mock");
            let client =
                Client::new(generated.credentials().expect("credentials"), options(mock.base_url())).expect("client");
            client.live_session_token().await.expect("LST");
            (mock, client)
        });
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    black_box(
                        client
                            .request(Method::POST, "/tickle", &[], None)
                            .await
                            .expect("tickle")
                            .status,
                    )
                })
            })
        });
        runtime.block_on(mock.stop());
    }

    // The runner and a plain loop, against one verifying mock. Each iteration starts from a fresh
    // LST (the runner's client is new for every scenario); only the 20 requests are timed.
    let mock = runtime
        .block_on(MockServer::start(
            quiet_mock(&generated, true),
            "127.0.0.1:0".parse().expect("addr"),
        ))
        .expect("mock");
    let mut text = "name: steps\nsteps:\n  - name: lst\n    lst: {}\n".to_owned();
    for i in 0..STEPS {
        text.push_str(&format!(
            "  - name: tickle {i}\n    request: {{method: POST, path: /tickle}}\n    expect: {{status: 200}}\n"
        ));
    }
    let loaded = load::parse(Path::new("bench.yaml"), &text, &Default::default()).expect("scenario");
    group.throughput(Throughput::Elements(STEPS as u64));
    group.bench_function("runner_20_steps", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let target = run::Target::Live {
                    base_url: mock.base_url(),
                    credentials: Box::new(generated.credentials().expect("credentials")),
                };
                let options = run::RunOptions {
                    target,
                    tags: Vec::new(),
                    vars: HashMap::new(),
                    client: options(mock.base_url()),
                    record: None,
                    allow_trading: false,
                    progress: None,
                    mock_keys: None,
                };
                let started = Instant::now();
                let report = runtime
                    .block_on(run::run(std::slice::from_ref(&loaded), options, std::future::pending()))
                    .expect("run");
                let elapsed = started.elapsed();
                assert_eq!(report.exit_code(), 0);
                total += elapsed.saturating_sub(report.scenarios[0].steps[0].duration);
            }
            total
        })
    });
    let credentials = generated.credentials().expect("credentials");
    let identity = Identity {
        consumer_key: &credentials.consumer_key,
        access_token: &credentials.access_token,
        realm: &credentials.realm,
    };
    let signer = RequestSigner::new(identity, &mock.base_url(), QueryConvention::InBaseString);
    let url = format!("{}/tickle", mock.base_url());
    group.bench_function("reqwest_20_requests", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let fresh = Client::new(generated.credentials().expect("credentials"), options(mock.base_url()))
                    .expect("client");
                runtime.block_on(fresh.live_session_token()).expect("LST");
                let token = fresh.live_session().expect("token");
                let started = Instant::now();
                // A run sets up its HTTP client once (root certificates and all), so the loop
                // does too: the pair then differs by the runner's per-step work alone.
                let http = reqwest::Client::new();
                runtime.block_on(async {
                    for _ in 0..STEPS {
                        let nonce = header::nonce(&mut SystemRandom).expect("nonce");
                        let timestamp = header::timestamp(SystemTime::now());
                        let authorization = signer.authorization("POST", &url, &nonce, &timestamp, &token);
                        let response = http
                            .post(&url)
                            .header("authorization", authorization)
                            .header("content-length", "0")
                            .send()
                            .await
                            .expect("send");
                        assert_eq!(response.status(), 200);
                        black_box(response.bytes().await.expect("body"));
                    }
                });
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    runtime.block_on(mock.stop());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = harness
}
criterion_main!(benches);
