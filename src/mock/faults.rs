//! Scripted failures (`mock --fault NAME[:RATE]`), so clients can be tested against what IBKR
//! does on a bad day. Rates are applied deterministically: `server-error:0.25` fails exactly
//! every fourth request, which keeps tests repeatable.

use std::str::FromStr;
use std::sync::Mutex;

/// A kind of failure the mock can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 `{"error":"Too Many Requests"}`.
    RateLimit,
    /// 401 `{"error":"Invalid signature"}` even for a correct signature.
    InvalidSignature,
    /// 500 and 503 in turn, with IBKR's bodies.
    ServerError,
    /// 200 with a truncated JSON body.
    MalformedJson,
    /// The connection closes before a complete response.
    DropConnection,
    /// The answer comes only after the configured delay (longer than a client's timeout).
    Slow,
    /// `ssodh/init` answers 410 Gone with an empty body (ibind#134, paper account via OAuth).
    Gone,
    /// `ssodh/init` answers 500 `{"error":"failed to generate sso dh token"}` (ibind#152).
    SsoDh,
    /// Another login takes the brokerage session: status says `competing: true`,
    /// `/iserver/accounts` answers `{}` (ibeam#40) and other `/iserver` calls `Init session
    /// first` (ibeam#117) until `ssodh/init` takes the session back.
    Competing,
    /// IBKR restarts: this request gets 503 (ibeam#266, at the nightly reset) and every session
    /// is gone: `/tickle` then answers 200 `{"error":"no session"}` (ibeam#242, ibeam#268) and
    /// other calls 401, until the client gets a new live session token.
    Restart,
    /// The websocket is cut without a close frame right after its connect burst.
    WsDrop,
    /// The websocket is closed with code 1000 and an empty reason (the only server close on
    /// record, ibind #7) right after its connect burst.
    WsClose,
    /// The websocket sends its connect burst, then nothing: no heartbeats, no data, no answers.
    WsSilence,
}

impl FaultKind {
    /// Every kind with its command-line name.
    pub const ALL: [(&'static str, FaultKind); 13] = [
        ("rate-limit", FaultKind::RateLimit),
        ("invalid-signature", FaultKind::InvalidSignature),
        ("server-error", FaultKind::ServerError),
        ("malformed-json", FaultKind::MalformedJson),
        ("drop-connection", FaultKind::DropConnection),
        ("slow", FaultKind::Slow),
        ("gone", FaultKind::Gone),
        ("sso-dh", FaultKind::SsoDh),
        ("competing", FaultKind::Competing),
        ("restart", FaultKind::Restart),
        ("ws-drop", FaultKind::WsDrop),
        ("ws-close", FaultKind::WsClose),
        ("ws-silence", FaultKind::WsSilence),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, k)| *k == self).map_or("?", |(n, _)| n)
    }

    /// Whether the fault can hit a request to `route` (the path after `/v1/api`): the
    /// brokerage-session faults hit `ssodh/init` only, the session faults any request but the
    /// handshake (there is no session to take yet), the websocket faults the websocket's
    /// connections (`/ws`) and the others every request but those.
    pub fn applies_to(self, route: &str) -> bool {
        match self {
            FaultKind::Gone | FaultKind::SsoDh => route == "/iserver/auth/ssodh/init",
            FaultKind::Competing | FaultKind::Restart => route != "/oauth/live_session_token" && route != "/ws",
            FaultKind::WsDrop | FaultKind::WsClose | FaultKind::WsSilence => route == "/ws",
            _ => route != "/ws",
        }
    }
}

/// A fault and the fraction of requests it hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    pub rate: f64,
}

impl FromStr for Fault {
    type Err = String;

    /// `NAME` (every request) or `NAME:RATE` with RATE in (0, 1].
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, rate) = text.split_once(':').unwrap_or((text, "1"));
        let kind = FaultKind::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = FaultKind::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown fault {name:?}; expected one of {}", names.join(", "))
            })?;
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("fault rate {rate:?} is not a number"))?;
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(format!("fault rate {rate} must be in (0, 1]"));
        }
        Ok(Self { kind, rate })
    }
}

/// The faults of one mock, each with its accumulator.
#[derive(Debug, Default)]
pub struct FaultPlan {
    faults: Vec<(Fault, Mutex<f64>)>,
}

impl FaultPlan {
    pub fn new(faults: &[Fault]) -> Self {
        Self {
            faults: faults.iter().map(|f| (*f, Mutex::new(0.0))).collect(),
        }
    }

    /// The fault that hits a request to `route`, if any (the first listed wins when several are
    /// due). Only requests a fault applies to count towards its rate.
    pub fn next(&self, route: &str) -> Option<FaultKind> {
        let mut hit = None;
        for (fault, accumulator) in self.faults.iter().filter(|(f, _)| f.kind.applies_to(route)) {
            let mut acc = accumulator.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *acc += fault.rate;
            if *acc >= 1.0 - 1e-9 {
                *acc -= 1.0;
                hit = hit.or(Some(fault.kind));
            }
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rates() {
        assert_eq!(
            "slow".parse::<Fault>().unwrap(),
            Fault {
                kind: FaultKind::Slow,
                rate: 1.0
            }
        );
        assert_eq!("server-error:0.5".parse::<Fault>().unwrap().rate, 0.5);
        assert!("server-eror".parse::<Fault>().unwrap_err().contains("server-error"));
        assert!("slow:0".parse::<Fault>().is_err());
        assert!("slow:2".parse::<Fault>().is_err());
        assert!("slow:x".parse::<Fault>().is_err());
    }

    #[test]
    fn rates_are_exact_and_deterministic() {
        let plan = FaultPlan::new(&["server-error:0.25".parse().unwrap()]);
        let hits: Vec<bool> = (0..8).map(|_| plan.next("/tickle").is_some()).collect();
        assert_eq!(hits, [false, false, false, true, false, false, false, true]);
    }

    #[test]
    fn brokerage_faults_count_only_their_endpoint() {
        let plan = FaultPlan::new(&["gone:0.5".parse().unwrap()]);
        assert_eq!(plan.next("/tickle"), None);
        assert_eq!(plan.next("/iserver/auth/ssodh/init"), None);
        assert_eq!(plan.next("/iserver/accounts"), None);
        assert_eq!(plan.next("/iserver/auth/ssodh/init"), Some(FaultKind::Gone));
    }
}
