//! The `ibkr-probe` command line. Parsing and every command live in `cli`; the library does the work.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use ibkr_probe::exit;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
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
    ExitCode::from(cli::dispatch(cli.command))
}
