//! The `ibkr-probe` command line: argument parsing and output only; the library does the work.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ibkr_probe::config::generate::{DhChoice, GeneratedCredentials};
use ibkr_probe::exit;
use ibkr_probe::vectors::{self, Secrets};

/// A conformance and diagnostic harness for Interactive Brokers' Web API with OAuth 1.0a.
#[derive(Debug, Parser)]
#[command(name = "ibkr-probe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `-v`, on the commands that make requests.
#[derive(Debug, Clone, Copy, clap::Args)]
struct Verbosity {
    /// Trace requests on stderr: -v one line per request and answer, -vv also the Authorization
    /// header (signature redacted) and the answer's body (secret-derived values redacted).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
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

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct FieldsArgs {
    #[command(subcommand)]
    command: Option<FieldsCommand>,
    /// Field ids (85) or names (Ask Size, bid); none lists every field.
    queries: Vec<String>,
    /// Fields whose name or description contains TEXT.
    #[arg(long)]
    search: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum FieldsCommand {
    /// Compare your mapping (YAML or JSON, id -> what you think it is) with IBKR's table.
    CheckMapping {
        /// A YAML or JSON map of field id to what you read it as, e.g. `85: Ask Size`.
        file: PathBuf,
    },
}

/// Where credentials come from, for commands that use them.
#[derive(Debug, clap::Args)]
struct CredentialSource {
    /// A .env file with IB_* or IBIND_OAUTH1A_* variables (default: ./.env when present). The
    /// environment overrides it, and flags override both.
    #[arg(long)]
    env_file: Option<PathBuf>,
    #[command(flatten)]
    flags: CredentialArgs,
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

#[derive(Debug, clap::Args)]
struct DiagnoseArgs {
    #[command(flatten)]
    verbosity: Verbosity,
    #[command(subcommand)]
    command: Option<DiagnoseCommand>,
    #[command(flatten)]
    source: CredentialSource,
    /// After the offline checks, make one LST attempt and show every step (redacted).
    #[arg(long)]
    online: bool,
    /// Base URL for --online (default https://api.ibkr.com/v1/api).
    #[arg(long, value_parser = parse_base_url)]
    base_url: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum DiagnoseCommand {
    /// Name the known mistake behind your own client's values: put them in a vector file as the
    /// expectations (see vectors/README.md) and every diverging step is matched against classic bugs.
    Compare {
        /// A format-1 vector file holding your client's values as the expectations.
        file: PathBuf,
        /// Your client's Authorization header, to check how it carries the signature.
        #[arg(long, conflicts_with = "template")]
        header: Option<String>,
        /// Write FILE to fill in instead: your credential set's inputs (IB_* variables, .env or
        /// flags) with every expectation IBKR's; replace the values your client computes.
        #[arg(long)]
        template: bool,
    },
}

#[derive(Debug, clap::Args)]
struct ActivationArgs {
    #[command(flatten)]
    verbosity: Verbosity,
    #[command(flatten)]
    source: CredentialSource,
    /// Base URL (default https://api.ibkr.com/v1/api), e.g. a local `ibkr-probe mock`.
    #[arg(long, value_parser = parse_base_url)]
    base_url: Option<String>,
    /// Repeat until the key is active or --timeout passes.
    #[arg(long)]
    watch: bool,
    /// Time between attempts (at least 30s against api.ibkr.com).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    interval: std::time::Duration,
    /// Give up after this long.
    #[arg(long, default_value = "72h", value_parser = humantime::parse_duration)]
    timeout: std::time::Duration,
    /// One JSON line per attempt on stdout.
    #[arg(long)]
    json: bool,
    /// A shell command to run once the key is active.
    #[arg(long)]
    on_active: Option<String>,
}

/// Where `run` goes: `mock`, `live`, or `replay:DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TargetArg {
    /// The embedded mock on a free loopback port with fresh credentials: nothing to set up.
    Mock,
    /// IBKR at --base-url (default https://api.ibkr.com/v1/api) with your credentials.
    Live,
    /// The embedded mock answering from cassettes recorded with --record.
    Replay(PathBuf),
}

fn parse_target(text: &str) -> Result<TargetArg, String> {
    match text {
        "mock" => Ok(TargetArg::Mock),
        "live" => Ok(TargetArg::Live),
        _ => match text.strip_prefix("replay:") {
            Some(dir) if !dir.is_empty() => Ok(TargetArg::Replay(PathBuf::from(dir))),
            _ => Err(format!("{text:?}: expected mock, live or replay:DIR")),
        },
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    verbosity: Verbosity,
    /// Print only failed steps and the summary.
    #[arg(short, long)]
    quiet: bool,
    /// Colour the report: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t)]
    color: ibkr_probe::report::terminal::ColorChoice,
    /// Scenario files or folders (default: scenarios/).
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// mock (default), live, or replay:DIR (cassettes written by --record).
    #[arg(long, default_value = "mock", value_parser = parse_target)]
    target: TargetArg,
    /// Record every answer into DIR, one redacted cassette per scenario (for replay and diff).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Replace the recording already in the --record folder.
    #[arg(long, requires = "record")]
    overwrite: bool,
    /// Base URL for live runs (implies --target live), e.g. a separately started `ibkr-probe mock`.
    #[arg(long, value_parser = parse_base_url)]
    base_url: Option<String>,
    /// Write a report: json=FILE or junit=FILE (FILE `-`: standard output). Repeatable.
    #[arg(long = "report")]
    reports: Vec<ibkr_probe::report::ReportSpec>,
    /// Only scenarios with this tag. Repeatable.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Set a variable: NAME=VALUE. Repeatable; overrides the scenario's own.
    #[arg(long = "var", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Allow steps that place, modify or cancel orders in live mode.
    #[arg(long)]
    allow_trading: bool,
    #[command(flatten)]
    source: CredentialSource,
    /// Requests per second across the whole run: default 10 (IBKR's limit) against live IBKR and
    /// a separate mock; the embedded mock runs unpaced unless this is given.
    #[arg(long)]
    rate: Option<f64>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: std::time::Duration,
}

/// Credential flags; each overrides its environment variable.
#[derive(Debug, clap::Args)]
struct CredentialArgs {
    /// Consumer key (IB_CONSUMER_KEY).
    #[arg(long)]
    consumer_key: Option<String>,
    /// Access token (IB_ACCESS_TOKEN).
    #[arg(long)]
    access_token: Option<String>,
    /// Private signature key file (IB_SIGNATURE_KEY_PATH).
    #[arg(long)]
    signature_key: Option<PathBuf>,
    /// Private encryption key file (IB_ENCRYPTION_KEY_PATH).
    #[arg(long)]
    encryption_key: Option<PathBuf>,
    /// PKCS#3 dhparam.pem (IB_DH_PARAM_PATH).
    #[arg(long)]
    dh_param: Option<PathBuf>,
    /// Realm (IB_REALM): limited_poa for self-registered consumers.
    #[arg(long)]
    realm: Option<String>,
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
fn parse_base_url(text: &str) -> Result<String, String> {
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

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("{text:?}: the variable name is empty"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// The realm of a self-registered consumer; `test_realm` belongs to the documentation example.
fn parse_realm(text: &str) -> Result<String, String> {
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
fn parse_consumer_key(text: &str) -> Result<String, String> {
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

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write both RSA key pairs, dhparam.pem, an encrypted access token secret, ibkr.env and the
    /// mock's server file into DIR (files mode 0600).
    Generate {
        /// The folder to write into (created if needed).
        dir: PathBuf,
        /// Consumer key: 9 uppercase letters or digits, like the portal's.
        #[arg(long, default_value = "MOCKCONS1", value_parser = parse_consumer_key)]
        consumer_key: String,
        /// Realm: limited_poa, as for every self-registered consumer (the only one accepted).
        #[arg(long, default_value = ibkr_probe::config::LIMITED_POA, value_parser = parse_realm)]
        realm: String,
        /// Replace existing credential files in DIR.
        #[arg(long)]
        force: bool,
        /// Draw a fresh safe-prime DH group instead of RFC 7919 ffdhe2048 (slow: minutes for 2048 bits).
        #[arg(long)]
        dh_generate: bool,
        /// Prime size for --dh-generate, 1024 to 4096 (IBKR expects 2048).
        #[arg(long, default_value_t = 2048, requires = "dh_generate",
              value_parser = clap::value_parser!(u64).range(1024..=4096))]
        dh_bits: u64,
    },
}

#[derive(Debug, clap::Args)]
struct MockArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: std::net::SocketAddr,
    /// A folder written by `keys generate` (its mock-server.json is read).
    #[arg(long)]
    credentials: PathBuf,
    /// Until this time the LST endpoint answers `invalid consumer`: RFC 3339, or +DURATION (+4s, +1h).
    #[arg(long, value_parser = ibkr_probe::scenario::load::parse_activate_at)]
    activate_at: Option<std::time::SystemTime>,
    /// Play a failure: NAME or NAME:RATE (rate-limit, invalid-signature, server-error, malformed-json,
    /// drop-connection, slow, gone, sso-dh, competing, restart). Repeatable.
    #[arg(long = "fault")]
    faults: Vec<ibkr_probe::mock::Fault>,
    /// Drop an idle brokerage session after this long (IBKR: about 6 minutes).
    #[arg(long, default_value = "6m", value_parser = humantime::parse_duration)]
    idle_timeout: std::time::Duration,
    /// Requests per second per session before 429 and the penalty box.
    #[arg(long, default_value_t = 10)]
    rate_limit: u32,
    /// How long a session that went over --rate-limit gets 429 (IBKR: 10 minutes).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    penalty_box: std::time::Duration,
    /// How long after a conid's first snapshot its prices arrive (rows in between carry no prices).
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    warm_up: std::time::Duration,
    /// How long the `slow` fault waits before answering.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    slow_delay: std::time::Duration,
    /// Answer /iserver data requests from the cassettes in DIR (recorded with `run --record`).
    #[arg(long)]
    replay: Option<PathBuf>,
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
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => {
                    let _ = std::io::stdout().write_all(&out);
                    exit::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot render the manual page: {e}");
                    exit::RUNTIME_FAILURE
                }
            }
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "ibkr-probe", &mut std::io::stdout());
            exit::SUCCESS
        }
    })
}

fn run(args: RunArgs) -> u8 {
    let verbose = args.verbosity.verbose;
    use ibkr_probe::scenario::{load, run as runner};
    let vars: std::collections::HashMap<String, String> = args.vars.iter().cloned().collect();
    let names = runner::var_names(&vars);
    // The default folder absent (an installed binary run elsewhere): use the embedded copies.
    let embedded = args.paths == [PathBuf::from("scenarios")] && !std::path::Path::new("scenarios").exists();
    let loaded: Vec<Result<load::LoadedScenario, load::ScenarioError>> = if embedded {
        ibkr_probe::scenario::bundled::BUNDLED
            .iter()
            .map(|(name, text)| {
                let path = PathBuf::from("scenarios").join(name);
                load::parse_with(&path, text, &names, &ibkr_probe::scenario::bundled::read)
            })
            .collect()
    } else {
        match load::collect(&args.paths) {
            Ok(files) => files.iter().map(|file| load::load(file, &names)).collect(),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        }
    };
    let mut scenarios = Vec::with_capacity(loaded.len());
    let mut invalid = 0;
    for result in loaded {
        match result {
            Ok(loaded) => scenarios.push(loaded),
            Err(e) => {
                eprintln!("error: {e}");
                invalid += 1;
            }
        }
    }
    if invalid > 0 {
        eprintln!("{invalid} scenario file(s) invalid; nothing was run and no report was written");
        return exit::INVALID_INPUT;
    }
    if let Err(e) = runner::check_selection(&scenarios, &args.tags, &vars) {
        eprintln!("error: {e}");
        return match e {
            runner::SelectionError::CommandLine(_) => exit::BAD_COMMAND_LINE,
            runner::SelectionError::Input(_) => exit::INVALID_INPUT,
        };
    }
    if let Err(e) = args.source.check_env_file() {
        eprintln!("error: {e}");
        return exit::INVALID_INPUT;
    }
    if let Err(e) = ibkr_probe::report::check_destinations(&args.reports) {
        eprintln!("error: {e}");
        return exit::BAD_COMMAND_LINE;
    }
    if let Some(dir) = &args.record
        && !args.overwrite
        && ibkr_probe::record::holds_cassettes(dir)
    {
        eprintln!(
            "error: --record {}: that folder already holds a recording; pass --overwrite to replace it, or record into a new folder",
            dir.display()
        );
        return exit::INVALID_INPUT;
    }
    let live = args.target == TargetArg::Live || args.base_url.is_some();
    let target = if live {
        if !args.allow_trading
            && let Some(refusal) = runner::trading_refusal(&scenarios)
        {
            eprintln!("error: {refusal}");
            return exit::INVALID_INPUT;
        }
        let source = match args.source.load() {
            Ok(source) => source,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        };
        match source.credentials() {
            Ok(credentials) => {
                for warning in &credentials.warnings {
                    eprintln!("{warning}");
                }
                ibkr_probe::scenario::run::Target::Live {
                    base_url: args
                        .base_url
                        .clone()
                        .unwrap_or_else(|| ibkr_probe::client::IBKR_BASE_URL.to_owned()),
                    credentials: Box::new(credentials),
                }
            }
            Err(e) => {
                eprintln!("error: live credentials: {e}");
                return exit::INVALID_INPUT;
            }
        }
    } else if let TargetArg::Replay(dir) = &args.target {
        match ibkr_probe::record::replay::ReplaySource::load(dir) {
            Ok(source) => ibkr_probe::scenario::run::Target::Replay {
                dir: dir.clone(),
                source: std::sync::Arc::new(source),
            },
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        }
    } else {
        ibkr_probe::scenario::run::Target::Mock
    };
    // The embedded mock and replays answer at machine speed; IBKR gets its pacing.
    let embedded = matches!(
        target,
        ibkr_probe::scenario::run::Target::Mock | ibkr_probe::scenario::run::Target::Replay { .. }
    );
    let rate = args.rate.unwrap_or(if embedded { 0.0 } else { 10.0 });
    let client = ibkr_probe::client::ClientOptions {
        rate,
        timeout: args.timeout,
        verbosity: verbose,
        ..ibkr_probe::client::ClientOptions::default()
    };
    // Steps are printed as they end; with a report on standard output, on standard error.
    let printer = {
        use std::io::IsTerminal;
        let to_stderr = args.reports.iter().any(ibkr_probe::report::ReportSpec::is_stdout);
        let (out, terminal): (Box<dyn Write + Send>, bool) = if to_stderr {
            (Box::new(std::io::stderr()), std::io::stderr().is_terminal())
        } else {
            (Box::new(std::io::stdout()), std::io::stdout().is_terminal())
        };
        std::sync::Arc::new(ibkr_probe::report::terminal::LivePrinter::new(
            out,
            args.color.enabled(terminal),
            terminal,
            args.quiet,
        ))
    };
    let observer = printer.clone();
    let options = runner::RunOptions {
        progress: Some(std::sync::Arc::new(move |event| observer.event(event))),
        record: args.record.clone(),
        allow_trading: args.allow_trading,
        target,
        tags: args.tags.clone(),
        vars,
        client,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::RUNTIME_FAILURE;
        }
    };
    // SIGTERM (a CI timeout, `docker stop`) ends the run like Ctrl-C: partial report, exit 3.
    let report = runtime.block_on(runner::run(&scenarios, options, shutdown_signal()));
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::RUNTIME_FAILURE;
        }
    };
    printer.finish(&report);
    let mut code = report.exit_code();
    for spec in &args.reports {
        let contents = ibkr_probe::report::render(&report, spec.format);
        match spec.write(&contents) {
            Ok(()) if !spec.is_stdout() => eprintln!("wrote {}", spec.path.display()),
            Ok(()) => {}
            Err(e) => {
                eprintln!("error: {e}");
                code = exit::RUNTIME_FAILURE;
            }
        }
    }
    code
}

fn keys_generate(dir: &std::path::Path, consumer_key: &str, realm: &str, force: bool, dh: DhChoice) -> u8 {
    if let DhChoice::Generate { bits } = dh {
        eprintln!("drawing a fresh {bits}-bit safe prime; this can take minutes...");
    }
    let generated = match GeneratedCredentials::generate(consumer_key, realm, dh, &mut ibkr_probe::oauth::SystemRandom)
    {
        Ok(generated) => generated,
        Err(e) => {
            eprintln!("error: key generation failed: {e}");
            return exit::RUNTIME_FAILURE;
        }
    };
    match generated.write(dir, force) {
        Ok(paths) => {
            for path in &paths {
                println!("wrote {}", path.display());
            }
            if let Some(env) = paths
                .iter()
                .find(|p| p.ends_with(ibkr_probe::config::generate::ENV_FILE))
            {
                println!("load with: set -a; . {}; set +a", env.display());
            }
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::INVALID_INPUT
        }
    }
}

fn mock(args: MockArgs) -> u8 {
    let file = args.credentials.join(ibkr_probe::config::generate::MOCK_SERVER_FILE);
    let credentials = match ibkr_probe::mock::ServerCredentials::from_file(&file) {
        Ok(credentials) => credentials,
        Err(e) => {
            eprintln!(
                "error: {e}\nhint: create credentials with `ibkr-probe keys generate DIR` and pass --credentials DIR"
            );
            return exit::INVALID_INPUT;
        }
    };
    let mut config = ibkr_probe::mock::MockConfig::new(credentials);
    config.activate_at = args.activate_at;
    config.faults = args.faults;
    config.idle_timeout = args.idle_timeout;
    config.rate_limit = args.rate_limit;
    config.penalty_box = args.penalty_box;
    config.warm_up = args.warm_up;
    config.slow_delay = args.slow_delay;
    if let Some(dir) = &args.replay {
        match ibkr_probe::record::replay::ReplaySource::load(dir) {
            Ok(source) => config.replay = Some(std::sync::Arc::new(source)),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::RUNTIME_FAILURE;
        }
    };
    runtime.block_on(async {
        let server = match ibkr_probe::mock::MockServer::start(config, args.listen).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", args.listen);
                return exit::RUNTIME_FAILURE;
            }
        };
        eprintln!(
            "mock: serving IBKR's Web API at {} (Ctrl-C or SIGTERM stops)",
            server.base_url()
        );
        shutdown_signal().await;
        eprintln!("mock: stopping");
        server.stop().await;
        exit::SUCCESS
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

fn write_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn explain(text: &str, json: bool) -> u8 {
    use ibkr_probe::diagnose::explain;
    let explanation = explain::explain(text);
    if json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&explanation).unwrap_or_default()
        ));
    } else {
        write_stdout(&explain::render(&explanation));
    }
    // A bare id is answered too (ids are not codes); only text outside the catalogue exits 4.
    if explanation.entry.is_some() || explanation.message.is_none() {
        exit::SUCCESS
    } else {
        exit::CHECK_FAILED
    }
}

fn explain_log(file: &std::path::Path, json: bool) -> u8 {
    use ibkr_probe::diagnose::explain;
    let (name, read) = if file == std::path::Path::new("-") {
        let mut text = String::new();
        (
            "standard input".to_owned(),
            std::io::stdin().read_to_string(&mut text).map(|_| text),
        )
    } else {
        (
            file.display().to_string(),
            std::fs::read(file).map(|b| String::from_utf8_lossy(&b).into_owned()),
        )
    };
    let text = match read {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: --file {name}: cannot read ({e}); check the path");
            return exit::INVALID_INPUT;
        }
    };
    let findings = explain::scan_log(&text);
    if json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&findings).unwrap_or_default()
        ));
    } else {
        write_stdout(&explain::render_log(&name, &findings));
    }
    // Errors outside the catalogue make the answer incomplete, as for a single text.
    if findings.iter().all(|f| f.explanation.entry.is_some()) {
        exit::SUCCESS
    } else {
        exit::CHECK_FAILED
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// A client for one-off commands (diagnose --online, activation).
fn single_client(
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

/// `diagnose compare --template FILE`: a vector file of the user's credential set to fill in.
fn compare_template(file: &std::path::Path, source: &CredentialSource) -> u8 {
    use ibkr_probe::diagnose::compare;
    if file.exists() {
        eprintln!(
            "error: {} already exists; name a new file (it would be replaced by a template)",
            file.display()
        );
        // As for keys generate and run --record: output that would replace a file is refused with 2.
        return exit::INVALID_INPUT;
    }
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !folder.is_dir() {
        eprintln!(
            "error: {}: the folder {} does not exist; create it first",
            file.display(),
            folder.display()
        );
        return exit::BAD_COMMAND_LINE;
    }
    let env = match source.load() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let credentials = match env.credentials() {
        Ok(credentials) => credentials,
        Err(e) => {
            eprintln!(
                "error: the template is made from your credential set: {e}\n(no credentials yet? `ibkr-probe keys generate DIR` makes a set to try it with)"
            );
            return exit::INVALID_INPUT;
        }
    };
    let read = |variable: &str| {
        let path = env.value(variable).unwrap_or_default();
        std::fs::read_to_string(path).map_err(|e| format!("{path} ({variable}): {e}"))
    };
    let pems = read("IB_SIGNATURE_KEY_PATH").and_then(|s| read("IB_ENCRYPTION_KEY_PATH").map(|e| (s, e)));
    let (signature_key_pem, encryption_key_pem) = match pems {
        Ok(pems) => pems,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let inputs = compare::TemplateInputs {
        consumer_key: &credentials.consumer_key,
        realm: &credentials.realm,
        access_token: &credentials.access_token,
        access_token_secret: credentials.access_token_secret.expose(),
        signature_key_pem: &signature_key_pem,
        encryption_key_pem: &encryption_key_pem,
        dh: &credentials.dh_params,
    };
    let text = match compare::template(
        &inputs,
        &mut ibkr_probe::oauth::SystemRandom,
        std::time::SystemTime::now(),
    ) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "error: cannot make the template from this credential set: {e}; `ibkr-probe diagnose` says what is wrong with it"
            );
            return exit::INVALID_INPUT;
        }
    };
    if let Err(e) = ibkr_probe::config::write_private(file, text.as_bytes()) {
        eprintln!("error: {}: cannot write: {e}", file.display());
        return exit::RUNTIME_FAILURE;
    }
    eprintln!(
        "wrote {}: replace each expect_* value your client computes with its own (same nonce, timestamp and DH values), then run `ibkr-probe diagnose compare {}`",
        file.display(),
        file.display()
    );
    exit::SUCCESS
}

fn diagnose_compare(file: &std::path::Path, header: Option<&str>, json: bool) -> u8 {
    use ibkr_probe::diagnose::compare;
    if let Some(header) = header
        && let Err(e) = ibkr_probe::oauth::header::parse_authorization_header(header)
    {
        eprintln!(
            "error: --header: {e}; pass the whole value your client sends, e.g. 'OAuth realm=\"limited_poa\", oauth_consumer_key=\"…\", …'"
        );
        return exit::BAD_COMMAND_LINE;
    }
    let loaded = match ibkr_probe::vectors::load(file) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let findings = compare::compare(&loaded);
    let header_finding = header.and_then(compare::check_header);
    if json {
        let doc = serde_json::json!({"findings": findings, "header": header_finding});
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
    } else {
        let mut text = String::new();
        if findings.is_empty() {
            text.push_str("every step matches: your values are what IBKR expects\n");
        }
        for finding in &findings {
            match finding.mistake {
                Some(mistake) => text.push_str(&format!("{}: {mistake}\n", finding.step)),
                None => text.push_str(&format!(
                    "{}: differs, and no known mistake reproduces it (`ibkr-probe vectors verify {}` shows the first differing position)\n",
                    finding.step,
                    file.display()
                )),
            }
        }
        if let Some(mistake) = header_finding {
            text.push_str(&format!("header: {mistake}\n"));
        }
        write_stdout(&text);
    }
    if findings.is_empty() && header_finding.is_none() {
        exit::SUCCESS
    } else {
        exit::CHECK_FAILED
    }
}

fn diagnose(args: DiagnoseArgs) -> u8 {
    let verbose = args.verbosity.verbose;
    use ibkr_probe::diagnose::{checks, explain};
    match &args.command {
        Some(DiagnoseCommand::Compare {
            file, template: true, ..
        }) => return compare_template(file, &args.source),
        Some(DiagnoseCommand::Compare { file, header, .. }) => {
            return diagnose_compare(file, header.as_deref(), args.json);
        }
        None => {}
    }
    let source = match args.source.load() {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let results = checks::run(&source);
    let failed = results.iter().any(|c| c.level == checks::Level::Fail);
    let mut online = serde_json::Value::Null;
    let mut online_failed = false;
    if args.online && !failed {
        let Some(runtime) = runtime() else {
            return exit::RUNTIME_FAILURE;
        };
        let client = match single_client(&source, args.base_url.as_deref(), verbose) {
            Ok(client) => client,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        };
        let (status, date, message) = match runtime.block_on(client.live_session_token()) {
            Ok(summary) => (
                "ok".to_owned(),
                summary.server_date,
                "live session token obtained and validated".to_owned(),
            ),
            Err(ibkr_probe::client::ClientError::Ibkr { message, .. }) => {
                online_failed = true;
                let explanation = explain::render(&explain::explain(&message.message));
                let date = message.server_date.clone();
                (
                    format!("HTTP {}", message.status),
                    date,
                    format!("{message}\n{explanation}"),
                )
            }
            Err(e) => {
                online_failed = true;
                ("error".to_owned(), None, e.to_string())
            }
        };
        let skew = date.as_deref().and_then(httpdate_skew);
        online =
            serde_json::json!({"status": status, "message": message, "server_date": date, "clock_skew_seconds": skew});
    }
    if args.json {
        let doc = serde_json::json!({"checks": results, "online": online});
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
    } else {
        let mut text = checks::render(&results);
        if args.online && failed {
            text.push_str("online: skipped until the offline checks pass\n");
        } else if args.online {
            text.push_str("online: decrypt secret -> prepend -> DH challenge -> RSA-SHA256 over prepend + base string -> POST /oauth/live_session_token -> K -> LST -> validate (values redacted)\n");
            let status = online["status"].as_str().unwrap_or("");
            text.push_str(&format!(
                "online: {status}: {}\n",
                online["message"].as_str().unwrap_or("")
            ));
            match online["clock_skew_seconds"].as_i64() {
                Some(skew) if skew.abs() > 30 => text.push_str(&format!(
                    "online: clock skew {skew} s against the server's Date header: sync this machine's clock\n"
                )),
                Some(skew) => text.push_str(&format!(
                    "online: clock skew {skew} s against the server's Date header\n"
                )),
                None => text.push_str("online: the server sent no Date header; clock skew unknown\n"),
            }
        }
        write_stdout(&text);
    }
    if failed || online_failed {
        exit::CHECK_FAILED
    } else {
        exit::SUCCESS
    }
}

/// Seconds this machine's clock is ahead of an HTTP `Date` header (negative when behind).
fn httpdate_skew(date: &str) -> Option<i64> {
    let server = humantime::parse_rfc3339_weak(&httpdate_to_rfc3339(date)?).ok()?;
    Some(match std::time::SystemTime::now().duration_since(server) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    })
}

/// `Tue, 24 Nov 2026 09:01:02 GMT` -> `2026-11-24T09:01:02Z`.
fn httpdate_to_rfc3339(date: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = date.split_whitespace().skip(1);
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? + 1;
    let year: u32 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    Some(format!("{year:04}-{month:02}-{day:02}T{time}Z"))
}

fn activation(args: ActivationArgs) -> u8 {
    let verbose = args.verbosity.verbose;
    use ibkr_probe::diagnose::activation as act;
    let source = match args.source.load() {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let client = match single_client(&source, args.base_url.as_deref(), verbose) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let Some(runtime) = runtime() else {
        return exit::RUNTIME_FAILURE;
    };
    let reset = act::next_weekend_reset(std::time::SystemTime::now());
    let state = if args.watch {
        let interval = act::effective_interval(&client.options().base_url, args.interval);
        if interval != args.interval {
            eprintln!(
                "note: interval raised to {} against IBKR, to stay far from its pacing limits",
                humantime::format_duration(interval)
            );
        }
        let json = args.json;
        let watch = act::watch(&client, interval, args.timeout, |attempt| {
            if json {
                write_stdout(&format!("{}\n", serde_json::to_string(attempt).unwrap_or_default()));
            } else {
                let elapsed = humantime::format_duration(std::time::Duration::from_secs(attempt.elapsed_ms / 1000));
                let hint = match attempt.state {
                    act::State::Inactive { .. } => format!(
                        "; new keys usually start working after IBKR's weekend reset (Friday {reset} evening, US Eastern)"
                    ),
                    _ => String::new(),
                };
                eprintln!(
                    "attempt {} ({elapsed} elapsed): {}{hint}",
                    attempt.attempt,
                    attempt.state.describe()
                );
            }
        });
        // Ctrl-C or SIGTERM ends a watch like any other run that did not finish: exit 3.
        let interrupted = runtime.block_on(async {
            tokio::select! {
                state = watch => Some(state),
                () = shutdown_signal() => None,
            }
        });
        match interrupted {
            Some(state) => state,
            None => {
                eprintln!("interrupted: the watch ended before the key was found active");
                return exit::RUNTIME_FAILURE;
            }
        }
    } else {
        let state = runtime.block_on(act::attempt(&client));
        if args.json {
            let attempt = act::Attempt {
                attempt: 1,
                elapsed_ms: 0,
                state: state.clone(),
            };
            write_stdout(&format!("{}\n", serde_json::to_string(&attempt).unwrap_or_default()));
        }
        state
    };
    if !args.json {
        write_stdout(&format!("{}\n", state.describe()));
    }
    if state == act::State::Active
        && let Some(command) = &args.on_active
    {
        match std::process::Command::new("sh").arg("-c").arg(command).status() {
            Ok(status) => eprintln!("--on-active command finished: {status}"),
            Err(e) => eprintln!("warning: --on-active command could not start: {e}"),
        }
    }
    state.exit_code()
}

fn fields(args: FieldsArgs) -> u8 {
    use ibkr_probe::fields::{catalogue, check};
    if let Some(FieldsCommand::CheckMapping { file }) = &args.command {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: {}: cannot read: {e}", file.display());
                return exit::INVALID_INPUT;
            }
        };
        let entries = match check::read_mapping(&text) {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!(
                    "error: {}: {e}; expected a map of field id -> meaning, e.g. `85: Ask Size`",
                    file.display()
                );
                return exit::INVALID_INPUT;
            }
        };
        let verdicts = check::check_mapping(&entries);
        let wrong = verdicts.iter().filter(|v| !v.correct).count();
        if args.json {
            write_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&verdicts).unwrap_or_default()
            ));
        } else {
            let mut text = String::new();
            for v in &verdicts {
                if v.correct {
                    text.push_str(&format!("ok     {}: {} ({})\n", v.id, v.believed, v.actual));
                } else {
                    let hint = v
                        .right_id
                        .as_ref()
                        .map(|id| format!("; {} is field {id}", v.believed))
                        .unwrap_or_default();
                    text.push_str(&format!(
                        "WRONG  {}: you have {:?}, IBKR's table says {:?}{hint}\n",
                        v.id, v.believed, v.actual
                    ));
                }
            }
            text.push_str(&format!("{} of {} entries wrong\n", wrong, verdicts.len()));
            write_stdout(&text);
        }
        return if wrong == 0 { exit::SUCCESS } else { exit::CHECK_FAILED };
    }
    let mut found: Vec<&'static ibkr_probe::fields::Field> = Vec::new();
    let mut unknown = Vec::new();
    for query in &args.queries {
        let matches = match catalogue::by_id(query) {
            Some(field) => vec![field],
            None => catalogue::by_name(query),
        };
        if matches.is_empty() {
            unknown.push(query.clone());
        }
        found.extend(matches);
    }
    if let Some(text) = &args.search {
        found.extend(catalogue::search(text));
    }
    if args.queries.is_empty() && args.search.is_none() {
        found.extend(catalogue::FIELDS.iter());
    }
    for query in &unknown {
        let nearest: Vec<String> = catalogue::nearest(query)
            .iter()
            .map(|f| format!("{} ({})", f.id, f.name))
            .collect();
        eprintln!(
            "error: no field {query:?} in IBKR's table; nearest: {}",
            nearest.join(", ")
        );
    }
    if args.json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&found).unwrap_or_default()
        ));
    } else {
        let mut text = String::new();
        for field in &found {
            text.push_str(&format!(
                "{:>7}  {}  [{:?}; {}]\n",
                field.id, field.name, field.kind, field.applies_to
            ));
            if !field.description.is_empty() {
                text.push_str(&format!("         {}\n", field.description));
            }
        }
        write_stdout(&text);
    }
    if unknown.is_empty() {
        exit::SUCCESS
    } else {
        exit::INVALID_INPUT
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `docker stop` and CI runners send).
async fn shutdown_signal() {
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

fn diff(
    base: &std::path::Path,
    new: &std::path::Path,
    ignore: &[String],
    reports: &[ibkr_probe::report::ReportSpec],
    json: bool,
) -> u8 {
    use ibkr_probe::record::diff;
    if let Err(e) = ibkr_probe::report::check_destinations(reports) {
        eprintln!("error: {e}");
        return exit::BAD_COMMAND_LINE;
    }
    let report = match diff::compare_dirs(base, new, &diff::ignore_list(ignore)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let as_json = || format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default());
    let text = if json { as_json() } else { report.render() };
    if reports.iter().any(ibkr_probe::report::ReportSpec::is_stdout) {
        eprint!("{text}");
    } else {
        write_stdout(&text);
    }
    let mut code = if report.changes.is_empty() {
        exit::SUCCESS
    } else {
        exit::CHECK_FAILED
    };
    for spec in reports {
        let contents = match spec.format {
            ibkr_probe::report::ReportFormat::Json => as_json(),
            ibkr_probe::report::ReportFormat::Junit => report.junit(),
        };
        if let Err(e) = spec.write(&contents) {
            eprintln!("error: {e}");
            code = exit::RUNTIME_FAILURE;
        }
    }
    code
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
