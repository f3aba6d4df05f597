//! Reporters for a [`RunReport`]: the terminal, JSON and JUnit. Files are written to a temporary
//! name and renamed, so a report is complete or absent, also when the run is interrupted.

pub mod json;
pub mod junit;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::scenario::outcome::RunReport;

/// A `--report FORMAT=FILE` request; FILE `-` is standard output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: ReportFormat,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Junit,
}

impl FromStr for ReportSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (format, path) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: expected FORMAT=FILE, e.g. junit=report.xml"))?;
        let format = match format {
            "json" => ReportFormat::Json,
            "junit" => ReportFormat::Junit,
            other => return Err(format!("unknown report format {other:?}; expected json or junit")),
        };
        if path.is_empty() {
            return Err("the report needs a file name after `=`".into());
        }
        Ok(Self {
            format,
            path: PathBuf::from(path),
        })
    }
}

impl ReportSpec {
    /// `FORMAT=-`: the report goes to standard output instead of a file.
    pub fn is_stdout(&self) -> bool {
        self.path == Path::new("-")
    }

    /// Writes the finished report: to standard output, or atomically to its file.
    pub fn write(&self, contents: &str) -> Result<(), String> {
        if self.is_stdout() {
            let mut out = std::io::stdout().lock();
            return out
                .write_all(contents.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write the report to standard output: {e}"));
        }
        crate::files::write_atomically(&self.path, contents)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// Checks, before anything runs, that every report can be written: its folder exists and takes a
/// new file, and at most one report goes to standard output. A run must not learn at its end that
/// its report is lost.
pub fn check_destinations(specs: &[ReportSpec]) -> Result<(), String> {
    if specs.iter().filter(|s| s.is_stdout()).count() > 1 {
        return Err("only one --report can go to standard output (`-`)".into());
    }
    for spec in specs.iter().filter(|s| !s.is_stdout()) {
        let folder = spec
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if spec.path.is_dir() {
            return Err(format!(
                "--report {}: that is a folder; name a file in it",
                spec.path.display()
            ));
        }
        if !folder.is_dir() {
            return Err(format!(
                "--report {}: the folder {} does not exist; create it first",
                spec.path.display(),
                folder.display()
            ));
        }
        let probe = folder.join(format!(".ibkr-probe-write-check.{}", std::process::id()));
        std::fs::File::create(&probe)
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|e| {
                format!(
                    "--report {}: cannot write into {} ({e}); choose a writable folder",
                    spec.path.display(),
                    folder.display()
                )
            })?;
    }
    Ok(())
}

/// Renders the report in the requested format.
pub fn render(report: &RunReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => json::render(report),
        ReportFormat::Junit => junit::render(report),
    }
}
