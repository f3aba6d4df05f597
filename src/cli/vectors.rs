//! `ibkr-probe vectors verify`: the known-answer files.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use ibkr_probe::exit;
use ibkr_probe::vectors::{self, Secrets};

use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum VectorsCommand {
    /// Recompute every value of each vector file and report the first divergence per step.
    Verify {
        /// Vector files or folders of *.json files.
        #[arg(default_value = "vectors")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Print secret-derived values in full instead of fingerprints.
        #[arg(long)]
        show_secrets: bool,
    },
}

pub(crate) fn vectors_verify(paths: &[PathBuf], format: Format, show_secrets: bool) -> Outcome {
    let results = vectors::verify_paths(paths);
    let secrets = if show_secrets {
        Secrets::Show
    } else {
        Secrets::Fingerprint
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match format {
        Format::Text => vectors::report::write_text(&mut out, &results, secrets),
        Format::Json => vectors::report::write_json(&mut out, &results, secrets),
    };
    if written.and_then(|()| out.flush()).is_err() {
        return Ok(exit::RUNTIME_FAILURE);
    }
    Ok(vectors::report::exit_code(&results))
}
