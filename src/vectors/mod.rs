//! Known-answer vectors: the file format, and a verifier that recomputes every step of the
//! OAuth flow from a file's inputs and reports the first divergence per step.

pub mod load;
pub mod model;
pub mod report;
pub mod verify;

pub use load::{LoadError, VectorFile, collect_paths, load};
pub use verify::{StepOutcome, StepStatus, verify};

use std::path::PathBuf;

pub use report::{FileResult, Secrets};

/// Loads and verifies every file under `paths` (files, or folders of `*.json`).
/// A path that cannot be expanded yields one invalid result instead of stopping the run.
pub fn verify_paths(paths: &[PathBuf]) -> Vec<FileResult> {
    let files = match collect_paths(paths) {
        Ok(files) => files,
        Err(error) => return vec![FileResult::Invalid(error)],
    };
    files
        .iter()
        .map(|path| match load(path) {
            Ok(file) => FileResult::Verified {
                path: path.clone(),
                name: file.raw.name.clone(),
                steps: verify(&file),
            },
            Err(error) => FileResult::Invalid(error),
        })
        .collect()
}
