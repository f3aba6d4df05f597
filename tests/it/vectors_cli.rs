//! `ibkr-probe vectors verify` as a user runs it: real files, mutated files, broken files.

use crate::common::{bin, text};

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn verify(args: &[&str]) -> Output {
    bin()
        .arg("vectors")
        .arg("verify")
        .args(args)
        .output()
        .expect("run ibkr-probe")
}

fn example() -> Value {
    let text = std::fs::read_to_string(vectors_dir().join("ibkr-2018-oauth-example.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write_case(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn every_bundled_vector_passes() {
    let out = verify(&[vectors_dir().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in [
        "ibkr-2018-oauth-example",
        "k-high-bit-1",
        "k-short-2",
        "py-pkcs1-crlf-query",
        "py-pkcs8-demo-exponent-whitespace",
    ] {
        assert!(stdout.contains(&format!("({name})")), "{name} missing from:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"));
}

#[test]
fn json_output_lists_every_step() {
    let out = verify(&[
        "--format",
        "json",
        vectors_dir().join("k-high-bit-1.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["passed"], 1);
    let steps: Vec<&str> = doc["files"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        &steps[..9],
        [
            "dh_params_pem_equals_hex",
            "decrypt_access_token_secret",
            "prepend",
            "dh_challenge",
            "lst_base_string",
            "lst_request_signature",
            "shared_secret",
            "live_session_token",
            "live_session_token_signature"
        ]
    );
}

/// Changes one character of a string so it stays valid hex or base64: the first character.
fn mutate(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    chars[0] = match chars[0] {
        'a' => 'b',
        '0' => '1',
        'A' => 'B',
        'P' => 'Q',
        c if c.is_ascii_digit() => '0',
        c if c.is_ascii_lowercase() => 'a',
        _ => 'A',
    };
    chars.into_iter().collect()
}

#[test]
fn changing_any_one_expectation_fails_that_step_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["expect_access_token_secret_plain_b64"], "decrypt_access_token_secret"),
        (&["expect_prepend_hex"], "prepend"),
        (&["live_session_token", "expect_dh_challenge_hex"], "dh_challenge"),
        (&["live_session_token", "expect_base_string"], "lst_base_string"),
        (&["live_session_token", "expect_signature"], "lst_request_signature"),
        (&["live_session_token", "expect_shared_secret_hex"], "shared_secret"),
        (
            &["live_session_token", "expect_live_session_token"],
            "live_session_token",
        ),
        (
            &["live_session_token", "expect_live_session_token_signature"],
            "live_session_token_signature",
        ),
        (&["requests", "2", "expect_base_string"], "requests[2].base_string"),
        (&["requests", "3", "expect_signature"], "requests[3].signature"),
        (&["dh_generator_hex"], "dh_params_pem_equals_hex"),
    ];
    for (path, step) in cases {
        let mut doc = example();
        let mut slot = &mut doc;
        for key in *path {
            slot = match key.parse::<usize>() {
                Ok(i) => &mut slot[i],
                Err(_) => &mut slot[*key],
            };
        }
        *slot = Value::String(mutate(slot.as_str().unwrap()));
        let file = write_case(dir.path(), "mutated.json", &doc.to_string());
        let out = verify(&["--format", "json", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(4), "{path:?}: {}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let first_failed = doc["files"][0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] != "ok")
            .unwrap();
        assert_eq!(first_failed["step"], *step, "{path:?}");
        assert!(first_failed["position"].is_u64() || first_failed["error"].is_string());
    }
}

#[test]
fn mismatch_in_text_names_step_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = example();
    let original = doc["requests"][2]["expect_base_string"].as_str().unwrap().to_owned();
    doc["requests"][2]["expect_base_string"] = Value::String(original.replace("conid%3D8314", "conid%3D8315"));
    let file = write_case(dir.path(), "one-off.json", &doc.to_string());
    let out = verify(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let position = original.find("8314").unwrap() + 3;
    assert!(
        stdout.contains(&format!(
            "FAIL  requests[2].base_string: differs at position {position}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("conid%3D8315") && stdout.contains("conid%3D8314"),
        "{stdout}"
    );
}

#[test]
fn broken_files_exit_2_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let full = example().to_string();
    let mut cases: Vec<(&str, String, &str)> = vec![
        ("truncated.json", full[..full.len() / 2].to_owned(), "(json)"),
        ("empty.json", String::new(), "(json)"),
    ];
    let edits: &[(&str, &[&str], Option<&str>, &str)] = &[
        ("missing.json", &["expect_prepend_hex"], None, "expect_prepend_hex"),
        (
            "bad-hex.json",
            &["live_session_token", "dh_response_hex"],
            Some("12zz"),
            "live_session_token.dh_response_hex",
        ),
        (
            "bad-b64.json",
            &["access_token_secret"],
            Some("abc!"),
            "access_token_secret",
        ),
        (
            "not-a-key.json",
            &["signature_key_pem"],
            Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
            "signature_key_pem",
        ),
        (
            "garbage-pem.json",
            &["encryption_key_pem"],
            Some("hello"),
            "encryption_key_pem",
        ),
        (
            "bad-dh.json",
            &["dh_param_pem"],
            Some("-----BEGIN DH PARAMETERS-----\nMAMCAQE=\n-----END DH PARAMETERS-----\n"),
            "dh_param_pem",
        ),
        (
            "bad-request-b64.json",
            &["requests", "1", "expect_signature"],
            Some("%%%"),
            "requests[1].expect_signature",
        ),
    ];
    for (name, path, value, field) in edits {
        let mut doc = example();
        let (last, parents) = path.split_last().unwrap();
        let mut slot = &mut doc;
        for key in parents {
            slot = match key.parse::<usize>() {
                Ok(i) => &mut slot[i],
                Err(_) => &mut slot[*key],
            };
        }
        match value {
            Some(v) => slot[*last] = Value::String((*v).to_owned()),
            None => {
                slot.as_object_mut().unwrap().remove(*last);
            }
        }
        cases.push((name, doc.to_string(), field));
    }
    let mut doc = example();
    doc["format"] = Value::from(2);
    cases.push(("format-2.json", doc.to_string(), "format"));
    let mut doc = example();
    doc["expect_prepnd_hex"] = Value::from("00");
    cases.push(("typo.json", doc.to_string(), "expect_prepnd_hex"));

    for (name, contents, field) in cases {
        let file = write_case(dir.path(), name, &contents);
        let out = verify(&[file.to_str().unwrap()]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {all}");
        assert!(all.contains(name), "{name}: file not named in {all}");
        assert!(all.contains(field), "{name}: field {field} not named in {all}");
        assert!(!all.contains("panicked"), "{all}");
    }
}

#[test]
fn missing_path_and_empty_folder_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify(&[dir.path().join("nope.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nope.json"));
    let out = verify(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no *.json"));
}

#[test]
fn bad_command_line_exits_1_and_help_exits_0() {
    let out = bin().args(["vectors", "verify", "--frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = bin().args(["vectors", "verify", "--format", "xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = bin().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// Every secret of every bundled file, in every encoding we can think of, must stay out of the
/// output unless --show-secrets, also when steps fail.
#[test]
fn no_secret_in_output_without_show_secrets() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let lst = &doc["live_session_token"];
        let secrets_b64 = [
            doc["expect_access_token_secret_plain_b64"].as_str().unwrap().to_owned(),
            lst["expect_live_session_token"].as_str().unwrap().to_owned(),
            lst["expect_signature"].as_str().unwrap().to_owned(),
        ];
        let secrets_hex = [
            doc["expect_prepend_hex"].as_str().unwrap().to_owned(),
            lst["expect_shared_secret_hex"].as_str().unwrap().to_owned(),
            lst["dh_random_hex"].as_str().unwrap().to_owned(),
            lst["expect_live_session_token_signature"].as_str().unwrap().to_owned(),
        ];
        let mut needles = Vec::new();
        for s in &secrets_b64 {
            let bytes = b64.decode(s).unwrap();
            needles.extend([
                s.clone(),
                hex::encode(&bytes),
                hex::encode_upper(&bytes),
                s.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"),
            ]);
        }
        for s in &secrets_hex {
            let bytes = hex::decode(if s.len() % 2 == 1 { format!("0{s}") } else { s.clone() }).unwrap();
            needles.extend([s.clone(), s.to_uppercase(), b64.encode(&bytes)]);
        }
        // Break every secret step so the failure path prints too.
        for key in ["expect_access_token_secret_plain_b64", "expect_prepend_hex"] {
            let value = doc[key].as_str().unwrap().to_owned();
            doc[key] = Value::String(mutate(&value));
        }
        let mutated = write_case(dir.path(), "m.json", &doc.to_string());
        for file in [&path, &mutated] {
            for format in ["text", "json"] {
                let out = verify(&["--format", format, file.to_str().unwrap()]);
                let all = text(&out);
                for needle in &needles {
                    // Short needles could match by chance; every secret here is at least 20 bytes.
                    let probe = &needle[..needle.len().min(24)];
                    assert!(
                        !all.contains(probe),
                        "{} leaked a secret ({format}): {probe}",
                        file.display()
                    );
                }
            }
        }
        // --show-secrets is the way to see them: the (mutated) expected prepend is printed.
        let out = verify(&["--show-secrets", mutated.to_str().unwrap()]);
        let shown_prepend = &doc["expect_prepend_hex"].as_str().unwrap()[..24];
        assert!(text(&out).contains(shown_prepend), "{}", text(&out));
    }
}
