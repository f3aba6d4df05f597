//! What every command shares: the error that knows its exit code, stdout writes, the async
//! runtime, a client for one request, and the shutdown signal.

use std::io::Write;

use ibkr_probe::exit;

/// A command's failure: what to tell the user (a file, field or step and what to do next) and
/// the exit code it means (`ibkr_probe::exit`).
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A handler's result: the exit code of a command that ran, or why it could not.
pub(crate) type Outcome = Result<u8, CliError>;

pub(crate) fn write_stdout(text: &str) {
    write_stdout_bytes(text.as_bytes());
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a message.
pub(crate) fn write_stdout_bytes(bytes: &[u8]) {
    let _ = std::io::stdout().lock().write_all(bytes);
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(exit::RUNTIME_FAILURE, format!("cannot start the async runtime: {e}")))
}

/// A client for one-off commands (diagnose --online, activation).
pub(crate) fn single_client(
    source: &ibkr_probe::config::env::EnvSource,
    base_url: Option<&str>,
    verbose: u8,
) -> Result<ibkr_probe::client::Client, String> {
    let credentials = source.credentials().map_err(|e| format!("credentials: {e}"))?;
    for warning in &credentials.warnings {
        eprintln!("{warning}");
    }
    let options = ibkr_probe::client::ClientOptions {
        base_url: base_url.unwrap_or(ibkr_probe::client::IBKR_BASE_URL).to_owned(),
        max_retries: 1,
        verbosity: verbose,
        ..ibkr_probe::client::ClientOptions::default()
    };
    ibkr_probe::client::Client::new(credentials, options).map_err(|e| e.to_string())
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `docker stop` and CI runners send).
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
