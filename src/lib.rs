//! ibkr-probe: a conformance and diagnostic harness for Interactive Brokers' Web API with
//! OAuth 1.0a. The binary is a thin front end; everything it does lives here.

pub mod calendar;
pub mod client;
pub mod clock;
pub mod config;
pub mod diagnose;
pub mod exit;
pub mod fields;
pub mod files;
pub mod mock;
pub mod record;
pub mod report;
pub mod scenario;
pub mod vectors;

/// The OAuth core, its own crate (`crates/ibkr-oauth`) so any Rust IBKR client can depend on it alone.
pub use ibkr_oauth as oauth;
