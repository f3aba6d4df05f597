//! `ibkr-probe diagnose`: credential checks, and `diagnose compare` for a client's own values.

use std::path::PathBuf;

use clap::Subcommand;
use ibkr_probe::exit;

use super::*;

#[derive(Debug, clap::Args)]
pub(crate) struct DiagnoseArgs {
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,
    #[command(subcommand)]
    pub(crate) command: Option<DiagnoseCommand>,
    #[command(flatten)]
    pub(crate) source: CredentialSource,
    /// After the offline checks, make one LST attempt and show every step (redacted).
    #[arg(long)]
    pub(crate) online: bool,
    /// Base URL for --online (default https://api.ibkr.com/v1/api).
    #[arg(long, value_parser = parse_base_url)]
    pub(crate) base_url: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DiagnoseCommand {
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

/// `diagnose compare --template FILE`: a vector file of the user's credential set to fill in.
pub(crate) fn compare_template(file: &std::path::Path, source: &CredentialSource) -> Outcome {
    use ibkr_probe::diagnose::compare;
    if file.exists() {
        // As for keys generate and run --record: output that would replace a file is refused with 2.
        return Err(CliError::new(
            exit::INVALID_INPUT,
            format!(
                "{} already exists; name a new file (it would be replaced by a template)",
                file.display()
            ),
        ));
    }
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !folder.is_dir() {
        return Err(CliError::new(
            exit::BAD_COMMAND_LINE,
            format!(
                "{}: the folder {} does not exist; create it first",
                file.display(),
                folder.display()
            ),
        ));
    }
    let env = source
        .load()
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
    let credentials = env.credentials().map_err(|e| {
        CliError::new(
            exit::INVALID_INPUT,
            format!(
                "the template is made from your credential set: {e}\n(no credentials yet? `ibkr-probe keys generate DIR` makes a set to try it with)"
            ),
        )
    })?;
    let read = |variable: &str| {
        let path = env.value(variable).unwrap_or_default();
        std::fs::read_to_string(path).map_err(|e| format!("{path} ({variable}): {e}"))
    };
    let (signature_key_pem, encryption_key_pem) = read("IB_SIGNATURE_KEY_PATH")
        .and_then(|s| read("IB_ENCRYPTION_KEY_PATH").map(|e| (s, e)))
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e))?;
    let inputs = compare::TemplateInputs {
        consumer_key: &credentials.consumer_key,
        realm: &credentials.realm,
        access_token: &credentials.access_token,
        access_token_secret: credentials.access_token_secret.expose(),
        signature_key_pem: &signature_key_pem,
        encryption_key_pem: &encryption_key_pem,
        dh: &credentials.dh_params,
    };
    let text = compare::template(&inputs, &mut ibkr_probe::oauth::SystemRandom, std::time::SystemTime::now())
        .map_err(|e| {
            CliError::new(
                exit::INVALID_INPUT,
                format!(
                    "cannot make the template from this credential set: {e}; `ibkr-probe diagnose` says what is wrong with it"
                ),
            )
        })?;
    ibkr_probe::config::write_private(file, text.as_bytes())
        .map_err(|e| CliError::new(exit::RUNTIME_FAILURE, format!("{}: cannot write: {e}", file.display())))?;
    eprintln!(
        "wrote {}: replace each expect_* value your client computes with its own (same nonce, timestamp and DH values), then run `ibkr-probe diagnose compare {}`",
        file.display(),
        file.display()
    );
    Ok(exit::SUCCESS)
}

pub(crate) fn diagnose_compare(file: &std::path::Path, header: Option<&str>, json: bool) -> Outcome {
    use ibkr_probe::diagnose::compare;
    if let Some(header) = header
        && let Err(e) = ibkr_probe::oauth::header::parse_authorization_header(header)
    {
        return Err(CliError::new(
            exit::BAD_COMMAND_LINE,
            format!(
                "--header: {e}; pass the whole value your client sends, e.g. 'OAuth realm=\"limited_poa\", oauth_consumer_key=\"…\", …'"
            ),
        ));
    }
    let loaded = match ibkr_probe::vectors::load(file) {
        Ok(loaded) => loaded,
        Err(e) => {
            return Err(CliError::new(exit::INVALID_INPUT, e.to_string()));
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
        Ok(exit::SUCCESS)
    } else {
        Ok(exit::CHECK_FAILED)
    }
}

pub(crate) fn diagnose(args: DiagnoseArgs) -> Outcome {
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
    let source = args
        .source
        .load()
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
    let results = checks::run(&source);
    let failed = results.iter().any(|c| c.level == checks::Level::Fail);
    let mut online = serde_json::Value::Null;
    let mut online_failed = false;
    if args.online && !failed {
        let runtime = runtime()?;
        let client = single_client(&source, args.base_url.as_deref(), verbose)
            .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
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
        Ok(exit::CHECK_FAILED)
    } else {
        Ok(exit::SUCCESS)
    }
}

/// Seconds this machine's clock is ahead of an HTTP `Date` header (negative when behind).
pub(crate) fn httpdate_skew(date: &str) -> Option<i64> {
    let server = humantime::parse_rfc3339_weak(&httpdate_to_rfc3339(date)?).ok()?;
    Some(match std::time::SystemTime::now().duration_since(server) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    })
}

/// `Tue, 24 Nov 2026 09:01:02 GMT` -> `2026-11-24T09:01:02Z`.
pub(crate) fn httpdate_to_rfc3339(date: &str) -> Option<String> {
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
