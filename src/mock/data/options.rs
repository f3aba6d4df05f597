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

/// An option the mock quotes and trades: every conid `secdef/info` hands out decodes to one.
#[derive(Debug, Clone, Copy)]
pub struct OptionContract {
    pub underlying: &'static Instrument,
    /// Expiry as `yyyymmdd`.
    pub expiry: u32,
    pub strike: f64,
    /// `C` or `P`.
    pub right: char,
}

impl OptionContract {
    /// IBKR's description of it, as `secdef/info`'s `desc2` and order rows write it:
    /// `AUG 22 '25 143 Call`.
    pub fn description(&self) -> String {
        let (year, month, day) = (self.expiry / 10_000, self.expiry / 100 % 100, self.expiry % 100);
        format!(
            "{} {day:02} '{:02} {} {}",
            MONTH_CODES[month as usize - 1],
            year % 100,
            format_strike(self.strike),
            if self.right == 'C' { "Call" } else { "Put" }
        )
    }
}

/// The guide's two options keep their real conids.
const GUIDE_OPTIONS: [(u64, u32, f64); 2] = [
    (ARM_AUG25_143_C, 20_250_822, 143.0),
    (ARM_AUG25_145_C, 20_250_822, 145.0),
];

/// Synthetic option conids: 700000000 plus the underlying's place in the table, the expiry's day
/// number since 2020-01-01, twice the strike and the right, packed so that a conid decodes back
/// to its contract (9 digits, as IBKR's).
const OPTION_BASE: u64 = 700_000_000;
const EPOCH_2020: i64 = 18_262;

fn option_conid(contract: &OptionContract) -> u64 {
    if contract.underlying.conid == ARM.conid && contract.right == 'C' {
        for (conid, expiry, strike) in GUIDE_OPTIONS {
            if contract.expiry == expiry && contract.strike == strike {
                return conid;
            }
        }
    }
    let index = super::INSTRUMENTS
        .iter()
        .position(|i| i.conid == contract.underlying.conid)
        .unwrap_or(0) as u64;
    let (y, m, d) = (
        contract.expiry / 10_000,
        contract.expiry / 100 % 100,
        contract.expiry % 100,
    );
    let days = (crate::calendar::days_from_civil(i64::from(y), m, d) - EPOCH_2020).clamp(0, 4095) as u64;
    let strike = ((contract.strike * 2.0).round() as u64).min(4095);
    OPTION_BASE + (((index * 4096 + days) * 4096 + strike) * 2 + u64::from(contract.right == 'P'))
}

/// The option a conid names, if the mock handed it out.
pub fn option_by_conid(conid: u64) -> Option<OptionContract> {
    if let Some((_, expiry, strike)) = GUIDE_OPTIONS.iter().find(|(c, _, _)| *c == conid) {
        return Some(OptionContract {
            underlying: &ARM,
            expiry: *expiry,
            strike: *strike,
            right: 'C',
        });
    }
    let code = conid.checked_sub(OPTION_BASE)?;
    let right = if code % 2 == 1 { 'P' } else { 'C' };
    let strike = (code / 2 % 4096) as f64 / 2.0;
    let days = (code / 2 / 4096 % 4096) as i64;
    let index = (code / 2 / 4096 / 4096) as usize;
    let underlying = super::INSTRUMENTS
        .get(index)
        .filter(|i| i.kind != super::Kind::Future && i.kind != super::Kind::Forex)?;
    let (year, month, day) = crate::calendar::civil_from_days(EPOCH_2020 + days);
    let contract = OptionContract {
        underlying,
        expiry: year as u32 * 10_000 + month * 100 + day,
        strike,
        right,
    };
    // Only what `info` would list: a listed strike on a listed expiry, and the same conid back.
    let listed = strike_list(underlying).contains(&strike)
        && expiries(year as u32, month, underlying.weeklies)
            .iter()
            .any(|(_, d)| *d == day);
    (listed && option_conid(&contract) == conid).then_some(contract)
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
///
/// Only `MMMYY` months: a `YYYYMM` month, which strikes accept, answered 400 here in 2026
/// (`GET-iserver-secdef-info-bad-month.json`).
pub fn info(conid: u64, month: &str, strike: f64, right: Option<char>) -> Option<Value> {
    let stock = stock_by_conid(conid)?;
    if month.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
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
    for (expiry, _) in expiries(year, month_number, stock.weeklies) {
        for &r in rights {
            let contract = OptionContract {
                underlying: stock,
                expiry: expiry.parse().unwrap_or_default(),
                strike,
                right: r,
            };
            out.push(json!({
                "conid": option_conid(&contract),
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
                "desc2": contract.description(),
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
