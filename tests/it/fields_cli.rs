//! The field catalogue: the CLI, the guide's mapping, the catalogue against an independent copy
//! of IBKR's table, and the field-mapping scenario with the guide's mistake planted.

use crate::common::{bin, text};

use std::path::Path;

use ibkr_probe::fields::{FIELDS, Meaning, by_id};

#[test]
fn fields_command_looks_ids_up_both_ways() {
    for (id, name) in [
        ("85", "Ask Size"),
        ("86", "Ask Price"),
        ("87", "Volume"),
        ("88", "Bid Size"),
        ("7295", "Open"),
        ("7741", "Prior Close"),
    ] {
        let out = bin().args(["fields", id]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        assert!(first.contains(&format!("{id}  {name}")), "{first}");
    }
    let out = bin().args(["fields", "ask size", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc[0]["id"], "85");
    let out = bin().args(["fields", "99999999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("nearest"), "{}", text(&out));
    let out = bin().args(["fields", "Ask Sise"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("85 (Ask Size)"), "{}", text(&out));
    let out = bin().args(["fields"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("         "))
            .count(),
        FIELDS.len()
    );
}

#[test]
fn check_mapping_names_the_guides_four_wrong_entries() {
    let dir = tempfile::tempdir().unwrap();
    let guide = dir.path().join("guide.yaml");
    std::fs::write(
        &guide,
        "31: Last\n84: Bid\n85: Ask\n86: Volume\n87: Open\n88: Previous Close\n",
    )
    .unwrap();
    let out = bin().args(["fields", "check-mapping"]).arg(&guide).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "WRONG  85: you have \"Ask\", IBKR's table says \"Ask Size\"",
        "WRONG  86: you have \"Volume\", IBKR's table says \"Ask Price\"",
        "WRONG  87: you have \"Open\", IBKR's table says \"Volume\"",
        "WRONG  88: you have \"Previous Close\", IBKR's table says \"Bid Size\"",
        "4 of 6 entries wrong",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    let json = dir.path().join("right.json");
    std::fs::write(
        &json,
        r#"{"84": "Bid", "85": "Ask Size", "86": "Ask", "7762": "Volume Long"}"#,
    )
    .unwrap();
    let out = bin()
        .args(["fields", "check-mapping", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "- 85\n- 86\n").unwrap();
    let out = bin().args(["fields", "check-mapping"]).arg(&broken).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("broken.yaml"));
}

/// The catalogue against the copy of IBKR's table kept in tests/data (compiled from IBKR's
/// Campus page, OpenAPI spec and old swagger): every id there is here with the same name.
#[test]
fn catalogue_matches_the_independent_table() {
    let table =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ibkr-fields.md")).unwrap();
    let mut seen = 0;
    for line in table.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() != 6 {
            continue;
        }
        let ids: Vec<String> = if let Some(rest) = cells[0].strip_prefix("**") {
            // "**7724** (was **7680**)"
            rest.split("**")
                .filter(|s| s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty())
                .map(str::to_owned)
                .collect()
        } else if cells[0].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            vec![cells[0].to_owned()]
        } else {
            continue;
        };
        for id in ids {
            let field = by_id(&id).unwrap_or_else(|| panic!("id {id} from IBKR's table is missing"));
            if id != "7680" {
                assert_eq!(field.name, cells[1], "id {id}");
            }
            seen += 1;
        }
    }
    assert_eq!(seen, FIELDS.len(), "the catalogue has ids the table does not");
}

/// The mock's values come from the catalogue: each meaning's value parses as its field's kind.
#[test]
fn mock_values_parse_as_their_catalogue_kind() {
    use ibkr_probe::fields::parse::{FieldValue, parse};
    use ibkr_probe::mock::data;
    for conid in [data::ARM.conid, data::ARM_AUG25_143_C] {
        let quote = data::quote(conid).unwrap();
        for (meaning, _) in Meaning::NAMES {
            let field = meaning.field();
            let value = data::field_value(field.id, &quote).unwrap_or_else(|| panic!("no mock value for {meaning:?}"));
            let parsed = parse(field.kind, Some(&serde_json::Value::String(value.clone()))).unwrap();
            assert_ne!(parsed, FieldValue::Missing, "{meaning:?} = {value:?}");
        }
    }
}

#[test]
fn field_mapping_scenario_fails_when_told_85_is_the_ask() {
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/field-mapping.yaml")).unwrap();
    let out = crate::common::run_embedded()
        .args(["scenarios/field-mapping.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let planted = original.replace(
        "        fields: [last, bid, ask, bid_size, ask_size, high, low, open, prior_close]",
        "        fields: [last, bid, ask, bid_size, ask_size, high, low, open, prior_close]\n        mapping: {ask: \"85\"}",
    );
    assert_ne!(planted, original);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("setup")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/setup/session.yaml"),
        dir.path().join("setup/session.yaml"),
    )
    .unwrap();
    let file = dir.path().join("guide-mapping.yaml");
    std::fs::write(&file, planted).unwrap();
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("ask (field 85) = 598 looks like a size, not a price"),
        "{all}"
    );
    assert!(
        all.contains("field 85, which IBKR's table says is Ask Size") && all.contains("ask is field 86"),
        "{all}"
    );
    // An unknown meaning or id in a scenario is a file error.
    std::fs::write(&file, original.replace("bid_size, ask_size", "bid_sise, ask_size")).unwrap();
    let out = crate::common::run_embedded().arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("did you mean `bid_size`?"), "{}", text(&out));
}
