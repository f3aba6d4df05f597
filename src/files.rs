//! Files: a folder's files of some kinds, and writes that never leave half a file behind. Near
//! the bottom of the crate: reports, recordings, scenarios and vectors all use it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The files directly in `dir` whose extension is one of `extensions`, sorted by name.
pub fn list(dir: &Path, extensions: &[&str]) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| extensions.iter().any(|e| x == *e)))
        .collect();
    files.sort();
    Ok(files)
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

/// `file:line:column`, or just `file` when a problem has no position (line 0).
pub fn located(path: &Path, line: u64, column: u64) -> String {
    match line {
        0 => path.display().to_string(),
        line => format!("{}:{line}:{column}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_the_kinds_asked_for_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yaml", "a.yml", "c.json", "d.txt"] {
            write_atomically(&dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("e.yaml")).unwrap();
        let names = |exts: &[&str]| -> Vec<String> {
            list(dir.path(), exts)
                .unwrap()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&["yaml", "yml"]), ["a.yml", "b.yaml"]);
        assert_eq!(names(&["json"]), ["c.json"]);
        assert!(list(&dir.path().join("missing"), &["json"]).is_err());
    }
}
