//! Output and plumbing every command shares: stdout writes, the async runtime, a client for one request, and the shutdown signal.

use std::io::Write;

pub(crate) fn write_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
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
