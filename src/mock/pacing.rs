//! IBKR's pacing, per consumer: a global rate, slower limits on some endpoints, and the penalty
//! box for a consumer that broke the global rate. The per-endpoint limits are the cpapi-v1
//! reference's "Pacing Limitations" table
//! (https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#pacing-limitations, read
//! 2026-11-30). The rate and the box's length are `MockConfig` settings, because IBKR's pages
//! disagree on both (docs/mock.md, "Pacing").

use std::time::{Duration, SystemTime};

use super::state::Pacing;

/// Endpoints with their own limit: one request per this long.
const ENDPOINT_LIMITS: [(&str, Duration); 8] = [
    ("/iserver/scanner/params", Duration::from_secs(15 * 60)),
    ("/iserver/scanner/run", Duration::from_secs(1)),
    ("/iserver/account/orders", Duration::from_secs(5)),
    ("/iserver/account/trades", Duration::from_secs(5)),
    ("/iserver/account/pnl/partitioned", Duration::from_secs(5)),
    ("/portfolio/accounts", Duration::from_secs(5)),
    ("/portfolio/subaccounts", Duration::from_secs(5)),
    ("/tickle", Duration::from_secs(1)),
];

/// Why a request was paced out, for the log.
pub(super) type Refusal = String;

/// Admits a request to `path` at `now`, or says why IBKR would answer 429.
pub(super) fn admit(
    pacing: &mut Pacing,
    path: &str,
    rate_limit: u32,
    penalty_box: Duration,
    now: SystemTime,
) -> Result<(), Refusal> {
    if rate_limit == u32::MAX {
        return Ok(());
    }
    if let Some(until) = pacing.boxed_until {
        if now < until {
            return Err(format!(
                "penalty box: {} s left after exceeding {rate_limit} requests/s",
                until.duration_since(now).unwrap_or_default().as_secs()
            ));
        }
        pacing.boxed_until = None;
    }
    while pacing
        .recent
        .front()
        .is_some_and(|t| now.duration_since(*t).unwrap_or_default() >= Duration::from_secs(1))
    {
        pacing.recent.pop_front();
    }
    if pacing.recent.len() >= rate_limit as usize {
        pacing.boxed_until = Some(now + penalty_box);
        return Err(format!(
            "more than {rate_limit} requests/s in this session: penalty box for {} s",
            penalty_box.as_secs()
        ));
    }
    if let Some((endpoint, every)) = ENDPOINT_LIMITS.iter().find(|(p, _)| *p == path) {
        if let Some(last) = pacing.last_call.get(endpoint)
            && now.duration_since(*last).unwrap_or_default() < *every
        {
            return Err(format!("{endpoint} allows one request every {} s", every.as_secs()));
        }
        pacing.last_call.insert(endpoint, now);
    }
    pacing.recent.push_back(now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: Duration = Duration::from_secs(600);

    #[test]
    fn global_rate_then_the_penalty_box() {
        let mut pacing = Pacing::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for _ in 0..3 {
            admit(&mut pacing, "/iserver/auth/status", 3, BOX, start).unwrap();
        }
        assert!(
            admit(&mut pacing, "/iserver/auth/status", 3, BOX, start)
                .unwrap_err()
                .contains("penalty box")
        );
        // A second later the window is clear, but the box holds for its whole length.
        let later = start + Duration::from_secs(2);
        assert!(
            admit(&mut pacing, "/iserver/auth/status", 3, BOX, later)
                .unwrap_err()
                .contains("s left")
        );
        admit(
            &mut pacing,
            "/iserver/auth/status",
            3,
            BOX,
            start + BOX + Duration::from_secs(1),
        )
        .unwrap();
    }

    #[test]
    fn slow_endpoints_have_their_own_limit_and_no_box() {
        let mut pacing = Pacing::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        admit(&mut pacing, "/iserver/account/orders", 10, BOX, start).unwrap();
        let refusal = admit(
            &mut pacing,
            "/iserver/account/orders",
            10,
            BOX,
            start + Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(refusal.contains("every 5 s"), "{refusal}");
        admit(
            &mut pacing,
            "/iserver/auth/status",
            10,
            BOX,
            start + Duration::from_secs(1),
        )
        .unwrap();
        admit(
            &mut pacing,
            "/iserver/account/orders",
            10,
            BOX,
            start + Duration::from_secs(6),
        )
        .unwrap();
    }

    #[test]
    fn unpaced_admits_everything() {
        let mut pacing = Pacing::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for _ in 0..100 {
            admit(&mut pacing, "/iserver/account/orders", u32::MAX, BOX, now).unwrap();
        }
    }
}
