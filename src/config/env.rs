//! Credentials from the environment, in the guide's `IB_*` names or ibind's `IBIND_OAUTH1A_*`
//! names, and from `.env` files (`KEY=value` lines, `export` and quotes allowed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ConfigError, Credentials, LIMITED_POA, read_file};
use crate::oauth::{DhParams, RsaPrivateKey, Secret};

/// Variables, as `(guide name, ibind name)`.
const CONSUMER_KEY: (&str, &str) = ("IB_CONSUMER_KEY", "IBIND_OAUTH1A_CONSUMER_KEY");
const ACCESS_TOKEN: (&str, &str) = ("IB_ACCESS_TOKEN", "IBIND_OAUTH1A_ACCESS_TOKEN");
const ACCESS_TOKEN_SECRET: (&str, &str) = ("IB_ACCESS_TOKEN_SECRET", "IBIND_OAUTH1A_ACCESS_TOKEN_SECRET");
const SIGNATURE_KEY_PATH: (&str, &str) = ("IB_SIGNATURE_KEY_PATH", "IBIND_OAUTH1A_SIGNATURE_KEY_FP");
const ENCRYPTION_KEY_PATH: (&str, &str) = ("IB_ENCRYPTION_KEY_PATH", "IBIND_OAUTH1A_ENCRYPTION_KEY_FP");
const REALM: (&str, &str) = ("IB_REALM", "IBIND_OAUTH1A_REALM");
/// The guide keeps a PKCS#3 file; ibind keeps the prime as hex (generator defaults to 2).
const DH_PARAM_PATH: &str = "IB_DH_PARAM_PATH";
const IBIND_DH_PRIME: &str = "IBIND_OAUTH1A_DH_PRIME";
const IBIND_DH_GENERATOR: &str = "IBIND_OAUTH1A_DH_GENERATOR";

/// Every variable name this module reads, for `--help` texts and diagnostics.
pub const VARIABLES: [&str; 16] = [
    CONSUMER_KEY.0,
    ACCESS_TOKEN.0,
    ACCESS_TOKEN_SECRET.0,
    SIGNATURE_KEY_PATH.0,
    ENCRYPTION_KEY_PATH.0,
    DH_PARAM_PATH,
    REALM.0,
    "IB_IS_LIVE",
    CONSUMER_KEY.1,
    ACCESS_TOKEN.1,
    ACCESS_TOKEN_SECRET.1,
    SIGNATURE_KEY_PATH.1,
    ENCRYPTION_KEY_PATH.1,
    IBIND_DH_PRIME,
    IBIND_DH_GENERATOR,
    REALM.1,
];

/// A set of variables from one or more sources. [`EnvSource::layer`] lays a later source over an
/// earlier one: flags over the environment over a `.env` file, so a stray file never replaces a
/// secret that CI put in the environment.
#[derive(Debug, Default, Clone)]
pub struct EnvSource {
    values: BTreeMap<String, String>,
}

/// The variables a credential set needs (the DH prime aside), each with what it should hold.
const REQUIRED: [((&str, &str), &str); 5] = [
    (
        CONSUMER_KEY,
        "the 9-character consumer key from the self-service portal",
    ),
    (ACCESS_TOKEN, "the access token from the self-service portal"),
    (
        ACCESS_TOKEN_SECRET,
        "the base64 access token secret from the self-service portal",
    ),
    (SIGNATURE_KEY_PATH, "path to private_signature.pem"),
    (ENCRYPTION_KEY_PATH, "path to private_encryption.pem"),
];
const DH_HINT: &str = "path to dhparam.pem, or IBIND_OAUTH1A_DH_PRIME with the prime as hex";

/// Names that hold the same value: one falls back to the other.
const TWINS: [(&str, &str); 6] = [
    CONSUMER_KEY,
    ACCESS_TOKEN,
    ACCESS_TOKEN_SECRET,
    SIGNATURE_KEY_PATH,
    ENCRYPTION_KEY_PATH,
    REALM,
];

/// The DH group by either name: a PKCS#3 file, or ibind's prime as hex. They hold different
/// things (no fallback between them), yet a later source setting either replaces both.
const DH_TWINS: (&str, &str) = (DH_PARAM_PATH, IBIND_DH_PRIME);

impl EnvSource {
    /// The process environment, limited to the names above.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// Variables from one source, keeping only the names this module knows.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let values = vars
            .into_iter()
            .filter(|(name, _)| VARIABLES.contains(&name.as_str()))
            .collect();
        Self { values }
    }

    /// The variables of a `.env` file.
    pub fn from_env_file(path: &Path) -> Result<Self, ConfigError> {
        let text = read_file("--env-file", path)?;
        let vars = parse_env_file(&text).map_err(|(line, message)| ConfigError::EnvFile {
            path: path.to_path_buf(),
            line,
            message,
        })?;
        Ok(Self::from_vars(vars))
    }

    /// Lays `later` over this source: each setting `later` has (under either of its names)
    /// replaces this source's.
    #[must_use]
    pub fn layer(mut self, later: Self) -> Self {
        for name in later.values.keys() {
            let mut settings = TWINS.iter().chain(std::iter::once(&DH_TWINS));
            if let Some((guide, ibind)) = settings.find(|(g, i)| g == name || i == name) {
                self.values.remove(*guide);
                self.values.remove(*ibind);
            }
        }
        self.values.extend(later.values);
        self
    }

    /// The raw value of a variable by its guide name (`IB_...`), falling back to ibind's name.
    /// `IB_DH_PARAM_PATH` has no ibind twin (ibind keeps the prime as hex: IBIND_OAUTH1A_DH_PRIME).
    pub fn value(&self, guide_name: &str) -> Option<&str> {
        match TWINS.iter().copied().find(|(guide, _)| *guide == guide_name) {
            Some(pair) => self.get(pair),
            None => self
                .values
                .get(guide_name)
                .map(String::as_str)
                .filter(|v| !v.is_empty()),
        }
    }

    fn get(&self, names: (&str, &str)) -> Option<&str> {
        self.values
            .get(names.0)
            .or_else(|| self.values.get(names.1))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, names: (&'static str, &'static str), hint: &'static str) -> Result<&str, ConfigError> {
        self.get(names).ok_or(ConfigError::Missing(vec![(names.0, hint)]))
    }

    /// Reads and parses every file the variables name.
    pub fn credentials(&self) -> Result<Credentials, ConfigError> {
        let mut missing: Vec<_> = REQUIRED
            .iter()
            .filter(|(names, _)| self.get(*names).is_none())
            .map(|(names, hint)| (names.0, *hint))
            .collect();
        if self.get(DH_TWINS).is_none() {
            missing.push((DH_PARAM_PATH, DH_HINT));
        }
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        let [consumer_key, access_token, secret, signature_key, encryption_key] = REQUIRED;
        let consumer_key = self.require(consumer_key.0, consumer_key.1)?;
        let access_token = self.require(access_token.0, access_token.1)?;
        let secret = self.require(secret.0, secret.1)?;
        let signature_key = self.key(signature_key.0, signature_key.1)?;
        let encryption_key = self.key(encryption_key.0, encryption_key.1)?;
        let warnings = [SIGNATURE_KEY_PATH, ENCRYPTION_KEY_PATH]
            .into_iter()
            .filter_map(|names| self.get(names))
            .filter_map(|path| super::permission_warning(std::path::Path::new(path)))
            .collect();
        let dh_params = self.dh_params()?;
        let realm = self.get(REALM).unwrap_or(LIMITED_POA);
        Ok(Credentials {
            consumer_key: consumer_key.to_owned(),
            access_token: access_token.to_owned(),
            access_token_secret: Secret::new(secret.trim().to_owned()),
            signature_key,
            encryption_key,
            dh_params,
            realm: realm.to_owned(),
            warnings,
        })
    }

    fn key(&self, names: (&'static str, &'static str), hint: &'static str) -> Result<RsaPrivateKey, ConfigError> {
        let path = PathBuf::from(self.require(names, hint)?);
        let text = zeroize::Zeroizing::new(read_file(names.0, &path)?);
        RsaPrivateKey::from_pem(&text).map_err(|source| ConfigError::Invalid {
            variable: names.0,
            path,
            source,
        })
    }

    fn dh_params(&self) -> Result<DhParams, ConfigError> {
        if let Some(path) = self.values.get(DH_PARAM_PATH).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(path);
            let text = read_file(DH_PARAM_PATH, &path)?;
            return DhParams::from_pkcs3_pem(&text).map_err(|source| ConfigError::Invalid {
                variable: DH_PARAM_PATH,
                path,
                source,
            });
        }
        match self.values.get(IBIND_DH_PRIME) {
            Some(prime) => {
                let generator = self.values.get(IBIND_DH_GENERATOR).map_or("2", String::as_str);
                let generator = format!("{:x}", generator.trim().parse::<u64>().unwrap_or(2));
                DhParams::from_hex(prime, &generator).map_err(|source| ConfigError::Invalid {
                    variable: IBIND_DH_PRIME,
                    path: PathBuf::from("(environment)"),
                    source,
                })
            }
            None => Err(ConfigError::Missing(vec![(DH_PARAM_PATH, DH_HINT)])),
        }
    }
}

/// Parses `KEY=value` lines: blank lines and `#` comments skipped, `export ` allowed, values may be
/// single- or double-quoted. Errors carry the 1-based line number.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| (index + 1, "expected KEY=value".to_owned()))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err((index + 1, format!("{name:?} is not a variable name")));
        }
        let value = value.trim();
        let value = match (value.chars().next(), value.chars().last()) {
            (Some(q @ ('"' | '\'')), Some(end)) if value.len() >= 2 && end == q => &value[1..value.len() - 1],
            _ => value,
        };
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_syntax() {
        let parsed = parse_env_file("# c\nexport IB_REALM=\"limited_poa\"\n\nIB_CONSUMER_KEY='ABC'\nX=a=b\n").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("IB_REALM".into(), "limited_poa".into()),
                ("IB_CONSUMER_KEY".into(), "ABC".into()),
                ("X".into(), "a=b".into())
            ]
        );
        assert_eq!(parse_env_file("ok=1\nnonsense\n").unwrap_err().0, 2);
        assert!(parse_env_file("bad name=1").is_err());
    }

    #[test]
    fn guide_names_win_over_ibind_names_and_missing_values_are_named() {
        let source = EnvSource::from_vars([
            ("IBIND_OAUTH1A_CONSUMER_KEY".to_owned(), "IBIND".to_owned()),
            ("IB_CONSUMER_KEY".to_owned(), "GUIDE".to_owned()),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(source.get(CONSUMER_KEY), Some("GUIDE"));
        let err = source.credentials().unwrap_err().to_string();
        assert!(err.contains("IB_ACCESS_TOKEN"), "{err}");
    }

    fn vars(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_vars(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())))
    }

    #[test]
    fn later_sources_win_under_either_name() {
        let file = vars(&[("IB_CONSUMER_KEY", "FROMFILE1"), ("IB_REALM", "test_realm")]);
        let process = vars(&[("IBIND_OAUTH1A_CONSUMER_KEY", "FROMENV01")]);
        let flags = vars(&[("IB_REALM", "limited_poa")]);
        let source = file.layer(process).layer(flags);
        assert_eq!(source.get(CONSUMER_KEY), Some("FROMENV01"));
        assert_eq!(source.get(REALM), Some("limited_poa"));
        let file = vars(&[("IB_DH_PARAM_PATH", "dhparam.pem")]);
        let source = file.layer(vars(&[("IBIND_OAUTH1A_DH_PRIME", "ff")]));
        assert!(!source.values.contains_key(DH_PARAM_PATH));
    }

    #[test]
    fn every_missing_variable_is_named_at_once() {
        let err = vars(&[("IB_CONSUMER_KEY", "ABCDEFGHI")])
            .credentials()
            .unwrap_err()
            .to_string();
        for name in [
            "IB_ACCESS_TOKEN",
            "IB_ACCESS_TOKEN_SECRET",
            "IB_SIGNATURE_KEY_PATH",
            "IB_ENCRYPTION_KEY_PATH",
            "IB_DH_PARAM_PATH",
        ] {
            assert!(err.contains(name), "{name} missing from: {err}");
        }
        assert!(!err.contains("IB_CONSUMER_KEY"), "{err}");
    }
}
