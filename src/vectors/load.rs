//! Reading vector files: JSON, then every key, number and encoding is checked before any step
//! runs, so a bad file is reported as bad input (naming file and field), never as a mismatch.

use std::path::{Path, PathBuf};

use super::model::{RawRequestCase, RawVectorFile};
use crate::oauth::{DhParams, RsaPrivateKey, Secret, SecretBytes, SignatureMethod};

/// The only format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// A vector file that could not be used, with the file and the field at fault.
#[derive(Debug, thiserror::Error)]
#[error("{}: {field}: {message}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub field: String,
    pub message: String,
}

/// A checked vector file: keys and groups parsed, encodings decoded.
pub struct VectorFile {
    pub path: PathBuf,
    pub raw: RawVectorFile,
    pub signature_key: RsaPrivateKey,
    pub encryption_key: RsaPrivateKey,
    pub dh_from_pem: DhParams,
    pub dh_from_hex: DhParams,
    pub expect_secret_plain: SecretBytes,
    pub dh_random: SecretBytes,
    pub expect_shared_secret: SecretBytes,
}

/// Expands the command line's paths: files as given, folders to their `*.json` files, sorted.
pub fn collect_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| LoadError {
            path: path.clone(),
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        if meta.is_dir() {
            let files = crate::files::list(path, &["json"]).map_err(|e| LoadError {
                path: path.clone(),
                field: "(folder)".into(),
                message: format!("cannot list: {e}"),
            })?;
            if files.is_empty() {
                return Err(LoadError {
                    path: path.clone(),
                    field: "(folder)".into(),
                    message: "holds no *.json vector files".into(),
                });
            }
            out.extend(files);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Reads and checks one vector file.
pub fn load(path: &Path) -> Result<VectorFile, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        field: "(file)".into(),
        message: format!("cannot read: {e}"),
    })?;
    load_text(path, &text)
}

/// Checks vector text as if read from `path` (which only names the file in errors).
pub fn load_text(path: &Path, text: &str) -> Result<VectorFile, LoadError> {
    let fail = |field: &str, message: String| LoadError {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message,
    };
    let raw = parse_json(text).map_err(|(field, message)| fail(&field, message))?;
    check(raw, path).map_err(|(field, message)| fail(&field, message))
}

/// Parses JSON text into the raw model, naming the field on error. The format version is
/// checked first so a future format gets "unsupported version", not a list of odd keys.
fn parse_json(text: &str) -> Result<RawVectorFile, (String, String)> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ("(json)".to_owned(), format!("not valid JSON: {e}")))?;
    match value.get("format") {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        Some(other) => {
            return Err((
                "format".into(),
                format!("unsupported format version {other}; this build reads format {FORMAT_VERSION}"),
            ));
        }
        None => return Err(("format".into(), "missing; expected `\"format\": 1`".into())),
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { "(top level)".to_owned() } else { field };
        (field, e.inner().to_string())
    })
}

type FieldError = (String, String);

fn check(raw: RawVectorFile, path: &Path) -> Result<VectorFile, FieldError> {
    let signature_key =
        RsaPrivateKey::from_pem(&raw.signature_key_pem).map_err(|e| ("signature_key_pem".to_owned(), e.to_string()))?;
    let encryption_key = RsaPrivateKey::from_pem(&raw.encryption_key_pem)
        .map_err(|e| ("encryption_key_pem".to_owned(), e.to_string()))?;
    let dh_from_pem =
        DhParams::from_pkcs3_pem(&raw.dh_param_pem).map_err(|e| ("dh_param_pem".to_owned(), e.to_string()))?;
    let dh_from_hex = DhParams::from_hex(&raw.dh_prime_hex, &raw.dh_generator_hex).map_err(|e| {
        let field = if e.to_string().contains("dh_generator_hex") {
            "dh_generator_hex"
        } else {
            "dh_prime_hex"
        };
        (field.to_owned(), e.to_string())
    })?;

    base64_field("access_token_secret", &raw.access_token_secret)?;
    let expect_secret_plain = Secret::new(base64_field(
        "expect_access_token_secret_plain_b64",
        &raw.expect_access_token_secret_plain_b64,
    )?);
    // Compared as text, never decoded: a client's non-hex prepend is a value to diagnose
    // (`diagnose compare`), not a broken file.
    non_empty("expect_prepend_hex", &raw.expect_prepend_hex)?;

    let lst = &raw.live_session_token;
    let dh_random = Secret::new(hex_field("live_session_token.dh_random_hex", &lst.dh_random_hex)?);
    hex_field(
        "live_session_token.expect_dh_challenge_hex",
        &lst.expect_dh_challenge_hex,
    )?;
    base64_field("live_session_token.expect_signature", &lst.expect_signature)?;
    hex_field("live_session_token.dh_response_hex", &lst.dh_response_hex)?;
    let expect_shared_secret = Secret::new(hex_field(
        "live_session_token.expect_shared_secret_hex",
        &lst.expect_shared_secret_hex,
    )?);
    base64_field(
        "live_session_token.expect_live_session_token",
        &lst.expect_live_session_token,
    )?;
    hex_field(
        "live_session_token.expect_live_session_token_signature",
        &lst.expect_live_session_token_signature,
    )?;
    non_empty("live_session_token.method", &lst.method)?;
    non_empty("live_session_token.url", &lst.url)?;

    for (index, request) in raw.requests.iter().enumerate() {
        check_request(index, request)?;
    }

    Ok(VectorFile {
        path: path.to_path_buf(),
        raw,
        signature_key,
        encryption_key,
        dh_from_pem,
        dh_from_hex,
        expect_secret_plain,
        dh_random,
        expect_shared_secret,
    })
}

fn check_request(index: usize, request: &RawRequestCase) -> Result<(), FieldError> {
    let field = |name: &str| format!("requests[{index}].{name}");
    non_empty(&field("method"), &request.method)?;
    non_empty(&field("url"), &request.url)?;
    let method = request
        .oauth
        .get("oauth_signature_method")
        .ok_or((field("oauth.oauth_signature_method"), "missing".to_owned()))?;
    if SignatureMethod::parse(method).is_none() {
        return Err((
            field("oauth.oauth_signature_method"),
            format!("{method:?}; expected RSA-SHA256 or HMAC-SHA256"),
        ));
    }
    if let Some(lst) = &request.lst {
        base64_field(&field("lst"), lst)?;
    }
    base64_field(&field("expect_signature"), &request.expect_signature)?;
    Ok(())
}

fn non_empty(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Err((field.to_owned(), "is empty".into()))
    } else {
        Ok(())
    }
}

/// Decodes lowercase or uppercase hex; the message says where the first bad character is.
fn hex_field(field: &str, value: &str) -> Result<Vec<u8>, FieldError> {
    if let Some((pos, c)) = value.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err((field.to_owned(), format!("not hex: character {c:?} at position {pos}")));
    }
    if value.is_empty() {
        return Err((field.to_owned(), "is empty".into()));
    }
    // An odd number of digits is a number, not bytes: pad one zero as the format's numbers allow.
    let padded;
    let digits = if value.len() % 2 == 1 {
        padded = format!("0{value}");
        &padded
    } else {
        value
    };
    hex::decode(digits).map_err(|e| (field.to_owned(), format!("not hex: {e}")))
}

fn base64_field(field: &str, value: &str) -> Result<Vec<u8>, FieldError> {
    crate::oauth::lst::decode_base64(field, value).map_err(|e| match e {
        crate::oauth::Error::Base64 { reason, .. } => {
            (field.to_owned(), format!("not standard padded base64: {reason}"))
        }
        other => (field.to_owned(), other.to_string()),
    })
}
