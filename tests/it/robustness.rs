//! Bad input never panics: bounded property tests for every parser a user or a server controls.
//! Each input is either accepted or rejected with an error; the test fails on a panic.

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
        let _ = load::parse(Path::new("s.yaml"), &mutate(SCENARIO, &edits), &HashSet::new());
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
