//! The client's errors: each says what failed, what IBKR answered, and what to do.

use std::time::Duration;

/// IBKR's error body decoded: `{"error":"id: 39687, error: invalid consumer","statusCode":401}`.
///
/// The `id` is not an error code: the same message comes with many ids (it looks like a
/// per-request counter), so keep it only as a reference for IBKR support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbkrMessage {
    pub status: u16,
    /// The message text, e.g. `invalid consumer`; the raw body when it is not JSON.
    pub message: String,
    pub reference_id: Option<u64>,
    /// The server's `Date` header, to measure clock skew.
    pub server_date: Option<String>,
}

impl IbkrMessage {
    /// Decodes an error response body (JSON with `error`, or anything else as text).
    pub fn parse(status: u16, body: &[u8]) -> Self {
        let text = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
        let (reference_id, message) = match text.strip_prefix("id: ").and_then(|rest| rest.split_once(", error: ")) {
            Some((id, message)) => (id.trim().parse().ok(), message.to_owned()),
            None => (None, text),
        };
        Self {
            status,
            message,
            reference_id,
            server_date: None,
        }
    }

    /// Keeps the server's `Date` header from the response.
    pub fn with_server_date(mut self, headers: &reqwest::header::HeaderMap) -> Self {
        self.server_date = headers.get("date").and_then(|d| d.to_str().ok()).map(str::to_owned);
        self
    }
}

impl std::fmt::Display for IbkrMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.message)?;
        if let Some(id) = self.reference_id {
            write!(f, " (IBKR reference id {id}, not an error code)")?;
        }
        Ok(())
    }
}

/// What can go wrong talking to IBKR or the mock.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// IBKR refused with a status and message.
    #[error("{step}: {message}{}", hint_suffix(message))]
    Ibkr { step: &'static str, message: IbkrMessage },
    /// The server could not be reached or the connection broke.
    #[error("{step}: network error after {attempts} attempt(s): {detail}; check the base URL and your connection")]
    Network {
        step: &'static str,
        attempts: u32,
        detail: String,
    },
    /// No answer within the timeout.
    #[error("{step}: no answer within {timeout:?} after {attempts} attempt(s); the server is stalled or too slow")]
    Timeout {
        step: &'static str,
        attempts: u32,
        timeout: Duration,
    },
    /// The answer was not the JSON IBKR sends.
    #[error("{step}: unexpected response: {detail}")]
    Protocol { step: &'static str, detail: String },
    /// The server's `live_session_token_signature` does not match the LST we derived.
    #[error(
        "live session token: our LST does not match the server's live_session_token_signature; the prepend, K or the DH parameters differ from the server's (run `ibkr-probe diagnose`)"
    )]
    LstValidation,
    /// A value could not be computed (bad key, bad DH response, ...).
    #[error("{step}: {source}")]
    OAuth {
        step: &'static str,
        source: crate::oauth::Error,
    },
    /// A request needs an LST first.
    #[error("no live session token yet: call live_session_token() first")]
    NoSession,
    /// The base URL is not usable.
    #[error("base URL {0:?} is not an http(s) URL")]
    BaseUrl(String),
}

fn hint_suffix(message: &IbkrMessage) -> &'static str {
    let text = message.message.to_ascii_lowercase();
    if text.contains("invalid consumer") {
        "; the consumer key is unknown or not active yet (new keys start working after the weekend reset), or the realm is wrong"
    } else if text.contains("lst failed") {
        "; the LST request was refused: check the prepend, the signature key and the clock (run `ibkr-probe diagnose`)"
    } else if text.contains("no bridge") {
        "; no brokerage session: call POST /iserver/auth/ssodh/init first"
    } else if message.status == 429 {
        "; too many requests: slow down (IBKR allows about 10 requests/s)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_ibkr_bodies() {
        let m = IbkrMessage::parse(
            401,
            br#"{"error":"id: 39687, error: invalid consumer","statusCode":401}"#,
        );
        assert_eq!(
            m,
            IbkrMessage {
                status: 401,
                message: "invalid consumer".into(),
                reference_id: Some(39687),
                server_date: None
            }
        );
        let m = IbkrMessage::parse(
            401,
            br#"{"error":"id: 118871, error: LST failed, error: No access secret key found for abc","statusCode":401}"#,
        );
        assert_eq!(m.message, "LST failed, error: No access secret key found for abc");
        let m = IbkrMessage::parse(400, br#"{"error":"Bad Request: no bridge","statusCode":400}"#);
        assert_eq!((m.message.as_str(), m.reference_id), ("Bad Request: no bridge", None));
        assert_eq!(IbkrMessage::parse(503, b"<html>").message, "<html>");
        let shown = ClientError::Ibkr {
            step: "x",
            message: IbkrMessage::parse(401, br#"{"error":"id: 5, error: invalid consumer"}"#),
        }
        .to_string();
        assert!(
            shown.contains("not an error code") && shown.contains("weekend"),
            "{shown}"
        );
    }
}
