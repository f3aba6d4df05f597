//! The mock's market: a few real contracts (the guide's ARM options among them), with response
//! shapes as IBKR documents and records them (docs/commands.md's mock section has the sources and
//! disagreements).

use serde_json::{Map, Value, json};

/// A stock the mock knows, with the numbers its snapshot serves.
#[derive(Debug, Clone, Copy)]
pub struct Stock {
    pub conid: u64,
    pub symbol: &'static str,
    pub company: &'static str,
    pub exchange: &'static str,
    /// Last price; the other prices are derived from it.
    pub last: f64,
}

/// ARM Holdings ADR on NASDAQ: the guide's underlying.
pub const ARM: Stock = Stock {
    conid: 653_400_472,
    symbol: "ARM",
    company: "ARM HOLDINGS PLC-ADR",
    exchange: "NASDAQ",
    last: 141.37,
};

pub const STOCKS: [Stock; 4] = [
    ARM,
    Stock {
        conid: 265_598,
        symbol: "AAPL",
        company: "APPLE INC",
        exchange: "NASDAQ",
        last: 228.52,
    },
    Stock {
        conid: 8314,
        symbol: "IBM",
        company: "INTL BUSINESS MACHINES CORP",
        exchange: "NYSE",
        last: 251.18,
    },
    Stock {
        conid: 756_733,
        symbol: "SPY",
        company: "SPDR S&P 500 ETF TRUST",
        exchange: "ARCA",
        last: 668.09,
    },
];

/// Option months the search answer lists (the guide's AUG25 first).
const OPTION_MONTHS: &str = "AUG25;SEP25;OCT25;NOV25;DEC25;JAN26;MAR26;JUN26;DEC26;JAN27";

/// The guide's contracts: ARM AUG25 143 C expiring 2025-08-22 and the 145 C.
pub const ARM_AUG25_143_C: u64 = 804_155_360;
pub const ARM_AUG25_145_C: u64 = 796_812_614;

pub fn stock_by_symbol(symbol: &str) -> Option<&'static Stock> {
    STOCKS.iter().find(|s| s.symbol.eq_ignore_ascii_case(symbol))
}

pub fn stock_by_conid(conid: u64) -> Option<&'static Stock> {
    STOCKS.iter().find(|s| s.conid == conid)
}

/// `GET /iserver/secdef/search?symbol=…`: an array; conids are strings here (and integers in
/// `/secdef/info`), as on IBKR. Unknown symbols give an empty array.
pub fn search(symbol: &str) -> Value {
    let Some(stock) = stock_by_symbol(symbol) else {
        return json!([]);
    };
    json!([{
        "conid": stock.conid.to_string(),
        "companyHeader": format!("{} - {}", stock.company, stock.exchange),
        "companyName": stock.company,
        "symbol": stock.symbol,
        "description": stock.exchange,
        "restricted": null,
        "sections": [
            {"secType": "STK"},
            {"secType": "OPT", "months": OPTION_MONTHS, "exchange": "SMART;AMEX;BATS;BOX;CBOE;CBOE2;EDGX;GEMINI;ISE;MIAX;NASDAQOM;PHLX;PSE"},
            {"secType": "CFD", "exchange": "SMART", "conid": (stock.conid + 100_000_000).to_string()},
            {"secType": "BAG"}
        ]
    }])
}

/// Month names as IBKR writes them in `MMMYY` codes (`AUG25`).
pub const MONTH_CODES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

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
fn strike_list(stock: &Stock) -> Vec<f64> {
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

/// The Fridays of a month that the mock lists as expiries: the third Friday and the one after
/// (IBKR returns several expiries for one month).
fn expiries(year: u32, month: u32) -> Vec<(String, u32)> {
    // Day of week of the 1st (Zeller-like, 0 = Monday), then Fridays.
    let (y, m) = if month < 3 {
        (year - 1, month + 12)
    } else {
        (year, month)
    };
    let k = y % 100;
    let j = y / 100;
    let h = (1 + (13 * (m + 1)) / 5 + k + k / 4 + j / 4 + 5 * j) % 7; // 0 = Saturday
    let first_friday = 1 + (6 + 7 - h) % 7;
    let days_in_month = match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    [first_friday + 14, first_friday + 21]
        .into_iter()
        .filter(|d| *d <= days_in_month)
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
    for (expiry, day) in expiries(year, month_number) {
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

/// What a snapshot quotes for a conid: a stock, or one of the options `info` hands out.
#[derive(Debug, Clone, Copy)]
pub struct Quote {
    pub symbol: &'static str,
    pub last: f64,
    pub bid: f64,
    pub ask: f64,
    pub bid_size: u64,
    pub ask_size: u64,
    pub last_size: u64,
    pub volume: u64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub prior_close: f64,
}

/// The quote for a conid: stocks from the table; any other conid is quoted as an option with a
/// price near 1.65 and sizes in the hundreds (so a size read as a price stands out: 598 vs 1.65).
pub fn quote(conid: u64) -> Quote {
    match stock_by_conid(conid) {
        Some(stock) => {
            let last = stock.last;
            Quote {
                symbol: stock.symbol,
                last,
                bid: last - 0.01,
                ask: last + 0.01,
                bid_size: 1300,
                ask_size: 600,
                last_size: 100,
                volume: 25_512_300,
                open: last - 1.12,
                high: last + 1.94,
                low: last - 2.31,
                prior_close: last - 0.87,
            }
        }
        None => {
            let cents = (conid % 40) as f64 / 100.0;
            let last = 1.45 + cents;
            Quote {
                symbol: "OPT",
                last,
                bid: last - 0.03,
                ask: last + 0.02,
                bid_size: 412,
                ask_size: 598,
                last_size: 3,
                volume: 1_234,
                open: last - 0.2,
                high: last + 0.31,
                low: last - 0.27,
                prior_close: last - 0.12,
            }
        }
    }
}

/// IBKR's abbreviated volume for field 87: `25.5M`, `1.2K`, or the plain number below 1000.
pub fn abbreviate(volume: u64) -> String {
    let v = volume as f64;
    if volume >= 1_000_000_000 {
        format!("{:.1}B", v / 1e9)
    } else if volume >= 1_000_000 {
        format!("{:.1}M", v / 1e6)
    } else if volume >= 1_000 {
        format!("{:.1}K", v / 1e3)
    } else {
        volume.to_string()
    }
}

/// A size with thousands separators, as IBKR writes sizes: `1,300`.
pub fn with_separators(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The string value of field `id` for `quote`, or `None` when the mock has no data for it
/// (IBKR then leaves the key out). Ids are looked up in the field catalogue, so the mock and the
/// checks agree on what each id means by construction.
pub fn field_value(id: &str, quote: &Quote) -> Option<String> {
    use crate::fields::Meaning;
    let price = |p: f64| format!("{p:.2}");
    let meaning = crate::fields::by_id(id)?.meaning?;
    Some(match meaning {
        Meaning::Last => price(quote.last),
        Meaning::Symbol => quote.symbol.to_owned(),
        Meaning::High => price(quote.high),
        Meaning::Low => price(quote.low),
        Meaning::Bid => price(quote.bid),
        Meaning::AskSize => with_separators(quote.ask_size),
        Meaning::Ask => price(quote.ask),
        Meaning::Volume => abbreviate(quote.volume),
        Meaning::BidSize => with_separators(quote.bid_size),
        Meaning::LastSize => quote.last_size.to_string(),
        Meaning::Open => price(quote.open),
        Meaning::Close => price(quote.last),
        Meaning::PriorClose => price(quote.prior_close),
        Meaning::VolumeLong => quote.volume.to_string(),
        Meaning::Change => format!("{:+.2}", quote.last - quote.prior_close),
        Meaning::ChangePercent => format!("{:.2}%", (quote.last - quote.prior_close) / quote.prior_close * 100.0),
        Meaning::Mark => price(quote.last),
        Meaning::Availability => "RpB".to_owned(),
        Meaning::ServerId => "q0".to_owned(),
    })
}

/// One snapshot element: the first request for a conid only subscribes (`conid`, `conidEx`);
/// later ones carry the requested fields as strings.
pub fn snapshot_entry(conid: u64, fields: &[String], warmed_up: bool, updated_ms: u64) -> Value {
    let mut entry = Map::new();
    entry.insert("conid".into(), json!(conid));
    entry.insert("conidEx".into(), json!(conid.to_string()));
    if warmed_up {
        let quote = quote(conid);
        for id in fields {
            if let Some(value) = field_value(id, &quote) {
                entry.insert(id.clone(), Value::String(value));
            }
        }
        if fields.iter().any(|f| f == "87") {
            entry.insert("87_raw".into(), json!(quote.volume as f64));
        }
        entry.insert("_updated".into(), json!(updated_ms));
        entry.insert("server_id".into(), json!("q0"));
        entry.insert("6119".into(), json!("q0"));
    }
    Value::Object(entry)
}

/// `GET /trsrv/stocks?symbols=…`: an object keyed by each known symbol (unknown ones are left
/// out; IBKR answers 200 either way).
pub fn trsrv_stocks(symbols: &str) -> Value {
    let mut out = Map::new();
    for stock in symbols.split(',').filter_map(|s| stock_by_symbol(s.trim())) {
        out.insert(
            stock.symbol.to_owned(),
            json!([{
                "name": stock.company,
                "chineseName": "",
                "assetClass": "STK",
                "contracts": [{"conid": stock.conid, "exchange": stock.exchange, "isUS": true}]
            }]),
        );
    }
    Value::Object(out)
}

/// One `GET /trsrv/secdef?conids=…` entry for a stock.
pub fn trsrv_secdef(stock: &Stock) -> Value {
    json!({
        "conid": stock.conid, "currency": "USD", "name": stock.company, "assetClass": "STK",
        "expiry": null, "lastTradingDay": null, "group": null, "putOrCall": null, "sector": null,
        "sectorGroup": null, "strike": "0", "ticker": stock.symbol, "undConid": 0, "multiplier": 0.0,
        "type": if stock.symbol == "SPY" { "ETF" } else { "COMMON" }, "hasOptions": true,
        "fullName": stock.symbol, "isUS": true, "isEventContract": false,
        "listingExchange": stock.exchange, "countryCode": "US"
    })
}

/// `GET /iserver/contract/{conid}/info` for a stock: snake_case keys, as recorded in 2026 (the
/// documentation's field list is camelCase).
pub fn contract_info(stock: &Stock) -> Value {
    json!({
        "cfi_code": "", "symbol": stock.symbol, "cusip": null, "expiry_full": null, "con_id": stock.conid,
        "maturity_date": null, "instrument_type": "STK", "has_related_contracts": true,
        "trading_class": stock.symbol, "valid_exchanges": format!("SMART,AMEX,NYSE,CBOE,ARCA,{}", stock.exchange),
        "allow_sell_long": false, "is_zero_commission_security": false, "local_symbol": stock.symbol,
        "contract_clarification_type": null, "classifier": null, "currency": "USD", "text": null,
        "underlying_con_id": 0, "r_t_h": true, "multiplier": null, "underlying_issuer": null,
        "contract_month": null, "company_name": stock.company, "smart_available": true, "exchange": "SMART"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_contracts() {
        assert_eq!(search("arm")[0]["conid"], "653400472");
        let strikes = strikes(ARM.conid, "AUG25", true).unwrap();
        assert!(strikes["call"].as_array().unwrap().contains(&json!(143.0)));
        assert!(strikes["call"].as_array().unwrap().contains(&json!(145.0)));
        assert_eq!(
            super::strikes(ARM.conid, "AUG25", false).unwrap(),
            json!({"call": [], "put": []})
        );
        let info = info(ARM.conid, "AUG25", 143.0, Some('C')).unwrap();
        let conids: Vec<u64> = info
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["conid"].as_u64().unwrap())
            .collect();
        assert!(conids.contains(&ARM_AUG25_143_C), "{info}");
        let aug22 = info
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["maturityDate"] == "20250822")
            .unwrap();
        assert_eq!(aug22["desc2"], "AUG 22 '25 143 Call");
        let info145 = super::info(ARM.conid, "AUG25", 145.0, Some('C')).unwrap();
        assert!(
            info145
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["conid"] == ARM_AUG25_145_C)
        );
    }

    #[test]
    fn expiries_are_fridays() {
        // August 2025: Fridays are 1, 8, 15, 22, 29.
        let days: Vec<u32> = expiries(2025, 8).into_iter().map(|(_, d)| d).collect();
        assert_eq!(days, [15, 22]);
        // November 2026: Fridays 6, 13, 20, 27.
        let days: Vec<u32> = expiries(2026, 11).into_iter().map(|(_, d)| d).collect();
        assert_eq!(days, [20, 27]);
    }

    #[test]
    fn formats_like_ibkr() {
        assert_eq!(abbreviate(25_512_300), "25.5M");
        assert_eq!(abbreviate(1_234), "1.2K");
        assert_eq!(abbreviate(999), "999");
        assert_eq!(with_separators(1300), "1,300");
        assert_eq!(with_separators(598), "598");
        assert_eq!(with_separators(1_234_567), "1,234,567");
        assert_eq!(parse_month("AUG25"), Some((2025, 8)));
        assert_eq!(parse_month("XYZ25"), None);
    }

    #[test]
    fn snapshot_warm_up() {
        let fields = vec!["31".to_owned(), "84".to_owned(), "85".to_owned(), "86".to_owned()];
        let cold = snapshot_entry(ARM_AUG25_143_C, &fields, false, 0);
        assert_eq!(cold.as_object().unwrap().len(), 2);
        let warm = snapshot_entry(ARM_AUG25_143_C, &fields, true, 1);
        let ask: f64 = warm["86"].as_str().unwrap().parse().unwrap();
        let ask_size: f64 = warm["85"].as_str().unwrap().parse().unwrap();
        assert!(ask < 5.0 && ask_size >= 100.0, "{warm}");
    }
}
