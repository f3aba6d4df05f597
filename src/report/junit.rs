//! The JUnit report: one test suite per scenario, one test case per step; a failure's text says
//! what differed (and, on the mock, what the server logged).

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::scenario::outcome::{RunReport, StepStatus};

/// Renders the report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let mut junit = Report::new("ibkr-probe");
    junit.set_time(report.duration);
    for scenario in &report.scenarios {
        let mut suite = TestSuite::new(scenario.name.as_str());
        suite.add_property(("file", scenario.file.display().to_string().as_str()));
        suite.add_property(("target", report.target.as_str()));
        if let Some(reason) = &scenario.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.as_str());
            suite.add_test_case(TestCase::new("(scenario)", status));
        }
        for step in &scenario.steps {
            let status = match &step.status {
                StepStatus::Passed => TestCaseStatus::success(),
                StepStatus::Failed(message) | StepStatus::Error(message) => {
                    let kind = if matches!(step.status, StepStatus::Failed(_)) {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut status = TestCaseStatus::non_success(kind);
                    status.set_message(message.as_str());
                    let mut description = message.clone();
                    for line in &step.server_log {
                        description.push('\n');
                        description.push_str(line);
                    }
                    status.set_description(description);
                    status
                }
                StepStatus::Skipped(reason) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(reason.as_str());
                    status
                }
            };
            let mut case = TestCase::new(step.name.as_str(), status);
            case.set_classname(scenario.name.as_str());
            case.set_time(step.duration);
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().unwrap_or_default()
}
