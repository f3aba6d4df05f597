//! The terminal report: one line per step with its time, what differed under a failure, and a
//! summary. Colour only on a terminal and without `NO_COLOR`.

use std::fmt::Write as _;

use crate::scenario::run::{RunReport, StepStatus};

/// Whether to colour: a terminal, and `NO_COLOR` unset or empty (https://no-color.org).
pub fn use_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Renders the report for people.
pub fn render(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "target: {}", report.target);
    for scenario in &report.scenarios {
        let _ = writeln!(
            out,
            "\n{} ({})",
            paint(&scenario.name, "1", color),
            scenario.file.display()
        );
        if let Some(reason) = &scenario.skipped {
            let _ = writeln!(out, "  {} {reason}", paint("skip", "33", color));
            continue;
        }
        for step in &scenario.steps {
            let (label, code) = match &step.status {
                StepStatus::Passed => ("ok  ", "32"),
                StepStatus::Failed(_) => ("FAIL", "31"),
                StepStatus::Error(_) => ("ERR ", "31"),
                StepStatus::Skipped(_) => ("skip", "33"),
            };
            let attempts = if step.attempts > 1 {
                format!(", {} attempts", step.attempts)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {} ({} ms{attempts})",
                paint(label, code, color),
                step.name,
                step.duration.as_millis()
            );
            match &step.status {
                StepStatus::Failed(message) | StepStatus::Error(message) => {
                    let _ = writeln!(out, "       {message}");
                    for line in &step.server_log {
                        let _ = writeln!(out, "       server: {line}");
                    }
                }
                StepStatus::Skipped(reason) => {
                    let _ = writeln!(out, "       {reason}");
                }
                StepStatus::Passed => {}
            }
        }
    }
    let t = report.totals();
    let ran = report.scenarios.iter().filter(|s| s.skipped.is_none()).count();
    let summary = format!(
        "\n{ran} scenario(s) run, {} skipped; steps: {} passed, {} failed, {} errors, {} skipped ({:.2} s){}",
        report.scenarios.len() - ran,
        t.passed,
        t.failed,
        t.errors,
        t.skipped,
        report.duration.as_secs_f64(),
        if report.interrupted { " - interrupted" } else { "" }
    );
    let code = if report.exit_code() == 0 { "32" } else { "31" };
    let _ = writeln!(out, "{}", paint(&summary, code, color));
    out
}
