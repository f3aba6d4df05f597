//! Reporters for a [`RunReport`]: the terminal, JSON and JUnit. Files are written to a temporary
//! name and renamed, so a report is complete or absent, also when the run is interrupted.

pub mod json;
pub mod junit;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::scenario::run::RunReport;

/// A `--report FORMAT=FILE` request.
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

/// Renders the report in the requested format.
pub fn render(report: &RunReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => json::render(report),
        ReportFormat::Junit => junit::render(report),
    }
}

/// Writes `contents` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
