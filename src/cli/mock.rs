//! `ibkr-probe mock`: the IBKR stand-in as a server.

use std::path::PathBuf;

use ibkr_probe::exit;

use super::*;

#[derive(Debug, clap::Args)]
pub(crate) struct MockArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub(crate) listen: std::net::SocketAddr,
    /// A folder written by `keys generate` (its mock-server.json is read).
    #[arg(long)]
    pub(crate) credentials: PathBuf,
    /// Until this time the LST endpoint answers `invalid consumer`: RFC 3339, or +DURATION (+4s, +1h).
    #[arg(long)]
    pub(crate) activate_at: Option<ibkr_probe::mock::ActivateAt>,
    /// Play a failure: NAME or NAME:RATE (rate-limit, invalid-signature, server-error, malformed-json,
    /// drop-connection, slow, gone, sso-dh, competing, restart, ws-drop, ws-close, ws-silence).
    /// Repeatable.
    #[arg(long = "fault")]
    pub(crate) faults: Vec<ibkr_probe::mock::Fault>,
    /// Drop an idle brokerage session after this long (IBKR: about 6 minutes).
    #[arg(long, default_value = "6m", value_parser = humantime::parse_duration)]
    pub(crate) idle_timeout: std::time::Duration,
    /// Requests per second per session before 429 and the penalty box.
    #[arg(long, default_value_t = 10)]
    pub(crate) rate_limit: u32,
    /// No pacing at all: no rate limit, no per-endpoint limits, no penalty box (for clients
    /// that do not pace themselves, in tests).
    #[arg(long, conflicts_with_all = ["rate_limit", "penalty_box"])]
    pub(crate) no_pacing: bool,
    /// How long a session that went over --rate-limit gets 429 (IBKR: 10 minutes).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub(crate) penalty_box: std::time::Duration,
    /// How long after a conid's first snapshot its prices arrive (rows in between carry no prices).
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub(crate) warm_up: std::time::Duration,
    /// How long the `slow` fault waits before answering.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub(crate) slow_delay: std::time::Duration,
    /// Answer /iserver data requests from the cassettes in DIR (recorded with `run --record`).
    #[arg(long)]
    pub(crate) replay: Option<PathBuf>,
}

pub(crate) fn mock(args: MockArgs) -> Outcome {
    let file = args.credentials.join(ibkr_probe::config::generate::MOCK_SERVER_FILE);
    let credentials = match ibkr_probe::mock::ServerCredentials::from_file(&file) {
        Ok(credentials) => credentials,
        Err(e) => {
            return Err(CliError::new(
                exit::INVALID_INPUT,
                format!("{e}\nhint: create credentials with `ibkr-probe keys generate DIR` and pass --credentials DIR"),
            ));
        }
    };
    let mut config = ibkr_probe::mock::MockConfig::new(credentials);
    config.activate_at = args.activate_at.map(|at| at.moment(config.clock.now()));
    config.faults = args.faults;
    config.idle_timeout = args.idle_timeout;
    config.rate_limit = if args.no_pacing { u32::MAX } else { args.rate_limit };
    config.penalty_box = args.penalty_box;
    config.warm_up = args.warm_up;
    config.slow_delay = args.slow_delay;
    if let Some(dir) = &args.replay {
        match ibkr_probe::record::replay::ReplaySource::load(dir) {
            Ok(source) => config.replay = Some(std::sync::Arc::new(source)),
            Err(e) => {
                return Err(CliError::new(exit::INVALID_INPUT, e.to_string()));
            }
        }
    }
    let runtime = runtime()?;
    runtime.block_on(async {
        let server = match ibkr_probe::mock::MockServer::start(config, args.listen).await {
            Ok(server) => server,
            Err(e) => {
                return Err(CliError::new(
                    exit::RUNTIME_FAILURE,
                    format!("cannot listen on {}: {e}", args.listen),
                ));
            }
        };
        eprintln!(
            "mock: serving IBKR's Web API at {} (Ctrl-C or SIGTERM stops)",
            server.base_url()
        );
        shutdown_signal().await;
        eprintln!("mock: stopping");
        server.stop().await;
        Ok(exit::SUCCESS)
    })
}
