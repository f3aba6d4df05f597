//! Offline checks of a credential set, one line per check with a fix for each failure. They
//! catch what real users trip on: a truncated secret, swapped keys, the documentation example TESTCONS, a wrong realm,
//! CRLF PEM files, keys that are not 2048-bit, a DH file that is not PKCS#3, readable key files.

use std::path::Path;

use serde::Serialize;

use crate::config::env::EnvSource;
use crate::oauth::{DhParams, RsaPrivateKey, RsaPublicKey, lst};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth knowing, not fatal.
    Warn,
    Fail,
}

/// One line of the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub level: Level,
    pub detail: String,
    /// What to do; empty when nothing is needed.
    pub fix: String,
}

fn check(name: &'static str, level: Level, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        level,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Runs every offline check on the credentials `source` describes.
pub fn run(source: &EnvSource) -> Vec<Check> {
    let mut out = Vec::new();
    let required = [
        ("IB_CONSUMER_KEY", "consumer key"),
        ("IB_ACCESS_TOKEN", "access token"),
        ("IB_ACCESS_TOKEN_SECRET", "access token secret"),
        ("IB_SIGNATURE_KEY_PATH", "signature key path"),
        ("IB_ENCRYPTION_KEY_PATH", "encryption key path"),
    ];
    let missing: Vec<&str> = required
        .iter()
        .filter(|(v, _)| source.value(v).is_none())
        .map(|(v, _)| *v)
        .collect();
    let dh_missing = source.value("IB_DH_PARAM_PATH").is_none() && source.value("IBIND_OAUTH1A_DH_PRIME").is_none();
    if missing.is_empty() && !dh_missing {
        out.push(check("values present", Level::Ok, "every credential value is set", ""));
    } else {
        let mut names = missing.join(", ");
        if dh_missing {
            names.push_str(if names.is_empty() {
                "IB_DH_PARAM_PATH"
            } else {
                ", IB_DH_PARAM_PATH"
            });
        }
        out.push(check(
            "values present",
            Level::Fail,
            format!("not set: {names}"),
            "set them in the environment or a .env file (`ibkr-probe keys generate` writes a complete example)",
        ));
    }

    let consumer = source.value("IB_CONSUMER_KEY").unwrap_or("");
    let realm = source.value("IB_REALM").unwrap_or(crate::config::LIMITED_POA);
    if !consumer.is_empty() {
        out.push(consumer_key(consumer));
        out.push(realm_check(consumer, realm));
    }
    if let Some(token) = source.value("IB_ACCESS_TOKEN") {
        out.push(if token.len() == 20 && token.chars().all(|c| c.is_ascii_hexdigit()) {
            check("access token format", Level::Ok, "20 hex characters", "")
        } else {
            check(
                "access token format",
                Level::Warn,
                format!("{} characters; IBKR's access tokens are 20 hex characters", token.len()),
                "copy the access token again from the self-service portal",
            )
        });
    }

    let signature = load_key(&mut out, source, &SIGNATURE);
    let encryption = load_key(&mut out, source, &ENCRYPTION);
    if let Some(secret) = source.value("IB_ACCESS_TOKEN_SECRET") {
        secret_checks(&mut out, secret, encryption.as_ref(), signature.as_ref());
    }
    dh_check(&mut out, source);
    out
}

fn consumer_key(consumer: &str) -> Check {
    if consumer == "TESTCONS" {
        check(
            "consumer key format",
            Level::Fail,
            "TESTCONS is IBKR's documentation example, not a consumer of yours: public reports show IBKR refusing it, also for paper accounts (https://github.com/Voyz/ibind/issues/61, 2025)",
            "register your own consumer key, keys and access token in the self-service portal (realm limited_poa)",
        )
    } else if consumer.len() == 9 && consumer.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        check(
            "consumer key format",
            Level::Ok,
            format!("{consumer}: 9 characters"),
            "",
        )
    } else {
        check(
            "consumer key format",
            Level::Warn,
            format!("{consumer:?} is not 9 uppercase letters or digits like the portal's keys"),
            "check for typos, spaces or lowercase letters",
        )
    }
}

fn realm_check(consumer: &str, realm: &str) -> Check {
    match (consumer == "TESTCONS", realm) {
        (false, "limited_poa") => check("realm", Level::Ok, format!("{realm} fits {consumer}"), ""),
        (true, _) => check(
            "realm",
            Level::Warn,
            format!("realm {realm:?} not checked: TESTCONS is the documentation example"),
            "with a consumer of your own, the realm is limited_poa",
        ),
        (false, "test_realm") => check(
            "realm",
            Level::Fail,
            format!("{consumer} with realm test_realm: that realm belongs to IBKR's documentation example"),
            "set IB_REALM=limited_poa",
        ),
        (false, _) => check(
            "realm",
            Level::Warn,
            format!("realm {realm:?}; portal consumers use limited_poa"),
            "set IB_REALM=limited_poa unless IBKR told you otherwise",
        ),
    }
}

/// The names one key's checks go by.
struct KeyRole {
    variable: &'static str,
    key: &'static str,
    fingerprint: &'static str,
    permissions: &'static str,
}

const SIGNATURE: KeyRole = KeyRole {
    variable: "IB_SIGNATURE_KEY_PATH",
    key: "signature key",
    fingerprint: "signature key fingerprint",
    permissions: "signature key permissions",
};

const ENCRYPTION: KeyRole = KeyRole {
    variable: "IB_ENCRYPTION_KEY_PATH",
    key: "encryption key",
    fingerprint: "encryption key fingerprint",
    permissions: "encryption key permissions",
};

/// Reads and parses one private key, adding its checks; the key when it parsed.
fn load_key(out: &mut Vec<Check>, source: &EnvSource, role: &KeyRole) -> Option<RsaPrivateKey> {
    let path = Path::new(source.value(role.variable)?);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => zeroize::Zeroizing::new(text),
        Err(e) => {
            let fix = format!("point {} to the private {} file", role.variable, role.key);
            out.push(check(
                role.key,
                Level::Fail,
                format!("{}: cannot read: {e}", path.display()),
                fix,
            ));
            return None;
        }
    };
    permissions(out, role.permissions, path);
    let key = match RsaPrivateKey::from_pem(&text) {
        Ok(key) => key,
        Err(e) => {
            let fix = format!(
                "point {} to the private {} (openssl genrsa output)",
                role.variable, role.key
            );
            out.push(check(role.key, Level::Fail, format!("{}: {e}", path.display()), fix));
            return None;
        }
    };
    let notes = key.pem_notes();
    let mut detail = format!("{}: {}-bit RSA, {:?}", path.display(), key.bits(), key.format());
    if notes.crlf {
        detail.push_str(", CRLF line endings (read fine)");
    }
    if notes.stray_whitespace {
        detail.push_str(", spaces around lines (read fine)");
    }
    out.push(if key.bits() == 2048 {
        check(role.key, Level::Ok, detail, "")
    } else {
        check(
            role.key,
            Level::Fail,
            detail,
            "IBKR expects 2048-bit keys: openssl genrsa -out key.pem 2048, and upload the new public key",
        )
    });
    // The fingerprint to compare with what was uploaded, and with a public_*.pem beside it.
    let fingerprint = key.public_key_fingerprint();
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let public_path = path.with_file_name(file_name.replacen("private", "public", 1));
    let public = (public_path != path)
        .then(|| std::fs::read_to_string(&public_path).ok())
        .flatten()
        .and_then(|t| RsaPublicKey::from_pem(&t).ok());
    out.push(match public {
        Some(public) if public.fingerprint() == fingerprint => {
            check(role.fingerprint, Level::Ok, format!("public key SHA-256 {fingerprint}, same as {}", public_path.display()), "")
        }
        Some(_) => check(
            role.fingerprint,
            Level::Fail,
            format!("public key SHA-256 {fingerprint} differs from {}", public_path.display()),
            "the private key does not belong to the public key beside it: upload the public half of this private key, or use the matching private key",
        ),
        None => check(role.fingerprint, Level::Ok, format!("public key SHA-256 {fingerprint} (compare with the key uploaded to IBKR)"), ""),
    });
    Some(key)
}

fn permissions(out: &mut Vec<Check>, name: &'static str, path: &Path) {
    use crate::config::{file_mode, readable_by_others};
    let Some(mode) = file_mode(path) else { return };
    out.push(if readable_by_others(mode) {
        check(
            name,
            Level::Fail,
            format!("{}: mode {mode:03o}, readable by others", path.display()),
            format!("chmod 600 {}", path.display()),
        )
    } else {
        check(name, Level::Ok, format!("{}: mode {mode:03o}", path.display()), "")
    });
}

fn secret_checks(
    out: &mut Vec<Check>,
    secret: &str,
    encryption: Option<&RsaPrivateKey>,
    signature: Option<&RsaPrivateKey>,
) {
    const NAME: &str = "access token secret";
    if secret.chars().any(char::is_whitespace) {
        out.push(check(
            NAME,
            Level::Fail,
            "contains spaces or line breaks",
            "copy the secret again as one line, without spaces",
        ));
        return;
    }
    let bytes = match lst::decode_base64("access token secret", secret) {
        Ok(bytes) => bytes,
        Err(e) => {
            out.push(check(NAME, Level::Fail, e.to_string(), "copy the whole secret again from the self-service portal (it is 344 base64 characters for a 2048-bit key)"));
            return;
        }
    };
    let expected = encryption.map_or(256, |k| k.bits() / 8);
    if bytes.len() != expected {
        out.push(check(
            NAME,
            Level::Fail,
            format!(
                "decodes to {} bytes; a {}-bit encryption key needs {expected}",
                bytes.len(),
                expected * 8
            ),
            "the secret was truncated or belongs to another key: copy it again",
        ));
        return;
    }
    out.push(check(
        NAME,
        Level::Ok,
        format!("valid base64, {} bytes", bytes.len()),
        "",
    ));
    let Some(encryption) = encryption else { return };
    match lst::decrypt_access_token_secret(encryption, secret) {
        Ok(plain) => out.push(check(
            "secret decrypts",
            Level::Ok,
            format!(
                "with the encryption key: {} bytes, prepend {}",
                plain.expose().len(),
                crate::oauth::fingerprint(lst::prepend(&plain).expose().as_bytes())
            ),
            "",
        )),
        Err(_) => {
            let swapped = signature.is_some_and(|s| lst::decrypt_access_token_secret(s, secret).is_ok());
            out.push(if swapped {
                check("secret decrypts", Level::Fail, "it decrypts with the SIGNATURE key, not the encryption key: the two keys are swapped", "swap IB_SIGNATURE_KEY_PATH and IB_ENCRYPTION_KEY_PATH")
            } else {
                check("secret decrypts", Level::Fail, "it does not decrypt with the encryption key", "use the private_encryption.pem whose public half was uploaded with this consumer, and the secret issued for it")
            });
        }
    }
}

fn dh_check(out: &mut Vec<Check>, source: &EnvSource) {
    const NAME: &str = "DH parameters";
    if let Some(path) = source.value("IB_DH_PARAM_PATH") {
        let path = Path::new(path);
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                out.push(check(
                    NAME,
                    Level::Fail,
                    format!("{}: cannot read: {e}", path.display()),
                    "point IB_DH_PARAM_PATH to dhparam.pem",
                ));
                return;
            }
        };
        out.push(match DhParams::from_pkcs3_pem(&text) {
            Ok(params) if params.prime_bits() == 2048 => check(NAME, Level::Ok, format!("{}: PKCS#3, 2048-bit prime", path.display()), ""),
            Ok(params) => check(NAME, Level::Fail, format!("{}: PKCS#3, but a {}-bit prime", path.display(), params.prime_bits()), "IBKR's portal asks for 2048 bits: openssl dhparam -outform PEM -out dhparam.pem 2048"),
            Err(e) => check(NAME, Level::Fail, format!("{}: {e}", path.display()), "dhparam.pem must be PKCS#3 (`-----BEGIN DH PARAMETERS-----`): openssl dhparam -outform PEM -out dhparam.pem 2048"),
        });
    } else if let Some(prime) = source.value("IBIND_OAUTH1A_DH_PRIME") {
        out.push(match DhParams::from_hex(prime, "2") {
            Ok(params) => check(
                NAME,
                Level::Ok,
                format!("IBIND_OAUTH1A_DH_PRIME: {}-bit prime", params.prime_bits()),
                "",
            ),
            Err(e) => check(
                NAME,
                Level::Fail,
                e.to_string(),
                "IBIND_OAUTH1A_DH_PRIME is the prime as hex, without 0x or colons",
            ),
        });
    }
}

/// Renders checks one per line, with the fix under each failure.
pub fn render(checks: &[Check]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in checks {
        let label = match c.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        let _ = writeln!(out, "{label}  {}: {}", c.name, c.detail);
        if !c.fix.is_empty() {
            let _ = writeln!(out, "      fix: {}", c.fix);
        }
    }
    out
}
