//! Shared helpers: a mock on a free loopback port with fresh credentials and a captured log.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ibkr_probe::client::{Client, ClientOptions};
use ibkr_probe::config::generate::{DhChoice, GeneratedCredentials};
use ibkr_probe::mock::auth::{self, IncomingRequest};
use ibkr_probe::mock::{MockConfig, MockServer};
use ibkr_probe::oauth::SystemRandom;
use ibkr_probe::oauth::header::parse_authorization_header;
use serde_json::json;
use std::time::SystemTime;

/// RSA key generation is slow in debug builds: one credential set per test binary.
pub fn generated() -> &'static GeneratedCredentials {
    static SET: OnceLock<GeneratedCredentials> = OnceLock::new();
    SET.get_or_init(|| {
        GeneratedCredentials::generate("MOCKCONS1", "limited_poa", DhChoice::Ffdhe2048, &mut SystemRandom).unwrap()
    })
}

/// The mock's log lines.
#[derive(Clone, Default)]
pub struct Log(pub Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn last(&self) -> String {
        self.lines().last().cloned().unwrap_or_default()
    }
}

pub async fn start_mock(tweak: impl FnOnce(&mut MockConfig)) -> (MockServer, Log) {
    let log = Log::default();
    let sink = log.0.clone();
    let mut config = MockConfig::new(generated().server());
    config.log = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    tweak(&mut config);
    let server = MockServer::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    (server, log)
}

pub fn options(base_url: String) -> ClientOptions {
    ClientOptions {
        base_url,
        timeout: Duration::from_secs(5),
        rate: 0.0,
        max_retries: 2,
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

pub fn client(base_url: String) -> Client {
    Client::new(generated().credentials().unwrap(), options(base_url)).unwrap()
}

/// Brings `client` to where market data and orders answer: a live session token, the brokerage
/// session, and `/iserver/accounts` called (IBKR wants it before market data).
pub async fn make_ready(client: &Client) {
    client.live_session_token().await.unwrap();
    client.init_brokerage_session().await.unwrap();
    client
        .request(reqwest::Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
}

/// Answers the LST request like IBKR, using the server credentials of the shared set.
/// (wiremock's request URL has no port, so the server's own address is passed in.)
pub struct LstResponder {
    pub base: String,
}

impl wiremock::Respond for LstResponder {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let header = request
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let header = parse_authorization_header(header).unwrap();
        let urls = [format!("{}{}", self.base, request.url.path())];
        let incoming = IncomingRequest {
            method: "POST",
            urls: &urls,
            header: &header,
        };
        let server = generated().server();
        match auth::live_session_token(
            &server,
            &incoming,
            SystemTime::now(),
            Duration::from_secs(300),
            None,
            &[7; 32],
        ) {
            Ok(grant) => wiremock::ResponseTemplate::new(200).set_body_json(json!({
                "diffie_hellman_response": grant.dh_response_hex,
                "live_session_token_signature": grant.signature_hex,
                "live_session_token_expiration": 1_900_000_000_000u64,
            })),
            Err(refusal) => {
                eprintln!("LST refused for {urls:?}: {}", refusal.reason);
                wiremock::ResponseTemplate::new(401)
                    .set_body_json(json!({"error": format!("id: 1, error: {}", refusal.message)}))
            }
        }
    }
}

/// A wiremock server that answers the LST like IBKR (other paths are up to the test).
pub async fn lst_server() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/v1/api/oauth/live_session_token"))
        .respond_with(LstResponder { base: server.uri() })
        .mount(&server)
        .await;
    server
}

/// The binary under test, run from the repository root, without colours and without any
/// credentials from the developer's own environment.
pub fn bin() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ibkr-probe"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    for (name, _) in std::env::vars() {
        if name.starts_with("IB_") || name.starts_with("IBIND_") {
            command.env_remove(name);
        }
    }
    command
}

/// `ibkr-probe run` on the embedded mock with the shared credential set (`--mock-keys`), so a
/// run skips drawing two RSA keys. The set is written once per test process into cargo's
/// scratch folder for tests; sets from earlier processes are removed after an hour.
pub fn run_embedded() -> std::process::Command {
    static KEYS: OnceLock<std::path::PathBuf> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for entry in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
            let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < hour_ago);
            if stale && entry.file_name().to_string_lossy().starts_with("mock-keys-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = scratch.join(format!("mock-keys-{}", std::process::id()));
        generated().write(&dir, true).unwrap();
        dir
    });
    let mut command = bin();
    command.arg("run").arg("--mock-keys").arg(keys);
    command
}

/// Standard output and standard error together.
pub fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
