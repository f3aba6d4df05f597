//! Rendering verification results for people (one line per step) and for machines (JSON).
//! Secret-derived values appear as fingerprints unless the caller asks for them.

use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::json;

use super::load::LoadError;
use super::verify::{StepOutcome, StepStatus};
use crate::oauth::{SecretString, fingerprint};

/// What happened to one file.
#[derive(Debug)]
pub enum FileResult {
    Verified {
        path: PathBuf,
        name: String,
        steps: Vec<StepOutcome>,
    },
    Invalid(LoadError),
}

impl FileResult {
    fn failed_steps(&self) -> usize {
        match self {
            Self::Verified { steps, .. } => steps.iter().filter(|s| !s.is_ok()).count(),
            Self::Invalid(_) => 0,
        }
    }
}

/// Whether to print secret-derived values in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    Fingerprint,
    Show,
}

fn shown(value: &SecretString, secret: bool, secrets: Secrets) -> String {
    if secret && secrets == Secrets::Fingerprint {
        format!(
            "{} ({} chars)",
            fingerprint(value.expose().as_bytes()),
            value.expose().len()
        )
    } else {
        value.expose().clone()
    }
}

/// A window of `text` around `position`, so long base strings show where they differ.
fn excerpt(text: &str, position: usize) -> String {
    const BEFORE: usize = 30;
    const AFTER: usize = 40;
    let start = position.saturating_sub(BEFORE);
    let end = (position + AFTER).min(text.len());
    let start = (start..=position.min(text.len()))
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let end = (end..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        &text[start..end],
        if end < text.len() { "…" } else { "" }
    )
}

/// Writes the human report: a header per file, one line per step, details under failures.
pub fn write_text(out: &mut dyn Write, results: &[FileResult], secrets: Secrets) -> io::Result<()> {
    for result in results {
        match result {
            FileResult::Invalid(error) => {
                writeln!(out, "{}", error.path.display())?;
                writeln!(out, "  INVALID  {}: {}", error.field, error.message)?;
                let advice = if error.field == "(file)" {
                    "check the path: a vector file or a folder of them"
                } else if error.message.contains("not valid JSON") {
                    "fix the JSON at that position; the format is described in vectors/README.md"
                } else {
                    "fix that field and run again; the format is described in vectors/README.md"
                };
                writeln!(out, "           {advice}")?;
            }
            FileResult::Verified { path, name, steps } => {
                writeln!(out, "{} ({name})", path.display())?;
                for step in steps {
                    write_step(out, step, secrets)?;
                }
            }
        }
    }
    let (passed, failed, invalid) = totals(results);
    writeln!(
        out,
        "{} file(s): {passed} passed, {failed} failed ({} step(s)), {invalid} invalid",
        results.len(),
        results.iter().map(FileResult::failed_steps).sum::<usize>()
    )
}

fn write_step(out: &mut dyn Write, step: &StepOutcome, secrets: Secrets) -> io::Result<()> {
    match &step.status {
        StepStatus::Ok => writeln!(out, "  ok    {}", step.step),
        StepStatus::Mismatch {
            expected,
            computed,
            position,
        } => {
            writeln!(out, "  FAIL  {}: differs at position {position}", step.step)?;
            if step.secret && secrets == Secrets::Fingerprint {
                writeln!(out, "          expected: {}", shown(expected, true, secrets))?;
                writeln!(out, "          computed: {}", shown(computed, true, secrets))?;
                writeln!(
                    out,
                    "          (secret-derived values are fingerprinted; --show-secrets prints them)"
                )
            } else {
                writeln!(out, "          expected: {}", excerpt(expected.expose(), *position))?;
                writeln!(out, "          computed: {}", excerpt(computed.expose(), *position))
            }
        }
        StepStatus::Failed { expected, error } => {
            writeln!(out, "  FAIL  {}: could not compute: {error}", step.step)?;
            writeln!(out, "          expected: {}", shown(expected, step.secret, secrets))
        }
    }
}

fn totals(results: &[FileResult]) -> (usize, usize, usize) {
    let invalid = results.iter().filter(|r| matches!(r, FileResult::Invalid(_))).count();
    let failed = results.iter().filter(|r| r.failed_steps() > 0).count();
    (results.len() - invalid - failed, failed, invalid)
}

/// Writes the same results as one JSON document.
pub fn write_json(out: &mut dyn Write, results: &[FileResult], secrets: Secrets) -> io::Result<()> {
    let files: Vec<serde_json::Value> = results
        .iter()
        .map(|result| match result {
            FileResult::Invalid(error) => json!({
                "path": error.path.display().to_string(),
                "status": "invalid",
                "field": error.field,
                "error": error.message,
            }),
            FileResult::Verified { path, name, steps } => json!({
                "path": path.display().to_string(),
                "name": name,
                "status": if result.failed_steps() == 0 { "passed" } else { "failed" },
                "steps": steps.iter().map(|s| step_json(s, secrets)).collect::<Vec<_>>(),
            }),
        })
        .collect();
    let (passed, failed, invalid) = totals(results);
    let document = json!({ "files": files, "passed": passed, "failed": failed, "invalid": invalid });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn step_json(step: &StepOutcome, secrets: Secrets) -> serde_json::Value {
    match &step.status {
        StepStatus::Ok => json!({ "step": step.step, "status": "ok", "secret": step.secret }),
        StepStatus::Mismatch {
            expected,
            computed,
            position,
        } => json!({
            "step": step.step,
            "status": "mismatch",
            "secret": step.secret,
            "position": position,
            "expected": shown(expected, step.secret, secrets),
            "computed": shown(computed, step.secret, secrets),
        }),
        StepStatus::Failed { expected, error } => json!({
            "step": step.step,
            "status": "error",
            "secret": step.secret,
            "error": error,
            "expected": shown(expected, step.secret, secrets),
        }),
    }
}

/// The exit code for a set of results: invalid input outranks a mismatch.
pub fn exit_code(results: &[FileResult]) -> u8 {
    let (_, failed, invalid) = totals(results);
    if invalid > 0 {
        crate::exit::INVALID_INPUT
    } else if failed > 0 {
        crate::exit::CHECK_FAILED
    } else {
        crate::exit::SUCCESS
    }
}
