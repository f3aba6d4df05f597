//! The integration tests, as one binary: each file is a module, `common` their shared fixtures
//! (one credential set per run). One binary links axum, reqwest and wiremock once instead of
//! twenty times. `tests/load.rs` stays apart: it counts its own process's file descriptors,
//! which other tests running beside it would change.

#[path = "../common/mod.rs"]
mod common;

mod client_faults;
mod client_stream;
mod diagnose_cli;
mod failure_corpus;
mod faults_cli;
mod fields_cli;
mod ibind_interop;
mod keys_cli;
mod leak;
mod mock_client;
mod mock_corpus;
mod mock_orders;
mod mock_ws;
mod oauth_known_answers;
mod record_cli;
mod robustness;
mod run_cli;
mod runner;
mod stream_cli;
mod vectors_cli;
