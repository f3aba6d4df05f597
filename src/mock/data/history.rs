//! `GET /iserver/marketdata/history`: bars that end at the snapshot's last price, under IBKR's
//! period and bar rules (cpapi-v1 reference, "Market Data History", read 2026-11-30:
//! https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#md-history): periods
//! `{1-30}min`, `{1-8}h`, `{1-1000}d`, `{1-792}w`, `{1-182}m`, `{1-15}y`; bars `1min` … `1m`;
//! "max of 1000 data points". Bars fall in trading time only: weekdays, 09:30-16:00 New York
//! time, or 04:00-20:00 with `outsideRth=true`; a day of 1-minute bars is 390 of them. A
//! request for more than 1000 gets the most recent 1000 (the reference names the limit, not what
//! happens above it: the mock's choice). Keys and types as recorded (`GET-iserver-marketdata-history.json`). A
//! period IBKR cannot read is not refused: it answered 200 in a 2026 recording, and a user who
//! measured it live found a default window of about 84 bars instead (stephus182/ibkr_core_mcp,
//! `client.py`, "verified live 2026-07-06": https://github.com/stephus182/ibkr_core_mcp).

use std::time::SystemTime;

use serde_json::{Value, json};

use super::Instrument;

/// Why a history request cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryError {
    Bar(String),
}

/// Periods: unit, largest count, seconds per unit (a month as 30 days, a year as 365).
const PERIOD_UNITS: [(&str, u64, u64); 6] = [
    ("min", 30, 60),
    ("h", 8, 3_600),
    ("d", 1000, 86_400),
    ("w", 792, 604_800),
    ("m", 182, 2_592_000),
    ("y", 15, 31_536_000),
];

/// Bar sizes IBKR accepts, with their length in seconds (`1m` as recorded: 2678400).
const BAR_SIZES: [(&str, u64); 15] = [
    ("1min", 60),
    ("2min", 120),
    ("3min", 180),
    ("5min", 300),
    ("10min", 600),
    ("15min", 900),
    ("30min", 1_800),
    ("1h", 3_600),
    ("2h", 7_200),
    ("3h", 10_800),
    ("4h", 14_400),
    ("8h", 28_800),
    ("1d", 86_400),
    ("1w", 604_800),
    ("1m", 2_678_400),
];

const MAX_POINTS: u64 = 1000;

/// Bars served for a period IBKR cannot read.
const DEFAULT_POINTS: u64 = 84;

/// Whether IBKR reads `period` (`1d`, `30min`, …); others get [`DEFAULT_POINTS`] bars.
pub fn period_is_valid(period: &str) -> bool {
    period_seconds(period).is_some()
}

/// A period's length in seconds, if IBKR accepts it.
fn period_seconds(period: &str) -> Option<u64> {
    let digits = period.bytes().take_while(u8::is_ascii_digit).count();
    let (count, unit) = period.split_at(digits);
    let count: u64 = count.parse().ok()?;
    let (_, most, seconds) = PERIOD_UNITS.iter().find(|(u, _, _)| *u == unit)?;
    (1..=*most).contains(&count).then_some(count * seconds)
}

fn bar_seconds(bar: &str) -> Option<u64> {
    BAR_SIZES.iter().find(|(b, _)| *b == bar).map(|(_, s)| *s)
}

/// Seconds after midnight New York time, and whether that day is a weekday, for a UTC time.
/// Daylight saving from the second Sunday of March to the first Sunday of November.
fn new_york(t: u64) -> (u64, bool) {
    use crate::calendar::{civil_from_days, days_from_civil, weekday_of};
    let sunday_on_or_after = |year: i64, month: u32, day: u32| {
        let days = days_from_civil(year, month, day);
        days + i64::from((6 + 7 - weekday_of(days)) % 7)
    };
    let (year, _, _) = civil_from_days((t / 86_400) as i64);
    let summer_from = (sunday_on_or_after(year, 3, 8) * 86_400 + 7 * 3600) as u64;
    let summer_until = (sunday_on_or_after(year, 11, 1) * 86_400 + 6 * 3600) as u64;
    let offset = if (summer_from..summer_until).contains(&t) {
        4 * 3600
    } else {
        5 * 3600
    };
    let local = t - offset;
    (local % 86_400, weekday_of((local / 86_400) as i64) < 5)
}

/// Whether a bar starting at `t` lies in trading time.
fn open_at(t: u64, outside_rth: bool) -> bool {
    let (second, weekday) = new_york(t);
    let (from, to) = if outside_rth {
        (4 * 3600, 20 * 3600)
    } else {
        (9 * 3600 + 1800, 16 * 3600)
    };
    weekday && (from..to).contains(&second)
}

/// Start times of the bars, oldest first: intraday bars in trading time covering the period's
/// trading time (a day counts one session), longer bars one per weekday, week or month.
fn bar_times(period: Option<u64>, bar: u64, outside_rth: bool, now: u64) -> Vec<u64> {
    let session = if outside_rth { 16 * 3600 } else { 6 * 3600 + 1800 };
    let wanted = match period {
        // Minutes and hours are trading time; days and longer count sessions.
        Some(span) if span < 86_400 => span.div_ceil(bar),
        Some(span) if bar < 86_400 => (span / 86_400 * 5 / 7).max(1) * session / bar,
        Some(span) => (span / bar * if bar == 86_400 { 5 } else { 7 } / 7).max(1),
        None => DEFAULT_POINTS,
    }
    .clamp(1, MAX_POINTS);
    let mut times = Vec::with_capacity(wanted as usize);
    let mut t = now - now % bar;
    // Bounded: even the sparsest walk (1-minute bars over a long weekend) ends within a week.
    while (times.len() as u64) < wanted && t > bar {
        let keep = if bar < 86_400 {
            open_at(t, outside_rth)
        } else {
            bar > 86_400 || new_york(t + 43_200).1
        };
        if keep {
            times.push(t);
        }
        t -= bar;
    }
    times.reverse();
    times
}

/// The history answer for `instrument`, ending at `now`.
pub fn history(
    instrument: &Instrument,
    period: &str,
    bar: &str,
    outside_rth: bool,
    now: SystemTime,
) -> Result<Value, HistoryError> {
    let bar_length = bar_seconds(bar).ok_or_else(|| HistoryError::Bar(bar.to_owned()))?;
    let now_s = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let times = bar_times(period_seconds(period), bar_length, outside_rth, now_s);
    let points = times.len() as u64;
    let scale = 10f64.powi(instrument.decimals as i32);
    let round = |p: f64| (p * scale).round() / scale;
    // A gentle wave whose last close is the snapshot's last price.
    let close = |i: u64| {
        let left = (points - 1 - i) as f64 / points as f64;
        round(instrument.last * (1.0 + 0.02 * left * (i as f64 * 0.9).sin()))
    };
    let mut data = Vec::with_capacity(points as usize);
    let (mut high, mut low, mut volume) = (f64::MIN, f64::MAX, 0.0);
    for i in 0..points {
        let c = close(i);
        let o = if i == 0 { round(c * 0.999) } else { close(i - 1) };
        let h = round(o.max(c) * 1.001);
        let l = round(o.min(c) * 0.999);
        let v = (1_000 + (i * 7_919) % 5_000) as f64;
        high = high.max(h);
        low = low.min(l);
        volume += v;
        data.push(json!({
            "o": o, "c": c, "h": h, "l": l, "v": v,
            "t": times[i as usize] * 1000
        }));
    }
    let price_factor = 10u64.pow(instrument.decimals as u32);
    let minutes = points * bar_length / 60;
    let first_start = times.first().copied().unwrap_or(now_s);
    let (year, month, day, hour, minute, second) =
        crate::calendar::clock(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(first_start));
    Ok(json!({
        "serverId": "20477",
        "symbol": instrument.symbol,
        "text": instrument.company,
        "priceFactor": price_factor,
        "startTime": format!("{year:04}{month:02}{day:02}-{hour:02}:{minute:02}:{second:02}"),
        // "price × priceFactor / volume / minutes", as recorded.
        "high": format!("{}/{volume:.2}/{minutes}", (high * price_factor as f64).round()),
        "low": format!("{}/{volume:.2}/{minutes}", (low * price_factor as f64).round()),
        "timePeriod": period,
        "barLength": bar_length,
        // Delayed, as the snapshot's 6509 says for the mock's paper account (recording notes:
        // "mdAvailability 'S'/'D'; mktDataDelay 900 for delayed").
        "mdAvailability": "D",
        "mktDataDelay": 900,
        "outsideRth": outside_rth,
        "volumeFactor": 1,
        "priceDisplayRule": 1,
        "priceDisplayValue": instrument.decimals.to_string(),
        "negativeCapable": false,
        "messageVersion": 2,
        "data": data,
        "points": points - 1,
        "travelTime": 3
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::data::ARM;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    /// Monday 2026-11-30 21:00 UTC (16:00 in New York, after the close).
    const MONDAY_EVENING: u64 = 1_796_072_400;

    #[test]
    fn bars_end_at_the_last_price_in_trading_time() {
        let body = history(&ARM, "1d", "5min", false, at(MONDAY_EVENING)).unwrap();
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 78, "a 6.5-hour session of 5-minute bars");
        assert_eq!(data.last().unwrap()["c"], json!(ARM.last));
        assert!(data.windows(2).all(|w| w[1]["t"].as_u64() > w[0]["t"].as_u64()));
        for bar in data {
            let (h, l) = (bar["h"].as_f64().unwrap(), bar["l"].as_f64().unwrap());
            assert!(h >= bar["o"].as_f64().unwrap() && h >= bar["c"].as_f64().unwrap() && l <= h);
            assert!(open_at(bar["t"].as_u64().unwrap() / 1000, false));
        }
        // IBKR's own example, a day of 1-minute bars: one session, 390 bars, not a refusal.
        let minutes = history(&ARM, "1d", "1min", false, at(MONDAY_EVENING)).unwrap();
        assert_eq!(minutes["data"].as_array().unwrap().len(), 390);
        let extended = history(&ARM, "1d", "1min", true, at(MONDAY_EVENING)).unwrap();
        assert_eq!(extended["data"].as_array().unwrap().len(), 960);
        // A week of days is five sessions; more than 1000 bars gives the latest 1000.
        assert_eq!(
            history(&ARM, "1w", "1d", false, at(MONDAY_EVENING)).unwrap()["data"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            history(&ARM, "30d", "1min", false, at(MONDAY_EVENING)).unwrap()["data"]
                .as_array()
                .unwrap()
                .len(),
            1000
        );
        assert_eq!(
            history(&ARM, "2d", "7min", false, at(0)),
            Err(HistoryError::Bar("7min".into()))
        );
        let unread = history(&ARM, "6M", "1d", false, at(MONDAY_EVENING)).unwrap();
        assert_eq!(
            unread["data"].as_array().unwrap().len(),
            84,
            "a default window, as measured live"
        );
        assert!(!period_is_valid("31min") && !period_is_valid("INVALID") && period_is_valid("30min"));
        assert!(history(&ARM, "15y", "1m", false, at(MONDAY_EVENING)).is_ok());
    }

    #[test]
    fn new_york_time_follows_daylight_saving() {
        // 2026-07-01 13:30 UTC is 09:30 EDT; 2026-12-01 14:30 UTC is 09:30 EST.
        assert_eq!(new_york(1_782_912_600), (9 * 3600 + 1800, true));
        assert_eq!(new_york(1_796_135_400), (9 * 3600 + 1800, true));
        assert!(!open_at(1_796_135_400 - 60, false) && open_at(1_796_135_400, false));
    }
}
