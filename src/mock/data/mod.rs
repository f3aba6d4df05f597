//! The mock's market: one small universe of real contracts, so that search, secdef, contract
//! info, snapshots, history, positions and orders agree on every conid, name and price level.
//! Response shapes follow recorded IBKR traffic (`tests/data/ibkr-recorded/`); where a shape has
//! no recording, the module that builds it names its source.

mod contracts;
mod history;
mod options;
mod quotes;

pub use contracts::{algos, contract_info, futures, info_and_rules, schedule, search, trsrv_secdef, trsrv_stocks};
pub use history::{HistoryError, history, period_is_valid};
pub use options::{ARM_AUG25_143_C, ARM_AUG25_145_C, OptionContract, info, option_by_conid, parse_month, strikes};
pub use quotes::{AVAILABILITY, Quote, Stage, abbreviate, field_value, quote, snapshot_entry, with_separators};

/// What kind of contract an instrument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stock,
    Etf,
    Future,
    Forex,
}

impl Kind {
    /// IBKR's `type` of a stock-like contract; none for the others.
    pub fn type_name(self) -> Option<&'static str> {
        match self {
            Kind::Stock => Some("COMMON"),
            Kind::Etf => Some("ETF"),
            Kind::Future | Kind::Forex => None,
        }
    }

    /// IBKR's `secType` / `assetClass`.
    pub fn sec_type(self) -> &'static str {
        match self {
            Kind::Stock | Kind::Etf => "STK",
            Kind::Future => "FUT",
            Kind::Forex => "CASH",
        }
    }
}

/// A contract the mock trades and quotes.
#[derive(Debug, Clone, Copy)]
pub struct Instrument {
    pub conid: u64,
    pub symbol: &'static str,
    pub company: &'static str,
    pub exchange: &'static str,
    pub currency: &'static str,
    pub kind: Kind,
    /// Last price; the other prices are derived from it.
    pub last: f64,
    /// Decimal places IBKR shows for its prices.
    pub decimals: usize,
    /// Whether its option chain lists every Friday of a month (weeklies) or only the third.
    pub weeklies: bool,
}

/// ARM Holdings ADR on NASDAQ: the guide's underlying.
pub const ARM: Instrument = Instrument {
    conid: 653_400_472,
    symbol: "ARM",
    company: "ARM HOLDINGS PLC-ADR",
    exchange: "NASDAQ",
    currency: "USD",
    kind: Kind::Stock,
    last: 141.37,
    decimals: 2,
    weeklies: true,
};

/// The E-mini S&P 500 future the mock quotes: the December 2026 contract and its underlying
/// index conid, as `GET /trsrv/futures?symbols=ES` was recorded in 2026 (see
/// `tests/data/ibkr-recorded/GET-trsrv-futures.json`).
pub const ES_DEC26: Instrument = Instrument {
    conid: 515_416_632,
    symbol: "ES",
    company: "E-mini S&P 500",
    exchange: "CME",
    currency: "USD",
    kind: Kind::Future,
    last: 6_712.25,
    decimals: 2,
    weeklies: false,
};

/// The ES index conid futures point to (`underlyingConid` in the same recording).
pub const ES_UNDERLYING: u64 = 11_004_968;

/// Every instrument. Conids are IBKR's: ARM from the user guide, AAPL, IBM and SPY from the
/// recordings (`tests/data/ibkr-recorded/`), ES as above, and EUR.USD 12087792 from an IBKR
/// Flex Query trade a user posted (https://github.com/portfolio-performance/portfolio/issues/4831,
/// 2025-06, read 2026-11-30: `symbol="EUR.USD" conid="12087792" assetCategory="CASH"`, traded
/// at 1.15742). Prices are the mock's, at realistic levels.
pub const INSTRUMENTS: [Instrument; 6] = [
    ARM,
    Instrument {
        conid: 265_598,
        symbol: "AAPL",
        company: "APPLE INC",
        exchange: "NASDAQ",
        currency: "USD",
        kind: Kind::Stock,
        last: 228.52,
        decimals: 2,
        weeklies: true,
    },
    Instrument {
        conid: 8314,
        symbol: "IBM",
        company: "INTL BUSINESS MACHINES CORP",
        exchange: "NYSE",
        currency: "USD",
        kind: Kind::Stock,
        last: 251.18,
        decimals: 2,
        weeklies: false,
    },
    Instrument {
        conid: 756_733,
        symbol: "SPY",
        company: "SPDR S&P 500 ETF TRUST",
        exchange: "ARCA",
        currency: "USD",
        kind: Kind::Etf,
        last: 668.09,
        decimals: 2,
        weeklies: true,
    },
    ES_DEC26,
    Instrument {
        conid: 12_087_792,
        symbol: "EUR.USD",
        company: "European Monetary Union Euro",
        exchange: "IDEALPRO",
        currency: "USD",
        kind: Kind::Forex,
        last: 1.15625,
        decimals: 5,
        weeklies: false,
    },
];

/// A stock or ETF by symbol (what search, `/trsrv/stocks` and option chains cover).
pub fn stock_by_symbol(symbol: &str) -> Option<&'static Instrument> {
    INSTRUMENTS
        .iter()
        .find(|i| matches!(i.kind, Kind::Stock | Kind::Etf) && i.symbol.eq_ignore_ascii_case(symbol))
}

/// Any instrument by conid.
pub fn by_conid(conid: u64) -> Option<&'static Instrument> {
    INSTRUMENTS.iter().find(|i| i.conid == conid)
}

/// Anything the mock quotes and trades: an instrument of the table or an option of a chain.
#[derive(Debug, Clone, Copy)]
pub enum Contract {
    Instrument(&'static Instrument),
    Option(OptionContract),
}

impl Contract {
    /// The contract a conid names, if the mock knows it.
    pub fn by_conid(conid: u64) -> Option<Self> {
        by_conid(conid)
            .map(Contract::Instrument)
            .or_else(|| option_by_conid(conid).map(Contract::Option))
    }

    /// The symbol IBKR shows: an option's is its underlying's.
    pub fn symbol(&self) -> &'static str {
        match self {
            Contract::Instrument(i) => i.symbol,
            Contract::Option(o) => o.underlying.symbol,
        }
    }

    /// The name in listings: the company, or the option as IBKR describes it (`ARM AUG 22 '25 143 Call`).
    pub fn name(&self) -> String {
        match self {
            Contract::Instrument(i) => i.company.to_owned(),
            Contract::Option(o) => format!("{} {}", o.underlying.symbol, o.description()),
        }
    }

    pub fn sec_type(&self) -> &'static str {
        match self {
            Contract::Instrument(i) => i.kind.sec_type(),
            Contract::Option(_) => "OPT",
        }
    }

    /// IBKR's `type` in positions and `/trsrv/secdef`: `COMMON` or `ETF` for stocks, else null.
    pub fn type_name(&self) -> Option<&'static str> {
        match self {
            Contract::Instrument(i) => i.kind.type_name(),
            Contract::Option(_) => None,
        }
    }

    pub fn exchange(&self) -> &'static str {
        match self {
            Contract::Instrument(i) => i.exchange,
            Contract::Option(_) => "SMART",
        }
    }

    /// What one unit is worth per point of price: 100 for options, 50 for ES, else 1.
    pub fn multiplier(&self) -> f64 {
        match self {
            Contract::Instrument(i) if i.kind == Kind::Future => 50.0,
            Contract::Instrument(_) => 1.0,
            Contract::Option(_) => 100.0,
        }
    }
}

/// A stock or ETF by conid.
pub fn stock_by_conid(conid: u64) -> Option<&'static Instrument> {
    by_conid(conid).filter(|i| matches!(i.kind, Kind::Stock | Kind::Etf))
}

#[cfg(test)]
mod tests;
