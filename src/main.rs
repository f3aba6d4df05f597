//! The `ibkr-probe` command line: argument parsing and output only; the library does the work.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ibkr_probe::exit;
use ibkr_probe::vectors::{self, Secrets};

/// A conformance and diagnostic harness for Interactive Brokers' Web API with OAuth 1.0a.
#[derive(Debug, Parser)]
#[command(name = "ibkr-probe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Known-answer vectors for the OAuth flow.
    Vectors {
        #[command(subcommand)]
        command: VectorsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum VectorsCommand {
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                exit::BAD_COMMAND_LINE
            } else {
                exit::SUCCESS
            };
            // Printing help or a usage error; nothing better to do if the terminal is gone.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(match cli.command {
        Command::Vectors {
            command:
                VectorsCommand::Verify {
                    paths,
                    format,
                    show_secrets,
                },
        } => vectors_verify(&paths, format, show_secrets),
    })
}

fn vectors_verify(paths: &[PathBuf], format: Format, show_secrets: bool) -> u8 {
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
        return exit::RUNTIME_FAILURE;
    }
    vectors::report::exit_code(&results)
}
