//! Shared helpers: a mock on a free loopback port with fresh credentials and a captured log.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ibkr_probe::client::{Client, ClientOptions};
use ibkr_probe::config::generate::{DhChoice, GeneratedCredentials};
use ibkr_probe::mock::{MockConfig, MockServer};
use ibkr_probe::oauth::SystemRandom;

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
