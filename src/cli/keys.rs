//! `ibkr-probe keys generate`: a credential set like the self-service portal's.

use std::path::PathBuf;

use clap::Subcommand;
use ibkr_probe::config::generate::{DhChoice, GeneratedCredentials};
use ibkr_probe::exit;

use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Write both RSA key pairs, dhparam.pem, an encrypted access token secret, ibkr.env and the
    /// mock's server file into DIR (files mode 0600).
    Generate {
        /// The folder to write into (created if needed).
        dir: PathBuf,
        /// Consumer key: 9 uppercase letters or digits, like the portal's.
        #[arg(long, default_value = "MOCKCONS1", value_parser = parse_consumer_key)]
        consumer_key: String,
        /// Realm: limited_poa, as for every self-registered consumer (the only one accepted).
        #[arg(long, default_value = ibkr_probe::config::LIMITED_POA, value_parser = parse_realm)]
        realm: String,
        /// Replace existing credential files in DIR.
        #[arg(long)]
        force: bool,
        /// Draw a fresh safe-prime DH group instead of RFC 7919 ffdhe2048 (slow: minutes for 2048 bits).
        #[arg(long)]
        dh_generate: bool,
        /// Prime size for --dh-generate, 1024 to 4096 (IBKR expects 2048).
        #[arg(long, default_value_t = 2048, requires = "dh_generate",
              value_parser = clap::value_parser!(u64).range(1024..=4096))]
        dh_bits: u64,
    },
}

pub(crate) fn keys_generate(
    dir: &std::path::Path,
    consumer_key: &str,
    realm: &str,
    force: bool,
    dh: DhChoice,
) -> Outcome {
    if let DhChoice::Generate { bits } = dh {
        eprintln!("drawing a fresh {bits}-bit safe prime; this can take minutes...");
    }
    let generated = match GeneratedCredentials::generate(consumer_key, realm, dh, &mut ibkr_probe::oauth::SystemRandom)
    {
        Ok(generated) => generated,
        Err(e) => {
            return Err(CliError::new(
                exit::RUNTIME_FAILURE,
                format!("key generation failed: {e}"),
            ));
        }
    };
    match generated.write(dir, force) {
        Ok(paths) => {
            for path in &paths {
                println!("wrote {}", path.display());
            }
            if let Some(env) = paths
                .iter()
                .find(|p| p.ends_with(ibkr_probe::config::generate::ENV_FILE))
            {
                println!("load with: set -a; . {}; set +a", env.display());
            }
            Ok(exit::SUCCESS)
        }
        Err(e) => Err(CliError::new(exit::INVALID_INPUT, e.to_string())),
    }
}
