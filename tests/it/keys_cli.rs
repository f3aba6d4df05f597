//! `keys generate` and `mock` from the command line: real files, OpenSSL's opinion of them, and
//! bad inputs.

use crate::common::bin;

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn generate_writes_private_files_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("creds");
    let out = bin()
        .args(["keys", "generate"])
        .arg(&target)
        .args(["--consumer-key", "BEARHEDGE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in [
        "private_signature.pem",
        "public_signature.pem",
        "private_encryption.pem",
        "public_encryption.pem",
        "dhparam.pem",
        "ibkr.env",
        "mock-server.json",
    ] {
        let path = target.join(name);
        assert!(stdout.contains(&path.display().to_string()), "{name} not reported");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600,
                "{name}"
            );
        }
    }
    let env = std::fs::read_to_string(target.join("ibkr.env")).unwrap();
    assert!(env.contains("IB_CONSUMER_KEY=BEARHEDGE"));
    assert!(env.contains(&format!(
        "IB_SIGNATURE_KEY_PATH={}",
        target.canonicalize().unwrap().join("private_signature.pem").display()
    )));
    // No secret reaches the terminal.
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("IB_ACCESS_TOKEN_SECRET="))
        .unwrap();
    assert!(!stdout.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));

    let again = bin().args(["keys", "generate"]).arg(&target).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = bin()
        .args(["keys", "generate", "--force"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(forced.status.code(), Some(0));
    assert_ne!(
        std::fs::read_to_string(target.join("ibkr.env")).unwrap(),
        env,
        "--force writes a new set"
    );
}

/// OpenSSL reads every file, and decrypting the access token secret with OpenSSL gives the
/// plaintext the mock holds: an independent check of the encryption.
#[test]
fn openssl_accepts_the_files_and_decrypts_the_secret() {
    if !openssl_available() {
        eprintln!("skipped: openssl not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = bin()
        .args(["keys", "generate"])
        .arg(dir.path())
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["pkey", "-in", "private_signature.pem", "-noout", "-check"]);
    run(&["pkey", "-in", "private_encryption.pem", "-noout", "-check"]);
    run(&["pkey", "-pubin", "-in", "public_signature.pem", "-noout"]);
    let dh = String::from_utf8(run(&["dhparam", "-in", "dhparam.pem", "-noout", "-text"])).unwrap();
    assert!(dh.contains("(2048 bit)"), "{dh}");
    // The public file is the public half of the private one.
    let from_private = run(&["pkey", "-in", "private_signature.pem", "-pubout"]);
    assert_eq!(
        from_private,
        std::fs::read(dir.path().join("public_signature.pem")).unwrap()
    );

    let env = std::fs::read_to_string(dir.path().join("ibkr.env")).unwrap();
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("IB_ACCESS_TOKEN_SECRET="))
        .unwrap();
    let ciphertext = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();
    assert_eq!(ciphertext.len(), 256);
    std::fs::write(dir.path().join("secret.bin"), &ciphertext).unwrap();
    let plain = run(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        "private_encryption.pem",
        "-in",
        "secret.bin",
        "-pkeyopt",
        "rsa_padding_mode:pkcs1",
    ]);
    let server: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("mock-server.json")).unwrap()).unwrap();
    assert_eq!(
        hex::encode(plain),
        server["access_token_secret_plain_hex"].as_str().unwrap()
    );
}

#[test]
fn mock_command_rejects_bad_input() {
    let missing = bin()
        .args(["mock", "--credentials", "/nonexistent/dir"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("mock-server.json") && stderr.contains("keys generate"),
        "{stderr}"
    );
    let bad_fault = bin()
        .args(["mock", "--credentials", ".", "--fault", "server-eror"])
        .output()
        .unwrap();
    assert_eq!(bad_fault.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_fault.stderr).contains("server-error"));
    let bad_time = bin()
        .args(["mock", "--credentials", ".", "--activate-at", "tomorrow"])
        .output()
        .unwrap();
    assert_eq!(bad_time.status.code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mock-server.json"), "{\"format\": 1}").unwrap();
    let broken = bin().args(["mock", "--credentials"]).arg(dir.path()).output().unwrap();
    assert_eq!(broken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("missing field"));
}

/// What `keys generate` writes, its own `diagnose` accepts: no documentation-example consumer,
/// no key IBKR would never issue, no toy DH group.
#[test]
fn generate_refuses_what_diagnose_would_fail() {
    let dir = tempfile::tempdir().unwrap();
    for (args, said) in [
        (&["--consumer-key", "TESTCONS"][..], "documentation example"),
        (&["--consumer-key", "ABC"][..], "9 uppercase letters or digits"),
        (&["--dh-generate", "--dh-bits", "64"][..], "1024..=4096"),
    ] {
        let out = bin()
            .args(["keys", "generate"])
            .arg(dir.path().join("creds"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("creds").exists(), "nothing written");
}
