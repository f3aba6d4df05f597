//! `ibkr-probe activation`: is the consumer key active yet.

use ibkr_probe::exit;

use super::*;

#[derive(Debug, clap::Args)]
pub(crate) struct ActivationArgs {
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,
    #[command(flatten)]
    pub(crate) source: CredentialSource,
    /// Base URL (default https://api.ibkr.com/v1/api), e.g. a local `ibkr-probe mock`.
    #[arg(long, value_parser = parse_base_url)]
    pub(crate) base_url: Option<String>,
    /// Repeat until the key is active or --timeout passes.
    #[arg(long)]
    pub(crate) watch: bool,
    /// Time between attempts (at least 30s against api.ibkr.com).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub(crate) interval: std::time::Duration,
    /// Give up after this long.
    #[arg(long, default_value = "72h", value_parser = humantime::parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// One JSON line per attempt on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// A shell command to run once the key is active.
    #[arg(long)]
    pub(crate) on_active: Option<String>,
}

pub(crate) fn activation(args: ActivationArgs) -> Outcome {
    let verbose = args.verbosity.verbose;
    use ibkr_probe::diagnose::activation as act;
    let source = args
        .source
        .load()
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
    let client = single_client(&source, args.base_url.as_deref(), verbose)
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
    let runtime = runtime()?;
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
                return Ok(exit::RUNTIME_FAILURE);
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
    Ok(state.exit_code())
}
