//! `ibkr-probe diff`: two recordings compared by shape.

use ibkr_probe::exit;

use super::*;

pub(crate) fn diff(
    base: &std::path::Path,
    new: &std::path::Path,
    ignore: &[String],
    reports: &[ibkr_probe::report::ReportSpec],
    json: bool,
) -> Outcome {
    use ibkr_probe::record::diff;
    if let Err(e) = ibkr_probe::report::check_destinations(reports) {
        return Err(CliError::new(exit::BAD_COMMAND_LINE, e.to_string()));
    }
    let report = diff::compare_dirs(base, new, &diff::ignore_list(ignore))
        .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?;
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
    Ok(code)
}
