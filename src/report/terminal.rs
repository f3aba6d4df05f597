//! The terminal report: one line per step with its time, what differed under a failure, and a
//! summary. Printed live as the run goes ([`LivePrinter`]), or whole from a finished report
//! ([`render`]); both use the same lines. Colour by `--color`, else only on a terminal and
//! without `NO_COLOR`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

use crate::scenario::outcome::{RunReport, ScenarioReport, StepReport, StepStatus};
use crate::scenario::run::RunEvent;

/// `--color`: when to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => use_color(is_terminal),
        }
    }
}

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

fn target_line(target: &str) -> String {
    format!("target: {target}\n")
}

/// A scenario's heading, and its skip reason when it was skipped whole.
fn scenario_lines(scenario: &ScenarioReport, color: bool) -> String {
    let mut out = format!(
        "\n{} ({})\n",
        paint(&scenario.name, "1", color),
        scenario.file.display()
    );
    if let Some(reason) = &scenario.skipped {
        let _ = writeln!(out, "  {} {reason}", paint("skip", "33", color));
    }
    out
}

/// A step's line, with what differed or why it was skipped under it.
fn step_lines(step: &StepReport, color: bool) -> String {
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
    let mut out = format!(
        "  {} {} ({} ms{attempts})\n",
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
    out
}

/// The closing summary line.
pub fn summary(report: &RunReport, color: bool) -> String {
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
    format!("{}\n", paint(&summary, code, color))
}

/// Renders a finished report for people.
pub fn render(report: &RunReport, color: bool) -> String {
    let mut out = target_line(&report.target);
    for scenario in &report.scenarios {
        out.push_str(&scenario_lines(scenario, color));
        for step in &scenario.steps {
            out.push_str(&step_lines(step, color));
        }
    }
    out.push_str(&summary(report, color));
    out
}

/// Prints a run as it goes: each step when it ends; on a terminal, the running step on a line
/// that its result replaces. Quiet prints only failed steps (with their scenario's heading).
pub struct LivePrinter {
    out: Mutex<Box<dyn std::io::Write + Send>>,
    color: bool,
    terminal: bool,
    quiet: bool,
    /// The heading of the scenario under way, until something of it is printed (quiet mode).
    pending_heading: Mutex<Option<String>>,
}

impl LivePrinter {
    pub fn new(out: Box<dyn std::io::Write + Send>, color: bool, terminal: bool, quiet: bool) -> Self {
        Self {
            out: Mutex::new(out),
            color,
            terminal,
            quiet,
            pending_heading: Mutex::new(None),
        }
    }

    fn write(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            // A closed pipe (`| head`) must not end the run.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
    }

    /// Prints what an event shows.
    pub fn event(&self, event: &RunEvent<'_>) {
        match event {
            RunEvent::Started { target } if !self.quiet => self.write(&target_line(target)),
            RunEvent::Started { .. } => {}
            RunEvent::Scenario(scenario) => {
                let heading = scenario_lines(scenario, self.color);
                if !self.quiet {
                    self.write(&heading);
                } else if let Ok(mut pending) = self.pending_heading.lock() {
                    *pending = Some(heading);
                }
            }
            RunEvent::StepStarted { name } if self.terminal && !self.quiet => {
                self.write(&format!("  {} {name}", paint("....", "2", self.color)));
            }
            RunEvent::StepStarted { .. } => {}
            RunEvent::StepFinished(step) => {
                let failed = matches!(step.status, StepStatus::Failed(_) | StepStatus::Error(_));
                if self.quiet && !failed {
                    return;
                }
                let mut text = String::new();
                if let Some(heading) = self.pending_heading.lock().ok().and_then(|mut p| p.take()) {
                    text.push_str(&heading);
                }
                let ran = !matches!(step.status, StepStatus::Skipped(_));
                if self.terminal && !self.quiet && ran {
                    // Replace the running step's line.
                    text.push_str("\r\x1b[2K");
                }
                text.push_str(&step_lines(step, self.color));
                self.write(&text);
            }
        }
    }

    /// Prints the closing summary.
    pub fn finish(&self, report: &RunReport) {
        self.write(&summary(report, self.color));
    }
}
