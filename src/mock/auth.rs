//! The mock's OAuth checks: the RSA-SHA256 LST request and the HMAC-SHA256 on everything else,
//! done with real cryptography. A refusal carries IBKR's message for the body and a precise
//! reason for the log, so a user sees what IBKR would say and what was actually wrong.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use num_bigint::BigUint;

use crate::config::ServerCredentials;
use crate::oauth::header::AuthorizationHeader;
use crate::oauth::mistakes::{self, Mistake, PublicKeys, Signed};
use crate::oauth::{LiveSessionToken, QueryConvention, Secret, SigningRequest, base_string, dh, lst_base_string, sign};

/// Why a request was refused: `message` is what IBKR's body says, `reason` what the log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub reason: String,
}

pub const INVALID_CONSUMER: &str = "invalid consumer";
pub const LST_FAILED: &str = "LST failed";
pub const INVALID_SIGNATURE: &str = "Invalid signature";

fn refuse(message: &str, reason: impl Into<String>) -> Refusal {
    Refusal {
        message: message.to_owned(),
        reason: reason.into(),
    }
}

/// The request as the mock saw it, with the URLs the client may have signed.
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    /// Candidate full URLs (scheme://host/path?query): the client may have signed its own view of
    /// the address (ibind sends `Host: api.ibkr.com` while signing the mock's address).
    pub urls: &'a [String],
    pub header: &'a AuthorizationHeader,
}

/// The signed parameters in the order the client sent them (for the unsorted-parameters mistake).
fn sent_order(header: &AuthorizationHeader) -> Vec<(&str, &str)> {
    header
        .params
        .iter()
        .filter(|(name, _)| name != "oauth_signature")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// The known mistake that reproduces a failing `signature`, tried on every URL the client may
/// have signed.
fn name_mistake(
    request: &IncomingRequest<'_>,
    credentials: &ServerCredentials,
    signature: &str,
    candidates: impl Fn(&Signed<'_>) -> Vec<mistakes::Candidate>,
) -> Option<Mistake> {
    let sent = sent_order(request.header);
    let keys = PublicKeys {
        signature: credentials.signature_public_key.pkcs1_der(),
        encryption: credentials.encryption_public_key.as_ref().map(|k| k.pkcs1_der()),
    };
    request.urls.iter().find_map(|url| {
        let signed = Signed {
            request: SigningRequest {
                method: request.method,
                url,
                form: &[],
                oauth: &sent,
            },
            realm: &credentials.realm,
        };
        mistakes::find(&candidates(&signed), signature, &keys)
    })
}

/// The signed parameters, sorted.
fn oauth_params(header: &AuthorizationHeader) -> Vec<(&str, &str)> {
    let mut params = sent_order(header);
    params.sort_unstable();
    params
}

/// Checks consumer key, activation, realm, token, method and timestamp, common to both kinds.
fn check_identity(
    credentials: &ServerCredentials,
    header: &AuthorizationHeader,
    expected_method: &str,
    now: SystemTime,
    window: Duration,
    activate_at: Option<SystemTime>,
) -> Result<(), Refusal> {
    let consumer = header.get("oauth_consumer_key").unwrap_or("");
    if consumer != credentials.consumer_key {
        return Err(refuse(INVALID_CONSUMER, format!("unknown consumer key {consumer:?}")));
    }
    if let Some(at) = activate_at.filter(|at| now < *at) {
        let secs = at.duration_since(now).map_or(0, |d| d.as_secs());
        return Err(refuse(
            INVALID_CONSUMER,
            format!("consumer key not active yet (activates in {secs} s)"),
        ));
    }
    let realm = header.realm.as_deref().unwrap_or("");
    if realm != credentials.realm {
        return Err(refuse(
            INVALID_CONSUMER,
            format!("realm {realm:?} but this consumer uses {:?}", credentials.realm),
        ));
    }
    let method = header.get("oauth_signature_method").unwrap_or("");
    if method != expected_method {
        return Err(refuse(
            LST_FAILED,
            format!("oauth_signature_method {method:?}; expected {expected_method}"),
        ));
    }
    let timestamp = header.get("oauth_timestamp").unwrap_or("");
    let Ok(seconds) = timestamp.parse::<u64>() else {
        return Err(refuse(
            LST_FAILED,
            format!("oauth_timestamp {timestamp:?} is not whole seconds"),
        ));
    };
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let skew = now_secs.abs_diff(seconds);
    if skew > window.as_secs() {
        let reason = match mistakes::timestamp_mistake(timestamp, now_secs, window.as_secs()) {
            Some(mistake) => mistake.describe().to_owned(),
            None => format!(
                "stale oauth_timestamp: {skew} s from the server's clock (allowed {} s)",
                window.as_secs()
            ),
        };
        return Err(refuse(LST_FAILED, reason));
    }
    if header.get("oauth_nonce").is_none_or(str::is_empty) {
        return Err(refuse(LST_FAILED, "oauth_nonce is missing"));
    }
    Ok(())
}

/// What a successful LST request yields: the server's answer and the session's LST.
pub struct LstGrant {
    pub dh_response_hex: String,
    /// K, kept so leak tests can look for it in every output.
    pub shared_secret: crate::oauth::SharedSecret,
    pub token: LiveSessionToken,
    pub signature_hex: String,
    /// LSTs a client would derive from common K-encoding bugs, to name them when its HMACs fail.
    pub buggy_variants: Vec<(Mistake, crate::oauth::SecretBytes)>,
}

/// Verifies `POST /oauth/live_session_token` and, if it is right, runs the server's half of DH.
/// `server_random` is the server's exponent b.
pub fn live_session_token(
    credentials: &ServerCredentials,
    request: &IncomingRequest<'_>,
    now: SystemTime,
    window: Duration,
    activate_at: Option<SystemTime>,
    server_random: &[u8],
) -> Result<LstGrant, Refusal> {
    let header = request.header;
    check_identity(credentials, header, "RSA-SHA256", now, window, activate_at)?;
    let token = header.get("oauth_token").unwrap_or("");
    if token != credentials.access_token {
        let detail = format!("No access secret key found for {token}");
        return Err(Refusal {
            message: format!("{LST_FAILED}, error: {detail}"),
            reason: detail,
        });
    }
    let challenge_hex = header.get("diffie_hellman_challenge").unwrap_or("");
    let params = &credentials.dh_params;
    let challenge = crate::oauth::keys::parse_hex_uint("diffie_hellman_challenge", challenge_hex)
        .map_err(|e| refuse(LST_FAILED, e.to_string()))?;
    if challenge <= BigUint::from(1u8) || challenge >= params.prime() - 1u8 {
        return Err(refuse(LST_FAILED, "diffie_hellman_challenge is outside 2..p-2"));
    }
    let signature = header.get("oauth_signature").unwrap_or("");
    let oauth = oauth_params(header);
    let prepend = crate::oauth::lst::prepend(&credentials.access_token_secret_plain);
    let public = credentials.signature_public_key.pkcs1_der();

    let verifies = |prepend_text: &str, extra: Option<(&str, &str)>| {
        let mut params = oauth.clone();
        params.extend(extra);
        request.urls.iter().any(|url| {
            [QueryConvention::InBaseString, QueryConvention::UrlOnly]
                .iter()
                .any(|convention| {
                    let req = SigningRequest {
                        method: request.method,
                        url,
                        form: &[],
                        oauth: &params,
                    };
                    let base = lst_base_string(&Secret::new(prepend_text.to_owned()), &req, *convention);
                    sign::verify_rsa_sha256(public, base.expose().as_bytes(), signature)
                })
        })
    };
    if !verifies(prepend.expose(), None) {
        let encrypted = credentials
            .access_token_secret_encrypted
            .as_ref()
            .map(|s| s.expose().as_str());
        let mistake = name_mistake(request, credentials, signature, |signed| {
            mistakes::lst_request_candidates(
                signed,
                mistakes::IBKR_ACCEPTS,
                &credentials.access_token_secret_plain,
                encrypted,
            )
        });
        let reason = match mistake {
            Some(mistake) => mistake.describe(),
            None => {
                "RSA-SHA256 signature does not verify: wrong signature key (not the public_signature.pem uploaded), a wrong prepend (secret decrypted with the wrong key?), or a different base string"
            }
        };
        return Err(refuse(LST_FAILED, reason));
    }

    // The server's half: B = g^b mod p, K = A^b mod p, LST = HMAC-SHA1(K, secret).
    let b = dh::DhExponent::from_bytes(server_random.to_vec());
    let dh_response_hex = dh::challenge_hex(params, &b);
    let k = dh::shared_secret(params, &b, challenge_hex).map_err(|e| refuse(LST_FAILED, e.to_string()))?;
    let secret = &credentials.access_token_secret_plain;
    let token = LiveSessionToken::derive(&k, secret);
    let signature_hex = token.signature(&credentials.consumer_key);
    let buggy_variants = mistakes::lst_mistakes(&k, secret, params.prime_bits());
    Ok(LstGrant {
        dh_response_hex,
        shared_secret: k,
        token,
        signature_hex,
        buggy_variants,
    })
}

/// How an ordinary request's signature was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// With one of the two conventions IBKR is seen to accept.
    Proven(QueryConvention),
    /// Only with RFC 5849 per-value encoding: accepted by the spec, unproven at IBKR.
    SpecOnly,
}

/// Verifies an HMAC-SHA256 request against the session's LST.
pub fn hmac_request(
    credentials: &ServerCredentials,
    request: &IncomingRequest<'_>,
    now: SystemTime,
    window: Duration,
    token: Option<(&LiveSessionToken, &[(Mistake, crate::oauth::SecretBytes)])>,
) -> Result<Accepted, Refusal> {
    let header = request.header;
    check_identity(credentials, header, "HMAC-SHA256", now, window, None)
        .map_err(|r| refuse(INVALID_SIGNATURE, r.reason))?;
    if header.get("oauth_token") != Some(credentials.access_token.as_str()) {
        return Err(refuse(INVALID_SIGNATURE, "unknown oauth_token"));
    }
    let Some((lst, variants)) = token else {
        return Err(refuse(
            INVALID_SIGNATURE,
            "no live session token for this access token: call /oauth/live_session_token first",
        ));
    };
    let signature = header.get("oauth_signature").unwrap_or("");
    let oauth = oauth_params(header);
    let verifies = |key: &LiveSessionToken, convention: QueryConvention, extra: Option<(&str, &str)>| {
        let mut params = oauth.clone();
        params.extend(extra);
        request.urls.iter().any(|url| {
            let req = SigningRequest {
                method: request.method,
                url,
                form: &[],
                oauth: &params,
            };
            sign::verify_hmac_sha256(key, base_string(&req, convention).as_bytes(), signature)
        })
    };
    for convention in [QueryConvention::InBaseString, QueryConvention::UrlOnly] {
        if verifies(lst, convention, None) {
            return Ok(Accepted::Proven(convention));
        }
    }
    if verifies(lst, QueryConvention::PerValueEncoded, None) {
        return Ok(Accepted::SpecOnly);
    }
    let mistake = name_mistake(request, credentials, signature, |signed| {
        mistakes::hmac_request_candidates(signed, mistakes::IBKR_ACCEPTS, lst, variants)
    });
    let reason = match mistake {
        Some(mistake) => mistake.describe(),
        None => "HMAC-SHA256 signature does not verify with this session's LST (LST bytes, base string or URL differ)",
    };
    Err(refuse(INVALID_SIGNATURE, reason))
}
