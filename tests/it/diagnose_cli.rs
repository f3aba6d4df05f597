//! `explain`, `diagnose`, `diagnose compare` and `activation` as users run them: real IBKR
//! bodies, planted credential mistakes, values from deliberately wrong computations, and a mock
//! whose key activates a few seconds later.

use crate::common::{bin, text};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[test]
fn explain_file_finds_each_distinct_error_of_a_bot_log_once() {
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/logs/ibind-bot.log");
    let out = bin().arg("explain").arg("--file").arg(&log).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "every error is known: {}", text(&out));
    assert!(
        stdout.contains("6 distinct IBKR error(s), 8 line(s) in all"),
        "{stdout}"
    );
    for expected in [
        "[1] 1 time(s), line 3\nmessage: LST failed, error: No access secret key found",
        "[2] 1 time(s), line 6\nmessage: Bad Request: no bridge (HTTP 400)",
        "[3] 1 time(s), line 9",
        "[4] 3 time(s), lines 11-13",
        "[5] 1 time(s), line 14",
        "[6] 1 time(s), line 15",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    for title in [
        "snapshot without values",
        "keep-alive (tickle) failed",
        "500 on an order",
        "reply id not found",
    ] {
        assert_eq!(
            stdout.matches(&format!("\n{title}: ")).count(),
            1,
            "{title} once: {stdout}"
        );
    }

    // The same log on standard input, as JSON.
    let mut child = bin()
        .args(["explain", "--json", "--file", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&log).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.as_array().unwrap().len(), 6);
    assert_eq!(findings[3]["count"], 3);
    assert_eq!(findings[3]["explanation"]["entry"]["causes"][0]["key"], "ibkr-restart");

    let out = bin().args(["explain", "--file", "no-such.log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no-such.log"), "{}", text(&out));
}

#[test]
fn compare_template_writes_a_file_to_fill_in() {
    let (dir, env) = credential_set();
    let file = dir.path().join("mine.json");
    let template = || {
        bin()
            .args(["diagnose", "compare", "--template"])
            .arg(&file)
            .envs(env.iter().cloned())
            .output()
            .unwrap()
    };
    let out = template();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "it holds private keys");
    }
    let out = bin().args(["diagnose", "compare"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "untouched, it matches: {}", text(&out));
    // The user's client puts realm into a request's base string: named.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let base = doc["requests"][0]["expect_base_string"].as_str().unwrap().to_owned();
    doc["requests"][0]["expect_base_string"] = Value::from(format!("{base}%26realm%3Dlimited_poa"));
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_string(&doc).unwrap()).unwrap();
    let out = bin().args(["diagnose", "compare"]).arg(&edited).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out).contains("requests[0].base_string: realm is in the base string"),
        "{}",
        text(&out)
    );

    assert_eq!(template().status.code(), Some(2), "an existing file is not replaced");
    let out = bin()
        .args(["diagnose", "compare", "--template"])
        .arg(dir.path().join("other.json"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no credentials: {}", text(&out));
    assert!(text(&out).contains("keys generate"), "{}", text(&out));
}

#[test]
fn compare_refuses_a_header_it_cannot_parse() {
    let vector = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/ibkr-2018-oauth-example.json");
    let out = bin()
        .args(["diagnose", "compare"])
        .arg(&vector)
        .args(["--header", "Bearer abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--header: "), "{}", text(&out));
    assert!(!text(&out).contains("every step matches"), "{}", text(&out));
}

#[test]
fn explain_decodes_real_bodies_and_says_ids_are_not_codes() {
    let cases = [
        (
            r#"{"error":"id: 39687, error: invalid consumer","statusCode":401}"#,
            "weekend reset",
        ),
        (
            r#"{"error":"id: 118871, error: LST failed, error: No access secret key found for 6f531f8fd316915af53f","statusCode":401}"#,
            "access token",
        ),
        (r#"{"error":"Bad Request: no bridge","statusCode":400}"#, "ssodh/init"),
        ("LST failed", "prepend"),
        ("Invalid signature", "BigInteger.toByteArray()"),
    ];
    for (input, needle) in cases {
        let out = bin().args(["explain", input]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{input}");
        assert!(text(&out).contains(needle), "{input}: {}", text(&out));
    }
    let out = bin().args(["explain", "764"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains("not an error code"));
    let out = bin()
        .args(["explain", "--json", "error", "764", "happened"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "text outside the catalogue");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["entry"].is_null());
}

/// Writes a fresh credential set and returns its folder and env variables.
fn credential_set() -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let env = ibkr_probe::config::env::parse_env_file(&std::fs::read_to_string(dir.path().join("ibkr.env")).unwrap())
        .unwrap();
    (dir, env)
}

fn diagnose(env: &[(String, String)], extra: &[&str]) -> Output {
    bin()
        .arg("diagnose")
        .args(extra)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn set(env: &mut [(String, String)], name: &str, value: String) {
    env.iter_mut().find(|(k, _)| k == name).unwrap().1 = value;
}

#[test]
fn diagnose_passes_a_good_set_and_names_each_planted_mistake() {
    let (dir, env) = credential_set();
    let out = diagnose(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("same as"),
        "fingerprints are compared with public_*.pem"
    );

    let secret = env
        .iter()
        .find(|(k, _)| k == "IB_ACCESS_TOKEN_SECRET")
        .unwrap()
        .1
        .clone();
    let path = |name: &str| dir.path().join(name).display().to_string();
    type Plant = Box<dyn Fn(&mut Vec<(String, String)>)>;
    let cases: Vec<(&str, Plant, &str)> = vec![
        (
            "truncated secret",
            Box::new(move |e| set(e, "IB_ACCESS_TOKEN_SECRET", secret[..secret.len() - 3].to_owned())),
            "truncated",
        ),
        (
            "swapped keys",
            Box::new({
                let (s, en) = (path("private_signature.pem"), path("private_encryption.pem"));
                move |e| {
                    set(e, "IB_SIGNATURE_KEY_PATH", en.clone());
                    set(e, "IB_ENCRYPTION_KEY_PATH", s.clone());
                }
            }),
            "swap IB_SIGNATURE_KEY_PATH and IB_ENCRYPTION_KEY_PATH",
        ),
        (
            "TESTCONS, the documentation example",
            Box::new(|e| set(e, "IB_CONSUMER_KEY", "TESTCONS".into())),
            "register your own consumer key",
        ),
        (
            "DH file not PKCS#3",
            Box::new({
                let key = path("public_signature.pem");
                move |e| set(e, "IB_DH_PARAM_PATH", key.clone())
            }),
            "PKCS#3",
        ),
        (
            "missing value",
            Box::new(|e| e.retain(|(k, _)| k != "IB_ACCESS_TOKEN")),
            "not set: IB_ACCESS_TOKEN",
        ),
    ];
    for (what, plant, needle) in cases {
        let mut planted = env.clone();
        plant(&mut planted);
        let out = diagnose(&planted, &[]);
        assert_eq!(out.status.code(), Some(4), "{what}: {}", text(&out));
        assert!(
            text(&out).contains(needle),
            "{what}: expected {needle:?} in\n{}",
            text(&out)
        );
        assert!(text(&out).contains("fix:"), "{what}");
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("private_encryption.pem"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let out = diagnose(&env, &[]);
        assert_eq!(out.status.code(), Some(4));
        assert!(
            text(&out).contains("readable by others") && text(&out).contains("chmod 600"),
            "{}",
            text(&out)
        );
    }
    // CRLF key files are read, and said so.
    let private_mode = std::fs::metadata(dir.path().join("private_signature.pem"))
        .unwrap()
        .permissions();
    std::fs::set_permissions(dir.path().join("private_encryption.pem"), private_mode).unwrap();
    let crlf = std::fs::read_to_string(dir.path().join("private_signature.pem"))
        .unwrap()
        .replace('\n', "\r\n");
    std::fs::write(dir.path().join("private_signature.pem"), crlf).unwrap();
    let out = diagnose(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("CRLF line endings"));
}

#[tokio::test(flavor = "multi_thread")]
async fn diagnose_online_against_the_mock() {
    let (_dir, env) = credential_set();
    let (mock, _) = crate::common::start_mock(|_| {}).await;
    let base = mock.base_url();
    let env2 = env.clone();
    let out = tokio::task::spawn_blocking(move || diagnose(&env2, &["--online", "--base-url", &base]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("validated") && text(&out).contains("clock skew"),
        "{}",
        text(&out)
    );
    mock.stop().await;

    let (mock, _) =
        crate::common::start_mock(|c| c.activate_at = Some(SystemTime::now() + Duration::from_secs(3600))).await;
    let base = mock.base_url();
    let out = tokio::task::spawn_blocking(move || diagnose(&env, &["--online", "--json", "--base-url", &base]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["online"]["message"].as_str().unwrap().contains("invalid consumer"));
    mock.stop().await;
}

fn vector(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn compare(doc: &Value, extra: &[&str]) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("mine.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = bin()
        .args(["diagnose", "compare", "--json"])
        .arg(&file)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

fn mistake_for(findings: &Value, step: &str) -> String {
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["step"] == step)
        .and_then(|f| f["mistake"].as_str())
        .unwrap_or("(none)")
        .to_owned()
}

fn hmac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Each classic mistake, made deliberately here (independently of the comparison code), is named.
#[test]
fn compare_names_each_known_mistake() {
    type Sha1Mac = Hmac<sha1::Sha1>;
    type Sha256Mac = Hmac<sha2::Sha256>;
    let base = vector("ibkr-2018-oauth-example.json");
    let secret = B64
        .decode(base["expect_access_token_secret_plain_b64"].as_str().unwrap())
        .unwrap();
    let k = hex::decode(base["live_session_token"]["expect_shared_secret_hex"].as_str().unwrap()).unwrap();
    let lst_text = base["live_session_token"]["expect_live_session_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut cases: Vec<(Value, &str, &str)> = Vec::new();
    // K padded to the prime's length (k-short-2 has a 255-byte K).
    let mut short = vector("k-short-2.json");
    let k_short = short["live_session_token"]["expect_shared_secret_hex"]
        .as_str()
        .unwrap()
        .to_owned();
    short["live_session_token"]["expect_shared_secret_hex"] = Value::from(format!("00{k_short}"));
    cases.push((short, "shared_secret", "padded"));
    // K without its sign byte (k-high-bit-1 has 257 bytes with a leading 00).
    let mut high = vector("k-high-bit-1.json");
    let k_high = high["live_session_token"]["expect_shared_secret_hex"]
        .as_str()
        .unwrap()
        .to_owned();
    high["live_session_token"]["expect_shared_secret_hex"] = Value::from(k_high[2..].to_owned());
    cases.push((high, "shared_secret", "sign byte"));
    // Prepend in uppercase, and not hex at all.
    let mut upper = base.clone();
    upper["expect_prepend_hex"] = Value::from(base["expect_prepend_hex"].as_str().unwrap().to_uppercase());
    cases.push((upper, "prepend", "uppercase"));
    let mut encrypted = base.clone();
    let ciphertext = B64.decode(base["access_token_secret"].as_str().unwrap()).unwrap();
    encrypted["expect_prepend_hex"] = Value::from(hex::encode(ciphertext));
    cases.push((encrypted, "prepend", "still-encrypted"));
    let mut not_hex = base.clone();
    not_hex["expect_prepend_hex"] = base["expect_access_token_secret_plain_b64"].clone();
    cases.push((not_hex, "prepend", "base64, not hex"));
    // HMAC-SHA256 instead of HMAC-SHA1 for the LST.
    let mut sha256 = base.clone();
    sha256["live_session_token"]["expect_live_session_token"] = Value::from(B64.encode(hmac::<Sha256Mac>(&k, &secret)));
    cases.push((sha256, "live_session_token", "HMAC-SHA256"));
    // The LST used as its base64 string, not its bytes, for a request signature.
    let mut as_string = base.clone();
    let request = &base["requests"][2];
    let wrong = B64.encode(hmac::<Sha256Mac>(
        lst_text.as_bytes(),
        request["expect_base_string"].as_str().unwrap().as_bytes(),
    ));
    as_string["requests"][2]["expect_signature"] = Value::from(wrong);
    cases.push((as_string, "requests[2].signature", "base64 text"));
    // The LST validated with its text as the key.
    let mut validation = base.clone();
    validation["live_session_token"]["expect_live_session_token_signature"] =
        Value::from(hex::encode(hmac::<Sha1Mac>(lst_text.as_bytes(), b"TESTCONS")));
    cases.push((validation, "live_session_token_signature", "base64 text"));
    // Realm in the base string (inserted where it sorts: after oauth_token).
    let mut realm = base.clone();
    let request_base = request["expect_base_string"].as_str().unwrap();
    realm["requests"][2]["expect_base_string"] = Value::from(format!("{request_base}%26realm%3Dtest_realm"));
    cases.push((realm, "requests[2].base_string", "realm"));
    // `/` not encoded in the URL.
    let mut slash = base.clone();
    let (method, rest) = request_base.split_once('&').unwrap();
    let (url, params) = rest.split_once('&').unwrap();
    slash["requests"][2]["expect_base_string"] = Value::from(format!("{method}&{}&{params}", url.replace("%2F", "/")));
    cases.push((slash, "requests[2].base_string", "`/`"));
    // Query parameters left out.
    let mut query_out = base.clone();
    query_out["requests"][2]["expect_base_string"] = Value::from(request_base.replace("conid%3D8314%26", ""));
    cases.push((query_out, "requests[2].base_string", "left out"));
    // Values encoded twice (a comma in the query of the Python-made vector).
    let mut twice = vector("py-pkcs1-crlf-query.json");
    let py_base = twice["requests"][0]["expect_base_string"]
        .as_str()
        .unwrap()
        .replace("%2C", "%252C");
    twice["requests"][0]["expect_base_string"] = Value::from(py_base);
    cases.push((twice, "requests[0].base_string", "encoded twice"));
    // The prepend left out of the LST request's base string.
    let mut no_prepend = base.clone();
    let lst_base = base["live_session_token"]["expect_base_string"].as_str().unwrap();
    no_prepend["live_session_token"]["expect_base_string"] = Value::from(
        lst_base
            .trim_start_matches(base["expect_prepend_hex"].as_str().unwrap())
            .to_owned(),
    );
    cases.push((no_prepend, "lst_base_string", "prepend is missing"));

    for (doc, step, needle) in cases {
        let (code, findings) = compare(&doc, &[]);
        assert_eq!(code, Some(4), "{step}");
        let mistake = mistake_for(&findings, step);
        assert!(
            mistake.contains(needle),
            "{step}: expected {needle:?}, got {mistake:?} in {findings}"
        );
    }

    // A correct file: nothing to report, exit 0.
    let (code, findings) = compare(&base, &[]);
    assert_eq!(code, Some(0), "{findings}");
    // A signature not URL-encoded in the header.
    let (code, findings) = compare(
        &base,
        &[
            "--header",
            r#"OAuth realm="test_realm", oauth_signature="+BdIuZDNooYZAbO9RZUCTC5F/3HjFOb04Tu4crpi0v8=""#,
        ],
    );
    assert_eq!(code, Some(4));
    assert!(findings["header"].as_str().unwrap().contains("not URL-encoded"));
}

async fn activation(env: Vec<(String, String)>, base: String, extra: &'static [&'static str]) -> (Output, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = bin()
            .args(["activation", "--base-url", &base])
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        (out, started.elapsed())
    })
    .await
    .unwrap()
}

/// The watch itself, on a manual clock shared by the mock and the client: the key turns active
/// 4 s in, so attempts at 0, 1, 2 and 3 s find it inactive and the one at 4 s active; a key
/// that never activates ends at the deadline. No real waiting.
#[tokio::test]
async fn activation_watch_reports_each_attempt_until_activation_or_the_deadline() {
    use ibkr_probe::clock::{Clock, ManualClock};
    use ibkr_probe::diagnose::activation::{self, State};
    let clock = ManualClock::new(SystemTime::now());
    for (activates_in, timeout, expected) in [
        (
            Duration::from_secs(4),
            Duration::from_secs(30),
            vec![
                ("inactive", 0),
                ("inactive", 1000),
                ("inactive", 2000),
                ("inactive", 3000),
                ("active", 4000),
            ],
        ),
        (
            Duration::from_secs(3600),
            Duration::from_millis(2500),
            vec![("inactive", 0), ("inactive", 1000), ("inactive", 2000)],
        ),
    ] {
        let activate_at = clock.now() + activates_in;
        let mock_clock = clock.clone();
        let (mock, _) = crate::common::start_mock(move |c| {
            c.activate_at = Some(activate_at);
            c.clock = mock_clock;
        })
        .await;
        let options = ibkr_probe::client::ClientOptions {
            clock: clock.clone(),
            ..crate::common::options(mock.base_url())
        };
        let client =
            ibkr_probe::client::Client::new(crate::common::generated().credentials().unwrap(), options).unwrap();
        let mut seen = Vec::new();
        let last = activation::watch(&client, Duration::from_secs(1), timeout, |attempt| {
            let state = if attempt.state == State::Active {
                "active"
            } else {
                "inactive"
            };
            seen.push((state, attempt.elapsed_ms));
        })
        .await;
        assert_eq!(seen, expected);
        assert_eq!(last == State::Active, activates_in < timeout, "{last:?}");
        mock.stop().await;
    }
}

/// The command as users run it: exit 0 once active, with one JSON line per attempt (the key
/// turns active when the test has seen an inactive attempt: the mock's clock jumps two hours,
/// its timestamp window wide enough for the client's real clock), and 4 at the deadline with
/// what to expect next.
#[tokio::test(flavor = "multi_thread")]
async fn activation_watch_returns_0_after_activation_and_4_at_the_deadline() {
    use ibkr_probe::clock::{Clock, ManualClock};
    let (_dir, env) = credential_set();
    let clock = ManualClock::new(SystemTime::now());
    let mock_clock = clock.clone();
    let (mock, _) = crate::common::start_mock(move |c| {
        c.activate_at = Some(mock_clock.now() + Duration::from_secs(3600));
        c.timestamp_window = Duration::from_secs(86_400);
        c.clock = mock_clock;
    })
    .await;
    let mut child = bin()
        .args([
            "activation",
            "--watch",
            "--interval",
            "100ms",
            "--timeout",
            "60s",
            "--json",
            "--base-url",
        ])
        .arg(mock.base_url())
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (lines, status) = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in std::io::BufRead::lines(stdout) {
            let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if lines.is_empty() {
                assert_eq!(line["state"], "inactive", "{line}");
                clock.advance(Duration::from_secs(7200));
            }
            lines.push(line);
        }
        (lines, child.wait().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert!(lines.len() >= 2, "{lines:?}");
    assert_eq!(lines.last().unwrap()["state"], "active", "{lines:?}");
    mock.stop().await;

    let (mock, _) =
        crate::common::start_mock(|c| c.activate_at = Some(SystemTime::now() + Duration::from_secs(3600))).await;
    let (out, elapsed) = activation(
        env.clone(),
        mock.base_url(),
        &["--watch", "--interval", "100ms", "--timeout", "300ms"],
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(elapsed < Duration::from_secs(5));
    assert!(
        text(&out).contains("not active yet") && text(&out).contains("weekend reset"),
        "{}",
        text(&out)
    );
    // One attempt, without --watch: 4 while inactive.
    let (out, _) = activation(env, mock.base_url(), &[]).await;
    assert_eq!(out.status.code(), Some(4));
    mock.stop().await;
}

/// A watch ended by Ctrl-C or a CI timeout's SIGTERM exits 3 with a word, like `run`.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_watch_exits_3() {
    let (_dir, env) = credential_set();
    let (mock, _) =
        crate::common::start_mock(|c| c.activate_at = Some(SystemTime::now() + Duration::from_secs(3600))).await;
    for signal in ["-INT", "-TERM"] {
        let mut child = bin()
            .args(["activation", "--watch", "--interval", "1s", "--base-url"])
            .arg(mock.base_url())
            .envs(env.iter().cloned())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The first attempt's line means the watch, and its signal handler, are running.
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let out = tokio::task::spawn_blocking(move || {
            let mut first = String::new();
            std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
            assert!(first.starts_with("attempt 1"), "{first}");
            std::process::Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            let status = child.wait().unwrap();
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
            (status, rest)
        })
        .await
        .unwrap();
        assert_eq!(out.0.code(), Some(3), "{signal}: {}", out.1);
        assert!(out.1.contains("interrupted"), "{}", out.1);
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_on_active_runs_the_command() {
    let (dir, env) = credential_set();
    let (mock, _) = crate::common::start_mock(|_| {}).await;
    let marker = dir.path().join("active.txt");
    let command: &'static str = Box::leak(format!("touch {}", marker.display()).into_boxed_str());
    let args: &'static [&'static str] = Box::leak(vec!["--on-active", command].into_boxed_slice());
    let (out, _) = activation(env, mock.base_url(), args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(marker.exists());
    mock.stop().await;
}

/// No output of diagnose or activation carries a secret, in any encoding.
#[tokio::test(flavor = "multi_thread")]
async fn diagnostics_print_no_secrets() {
    let (dir, env) = credential_set();
    let (mock, _) = crate::common::start_mock(|_| {}).await;
    let base = mock.base_url();
    let env2 = env.clone();
    let outputs = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        for extra in [
            &[][..],
            &["--json"][..],
            &["--online", "--base-url", &base][..],
            &["--online", "--json", "--base-url", &base][..],
        ] {
            all.push_str(&text(&diagnose(&env2, extra)));
        }
        for extra in [&["--json"][..], &[][..]] {
            let out = bin()
                .args(["activation", "--base-url", &base])
                .args(extra)
                .envs(env2.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap();
            all.push_str(&text(&out));
        }
        all
    })
    .await
    .unwrap();
    let creds = crate::common::generated().credentials().unwrap();
    let secret = creds.access_token_secret.expose().clone();
    let plain = ibkr_probe::oauth::lst::decrypt_access_token_secret(&creds.encryption_key, &secret).unwrap();
    let mut needles = vec![secret.clone(), secret.replace('+', "%2B").replace('/', "%2F")];
    needles.extend([
        hex::encode(plain.expose()),
        hex::encode_upper(plain.expose()),
        B64.encode(plain.expose()),
    ]);
    for name in ["private_signature.pem", "private_encryption.pem"] {
        let pem = std::fs::read_to_string(dir.path().join(name)).unwrap();
        needles.extend(pem.lines().filter(|l| !l.starts_with("-----")).map(str::to_owned));
    }
    for needle in needles {
        let probe = &needle[..needle.len().min(24)];
        assert!(!outputs.contains(probe), "leaked {probe}");
    }
    mock.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn reading_a_world_readable_key_warns() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, env) = credential_set();
    std::fs::set_permissions(
        dir.path().join("private_signature.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (mock, _) = crate::common::start_mock(|_| {}).await;
    let (out, _) = activation(env, mock.base_url(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "a warning, not a failure: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("readable by others (mode 644); run chmod 600"),
        "{}",
        text(&out)
    );
    mock.stop().await;
}
