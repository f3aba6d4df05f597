//! `ibkr-probe run`: scenarios against the embedded mock, live IBKR or a recording.

use std::io::Write;
use std::path::PathBuf;

use ibkr_probe::exit;

use super::*;

/// Where `run` goes: `mock`, `live`, or `replay:DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetArg {
    /// The embedded mock on a free loopback port with fresh credentials: nothing to set up.
    Mock,
    /// IBKR at --base-url (default https://api.ibkr.com/v1/api) with your credentials.
    Live,
    /// The embedded mock answering from cassettes recorded with --record.
    Replay(PathBuf),
}

pub(crate) fn parse_target(text: &str) -> Result<TargetArg, String> {
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
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,
    /// Print only failed steps and the summary.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Colour the report: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) color: ibkr_probe::report::terminal::ColorChoice,
    /// Scenario files or folders (default: scenarios/).
    #[arg(default_value = "scenarios")]
    pub(crate) paths: Vec<PathBuf>,
    /// mock (default), live, or replay:DIR (cassettes written by --record).
    #[arg(long, default_value = "mock", value_parser = parse_target)]
    pub(crate) target: TargetArg,
    /// Record every answer into DIR, one redacted cassette per scenario (for replay and diff).
    #[arg(long)]
    pub(crate) record: Option<PathBuf>,
    /// Replace the recording already in the --record folder.
    #[arg(long, requires = "record")]
    pub(crate) overwrite: bool,
    /// Base URL for live runs (implies --target live), e.g. a separately started `ibkr-probe mock`.
    #[arg(long, value_parser = parse_base_url)]
    pub(crate) base_url: Option<String>,
    /// Write a report: json=FILE or junit=FILE (FILE `-`: standard output). Repeatable.
    #[arg(long = "report")]
    pub(crate) reports: Vec<ibkr_probe::report::ReportSpec>,
    /// Only scenarios with this tag. Repeatable.
    #[arg(long = "tag")]
    pub(crate) tags: Vec<String>,
    /// Set a variable: NAME=VALUE. Repeatable; overrides the scenario's own.
    #[arg(long = "var", value_parser = parse_var)]
    pub(crate) vars: Vec<(String, String)>,
    /// Allow steps that place, modify or cancel orders in live mode.
    #[arg(long)]
    pub(crate) allow_trading: bool,
    #[command(flatten)]
    pub(crate) source: CredentialSource,
    /// Requests per second across the whole run: default 10 (IBKR's limit) against live IBKR and
    /// a separate mock; the embedded mock runs unpaced unless this is given.
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) timeout: std::time::Duration,
}

pub(crate) fn run(args: RunArgs) -> Outcome {
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
                return Err(CliError::new(exit::INVALID_INPUT, e.to_string()));
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
        return Ok(exit::INVALID_INPUT);
    }
    if let Err(e) = runner::check_selection(&scenarios, &args.tags, &vars) {
        let code = match e {
            runner::SelectionError::CommandLine(_) => exit::BAD_COMMAND_LINE,
            runner::SelectionError::Input(_) => exit::INVALID_INPUT,
        };
        return Err(CliError::new(code, e.to_string()));
    }
    if let Err(e) = args.source.check_env_file() {
        return Err(CliError::new(exit::INVALID_INPUT, e.to_string()));
    }
    if let Err(e) = ibkr_probe::report::check_destinations(&args.reports) {
        return Err(CliError::new(exit::BAD_COMMAND_LINE, e.to_string()));
    }
    if let Some(dir) = &args.record
        && !args.overwrite
        && ibkr_probe::record::holds_cassettes(dir)
    {
        return Err(CliError::new(
            exit::INVALID_INPUT,
            format!(
                "--record {}: that folder already holds a recording; pass --overwrite to replace it, or record into a new folder",
                dir.display()
            ),
        ));
    }
    let live = args.target == TargetArg::Live || args.base_url.is_some();
    let target = if live {
        if !args.allow_trading
            && let Some(refusal) = runner::trading_refusal(&scenarios)
        {
            return Err(CliError::new(exit::INVALID_INPUT, refusal));
        }
        let source = match args.source.load() {
            Ok(source) => source,
            Err(e) => {
                return Err(CliError::new(exit::INVALID_INPUT, e.to_string()));
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
                return Err(CliError::new(exit::INVALID_INPUT, format!("live credentials: {e}")));
            }
        }
    } else if let TargetArg::Replay(dir) = &args.target {
        match ibkr_probe::record::replay::ReplaySource::load(dir) {
            Ok(source) => ibkr_probe::scenario::run::Target::Replay {
                dir: dir.clone(),
                source: std::sync::Arc::new(source),
            },
            Err(e) => {
                return Err(CliError::new(exit::INVALID_INPUT, e.to_string()));
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
    let runtime = runtime()?;
    // SIGTERM (a CI timeout, `docker stop`) ends the run like Ctrl-C: partial report, exit 3.
    let report = runtime.block_on(runner::run(&scenarios, options, shutdown_signal()));
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            return Err(CliError::new(exit::RUNTIME_FAILURE, e.to_string()));
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
    Ok(code)
}
