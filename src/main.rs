//! The `ibkr-probe` command line: argument parsing and output only; the library does the work.

use std::io::Write;
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
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write both RSA key pairs, dhparam.pem, an encrypted access token secret, ibkr.env and the
    /// mock's server file into DIR (files mode 0600).
    Generate {
        dir: PathBuf,
        /// Consumer key (9 characters, like IBKR's).
        #[arg(long, default_value = "MOCKCONS1")]
        consumer_key: String,
        /// Realm: limited_poa for portal consumers, test_realm for TESTCONS.
        #[arg(long, default_value = ibkr_probe::config::LIMITED_POA)]
        realm: String,
        /// Replace existing credential files in DIR.
        #[arg(long)]
        force: bool,
        /// Draw a fresh safe-prime DH group instead of RFC 7919 ffdhe2048 (slow: minutes for 2048 bits).
        #[arg(long)]
        dh_generate: bool,
        /// Prime size for --dh-generate (IBKR expects 2048).
        #[arg(long, default_value_t = 2048, requires = "dh_generate")]
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
    #[arg(long, value_parser = parse_activate_at)]
    activate_at: Option<std::time::SystemTime>,
    /// Play a failure: NAME or NAME:RATE (rate-limit, invalid-signature, server-error, malformed-json,
    /// drop-connection, slow). Repeatable.
    #[arg(long = "fault")]
    faults: Vec<ibkr_probe::mock::Fault>,
    /// Drop an idle brokerage session after this long (IBKR: about 6 minutes).
    #[arg(long, default_value = "6m", value_parser = humantime::parse_duration)]
    idle_timeout: std::time::Duration,
    /// Requests per second per session before 429.
    #[arg(long, default_value_t = 10)]
    rate_limit: u32,
    /// How long the `slow` fault waits before answering.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    slow_delay: std::time::Duration,
}

fn parse_activate_at(text: &str) -> Result<std::time::SystemTime, String> {
    match text.strip_prefix('+') {
        Some(duration) => humantime::parse_duration(duration)
            .map(|d| std::time::SystemTime::now() + d)
            .map_err(|e| format!("{e}; expected +DURATION such as +4s or +1h")),
        None => humantime::parse_rfc3339_weak(text)
            .map_err(|e| format!("{e}; expected RFC 3339 such as 2026-11-28T23:00:00Z, or +DURATION")),
    }
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
    })
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
    config.slow_delay = args.slow_delay;
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
        eprintln!("mock: serving IBKR's Web API at {} (Ctrl-C stops)", server.base_url());
        let _ = tokio::signal::ctrl_c().await;
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
