//! What a run found: each step's status, each scenario's steps, the run's totals and exit code.
//! The runner fills these in; the reports read them.

use std::path::PathBuf;
use std::time::Duration;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    Passed,
    /// An expectation did not hold: what differed.
    Failed(String),
    /// The step could not run: network, timeout, a server that does not speak JSON.
    Error(String),
    /// Not run: an earlier step failed, or the run was interrupted.
    Skipped(String),
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub name: String,
    pub status: StepStatus,
    pub duration: Duration,
    pub attempts: u32,
    /// Mock log lines written while the step ran (mock targets only), to show why it failed.
    pub server_log: Vec<String>,
}

/// One scenario's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioReport {
    pub name: String,
    pub file: PathBuf,
    pub tags: Vec<String>,
    /// Why the whole scenario did not run here (e.g. "mock only").
    pub skipped: Option<String>,
    pub steps: Vec<StepReport>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub target: String,
    pub scenarios: Vec<ScenarioReport>,
    pub duration: Duration,
    pub interrupted: bool,
}

/// Counts of step outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl RunReport {
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for step in self.scenarios.iter().flat_map(|s| &s.steps) {
            match step.status {
                StepStatus::Passed => t.passed += 1,
                StepStatus::Failed(_) => t.failed += 1,
                StepStatus::Error(_) => t.errors += 1,
                StepStatus::Skipped(_) => t.skipped += 1,
            }
        }
        t
    }

    /// 3 for runtime failures or an interrupted run, else 4 for failed checks, else 0.
    pub fn exit_code(&self) -> u8 {
        let t = self.totals();
        if t.errors > 0 || self.interrupted {
            crate::exit::RUNTIME_FAILURE
        } else if t.failed > 0 {
            crate::exit::CHECK_FAILED
        } else {
            crate::exit::SUCCESS
        }
    }
}
