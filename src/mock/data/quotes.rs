//! Quotes and snapshot rows. Field values are strings formatted as IBKR formats them; which id
//! means what comes from the field catalogue, so the mock and the checks agree by construction.

use serde_json::{Map, Value, json};

use super::Contract;

/// Market-data availability (field 6509) on the mock's paper account: Delayed, snapshot
/// Permitted, Book. Recorded for a paper account without live subscriptions in 2026
/// (`tests/data/ibkr-recorded/GET-iserver-marketdata-snapshot.json`), as ibind#107 also shows.
pub const AVAILABILITY: &str = "DPB";

/// The market-data server's marker (`server_id`, echoed in field 6119).
const SERVER_ID: &str = "q0";

/// How far a conid's subscription has come: IBKR answers the first request with only the conid
/// (pre-flight), then rows with the markers but no prices until the data arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    PreFlight,
    Partial,
    Full,
}

/// What a snapshot quotes for a conid: a stock, or one of the options `info` hands out.
#[derive(Debug, Clone, Copy)]
pub struct Quote {
    pub symbol: &'static str,
    /// Decimal places of its prices.
    pub decimals: usize,
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

/// The quote for a conid the mock knows: instruments from the table (spread one tick, day range
/// proportional to the price), and the options `secdef/info` hands out, priced from their
/// underlying (intrinsic value plus a time value that fades away from the money) with sizes in
/// the hundreds, so a size read as a price stands out (598 vs 1.51). `None` for any other conid.
pub fn quote(conid: u64) -> Option<Quote> {
    match Contract::by_conid(conid)? {
        Contract::Instrument(instrument) => {
            let last = instrument.last;
            let tick = 10f64.powi(-(instrument.decimals as i32));
            let range = last / 100.0;
            Some(Quote {
                symbol: instrument.symbol,
                decimals: instrument.decimals,
                last,
                bid: last - tick,
                ask: last + tick,
                bid_size: 1300,
                ask_size: 600,
                last_size: 100,
                volume: 25_512_300,
                open: last - 0.8 * range,
                high: last + 1.4 * range,
                low: last - 1.6 * range,
                prior_close: last - 0.6 * range,
            })
        }
        Contract::Option(option) => {
            let (spot, strike) = (option.underlying.last, option.strike);
            let intrinsic = if option.right == 'C' {
                spot - strike
            } else {
                strike - spot
            }
            .max(0.0);
            let time = (spot * 0.012 * (-(spot - strike).abs() / (0.1 * spot)).exp()).max(0.05);
            let last = ((intrinsic + time) * 100.0).round() / 100.0;
            Some(Quote {
                symbol: option.underlying.symbol,
                decimals: 2,
                last,
                bid: last - 0.03,
                ask: last + 0.02,
                bid_size: 412,
                ask_size: 598,
                last_size: 3,
                volume: 1_234,
                open: last - 0.2,
                high: last + 0.31,
                low: (last - 0.27).max(0.01),
                prior_close: last - 0.12,
            })
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
    let price = |p: f64| format!("{p:.*}", quote.decimals);
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
        Meaning::Availability => AVAILABILITY.to_owned(),
        Meaning::ServerId => SERVER_ID.to_owned(),
    })
}

/// One snapshot row. Every row carries `conid` and `conidEx`; once past the pre-flight, rows
/// carry `_updated`, `server_id` and fields 6119 and 6509 whether asked or not (as recorded);
/// the asked fields' values come only when the data has arrived.
pub fn snapshot_entry(conid: u64, fields: &[String], stage: Stage, updated_ms: u64) -> Value {
    let mut entry = Map::new();
    entry.insert("conid".into(), json!(conid));
    entry.insert("conidEx".into(), json!(conid.to_string()));
    if stage == Stage::PreFlight {
        return Value::Object(entry);
    }
    entry.insert("_updated".into(), json!(updated_ms));
    entry.insert("server_id".into(), json!(SERVER_ID));
    entry.insert("6119".into(), json!(SERVER_ID));
    entry.insert("6509".into(), json!(AVAILABILITY));
    if stage == Stage::Full
        && let Some(quote) = quote(conid)
    {
        for id in fields {
            if let Some(value) = field_value(id, &quote) {
                entry.insert(id.clone(), Value::String(value));
            }
        }
        if fields.iter().any(|f| f == "87") {
            entry.insert("87_raw".into(), json!(quote.volume as f64));
        }
    }
    Value::Object(entry)
}
