//! Option chains: the months search lists, strikes around the underlying's price, and the
//! contracts `/iserver/secdef/info` hands out (ARM, AAPL and SPY with weeklies, IBM monthly).

use serde_json::{Value, json};

use super::{ARM, Instrument, stock_by_conid};
use crate::calendar::MONTH_CODES;

/// Option months the search answer lists (the guide's AUG25 first).
pub(super) const OPTION_MONTHS: &str = "AUG25;SEP25;OCT25;NOV25;DEC25;JAN26;MAR26;JUN26;DEC26;JAN27";

/// The guide's contracts: ARM AUG25 143 C expiring 2025-08-22 and the 145 C. These two conids
/// are only seen in the user guide's repository (`seeds/`), not in any recording.
pub const ARM_AUG25_143_C: u64 = 804_155_360;
pub const ARM_AUG25_145_C: u64 = 796_812_614;

/// Parses IBKR's `MMMYY` month (e.g. `AUG25`) into (year, month 1-12); `YYYYMM` (`202701`) too,
/// which IBKR was recorded accepting for strikes in 2026.
pub fn parse_month(text: &str) -> Option<(u32, u32)> {
    if !text.is_ascii() {
        return None;
    }
    if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) {
        let (year, month): (u32, u32) = (text[..4].parse().ok()?, text[4..].parse().ok()?);
        return (1..=12).contains(&month).then_some((year, month));
    }
    if text.len() != 5 {
        return None;
    }
    let month = MONTH_CODES.iter().position(|m| m.eq_ignore_ascii_case(&text[..3]))? as u32 + 1;
    let year: u32 = text[3..].parse().ok()?;
    Some((2000 + year, month))
}

/// Strikes 5 apart around the underlying's price, ascending, the same for calls and puts.
fn strike_list(stock: &Instrument) -> Vec<f64> {
    let center = (stock.last / 5.0).round() * 5.0;
    let mut strikes: Vec<f64> = (-10..=10)
        .map(|i| center + f64::from(i) * 5.0)
        .filter(|s| *s > 0.0)
        .collect();
    if stock.conid == ARM.conid {
        // The guide's strikes: 143 and 145 exist for ARM.
        strikes.extend([143.0, 147.0]);
        strikes.sort_by(f64::total_cmp);
        strikes.dedup();
    }
    strikes
}

/// `GET /iserver/secdef/strikes`: `{"call":[…],"put":[…]}`; empty lists when the underlying was
/// not searched first in this session, or for a month that is no month (IBKR answers 200 to
/// `month=999999`, as recorded in 2026). `None` for a conid the mock does not know.
pub fn strikes(conid: u64, month: &str, searched: bool) -> Option<Value> {
    let stock = stock_by_conid(conid)?;
    if !searched || parse_month(month).is_none() {
        return Some(json!({"call": [], "put": []}));
    }
    let list = strike_list(stock);
    Some(json!({"call": list, "put": list}))
}

/// A stable synthetic conid for an option that has no real one in this mock.
fn option_conid(underlying: u64, expiry: &str, strike: f64, right: char) -> u64 {
    if underlying == ARM.conid && expiry == "20250822" && right == 'C' {
        if strike == 143.0 {
            return ARM_AUG25_143_C;
        }
        if strike == 145.0 {
            return ARM_AUG25_145_C;
        }
    }
    // FNV-1a over the description, folded into IBKR's 9-digit range.
    let text = format!("{underlying}{expiry}{strike}{right}");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    700_000_000 + hash % 200_000_000
}

/// The expiries the mock lists for a month: every Friday for a chain with weeklies, else the
/// third Friday (IBKR returns several expiries for one month when weeklies trade).
pub(super) fn expiries(year: u32, month: u32, weeklies: bool) -> Vec<(String, u32)> {
    let first_friday = 1 + (4 + 7 - crate::calendar::weekday(year, month, 1)) % 7;
    let days = crate::calendar::days_in_month(year, month);
    (0..5)
        .map(|week| first_friday + 7 * week)
        .filter(|d| *d <= days && (weeklies || *d == first_friday + 14))
        .map(|d| (format!("{year:04}{month:02}{d:02}"), d))
        .collect()
}

/// `GET /iserver/secdef/info`: always an array; one element per expiry and right.
pub fn info(conid: u64, month: &str, strike: f64, right: Option<char>) -> Option<Value> {
    let stock = stock_by_conid(conid)?;
    let (year, month_number) = parse_month(month)?;
    if !strike_list(stock).contains(&strike) {
        return Some(json!([]));
    }
    let rights: &[char] = match right {
        Some('C') => &['C'],
        Some('P') => &['P'],
        Some(_) => return Some(json!([])),
        None => &['C', 'P'],
    };
    let mut out = Vec::new();
    for (expiry, day) in expiries(year, month_number, stock.weeklies) {
        for &r in rights {
            let month_name = &month[..3].to_ascii_uppercase();
            out.push(json!({
                "conid": option_conid(conid, &expiry, strike, r),
                "symbol": stock.symbol,
                "secType": "OPT",
                "exchange": "SMART",
                "listingExchange": null,
                "right": r.to_string(),
                "strike": strike,
                "currency": "USD",
                "cusip": null,
                "coupon": "No Coupon",
                "desc1": stock.symbol,
                "desc2": format!("{month_name} {day:02} '{} {} {}", &month[3..], format_strike(strike), if r == 'C' { "Call" } else { "Put" }),
                "maturityDate": expiry,
                "multiplier": "100",
                "tradingClass": stock.symbol,
                "validExchanges": "SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,NASDAQBX,MIAX,GEMINI,EDGX,MERCURY,PEARL,EMERALD,MEMX,IBUSOPT"
            }));
        }
    }
    Some(Value::Array(out))
}

fn format_strike(strike: f64) -> String {
    if strike.fract() == 0.0 {
        format!("{strike:.0}")
    } else {
        format!("{strike}")
    }
}
