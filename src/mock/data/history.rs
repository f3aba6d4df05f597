//! `GET /iserver/marketdata/history`: bars that end at the snapshot's last price, under IBKR's
//! period and bar rules (cpapi-v1 reference, "Market Data History", read 2026-11-30:
//! https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#md-history): periods
//! `{1-30}min`, `{1-8}h`, `{1-1000}d`, `{1-792}w`, `{1-182}m`, `{1-15}y`; bars `1min` … `1m`;
//! at most 1000 points. Keys and types as recorded (`GET-iserver-marketdata-history.json`). A
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
    /// The period holds more bars than IBKR serves at once.
    TooManyPoints(u64),
}

/// A parsed bar size.
#[derive(Debug, Clone, Copy)]
pub struct Bars {
    /// Seconds per bar.
    pub seconds: u64,
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

/// The history answer for `instrument`, ending at `now`.
pub fn history(instrument: &Instrument, period: &str, bar: &str, now: SystemTime) -> Result<Value, HistoryError> {
    let bars = Bars {
        seconds: bar_seconds(bar).ok_or_else(|| HistoryError::Bar(bar.to_owned()))?,
    };
    let points = period_seconds(period).map_or(DEFAULT_POINTS, |span| span.div_ceil(bars.seconds).max(1));
    if points > MAX_POINTS {
        return Err(HistoryError::TooManyPoints(points));
    }
    let now_s = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let last_start = now_s - now_s % bars.seconds;
    let first_start = last_start.saturating_sub((points - 1) * bars.seconds);
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
            "t": (first_start + i * bars.seconds) * 1000
        }));
    }
    let price_factor = 10u64.pow(instrument.decimals as u32);
    let minutes = points * bars.seconds / 60;
    let (year, month, day) =
        crate::calendar::civil(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(first_start));
    let seconds_of_day = first_start % 86_400;
    Ok(json!({
        "serverId": "20477",
        "symbol": instrument.symbol,
        "text": instrument.company,
        "priceFactor": price_factor,
        "startTime": format!(
            "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
            seconds_of_day / 3600,
            seconds_of_day % 3600 / 60,
            seconds_of_day % 60
        ),
        // "price × priceFactor / volume / minutes", as recorded.
        "high": format!("{}/{volume:.2}/{minutes}", (high * price_factor as f64).round()),
        "low": format!("{}/{volume:.2}/{minutes}", (low * price_factor as f64).round()),
        "timePeriod": period,
        "barLength": bars.seconds,
        "mdAvailability": "S",
        "mktDataDelay": 0,
        "outsideRth": false,
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

    #[test]
    fn bars_end_at_the_last_price_and_follow_the_rules() {
        let body = history(&ARM, "1d", "5min", at(1_795_507_200)).unwrap();
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 288);
        assert_eq!(data.last().unwrap()["c"], json!(ARM.last));
        assert!(data.windows(2).all(|w| w[1]["t"].as_u64() > w[0]["t"].as_u64()));
        for bar in data {
            let (h, l) = (bar["h"].as_f64().unwrap(), bar["l"].as_f64().unwrap());
            assert!(h >= bar["o"].as_f64().unwrap() && h >= bar["c"].as_f64().unwrap() && l <= h);
        }
        assert_eq!(
            history(&ARM, "2d", "7min", at(0)),
            Err(HistoryError::Bar("7min".into()))
        );
        let unread = history(&ARM, "6M", "1d", at(1_795_507_200)).unwrap();
        assert_eq!(
            unread["data"].as_array().unwrap().len(),
            84,
            "a default window, as measured live"
        );
        assert!(!period_is_valid("31min") && !period_is_valid("INVALID") && period_is_valid("30min"));
        assert_eq!(
            history(&ARM, "1000d", "1min", at(0)),
            Err(HistoryError::TooManyPoints(1_440_000))
        );
        assert!(history(&ARM, "15y", "1m", at(1_795_507_200)).is_ok());
    }
}
