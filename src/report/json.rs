//! The JSON report: one document with every scenario and step, for machines.

use serde_json::{Value, json};

use crate::scenario::outcome::{RunReport, StepStatus};

/// Renders the report as pretty JSON.
pub fn render(report: &RunReport) -> String {
    let totals = report.totals();
    let scenarios: Vec<Value> = report
        .scenarios
        .iter()
        .map(|scenario| {
            let steps: Vec<Value> = scenario
                .steps
                .iter()
                .map(|step| {
                    let (status, message) = match &step.status {
                        StepStatus::Passed => ("passed", None),
                        StepStatus::Failed(m) => ("failed", Some(m)),
                        StepStatus::Error(m) => ("error", Some(m)),
                        StepStatus::Skipped(m) => ("skipped", Some(m)),
                    };
                    let mut entry = json!({
                        "name": step.name,
                        "status": status,
                        "duration_ms": step.duration.as_millis() as u64,
                        "attempts": step.attempts,
                    });
                    if let Some(message) = message {
                        entry["message"] = json!(message);
                    }
                    if !step.server_log.is_empty() {
                        entry["server_log"] = json!(step.server_log);
                    }
                    entry
                })
                .collect();
            let mut entry = json!({
                "name": scenario.name,
                "file": scenario.file.display().to_string(),
                "tags": scenario.tags,
                "steps": steps,
            });
            if let Some(reason) = &scenario.skipped {
                entry["skipped"] = json!(reason);
            }
            entry
        })
        .collect();
    let document = json!({
        "target": report.target,
        "duration_ms": report.duration.as_millis() as u64,
        "interrupted": report.interrupted,
        "exit_code": report.exit_code(),
        "totals": {
            "passed": totals.passed,
            "failed": totals.failed,
            "errors": totals.errors,
            "skipped": totals.skipped,
        },
        "scenarios": scenarios,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
