//! The leak test: every command, with traces, reports, failure paths and mock logs, is run
//! against the mock with a known credential set, and all output is scanned for every secret in
//! every encoding. A test of the test plants each encoding and checks the scanner finds it.

use crate::common::{bin, text};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;

const STD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const URL_SAFE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Every form a secret could take in output, each with a name for the report.
struct Needles(Vec<(String, String)>);

impl Needles {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn add_text(&mut self, what: &str, text: &str) {
        let percent = text
            .replace('%', "%25")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        self.push(what, "as text", text);
        self.push(what, "percent-encoded", &percent);
        self.push(what, "upper-case", &text.to_uppercase());
    }

    fn add_bytes(&mut self, what: &str, bytes: &[u8]) {
        self.push(what, "hex", &hex::encode(bytes));
        self.push(what, "HEX", &hex::encode_upper(bytes));
        let b64 = STD.encode(bytes);
        self.push(what, "base64", &b64);
        self.push(what, "base64url", &URL_SAFE.encode(bytes));
        self.push(
            what,
            "percent-encoded base64",
            &b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"),
        );
    }

    fn push(&mut self, what: &str, encoding: &str, value: &str) {
        // A 20-character prefix of a 16+ byte secret cannot appear by chance.
        let probe: String = value.chars().take(20).collect();
        if probe.len() >= 16 {
            self.0.push((format!("{what} ({encoding})"), probe));
        }
    }

    /// Every secret found in `haystack`, by name.
    fn scan(&self, haystack: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, probe)| haystack.contains(probe.as_str()))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// The credential set's own secrets, from the files `keys generate` style writing produced.
fn credential_needles(dir: &Path) -> Needles {
    let mut needles = Needles::new();
    let env = ibkr_probe::config::env::parse_env_file(&std::fs::read_to_string(dir.join("ibkr.env")).unwrap()).unwrap();
    let secret = &env.iter().find(|(k, _)| k == "IB_ACCESS_TOKEN_SECRET").unwrap().1;
    needles.add_text("encrypted access token secret", secret);
    needles.add_bytes("encrypted access token secret", &STD.decode(secret).unwrap());
    let key = ibkr_probe::oauth::RsaPrivateKey::from_pem(
        &std::fs::read_to_string(dir.join("private_encryption.pem")).unwrap(),
    )
    .unwrap();
    let plain = ibkr_probe::oauth::lst::decrypt_access_token_secret(&key, secret).unwrap();
    needles.add_bytes("decrypted secret", plain.expose());
    needles.add_text("prepend", ibkr_probe::oauth::lst::prepend(&plain).expose());
    for name in ["private_signature.pem", "private_encryption.pem"] {
        for line in std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
        {
            needles.push(name, "PEM line", line);
        }
        let der = pem::parse(std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        needles.add_bytes(name, &der.contents()[..64]);
    }
    needles
}

#[test]
fn the_scanner_finds_each_planted_encoding() {
    let secret = b"\x01\x02super secret bytes \xfe\xff and more of them";
    let mut needles = Needles::new();
    needles.add_bytes("planted", secret);
    needles.add_text("planted text", "4766f306ad7408bbdaa1950cf4f33710");
    let plants = [
        hex::encode(secret),
        hex::encode_upper(secret),
        STD.encode(secret),
        URL_SAFE.encode(secret),
        STD.encode(secret)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D"),
        "4766f306ad7408bbdaa1950cf4f33710".into(),
        "4766F306AD7408BBDAA1950CF4F33710".into(),
    ];
    for plant in plants {
        let output = format!("ok  some step (12 ms)\n   body: {{\"x\": \"{plant}\"}}\n");
        assert!(!needles.scan(&output).is_empty(), "missed a planted {plant}");
    }
    assert!(needles.scan("nothing to see here").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::generated().write(dir.path(), false).unwrap();
    let env_file = dir.path().join("ibkr.env");
    // The servers do not pace and the runs go at machine speed (`--rate 0`): the output is the
    // same as at IBKR's pace, without the wait.
    let (mock, mock_log) = crate::common::start_mock(|c| c.rate_limit = u32::MAX).await;
    let (faulty, faulty_log) = crate::common::start_mock(|c| {
        c.rate_limit = u32::MAX;
        c.faults = vec!["invalid-signature:0.5".parse().unwrap()];
    })
    .await;
    let (inactive, _) = crate::common::start_mock(|c| {
        c.rate_limit = u32::MAX;
        c.activate_at = Some(std::time::SystemTime::now() + Duration::from_secs(3600));
    })
    .await;
    let (base, faulty_base, inactive_base) = (mock.base_url(), faulty.base_url(), inactive.base_url());
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let (env_file, reports2, dir2) = (env_file.clone(), reports.clone(), dir.path().to_path_buf());

    let mut outputs = tokio::task::spawn_blocking(move || {
        let mut commands: Vec<Vec<String>> = Vec::new();
        let mut run = |args: &[&str]| commands.push(args.iter().map(|a| a.to_string()).collect());
        for (i, target) in [&base, &faulty_base, &inactive_base].iter().enumerate() {
            let json = format!("json={}", reports2.join(format!("r{i}.json")).display());
            let junit = format!("junit={}", reports2.join(format!("r{i}.xml")).display());
            let cassettes = reports2.join(format!("cassettes{i}")).display().to_string();
            run(&[
                "run",
                "--base-url",
                target,
                "--rate",
                "0",
                "-vv",
                "--report",
                &json,
                "--report",
                &junit,
                "--record",
                &cassettes,
            ]);
            run(&["run", "--base-url", target, "--rate", "0", "-v", "scenarios/auth.yaml"]);
            run(&["diagnose", "--online", "--base-url", target, "-vv"]);
            run(&["diagnose", "--online", "--json", "--base-url", target]);
            run(&["activation", "--base-url", target, "-vv", "--json"]);
        }
        run(&["diagnose"]);
        run(&["explain", "LST failed"]);
        run(&["explain", "--file", "tests/data/logs/ibind-bot.log"]);
        let mut outputs: Vec<String> = std::thread::scope(|scope| {
            let running: Vec<_> = commands
                .iter()
                .map(|args| {
                    let env_file = &env_file;
                    scope.spawn(move || text(&bin().args(args).arg("--env-file").arg(env_file).output().unwrap()))
                })
                .collect();
            running.into_iter().map(|r| r.join().unwrap()).collect()
        });
        // The mock command's own log, with a client run through it.
        let mut mock = bin()
            .args(["mock", "--no-pacing", "--listen", "127.0.0.1:0", "--credentials"])
            .arg(&dir2)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = mock.stderr.take().unwrap();
        let mut reader = std::io::BufReader::new(stderr);
        let mut first = String::new();
        std::io::BufRead::read_line(&mut reader, &mut first).unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_owned();
        let snapshot = bin()
            .args([
                "run",
                "--base-url",
                &url,
                "--rate",
                "0",
                "-vv",
                "scenarios/snapshot-warmup.yaml",
            ])
            .arg("--env-file")
            .arg(&env_file)
            .output()
            .unwrap();
        outputs.push(text(&snapshot));
        let _ = Command::new("kill").args(["-INT", &mock.id().to_string()]).status();
        let _ = mock.wait();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
        outputs.push(first + &rest);
        outputs
    })
    .await
    .unwrap();
    let mut files = 0;
    for entry in walk(&reports) {
        outputs.push(std::fs::read_to_string(entry).unwrap());
        files += 1;
    }
    assert!(files >= 9, "reports and cassettes were written: {files}");
    outputs.extend(websocket_traces(&mock).await);
    outputs.extend(mock_log.lines());
    outputs.extend(faulty_log.lines());

    let mut needles = credential_needles(dir.path());
    for server in [&mock, &faulty, &inactive] {
        for (k, token) in server.issued_secrets() {
            needles.add_bytes("K", k.expose());
            needles.add_bytes("LST", token.expose_bytes());
            needles.add_text("LST", token.to_base64().expose());
            needles.add_text(
                "LST signature",
                &token.signature(&crate::common::generated().consumer_key),
            );
        }
    }
    assert!(
        needles.0.len() > 50,
        "the scan looks for many things: {}",
        needles.0.len()
    );
    let haystack = outputs.join("\n");
    assert!(
        haystack.contains("-> POST") && haystack.contains("authorization: OAuth realm"),
        "traces ran"
    );
    // The client's websocket traces (frames both ways) and its recorded frames are scanned too.
    assert!(
        haystack.contains("/v1/api/ws <- smd+") && haystack.contains("/v1/api/ws -> {"),
        "websocket traces ran"
    );
    assert!(
        haystack.contains("\"direction\": \"received\""),
        "a cassette kept websocket frames"
    );
    let leaks = needles.scan(&haystack);
    assert!(leaks.is_empty(), "secrets in output: {leaks:?}");
    for server in [mock, faulty, inactive] {
        server.stop().await;
    }
}

/// The mock's websocket, opened with the access token and session cookie and refused with wrong
/// ones, with frames sent and received: what came back, for the scan (the mock's log lines about
/// it are scanned with the rest of its log).
async fn websocket_traces(mock: &ibkr_probe::mock::MockServer) -> Vec<String> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let client = crate::common::client(mock.base_url());
    crate::common::make_ready(&client).await;
    let tickle = client
        .request(reqwest::Method::POST, "/tickle", &[], None)
        .await
        .unwrap();
    let session = tickle.json().unwrap()["session"].as_str().unwrap().to_owned();
    let token = crate::common::generated().access_token.clone();
    let mut seen = Vec::new();
    for (token, cookie) in [
        (token.as_str(), session.as_str()),
        ("wrong", session.as_str()),
        (token.as_str(), "wrong"),
    ] {
        let url = format!(
            "{}/ws?oauth_token={token}",
            mock.base_url().replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("cookie", format!("api={cookie}").parse().unwrap());
        headers.insert("user-agent", "ClientPortalGW/1".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Ok((mut socket, _)) => {
                for frame in [
                    "tic",
                    r#"smd+265598+{"fields":["31","84","86"]}"#,
                    "spl+{}",
                    "sor+{}",
                    "xyz+secret?",
                ] {
                    socket.send(Message::Text(frame.into())).await.unwrap();
                }
                for _ in 0..6 {
                    match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => seen.push(text.to_string()),
                        other => panic!("the websocket answered {other:?}"),
                    }
                }
                socket.close(None).await.unwrap();
            }
            Err(e) => seen.push(e.to_string()),
        }
    }
    assert!(seen.iter().any(|f| f.contains("\"topic\":\"spl\"")), "{seen:?}");
    seen
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
