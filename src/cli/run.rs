//! `ibkr-probe run`: scenarios against the embedded mock, live IBKR or a recording.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use ibkr_probe::exit;
use ibkr_probe::scenario::{load, run as runner};

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
    /// The embedded mock's consumer from a folder written by `keys generate`, instead of fresh
    /// keys for each run (saves drawing two RSA keys, about 0.3 s a run).
    #[arg(long, value_name = "DIR", conflicts_with = "base_url")]
    pub(crate) mock_keys: Option<PathBuf>,
}

pub(crate) fn run(args: RunArgs) -> Outcome {
    let vars: HashMap<String, String> = args.vars.iter().cloned().collect();
    let scenarios = load_scenarios(&args.paths, &vars)?;
    check_before_running(&args, &scenarios, &vars)?;
    let target = target(&args, &scenarios)?;
    // The embedded mock and replays answer at machine speed; IBKR gets its pacing.
    let embedded = matches!(target, runner::Target::Mock | runner::Target::Replay { .. });
    let client = ibkr_probe::client::ClientOptions {
        rate: args.rate.unwrap_or(if embedded { 0.0 } else { 10.0 }),
        timeout: args.timeout,
        verbosity: args.verbosity.verbose,
        ..ibkr_probe::client::ClientOptions::default()
    };
    let mock_keys = args
        .mock_keys
        .as_deref()
        .map(runner::MockKeys::from_folder)
        .transpose()
        .map_err(|e| CliError::new(exit::INVALID_INPUT, format!("--mock-keys: {e}")))?;
    for warning in mock_keys.iter().flat_map(|keys| &keys.client.warnings) {
        eprintln!("--mock-keys: {warning}");
    }
    let printer = printer(&args);
    let observer = printer.clone();
    let options = runner::RunOptions {
        progress: Some(std::sync::Arc::new(move |event| observer.event(event))),
        record: args.record.clone(),
        allow_trading: args.allow_trading,
        target,
        tags: args.tags.clone(),
        vars,
        client,
        mock_keys,
    };
    // SIGTERM (a CI timeout, `docker stop`) ends the run like Ctrl-C: partial report, exit 3.
    let report = runtime()?
        .block_on(runner::run(&scenarios, options, shutdown_signal()))
        .map_err(|e| CliError::new(exit::RUNTIME_FAILURE, e))?;
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

/// Every scenario under `paths`, or the bundled copies when the default folder is absent (an
/// installed binary run elsewhere). One invalid file stops the run before anything is sent.
fn load_scenarios(paths: &[PathBuf], vars: &HashMap<String, String>) -> Result<Vec<load::LoadedScenario>, CliError> {
    let names = runner::var_names(vars);
    let loaded: Vec<Result<load::LoadedScenario, load::ScenarioError>> =
        if paths == [PathBuf::from("scenarios")] && !std::path::Path::new("scenarios").exists() {
            ibkr_probe::scenario::bundled::BUNDLED
                .iter()
                .map(|(name, text)| {
                    let path = PathBuf::from("scenarios").join(name);
                    load::parse_with(&path, text, &names, &ibkr_probe::scenario::bundled::read)
                })
                .collect()
        } else {
            let files = load::collect(paths).map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
            files.iter().map(|file| load::load(file, &names)).collect()
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
        return Err(CliError::new(
            exit::INVALID_INPUT,
            format!("{invalid} scenario file(s) invalid; nothing was run and no report was written"),
        ));
    }
    Ok(scenarios)
}

/// What can be refused before the target is touched: the selection, the .env file, report
/// destinations, a recording that would be overwritten, keys for a mock that is not used.
fn check_before_running(
    args: &RunArgs,
    scenarios: &[load::LoadedScenario],
    vars: &HashMap<String, String>,
) -> Result<(), CliError> {
    runner::check_selection(scenarios, &args.tags, vars).map_err(|e| {
        let code = match e {
            runner::SelectionError::CommandLine(_) => exit::BAD_COMMAND_LINE,
            runner::SelectionError::Input(_) => exit::INVALID_INPUT,
        };
        CliError::new(code, e.to_string())
    })?;
    args.source
        .check_env_file()
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
    ibkr_probe::report::check_destinations(&args.reports)
        .map_err(|e| CliError::new(exit::BAD_COMMAND_LINE, e.to_string()))?;
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
    if args.mock_keys.is_some() && is_live(args) {
        return Err(CliError::new(
            exit::BAD_COMMAND_LINE,
            "--mock-keys is for the embedded mock; a live run signs with your credentials (--env-file, IB_* variables)",
        ));
    }
    Ok(())
}

fn is_live(args: &RunArgs) -> bool {
    args.target == TargetArg::Live || args.base_url.is_some()
}

/// The run's target: live IBKR (or --base-url) with the user's credentials, once the trading
/// guard has passed; a replay of cassettes; or the embedded mock.
fn target(args: &RunArgs, scenarios: &[load::LoadedScenario]) -> Result<runner::Target, CliError> {
    let invalid = |message: String| CliError::new(exit::INVALID_INPUT, message);
    if is_live(args) {
        if !args.allow_trading
            && let Some(refusal) = runner::trading_refusal(scenarios)
        {
            return Err(invalid(refusal));
        }
        let source = args.source.load().map_err(invalid)?;
        let credentials = source
            .credentials()
            .map_err(|e| invalid(format!("live credentials: {e}")))?;
        for warning in &credentials.warnings {
            eprintln!("{warning}");
        }
        return Ok(runner::Target::Live {
            base_url: args
                .base_url
                .clone()
                .unwrap_or_else(|| ibkr_probe::client::IBKR_BASE_URL.to_owned()),
            credentials: Box::new(credentials),
        });
    }
    match &args.target {
        TargetArg::Replay(dir) => {
            let source = ibkr_probe::record::replay::ReplaySource::load(dir).map_err(|e| invalid(e.to_string()))?;
            Ok(runner::Target::Replay {
                dir: dir.clone(),
                source: std::sync::Arc::new(source),
            })
        }
        _ => Ok(runner::Target::Mock),
    }
}

/// Steps are printed as they end; with a report on standard output, on standard error.
fn printer(args: &RunArgs) -> std::sync::Arc<ibkr_probe::report::terminal::LivePrinter> {
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
}
