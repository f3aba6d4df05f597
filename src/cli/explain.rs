//! `ibkr-probe explain`: the causes of an error as a user saw it, or of every error in a log.

use std::io::Read;

use ibkr_probe::exit;

use super::*;

pub(crate) fn explain(text: &str, json: bool) -> Outcome {
    use ibkr_probe::diagnose::explain;
    let explanation = explain::explain(text);
    if json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&explanation).unwrap_or_default()
        ));
    } else {
        write_stdout(&explain::render(&explanation));
    }
    // A bare id is answered too (ids are not codes); only text outside the catalogue exits 4.
    if explanation.entry.is_some() || explanation.message.is_none() {
        Ok(exit::SUCCESS)
    } else {
        Ok(exit::CHECK_FAILED)
    }
}

pub(crate) fn explain_log(file: &std::path::Path, json: bool) -> Outcome {
    use ibkr_probe::diagnose::explain;
    let (name, read) = if file == std::path::Path::new("-") {
        let mut text = String::new();
        (
            "standard input".to_owned(),
            std::io::stdin().read_to_string(&mut text).map(|_| text),
        )
    } else {
        (
            file.display().to_string(),
            std::fs::read(file).map(|b| String::from_utf8_lossy(&b).into_owned()),
        )
    };
    let text = match read {
        Ok(text) => text,
        Err(e) => {
            return Err(CliError::new(
                exit::INVALID_INPUT,
                format!("--file {name}: cannot read ({e}); check the path"),
            ));
        }
    };
    let findings = explain::scan_log(&text);
    if json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&findings).unwrap_or_default()
        ));
    } else {
        write_stdout(&explain::render_log(&name, &findings));
    }
    // Errors outside the catalogue make the answer incomplete, as for a single text.
    if findings.iter().all(|f| f.explanation.entry.is_some()) {
        Ok(exit::SUCCESS)
    } else {
        Ok(exit::CHECK_FAILED)
    }
}
