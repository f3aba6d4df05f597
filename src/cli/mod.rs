//! The command line: the clap types, one module per command, and the dispatch from a parsed
//! command to its handler. Handlers return the exit code (`ibkr_probe::exit`).

mod activation;
mod diagnose;
mod diff;
mod explain;
mod fields;
mod keys;
mod mock;
mod output;
mod run;
mod vectors;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use ibkr_probe::config::generate::DhChoice;
use ibkr_probe::exit;

use activation::*;
use diagnose::*;
use diff::*;
use explain::*;
use fields::*;
use keys::*;
use mock::*;
use output::*;
use run::*;
use vectors::*;

/// A conformance and diagnostic harness for Interactive Brokers' Web API with OAuth 1.0a.
#[derive(Debug, Parser)]
#[command(name = "ibkr-probe", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `-v`, on the commands that make requests.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct Verbosity {
    /// Trace requests on stderr: -v one line per request and answer, -vv also the Authorization
    /// header (signature redacted) and the answer's body (secret-derived values redacted).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Known-answer vectors for the OAuth flow.
    Vectors {
        #[command(subcommand)]
        command: VectorsCommand,
    },
    /// Credential sets like the self-service portal's.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Serve the IBKR mock: real signature checks, IBKR's session rules and error bodies.
    Mock(MockArgs),
    /// Run YAML scenarios against the embedded mock (default) or live IBKR.
    Run(RunArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output: `ibkr-probe man > ibkr-probe.1`.
    Man,
    /// Explain an IBKR error as you saw it (a body, an exception, a message, an id), or every
    /// error in a log with --file.
    #[command(
        override_usage = "ibkr-probe explain [--json] <TEXT>...\n       ibkr-probe explain [--json] --file <PATH>"
    )]
    Explain {
        /// The error text, e.g. '{"error":"id: 39687, error: invalid consumer","statusCode":401}',
        /// '401 Client Error: Unauthorized for url: …/oauth/live_session_token', 'LST failed' or 764.
        #[arg(required_unless_present = "file", conflicts_with = "file", num_args = 1..)]
        text: Vec<String>,
        /// A log to scan (`-` for standard input): each distinct IBKR error once, with its count
        /// and first and last line.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a credential set offline (and with --online, one LST attempt), one line per check.
    Diagnose(DiagnoseArgs),
    /// Is the consumer key active yet? One LST attempt, or --watch until it is.
    Activation(ActivationArgs),
    /// IBKR's market-data field table: look ids up by number or name.
    Fields(FieldsArgs),
    /// Compare two recordings (run --record) by shape: fields, types, status codes, error messages.
    Diff {
        /// The baseline recording: a folder written by `run --record`.
        base: PathBuf,
        /// The new recording to compare with it.
        new: PathBuf,
        /// Another key to ignore wherever it occurs (repeatable; added to the default list).
        #[arg(long = "ignore")]
        ignore: Vec<String>,
        /// Write a report: json=FILE or junit=FILE. Repeatable.
        #[arg(long = "report")]
        reports: Vec<ibkr_probe::report::ReportSpec>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where credentials come from, for commands that use them.
#[derive(Debug, clap::Args)]
pub(crate) struct CredentialSource {
    /// A .env file with IB_* or IBIND_OAUTH1A_* variables (default: ./.env when present). The
    /// environment overrides it, and flags override both.
    #[arg(long)]
    pub(crate) env_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) flags: CredentialArgs,
}

impl CredentialSource {
    /// The .env file, under the environment, under the flags: a stray `./.env` never replaces
    /// what CI put in the environment.
    fn load(&self) -> Result<ibkr_probe::config::env::EnvSource, String> {
        use ibkr_probe::config::env::EnvSource;
        self.check_env_file()?;
        let env_file = self
            .env_file
            .clone()
            .or_else(|| Some(PathBuf::from(".env")).filter(|p| p.is_file()));
        let file = match env_file {
            Some(file) => EnvSource::from_env_file(&file).map_err(|e| e.to_string())?,
            None => EnvSource::default(),
        };
        Ok(file
            .layer(EnvSource::from_process())
            .layer(EnvSource::from_vars(self.flags.as_env())))
    }

    /// An `--env-file` that is not there is an error, also where no credentials are read.
    fn check_env_file(&self) -> Result<(), String> {
        match &self.env_file {
            Some(file) if !file.is_file() => Err(format!(
                "--env-file {}: no such file; check the path, or leave the flag out",
                file.display()
            )),
            _ => Ok(()),
        }
    }
}

/// Credential flags; each overrides its environment variable.
#[derive(Debug, clap::Args)]
pub(crate) struct CredentialArgs {
    /// Consumer key (IB_CONSUMER_KEY).
    #[arg(long)]
    pub(crate) consumer_key: Option<String>,
    /// Access token (IB_ACCESS_TOKEN).
    #[arg(long)]
    pub(crate) access_token: Option<String>,
    /// Private signature key file (IB_SIGNATURE_KEY_PATH).
    #[arg(long)]
    pub(crate) signature_key: Option<PathBuf>,
    /// Private encryption key file (IB_ENCRYPTION_KEY_PATH).
    #[arg(long)]
    pub(crate) encryption_key: Option<PathBuf>,
    /// PKCS#3 dhparam.pem (IB_DH_PARAM_PATH).
    #[arg(long)]
    pub(crate) dh_param: Option<PathBuf>,
    /// Realm (IB_REALM): limited_poa for self-registered consumers.
    #[arg(long)]
    pub(crate) realm: Option<String>,
}

impl CredentialArgs {
    /// The flags as environment entries, to lay over the environment.
    fn as_env(&self) -> Vec<(String, String)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        [
            ("IB_CONSUMER_KEY", self.consumer_key.clone()),
            ("IB_ACCESS_TOKEN", self.access_token.clone()),
            ("IB_SIGNATURE_KEY_PATH", path(&self.signature_key)),
            ("IB_ENCRYPTION_KEY_PATH", path(&self.encryption_key)),
            ("IB_DH_PARAM_PATH", path(&self.dh_param)),
            ("IB_REALM", self.realm.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
    }
}

/// An http(s) URL without a query, e.g. http://127.0.0.1:5000/v1/api.
pub(crate) fn parse_base_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("{text:?}: expected an http:// or https:// URL, e.g. https://api.ibkr.com/v1/api"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || text.contains(['?', '#', ' ']) {
        return Err(format!(
            "{text:?}: expected scheme://host[:port]/path without a query, e.g. http://127.0.0.1:5000/v1/api"
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

pub(crate) fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("{text:?}: the variable name is empty"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// The realm of a self-registered consumer; `test_realm` belongs to the documentation example.
pub(crate) fn parse_realm(text: &str) -> Result<String, String> {
    match text {
        ibkr_probe::config::LIMITED_POA => Ok(text.to_owned()),
        "test_realm" => Err(
            "test_realm belongs to IBKR's documentation example (TESTCONS); self-registered consumers use limited_poa"
                .into(),
        ),
        other => Err(format!(
            "{other:?}: self-registered consumers use the realm limited_poa"
        )),
    }
}

/// A consumer key of the portal's form; TESTCONS is IBKR's documentation example, not a set-up.
pub(crate) fn parse_consumer_key(text: &str) -> Result<String, String> {
    if text == "TESTCONS" {
        return Err(
            "TESTCONS is IBKR's documentation example, which public reports show refused by IBKR; \
                    choose a key of your own (9 uppercase letters or digits), as the portal issues"
                .into(),
        );
    }
    if text.len() != 9 || !text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return Err(format!(
            "{text:?}: IBKR's consumer keys are 9 uppercase letters or digits, e.g. MOCKCONS1"
        ));
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

/// Runs a parsed command and returns its exit code.
pub(crate) fn dispatch(command: Command) -> u8 {
    let outcome = match command {
        Command::Vectors {
            command:
                VectorsCommand::Verify {
                    paths,
                    format,
                    show_secrets,
                },
        } => vectors_verify(&paths, format, show_secrets),
        Command::Keys {
            command:
                KeysCommand::Generate {
                    dir,
                    consumer_key,
                    realm,
                    force,
                    dh_generate,
                    dh_bits,
                },
        } => {
            let dh = if dh_generate {
                DhChoice::Generate { bits: dh_bits }
            } else {
                DhChoice::Ffdhe2048
            };
            keys_generate(&dir, &consumer_key, &realm, force, dh)
        }
        Command::Mock(args) => mock(args),
        Command::Run(args) => run(args),
        Command::Explain { text, file: None, json } => explain(&text.join(" "), json),
        Command::Explain {
            file: Some(file), json, ..
        } => explain_log(&file, json),
        Command::Fields(args) => fields(args),
        Command::Diff {
            base,
            new,
            ignore,
            reports,
            json,
        } => diff(&base, &new, &ignore, &reports, json),
        Command::Diagnose(args) => diagnose(args),
        Command::Activation(args) => activation(args),
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| CliError::new(exit::RUNTIME_FAILURE, format!("cannot render the manual page: {e}")))
                .map(|()| {
                    write_stdout_bytes(&out);
                    exit::SUCCESS
                })
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "ibkr-probe", &mut std::io::stdout());
            Ok(exit::SUCCESS)
        }
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {}", error.message);
        error.code
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument and subcommand says what it is for, in `--help` and the man page.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&command, "ibkr-probe", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
