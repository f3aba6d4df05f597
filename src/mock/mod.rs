//! An IBKR Web API stand-in that checks every signature with real cryptography, keeps IBKR's
//! session rules (brokerage session, idle expiry, accounts before market data, snapshot warm-up,
//! pacing) and can play IBKR's failures on purpose. Usable from tests on a free loopback port.

mod api;
pub mod auth;
pub mod data;
pub mod faults;
mod pacing;
mod routes;
mod state;
mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::config::ServerCredentials;
pub use faults::{Fault, FaultKind};

use crate::oauth::LiveSessionToken;
use state::Session;

/// Every endpoint the mock serves besides the OAuth handshake: methods and path pattern under
/// `/v1/api`, with `{…}` for path parameters.
pub fn endpoints() -> impl Iterator<Item = (&'static [&'static str], &'static str)> {
    api::endpoints()
}

/// Whether the mock serves `method path` (a concrete path under `/v1/api`).
pub fn serves(method: &str, path: &str) -> bool {
    api::serves(method, path)
}

/// Where the mock's one-line-per-request log goes.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A log sink that prints to standard error.
pub fn stderr_log() -> LogSink {
    Arc::new(|line: &str| eprintln!("{line}"))
}

/// When a key becomes active: a while after the mock starts, or at a set time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivateAt {
    After(Duration),
    At(SystemTime),
}

impl ActivateAt {
    /// The moment, for a mock starting at `now`.
    pub fn moment(self, now: SystemTime) -> SystemTime {
        match self {
            Self::After(delay) => now + delay,
            Self::At(at) => at,
        }
    }
}

impl std::str::FromStr for ActivateAt {
    type Err = String;

    /// `+DURATION` (`+4s`, `+1h`) or an RFC 3339 time.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.strip_prefix('+') {
            Some(duration) => humantime::parse_duration(duration)
                .map(Self::After)
                .map_err(|e| format!("{e}; expected +DURATION such as +4s or +1h")),
            None => humantime::parse_rfc3339_weak(text)
                .map(Self::At)
                .map_err(|e| format!("{e}; expected RFC 3339 such as 2026-11-28T23:00:00Z, or +DURATION")),
        }
    }
}

/// The mock's settings. `MockConfig::new` gives IBKR's defaults.
#[derive(Clone)]
pub struct MockConfig {
    pub credentials: ServerCredentials,
    /// Until then the LST endpoint answers `invalid consumer` (a key not yet active).
    pub activate_at: Option<SystemTime>,
    pub faults: Vec<Fault>,
    /// A brokerage session without requests for this long is dropped (IBKR: about 5-6 minutes).
    pub idle_timeout: Duration,
    /// Requests per second before 429: 10 by default, the cpapi-v1 reference's figure (the newer
    /// guide allows 50 for OAuth sessions). `u32::MAX` turns pacing off altogether: no
    /// per-endpoint limits and no penalty box either.
    pub rate_limit: u32,
    /// How long a consumer that broke the rate limit is refused: 10 minutes by default, the newer
    /// guide's figure (the cpapi-v1 reference says 15).
    pub penalty_box: Duration,
    /// How long after a conid's first snapshot its prices arrive; in between, rows carry only
    /// the markers (`_updated`, `server_id`, 6119, 6509).
    pub warm_up: Duration,
    /// How far `oauth_timestamp` may be from the mock's clock.
    pub timestamp_window: Duration,
    /// How long the `slow` fault waits before answering.
    pub slow_delay: Duration,
    /// Time between the websocket's `system` heartbeats (recorded: 10 s).
    pub heartbeat: Duration,
    /// Time between the websocket's market-data and P&L frames while subscribed (the mock's
    /// choice: IBKR sends as prices change, every few hundred milliseconds for a liquid stock).
    pub stream_tick: Duration,
    /// How long a websocket market-data subscription lasts before its data stops: 15 minutes,
    /// IBKR's reference of 2026-07 (its changelog of 2026-04-14 said 10; the newer source wins).
    pub smd_lifetime: Duration,
    /// Serve `/iserver` data from cassettes instead of the built-in market (`mock --replay DIR`).
    pub replay: Option<Arc<crate::record::replay::ReplaySource>>,
    /// Where the mock's time comes from (tests pass a manual clock instead of sleeping).
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// Check HMAC signatures on ordinary requests. Only the harness benchmark turns this off, to
    /// measure what verification costs.
    pub verify_signatures: bool,
    pub log: LogSink,
}

impl MockConfig {
    pub fn new(credentials: ServerCredentials) -> Self {
        Self {
            credentials,
            activate_at: None,
            faults: Vec::new(),
            idle_timeout: Duration::from_secs(360),
            rate_limit: 10,
            penalty_box: Duration::from_secs(600),
            warm_up: Duration::from_millis(500),
            timestamp_window: Duration::from_secs(300),
            slow_delay: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            stream_tick: Duration::from_secs(1),
            smd_lifetime: Duration::from_secs(15 * 60),
            replay: None,
            verify_signatures: true,
            clock: crate::clock::system(),
            log: stderr_log(),
        }
    }
}

struct State {
    config: MockConfig,
    faults: faults::FaultPlan,
    sessions: Mutex<HashMap<String, Session>>,
    /// Locked after `sessions` whenever both are held.
    account: Mutex<state::Account>,
    nonces: Mutex<HashMap<String, SystemTime>>,
    /// IBKR's `id: N` in error bodies looks like a per-request counter.
    error_id: AtomicU64,
    requests: AtomicU64,
    local_addr: SocketAddr,
    /// Every K and LST handed out, for leak tests (see [`MockServer::issued_secrets`]).
    issued: Mutex<Vec<(crate::oauth::SharedSecret, LiveSessionToken)>>,
}

impl State {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn log(&self, line: &str) {
        (self.config.log)(line);
    }

    fn next_error_id(&self) -> u64 {
        self.error_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Records a nonce; false if it was seen within the timestamp window.
    fn fresh_nonce(&self, nonce: &str, now: SystemTime) -> bool {
        let mut nonces = self.nonces.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.config.timestamp_window * 2;
        if nonces.len() > 10_000 {
            nonces.retain(|_, seen| now.duration_since(*seen).map_or(true, |age| age < window));
        }
        nonces.insert(nonce.to_owned(), now).is_none()
    }
}

/// A running mock. Dropping it without [`MockServer::stop`] also stops the server.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Binds `listen` (port 0 for a free port) and serves until stopped.
    pub async fn start(config: MockConfig, listen: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            faults: faults::FaultPlan::new(&config.faults),
            config,
            sessions: Mutex::new(HashMap::new()),
            account: Mutex::new(state::Account::default()),
            nonces: Mutex::new(HashMap::new()),
            error_id: AtomicU64::new(764),
            requests: AtomicU64::new(0),
            local_addr: addr,
            issued: Mutex::new(Vec::new()),
        });
        let app = routes::router(state.clone());
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = signal.await;
            });
            if let Err(e) = serve.await {
                eprintln!("mock: server stopped: {e}");
            }
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// How many requests reached the mock (including refused ones).
    pub fn requests_received(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Every shared secret K and live session token the mock handed out, so a leak test can
    /// search all output for them. Nothing else should ever read these.
    pub fn issued_secrets(&self) -> Vec<(crate::oauth::SharedSecret, LiveSessionToken)> {
        self.state
            .issued
            .lock()
            .map(|issued| issued.clone())
            .unwrap_or_default()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use, like `https://api.ibkr.com/v1/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1/api", self.addr)
    }

    /// Stops accepting requests and waits for the server task (at most a few seconds).
    pub async fn stop(mut self) {
        self.shutdown_now();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown_now();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
