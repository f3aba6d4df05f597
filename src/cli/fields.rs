//! `ibkr-probe fields`: the snapshot field catalogue and mapping checks.

use std::path::PathBuf;

use clap::Subcommand;
use ibkr_probe::exit;

use super::*;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct FieldsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<FieldsCommand>,
    /// Field ids (85) or names (Ask Size, bid); none lists every field.
    pub(crate) queries: Vec<String>,
    /// Fields whose name or description contains TEXT.
    #[arg(long)]
    pub(crate) search: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FieldsCommand {
    /// Compare your mapping (YAML or JSON, id -> what you think it is) with IBKR's table.
    CheckMapping {
        /// A YAML or JSON map of field id to what you read it as, e.g. `85: Ask Size`.
        file: PathBuf,
    },
}

pub(crate) fn fields(args: FieldsArgs) -> Outcome {
    match &args.command {
        Some(FieldsCommand::CheckMapping { file }) => check_mapping(file, args.json),
        None => look_up(&args),
    }
}

/// `fields check-mapping FILE`: each entry of the user's id -> meaning map against IBKR's table.
fn check_mapping(file: &std::path::Path, json: bool) -> Outcome {
    use ibkr_probe::fields::check;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::new(exit::INVALID_INPUT, format!("{}: cannot read: {e}", file.display())))?;
    let entries = check::read_mapping(&text).map_err(|e| {
        CliError::new(
            exit::INVALID_INPUT,
            format!(
                "{}: {e}; expected a map of field id -> meaning, e.g. `85: Ask Size`",
                file.display()
            ),
        )
    })?;
    let verdicts = check::check_mapping(&entries);
    let wrong = verdicts.iter().filter(|v| !v.correct).count();
    if json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&verdicts).unwrap_or_default()
        ));
    } else {
        let mut text = String::new();
        for v in &verdicts {
            if v.correct {
                text.push_str(&format!("ok     {}: {} ({})\n", v.id, v.believed, v.actual));
            } else {
                let hint = v
                    .right_id
                    .as_ref()
                    .map(|id| format!("; {} is field {id}", v.believed))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "WRONG  {}: you have {:?}, IBKR's table says {:?}{hint}\n",
                    v.id, v.believed, v.actual
                ));
            }
        }
        text.push_str(&format!("{} of {} entries wrong\n", wrong, verdicts.len()));
        write_stdout(&text);
    }
    Ok(if wrong == 0 { exit::SUCCESS } else { exit::CHECK_FAILED })
}

/// `fields [ID|NAME]... [--search TEXT]`: fields by id or name, or the whole table; a query
/// that names nothing gets the nearest fields and exit 2.
fn look_up(args: &FieldsArgs) -> Outcome {
    use ibkr_probe::fields::catalogue;
    let mut found: Vec<&'static ibkr_probe::fields::Field> = Vec::new();
    let mut unknown = Vec::new();
    for query in &args.queries {
        let matches = match catalogue::by_id(query) {
            Some(field) => vec![field],
            None => catalogue::by_name(query),
        };
        if matches.is_empty() {
            unknown.push(query.clone());
        }
        found.extend(matches);
    }
    if let Some(text) = &args.search {
        found.extend(catalogue::search(text));
    }
    if args.queries.is_empty() && args.search.is_none() {
        found.extend(catalogue::FIELDS.iter());
    }
    for query in &unknown {
        let nearest: Vec<String> = catalogue::nearest(query)
            .iter()
            .map(|f| format!("{} ({})", f.id, f.name))
            .collect();
        eprintln!(
            "error: no field {query:?} in IBKR's table; nearest: {}",
            nearest.join(", ")
        );
    }
    if args.json {
        write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&found).unwrap_or_default()
        ));
    } else {
        let mut text = String::new();
        for field in &found {
            text.push_str(&format!(
                "{:>7}  {}  [{:?}; {}]\n",
                field.id, field.name, field.kind, field.applies_to
            ));
            if !field.description.is_empty() {
                text.push_str(&format!("         {}\n", field.description));
            }
        }
        write_stdout(&text);
    }
    Ok(if unknown.is_empty() {
        exit::SUCCESS
    } else {
        exit::INVALID_INPUT
    })
}
