//! Bounded property tests for every parser a user or a server controls: bad input never panics;
//! what must be refused is refused, saying where; what a writer produces reads back the same.

use std::collections::HashSet;
use std::path::Path;

use ibkr_probe::client::IbkrMessage;
use ibkr_probe::config::env::parse_env_file;
use ibkr_probe::diagnose::explain::explain;
use ibkr_probe::oauth::header::parse_authorization_header;
use ibkr_probe::oauth::{DhParams, RsaPrivateKey};
use ibkr_probe::scenario::{load, path::JsonPath};
use proptest::prelude::*;

const SCENARIO: &str = include_str!("../../scenarios/known-conids.yaml");
/// Where SCENARIO lives, so its `use:` of the shared set-up resolves.
const SCENARIO_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/known-conids.yaml");
const VECTOR: &str = include_str!("../../vectors/k-short-2.json");

/// `text` with a few bytes replaced, removed or inserted: near-misses of a valid file, which
/// reach deeper into a parser than random noise.
fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(position, kind, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = position % bytes.len();
        match kind % 3 {
            0 => bytes[i] = byte,
            1 => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, byte),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    proptest::collection::vec(
        (
            any::<usize>(),
            any::<u8>(),
            prop::sample::select(b"{}[]:,\"'-\n #$*&!%0aZ\\".to_vec()),
        ),
        1..6,
    )
}

fn pem_of(label: &str, bytes: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn scenario_yaml(edits in edits(), noise in "\\PC{0,200}") {
        let _ = load::parse(Path::new(SCENARIO_PATH), &mutate(SCENARIO, &edits), &HashSet::new());
        let _ = load::parse(Path::new("s.yaml"), &noise, &HashSet::new());
    }

    #[test]
    fn vector_json(edits in edits()) {
        let _ = ibkr_probe::vectors::load::load_text(Path::new("v.json"), &mutate(VECTOR, &edits));
    }

    #[test]
    fn pem_and_dh_files(noise in "\\PC{0,300}", der in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = RsaPrivateKey::from_pem(&noise);
        let _ = DhParams::from_pkcs3_pem(&noise);
        for label in ["PRIVATE KEY", "RSA PRIVATE KEY", "DH PARAMETERS", "PUBLIC KEY"] {
            let pem = pem_of(label, &der);
            let _ = RsaPrivateKey::from_pem(&pem);
            let _ = DhParams::from_pkcs3_pem(&pem);
            let _ = ibkr_probe::oauth::RsaPublicKey::from_pem(&pem);
        }
    }

    #[test]
    fn env_files(noise in "\\PC{0,300}") {
        let _ = parse_env_file(&noise);
    }

    #[test]
    fn ibkr_bodies_and_error_text(body in proptest::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,120}", status in any::<u16>()) {
        let _ = IbkrMessage::parse(status, &body);
        let _ = explain(&text);
        let _ = ibkr_probe::diagnose::explain::scan_log(&text);
        // A body in IBKR's form always decodes back to its message, id and status.
        let json_body = serde_json::json!({"error": format!("id: {status}, error: {text}"), "statusCode": status});
        let decoded = explain(&json_body.to_string());
        prop_assert_eq!(decoded.message.as_deref(), Some(text.as_str()));
        prop_assert_eq!(decoded.reference_id, Some(u64::from(status)));
        prop_assert_eq!(decoded.status, (100..1000).contains(&status).then_some(status));
        let _ = ibkr_probe::client::redact_body(&body);
    }

    #[test]
    fn authorization_headers_and_json_paths(text in "\\PC{0,200}") {
        let _ = parse_authorization_header(&text);
        let _ = parse_authorization_header(&format!("OAuth {text}"));
        let _ = ibkr_probe::client::redact_authorization(&text);
        let _ = JsonPath::parse(&text);
        let _ = JsonPath::parse(&format!("${text}"));
        let _ = ibkr_probe::diagnose::compare::check_header(&text);
    }

    #[test]
    fn field_mappings(noise in "\\PC{0,200}") {
        let _ = ibkr_probe::fields::check::read_mapping(&noise);
        if let Ok(entries) = ibkr_probe::fields::check::read_mapping(&noise) {
            let _ = ibkr_probe::fields::check::check_mapping(&entries);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// `.env` lines in every accepted form (export, quotes, spaces, comments, blank lines) read
    /// back as written; a line without `=` is refused with its line number.
    #[test]
    fn env_files_read_back_and_name_the_bad_line(
        pairs in proptest::collection::vec(("[A-Z_][A-Z0-9_]{0,15}", "[A-Za-z0-9+/=:._-]{0,30}", 0u8..4), 1..8),
        junk in "[A-Za-z0-9 ]{1,12}",
        at in any::<prop::sample::Index>(),
    ) {
        let mut lines = vec!["# credentials".to_owned()];
        for (name, value, form) in &pairs {
            lines.push(match form {
                0 => format!("{name}={value}"),
                1 => format!("export {name}=\"{value}\""),
                2 => format!("  {name} = '{value}'  "),
                _ => format!("\t{name}=\t{value}\t"),
            });
        }
        let text = lines.join("\n");
        let expected: Vec<(String, String)> = pairs.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
        prop_assert_eq!(parse_env_file(&text).unwrap(), expected);

        prop_assume!(!junk.trim().is_empty());
        let line = at.index(lines.len()) + 1;
        let mut broken = lines.clone();
        broken.insert(line - 1, junk.clone());
        let (number, message) = parse_env_file(&broken.join("\n")).unwrap_err();
        prop_assert_eq!(number, line, "{}", message);
    }

    /// A header the client writes parses back to the same realm and parameters, whatever bytes
    /// the values hold; text that is not an OAuth header, or names a parameter twice, is refused.
    #[test]
    fn authorization_headers_read_back(
        realm in "\\PC{0,20}",
        params in proptest::collection::btree_map("oauth_[a-z]{1,10}", "\\PC{0,30}", 0..6),
        signature in "[A-Za-z0-9+/=]{0,44}",
        other in "[^oO ].{0,40}",
    ) {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let header = ibkr_probe::oauth::header::authorization_header(&realm, &pairs, &signature);
        let parsed = parse_authorization_header(&header).unwrap();
        prop_assert_eq!(parsed.realm.as_deref(), Some(realm.as_str()));
        prop_assert_eq!(parsed.get("oauth_signature"), Some(signature.as_str()));
        for (name, value) in &params {
            prop_assert_eq!(parsed.get(name), Some(value.as_str()));
        }
        prop_assert!(parse_authorization_header(&other).is_err());
        let twice = format!("{header}, oauth_signature=\"x\"");
        prop_assert!(parse_authorization_header(&twice).is_err());
    }

    /// A path written as `$.key[index]...` selects the value planted there; a path without its
    /// leading `$` is refused.
    #[test]
    fn json_paths_select_what_they_name(
        segments in proptest::collection::vec(prop_oneof!["[a-z][a-z0-9_]{0,8}".prop_map(Ok), (0usize..4).prop_map(Err)], 1..6),
        planted in any::<i64>(),
    ) {
        let mut text = "$".to_owned();
        let mut value = serde_json::json!(planted);
        for segment in segments.iter().rev() {
            value = match segment {
                Ok(key) => serde_json::json!({ key.as_str(): value }),
                Err(index) => {
                    let mut items = vec![serde_json::Value::Null; index + 1];
                    items[*index] = value;
                    serde_json::Value::Array(items)
                }
            };
        }
        for segment in &segments {
            match segment {
                Ok(key) => text.push_str(&format!(".{key}")),
                Err(index) => text.push_str(&format!("[{index}]")),
            }
        }
        let path = JsonPath::parse(&text).unwrap();
        prop_assert_eq!(path.select(&value), Some(serde_json::json!(planted)));
        prop_assert!(JsonPath::parse(&text[1..]).is_err());
    }

    /// A field mapping written from IBKR's own table reads back entry for entry, every entry
    /// judged right; a mapping naming a field that is not in the table is judged wrong.
    #[test]
    fn field_mappings_read_back(
        picks in prop::sample::subsequence((0..ibkr_probe::fields::catalogue::FIELDS.len()).collect::<Vec<_>>(), 1..8),
    ) {
        use ibkr_probe::fields::catalogue::FIELDS;
        let entries: Vec<(String, String)> =
            picks.iter().map(|&i| (FIELDS[i].id.to_owned(), FIELDS[i].name.to_owned())).collect();
        let text: String = entries
            .iter()
            .map(|(id, name)| format!("{}: {}\n", serde_json::json!(id), serde_json::json!(name)))
            .collect();
        let read = ibkr_probe::fields::check::read_mapping(&text).unwrap();
        prop_assert_eq!(&read, &entries);
        let verdicts = ibkr_probe::fields::check::check_mapping(&read);
        prop_assert!(verdicts.iter().all(|v| v.correct), "{:?}", verdicts);
        let unknown = ibkr_probe::fields::check::check_mapping(&[("99999999".to_owned(), "Nothing".to_owned())]);
        prop_assert!(!unknown[0].correct);
    }

    /// Random bytes dressed as a key file are refused, never taken for a key.
    #[test]
    fn random_key_files_are_refused(der in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(RsaPrivateKey::from_pem(&pem_of("PRIVATE KEY", &der)).is_err());
        prop_assert!(RsaPrivateKey::from_pem(&pem_of("RSA PRIVATE KEY", &der)).is_err());
        prop_assert!(ibkr_probe::oauth::RsaPublicKey::from_pem(&pem_of("PUBLIC KEY", &der)).is_err());
    }

    /// A scenario with an unknown top-level key is refused at that key's line; the valid file
    /// loads with every step.
    #[test]
    fn scenario_keys_are_checked(key in "[a-z]{3,12}", at in any::<prop::sample::Index>()) {
        const KNOWN: &[&str] = &["name", "description", "tags", "variables", "use", "steps", "each", "targets", "mock"];
        prop_assume!(!KNOWN.contains(&key.as_str()));
        let loaded = load::parse(Path::new(SCENARIO_PATH), SCENARIO, &HashSet::new()).unwrap();
        prop_assert!(!loaded.steps.is_empty());
        // Insert before a top-level key, so the new key is at the top level too.
        let lines: Vec<&str> = SCENARIO.lines().collect();
        let tops: Vec<usize> = lines.iter().enumerate()
            .filter(|(_, l)| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .map(|(i, _)| i)
            .collect();
        let line = tops[at.index(tops.len())];
        let mut edited = lines.clone();
        let extra = format!("{key}: 1");
        edited.insert(line, &extra);
        let error = load::parse(Path::new(SCENARIO_PATH), &edited.join("\n"), &HashSet::new()).unwrap_err();
        prop_assert_eq!(error.line, line as u64 + 1, "{}", error);
        prop_assert!(error.message.contains(&key), "{}", error);
    }

    /// A vector without one of its required fields is refused, naming the field.
    #[test]
    fn vectors_name_a_missing_field(which in 0usize..5) {
        let field = ["consumer_key", "access_token", "access_token_secret", "encryption_key_pem", "live_session_token"][which];
        let mut doc: serde_json::Value = serde_json::from_str(VECTOR).unwrap();
        doc.as_object_mut().unwrap().remove(field);
        match ibkr_probe::vectors::load::load_text(Path::new("v.json"), &doc.to_string()) {
            Ok(_) => prop_assert!(false, "a vector without {} was accepted", field),
            Err(error) => prop_assert!(error.to_string().contains(field), "{}", error),
        }
    }
}

/// The mock answers any Authorization header, however broken, with a 401 and stays up.
#[tokio::test]
async fn the_mock_survives_hostile_headers() {
    use ibkr_probe::config::generate::{DhChoice, GeneratedCredentials};
    use ibkr_probe::mock::{MockConfig, MockServer};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let generated = GeneratedCredentials::generate(
        "MOCKCONS1",
        "limited_poa",
        DhChoice::Ffdhe2048,
        &mut ibkr_probe::oauth::SystemRandom,
    )
    .unwrap();
    let mut config = MockConfig::new(generated.server());
    config.log = std::sync::Arc::new(|_: &str| {});
    let mock = MockServer::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let http = reqwest::Client::new();
    let mut runner = TestRunner::deterministic();
    let strategy = "[ -~]{0,300}";
    for i in 0..120 {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        let header = if i % 2 == 0 { format!("OAuth {value}") } else { value };
        for path in ["/oauth/live_session_token", "/iserver/accounts"] {
            let response = http
                .post(format!("{}{path}", mock.base_url()))
                .header("authorization", header.as_str())
                .header("content-length", "0")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{header:?}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body["error"].is_string());
        }
    }
    mock.stop().await;
}
