//! Is the consumer key active yet? One LST attempt says; `--watch` repeats until it is or a
//! deadline passes, and says when IBKR's next weekend reset (when new keys go live) is due.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::client::{Client, ClientError};

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// The LST handshake succeeded: the key works.
    Active,
    /// IBKR answered `invalid consumer`: not active yet, or mistyped (IBKR does not tell them
    /// apart), or the wrong realm.
    Inactive { message: String, reference_id: Option<u64> },
    /// IBKR knows the key but refused the request for another reason (`LST failed`, ...):
    /// the key is active, the credentials or the code are wrong.
    Refused { message: String },
    /// No usable answer: network, timeout, a server that does not speak IBKR.
    Unreachable { error: String },
}

impl State {
    /// Exit code: 0 active, 4 inactive, 3 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Active => crate::exit::SUCCESS,
            Self::Inactive { .. } => crate::exit::CHECK_FAILED,
            Self::Refused { .. } | Self::Unreachable { .. } => crate::exit::RUNTIME_FAILURE,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::Active => "ACTIVE: the consumer key works (live session token obtained and validated)".into(),
            Self::Inactive { reference_id, .. } => {
                let reference = reference_id
                    .map(|id| format!(" (reference id {id})"))
                    .unwrap_or_default();
                format!(
                    "not active yet, or mistyped: IBKR answers \"invalid consumer\"{reference} both for a key it has not activated and for one it does not know; compare IB_CONSUMER_KEY with the portal once before you wait"
                )
            }
            Self::Refused { message } => format!(
                "the key is known to IBKR (no longer \"invalid consumer\") but the LST request fails: {message}; run `ibkr-probe explain \"{message}\"` and `ibkr-probe diagnose`"
            ),
            Self::Unreachable { error } => format!("no answer: {error}"),
        }
    }
}

/// One attempt as reported by `--watch --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub attempt: u32,
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub state: State,
}

/// One LST attempt, classified.
pub async fn attempt(client: &Client) -> State {
    match client.live_session_token().await {
        Ok(_) => State::Active,
        Err(ClientError::Ibkr { message, .. }) if message.message.to_ascii_lowercase().contains("invalid consumer") => {
            State::Inactive {
                message: message.message,
                reference_id: message.reference_id,
            }
        }
        Err(ClientError::Ibkr { message, .. }) => State::Refused {
            message: message.message,
        },
        Err(ClientError::LstValidation) => State::Refused {
            message: ClientError::LstValidation.to_string(),
        },
        Err(e) => State::Unreachable { error: e.to_string() },
    }
}

/// The smallest interval allowed against IBKR's production host, so a watch never adds up to
/// anything near its pacing limits.
pub const LIVE_MIN_INTERVAL: Duration = Duration::from_secs(30);

/// The interval to use: `requested`, raised to [`LIVE_MIN_INTERVAL`] against api.ibkr.com.
pub fn effective_interval(base_url: &str, requested: Duration) -> Duration {
    if base_url.contains("api.ibkr.com") {
        requested.max(LIVE_MIN_INTERVAL)
    } else {
        requested
    }
}

/// Repeats attempts every `interval` until the key is active, IBKR refuses for another reason,
/// or `timeout` passes. Network failures are retried. Returns the last state.
pub async fn watch(client: &Client, interval: Duration, timeout: Duration, mut report: impl FnMut(&Attempt)) -> State {
    let clock = &client.options().clock;
    let started = clock.mark();
    let mut number = 0;
    loop {
        number += 1;
        let state = attempt(client).await;
        let done = matches!(state, State::Active | State::Refused { .. });
        report(&Attempt {
            attempt: number,
            elapsed_ms: clock.since(started).as_millis() as u64,
            state: state.clone(),
        });
        if done || clock.since(started) + interval > timeout {
            return state;
        }
        clock.sleep(interval).await;
    }
}

/// When IBKR's next weekend reset is due: new portal keys usually start working after the
/// Friday/Saturday evening reset (US Eastern). Returns the coming Friday's date, `YYYY-MM-DD`.
pub fn next_weekend_reset(now: SystemTime) -> String {
    use crate::calendar;
    let today = calendar::days(now);
    let until_friday = (4 + 7 - calendar::weekday_of(today)) % 7;
    let (year, month, day) = calendar::civil_from_days(today + i64::from(until_friday));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_friday() {
        let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        // Tuesday 2026-11-24 -> Friday 2026-11-27; a Friday stays that Friday.
        assert_eq!(next_weekend_reset(at(1_795_507_200)), "2026-11-27");
        assert_eq!(next_weekend_reset(at(1_795_507_200 + 3 * 86_400)), "2026-11-27");
        assert_eq!(next_weekend_reset(at(1_795_507_200 + 4 * 86_400)), "2026-12-04");
    }

    #[test]
    fn floor_applies_to_ibkr_only() {
        let one = Duration::from_secs(1);
        assert_eq!(
            effective_interval("https://api.ibkr.com/v1/api", one),
            LIVE_MIN_INTERVAL
        );
        assert_eq!(effective_interval("http://127.0.0.1:5000/v1/api", one), one);
    }
}
