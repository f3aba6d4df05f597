//! The failure corpus: real error reports from public issue trackers (`tests/data/failures/`),
//! each with the text as the user saw it and the root cause its thread found. `explain` must name
//! the known cause among its first three causes for at least 90% of them.

use std::path::PathBuf;

use ibkr_probe::diagnose::catalogue::CATALOGUE;
use ibkr_probe::diagnose::explain::explain;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    source: String,
    reported: String,
    read: String,
    client: String,
    category: String,
    text: String,
    cause: String,
    found: String,
}

const CATEGORIES: [&str; 12] = [
    "activation",
    "lst",
    "signature",
    "session",
    "accounts",
    "market-data",
    "orders",
    "pacing",
    "portal",
    "network",
    "websocket",
    "other",
];

fn reports() -> Vec<(String, Report)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/failures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let report: Report = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, report)
        })
        .collect()
}

#[test]
fn every_report_is_complete_and_names_a_cause_the_catalogue_knows() {
    let reports = reports();
    assert!(
        reports.len() >= 40,
        "the corpus holds {} reports; the bar is 40",
        reports.len()
    );
    let keys: Vec<&str> = CATALOGUE.iter().flat_map(|e| e.causes.iter().map(|c| c.key)).collect();
    for (name, report) in &reports {
        assert!(report.source.starts_with("https://"), "{name}: source must be a link");
        for date in [&report.reported, &report.read] {
            let ok = date.len() >= 7 && date[..4].chars().all(|c| c.is_ascii_digit()) && &date[4..5] == "-";
            assert!(ok, "{name}: date {date:?} is not YYYY-MM[-DD]");
        }
        assert!(!report.client.is_empty() && !report.found.trim().is_empty(), "{name}");
        assert!(
            CATEGORIES.contains(&report.category.as_str()),
            "{name}: category {}",
            report.category
        );
        assert!(!report.text.trim().is_empty(), "{name}: no text");
        assert!(
            report.cause == "unknown" || keys.contains(&report.cause.as_str()),
            "{name}: cause {:?} is not a cause key of the catalogue",
            report.cause
        );
    }
}

#[test]
fn explain_names_the_known_cause_among_its_first_three() {
    let reports = reports();
    let mut known = 0;
    let mut named = 0;
    let mut recognised = 0;
    let mut misses = Vec::new();
    for (name, report) in &reports {
        let explanation = explain(&report.text);
        recognised += usize::from(explanation.entry.is_some());
        if report.cause == "unknown" {
            continue;
        }
        known += 1;
        let first_three: Vec<&str> = explanation
            .entry
            .map(|e| e.causes.iter().take(3).map(|c| c.key).collect())
            .unwrap_or_default();
        if first_three.contains(&report.cause.as_str()) {
            named += 1;
        } else {
            misses.push(format!(
                "{name}: cause {} not in {first_three:?} (entry {:?})",
                report.cause,
                explanation.entry.map(|e| e.title)
            ));
        }
    }
    let rate = 100.0 * named as f64 / known as f64;
    println!(
        "failure corpus: known cause among the first three for {named} of {known} reports ({rate:.0}%); \
         {recognised} of {} texts recognised",
        reports.len()
    );
    for miss in &misses {
        println!("  miss: {miss}");
    }
    assert!(known >= 30, "only {known} reports with a known cause");
    assert!(
        rate >= 90.0,
        "{rate:.0}% is under the bar of 90%:\n{}",
        misses.join("\n")
    );
}
