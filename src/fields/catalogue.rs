//! IBKR's `/iserver/marketdata/snapshot` field table: every documented id with its name, meaning,
//! value kind and the security types that carry it. Transcribed from IBKR's table (Campus
//! "Market Data Fields", OpenAPI v2.29.0 `mdFields`, the old cpwebapi swagger; see
//! `tests/data/ibkr-fields.md`, which a test compares this table with). Where sources disagree
//! the newest wins: Price/EMA(50) is 7724 (7680 is kept as its old id).

/// How a field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A price as a string; field 31 may carry a `C` (prior close) or `H` (halted) prefix.
    Price,
    /// A signed price difference.
    SignedPrice,
    /// A count of shares or contracts, possibly with thousands separators (`1,300`).
    Size,
    /// Volume abbreviated with `K`, `M` or `B` (`25.5M`).
    FormattedVolume,
    /// A whole number (conids, 7762's precise volume).
    Integer,
    /// A JSON number (87_raw).
    Number,
    /// A percentage, with or without a `%` sign.
    Percent,
    /// A plain decimal (the greeks).
    Decimal,
    /// `"1"` or `"0"`.
    Flag,
    /// A date or date and time (format not documented).
    Date,
    /// Anything else: names, codes, formatted text.
    Text,
}

/// What a field means, for the fields scenarios and mapping checks name by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    Last,
    Bid,
    Ask,
    BidSize,
    AskSize,
    LastSize,
    Volume,
    VolumeLong,
    Open,
    Close,
    PriorClose,
    High,
    Low,
    Symbol,
    Change,
    ChangePercent,
    Mark,
    Availability,
    ServerId,
}

impl Meaning {
    /// Every meaning with the words users write for it (first one canonical).
    pub const NAMES: &'static [(Meaning, &'static [&'static str])] = &[
        (Meaning::Last, &["last", "last price"]),
        (Meaning::Bid, &["bid", "bid price"]),
        (Meaning::Ask, &["ask", "ask price", "offer"]),
        (Meaning::BidSize, &["bid_size", "bid size"]),
        (Meaning::AskSize, &["ask_size", "ask size"]),
        (Meaning::LastSize, &["last_size", "last size"]),
        (Meaning::Volume, &["volume", "formatted volume"]),
        (
            Meaning::VolumeLong,
            &["volume_long", "volume long", "raw volume", "precise volume"],
        ),
        (Meaning::Open, &["open", "open price"]),
        (Meaning::Close, &["close", "today's close", "close price"]),
        (
            Meaning::PriorClose,
            &[
                "prior_close",
                "prior close",
                "previous close",
                "prev close",
                "yesterday's close",
            ],
        ),
        (Meaning::High, &["high"]),
        (Meaning::Low, &["low"]),
        (Meaning::Symbol, &["symbol"]),
        (Meaning::Change, &["change"]),
        (Meaning::ChangePercent, &["change_percent", "change %"]),
        (Meaning::Mark, &["mark"]),
        (Meaning::Availability, &["availability", "market data availability"]),
        (Meaning::ServerId, &["server_id"]),
    ];

    /// The meaning a user's word stands for (case and spaces/underscores ignored).
    pub fn parse(text: &str) -> Option<Meaning> {
        let wanted = normalize(text);
        Self::NAMES
            .iter()
            .find(|(_, words)| words.iter().any(|w| normalize(w) == wanted))
            .map(|(m, _)| *m)
    }

    /// The canonical word, e.g. `ask_size`.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("?", |(_, words)| words[0])
    }

    /// The field that carries this meaning.
    pub fn field(self) -> &'static Field {
        FIELDS.iter().find(|f| f.meaning == Some(self)).unwrap_or(&FIELDS[0])
    }

    /// Whether the value is a price (as opposed to a size or text).
    pub fn is_price(self) -> bool {
        matches!(
            self,
            Meaning::Last
                | Meaning::Bid
                | Meaning::Ask
                | Meaning::Open
                | Meaning::Close
                | Meaning::PriorClose
                | Meaning::High
                | Meaning::Low
                | Meaning::Mark
        )
    }
}

fn normalize(text: &str) -> String {
    text.trim().to_ascii_lowercase().replace(['_', '-'], " ")
}

/// One field of IBKR's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub kind: ValueKind,
    /// Security types or situations that carry it, as IBKR's table says.
    pub applies_to: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<Meaning>,
}

const fn field(
    id: &'static str,
    name: &'static str,
    description: &'static str,
    kind: ValueKind,
    applies_to: &'static str,
    meaning: Option<Meaning>,
) -> Field {
    Field {
        id,
        name,
        description,
        kind,
        applies_to,
        meaning,
    }
}

/// Every documented field id.
pub static FIELDS: &[Field] = &[
    field(
        "31",
        "Last Price",
        "The last price at which the contract traded. It may carry a prefix: `C` = previous day's closing price, `H` = trading has halted.",
        ValueKind::Price,
        "all",
        Some(Meaning::Last),
    ),
    field("55", "Symbol", "", ValueKind::Text, "all", Some(Meaning::Symbol)),
    field("58", "Text", "", ValueKind::Text, "all", None),
    field(
        "70",
        "High",
        "Current day high price",
        ValueKind::Price,
        "all",
        Some(Meaning::High),
    ),
    field(
        "71",
        "Low",
        "Current day low price",
        ValueKind::Price,
        "all",
        Some(Meaning::Low),
    ),
    field(
        "73",
        "Market Value",
        "Current market value of your position. Calculated with real-time data even when you are not subscribed.",
        ValueKind::Text,
        "positions held (inferred)",
        None,
    ),
    field(
        "74",
        "Avg Price",
        "Average price of the position",
        ValueKind::Text,
        "positions",
        None,
    ),
    field(
        "75",
        "Unrealized PnL",
        "Unrealized profit or loss, calculated with real-time data",
        ValueKind::Text,
        "positions",
        None,
    ),
    field("76", "Formatted position", "", ValueKind::Text, "positions", None),
    field("77", "Formatted Unrealized PnL", "", ValueKind::Text, "positions", None),
    field(
        "78",
        "Daily PnL",
        "Profit or loss for the day since the prior close, calculated with real-time data",
        ValueKind::Text,
        "positions",
        None,
    ),
    field(
        "79",
        "Realized PnL",
        "Realized profit or loss",
        ValueKind::Text,
        "positions",
        None,
    ),
    field(
        "80",
        "Unrealized PnL %",
        "Unrealized profit or loss as a percentage",
        ValueKind::Percent,
        "positions",
        None,
    ),
    field(
        "82",
        "Change",
        "Last price minus the previous trading day's close",
        ValueKind::SignedPrice,
        "all",
        Some(Meaning::Change),
    ),
    field(
        "83",
        "Change %",
        "The same change, in percent",
        ValueKind::Percent,
        "all",
        Some(Meaning::ChangePercent),
    ),
    field(
        "84",
        "Bid Price",
        "Highest-priced bid",
        ValueKind::Price,
        "all",
        Some(Meaning::Bid),
    ),
    field(
        "85",
        "Ask Size",
        "Number of contracts or shares offered at the ask. OS: \"For US stocks, the number displayed is divided by 100\". OA cuts this off after \"For US stocks\"; C25/CX leave it out.",
        ValueKind::Size,
        "all; ÷100 applies to US stocks (OS)",
        Some(Meaning::AskSize),
    ),
    field(
        "86",
        "Ask Price",
        "Lowest-priced offer",
        ValueKind::Price,
        "all",
        Some(Meaning::Ask),
    ),
    field(
        "87",
        "Volume",
        "Volume for the day, formatted with `K` (thousands) or `M` (millions). For precise volume use 7762.",
        ValueKind::FormattedVolume,
        "all",
        Some(Meaning::Volume),
    ),
    field(
        "87_raw",
        "Raw Volume (deprecated)",
        "OS only: unformatted volume. Deprecated in favour of 7762.",
        ValueKind::Number,
        "all",
        None,
    ),
    field(
        "88",
        "Bid Size",
        "Number of contracts or shares bid at the bid price. OS: ÷100 for US stocks (OA truncated; C25/CX omit).",
        ValueKind::Size,
        "all; ÷100 applies to US stocks (OS)",
        Some(Meaning::BidSize),
    ),
    field(
        "201",
        "Right",
        "Right of the instrument, `P` (put) or `C` (call)",
        ValueKind::Text,
        "options",
        None,
    ),
    field("6004", "Exchange", "", ValueKind::Text, "all", None),
    field(
        "6008",
        "Conid",
        "Contract identifier from IBKR's database",
        ValueKind::Integer,
        "all",
        None,
    ),
    field(
        "6070",
        "SecType",
        "Asset class of the instrument",
        ValueKind::Text,
        "all",
        None,
    ),
    field("6072", "Months", "", ValueKind::Text, "derivatives (inferred)", None),
    field(
        "6073",
        "Regular Expiry",
        "",
        ValueKind::Text,
        "derivatives (inferred)",
        None,
    ),
    field(
        "6119",
        "Marker for market data delivery method (similar to request id)",
        "Same value as `server_id`",
        ValueKind::Text,
        "all; returned without being requested",
        Some(Meaning::ServerId),
    ),
    field(
        "6457",
        "Underlying Conid",
        "Use `/trsrv/secdef` for details",
        ValueKind::Integer,
        "derivatives",
        None,
    ),
    field("6508", "Service Params", "", ValueKind::Text, "all", None),
    field(
        "6509",
        "Market Data Availability",
        "Up to 3 characters (see the notes)",
        ValueKind::Text,
        "all; returned without being requested",
        Some(Meaning::Availability),
    ),
    field("7051", "Company name", "", ValueKind::Text, "all", None),
    field(
        "7057",
        "Ask Exch",
        "Exchange(s) offering the SMART price. Letter codes: A=AMEX, C=CBOE, I=ISE, X=PHLX, N=PSE, B=BOX, Q=NASDAQOM, Z=BATS, W=CBOE2, T=NASDAQBX, M=MIAX, H=GEMINI, E=EDGX, J=MERCURY",
        ValueKind::Text,
        "SMART-routed. The listed codes are US option venues (inferred)",
        None,
    ),
    field(
        "7058",
        "Last Exch",
        "Same as 7057, for the last trade",
        ValueKind::Text,
        "as 7057",
        None,
    ),
    field(
        "7059",
        "Last Size",
        "Number of units traded at the last price",
        ValueKind::Size,
        "all",
        Some(Meaning::LastSize),
    ),
    field(
        "7068",
        "Bid Exch",
        "Same as 7057, for the bid",
        ValueKind::Text,
        "as 7057",
        None,
    ),
    field(
        "7084",
        "Implied Vol./Hist. Vol %",
        "Implied volatility ÷ historical volatility, in percent",
        ValueKind::Percent,
        "optionable underlyings",
        None,
    ),
    field(
        "7085",
        "Put/Call Interest",
        "Put open interest ÷ call open interest for the day. CX adds: \"Only available for Underlying contracts.\"",
        ValueKind::Text,
        "underlyings (doc, CX)",
        None,
    ),
    field(
        "7086",
        "Put/Call Volume",
        "Put volume ÷ call volume for the day",
        ValueKind::Text,
        "underlyings",
        None,
    ),
    field(
        "7087",
        "Hist. Vol. %",
        "30-day real-time historical volatility",
        ValueKind::Percent,
        "all (inferred)",
        None,
    ),
    field(
        "7088",
        "Hist. Vol. Close %",
        "Historical volatility based on the previous close",
        ValueKind::Percent,
        "all (inferred)",
        None,
    ),
    field(
        "7089",
        "Opt. Volume",
        "Option volume",
        ValueKind::Size,
        "underlyings",
        None,
    ),
    field("7094", "Conid + Exchange", "", ValueKind::Text, "all", None),
    field(
        "7184",
        "canBeTraded",
        "Whether the contract is tradeable",
        ValueKind::Flag,
        "all",
        None,
    ),
    field("7219", "Contract Description", "", ValueKind::Text, "all", None),
    field(
        "7220",
        "Contract Description",
        "second description field",
        ValueKind::Text,
        "all",
        None,
    ),
    field("7221", "Listing Exchange", "", ValueKind::Text, "all", None),
    field(
        "7280",
        "Industry",
        "Industry of the underlying company",
        ValueKind::Text,
        "stocks (inferred)",
        None,
    ),
    field(
        "7281",
        "Category",
        "Finer category within the industry",
        ValueKind::Text,
        "stocks (inferred)",
        None,
    ),
    field(
        "7282",
        "Average Volume",
        "Average daily volume over 90 days",
        ValueKind::Text,
        "all",
        None,
    ),
    field(
        "7283",
        "Option Implied Vol. %",
        "At-the-market implied volatility 30 calendar days forward, from two expiry months. For per-strike IV use 7633.",
        ValueKind::Percent,
        "underlyings",
        None,
    ),
    field(
        "7284",
        "Historical volatility %",
        "C25/CX: \"Deprecated, see field 7087\". OA: \"Deprecated\". OS: \"Historic Volume (30d)\"",
        ValueKind::Text,
        "—",
        None,
    ),
    field("7285", "Put/Call Ratio", "", ValueKind::Text, "underlyings", None),
    field(
        "7286",
        "Dividend Amount",
        "Amount of the next dividend",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7287",
        "Dividend Yield %",
        "Expected dividends over the next 12 months per share ÷ current price, in percent. For derivatives: expected dividends up to expiry.",
        ValueKind::Percent,
        "stocks, derivatives (doc)",
        None,
    ),
    field("7288", "Ex-date of the dividend", "", ValueKind::Date, "stocks", None),
    field("7289", "Market Cap", "", ValueKind::Text, "stocks", None),
    field("7290", "P/E", "", ValueKind::Text, "stocks", None),
    field("7291", "EPS", "", ValueKind::Text, "stocks", None),
    field(
        "7292",
        "Cost Basis",
        "Position × average price × multiplier",
        ValueKind::Text,
        "positions",
        None,
    ),
    field(
        "7293",
        "52 Week High",
        "Highest price over the past 52 weeks",
        ValueKind::Price,
        "all",
        None,
    ),
    field(
        "7294",
        "52 Week Low",
        "Lowest price over the past 52 weeks",
        ValueKind::Price,
        "all",
        None,
    ),
    field(
        "7295",
        "Open",
        "Today's opening price",
        ValueKind::Price,
        "all",
        Some(Meaning::Open),
    ),
    field(
        "7296",
        "Close",
        "Today's closing price. For yesterday's close use 7741.",
        ValueKind::Price,
        "all",
        Some(Meaning::Close),
    ),
    field(
        "7308",
        "Delta",
        "Change in option price per change in the underlying's price",
        ValueKind::Decimal,
        "options",
        None,
    ),
    field(
        "7309",
        "Gamma",
        "Rate of change of delta with respect to the underlying's price",
        ValueKind::Decimal,
        "options",
        None,
    ),
    field(
        "7310",
        "Theta",
        "Rate of decline in option value as time passes",
        ValueKind::Decimal,
        "options",
        None,
    ),
    field(
        "7311",
        "Vega",
        "Change in option price for a 1% change in volatility",
        ValueKind::Decimal,
        "options",
        None,
    ),
    field(
        "7607",
        "Opt. Volume Change %",
        "Today's option volume as a percentage of average option volume",
        ValueKind::Percent,
        "underlyings",
        None,
    ),
    field(
        "7633",
        "Implied Vol. %",
        "Implied volatility of this specific option strike, in percent. For the underlying's IV use 7283.",
        ValueKind::Percent,
        "options",
        None,
    ),
    field(
        "7635",
        "Mark",
        "Ask if ask < last; bid if bid > last; otherwise last",
        ValueKind::Price,
        "all",
        Some(Meaning::Mark),
    ),
    field(
        "7636",
        "Shortable Shares",
        "Number of shares available for shorting",
        ValueKind::Size,
        "stocks",
        None,
    ),
    field(
        "7637",
        "Fee Rate",
        "Interest rate charged on borrowed shares (OS /md/snapshot model: \"Fee rebate rate\")",
        ValueKind::Percent,
        "stocks",
        None,
    ),
    field(
        "7638",
        "Option Open Interest",
        "CX adds: \"Available for Underlyings and Call & Put options.\"",
        ValueKind::Text,
        "underlyings and options (doc, CX)",
        None,
    ),
    field(
        "7639",
        "% of Mark Value",
        "Contract's market value as a percentage of the account's total market value",
        ValueKind::Percent,
        "positions",
        None,
    ),
    field(
        "7644",
        "Shortable",
        "How hard the security is to sell short",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7655",
        "Morningstar Rating",
        "Morningstar rating. Requires a Morningstar subscription.",
        ValueKind::Text,
        "funds/stocks (inferred)",
        None,
    ),
    field(
        "7671",
        "Dividends",
        "Expected dividends per share over the next 12 months",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7672",
        "Dividends TTM",
        "Dividends per share over the last 12 months",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7674",
        "EMA(200)",
        "Exponential moving average, N=200",
        ValueKind::Price,
        "all",
        None,
    ),
    field("7675", "EMA(100)", "EMA, N=100", ValueKind::Price, "all", None),
    field("7676", "EMA(50)", "EMA, N=50", ValueKind::Price, "all", None),
    field("7677", "EMA(20)", "EMA, N=20", ValueKind::Price, "all", None),
    field(
        "7678",
        "Price/EMA(200)",
        "Price ÷ EMA(200) − 1, shown in percent",
        ValueKind::Percent,
        "all",
        None,
    ),
    field(
        "7679",
        "Price/EMA(100)",
        "Price ÷ EMA(100) − 1, shown in percent",
        ValueKind::Percent,
        "all",
        None,
    ),
    field(
        "7724",
        "Price/EMA(50)",
        "Price ÷ EMA(50) − 1, shown in percent",
        ValueKind::Percent,
        "all",
        None,
    ),
    field(
        "7680",
        "Price/EMA(50) (old id; now 7724)",
        "Price ÷ EMA(50) − 1, shown in percent",
        ValueKind::Percent,
        "all",
        None,
    ),
    field(
        "7681",
        "Price/EMA(20)",
        "Price ÷ EMA(20) − 1, shown in percent",
        ValueKind::Percent,
        "all",
        None,
    ),
    field(
        "7682",
        "Change Since Open",
        "Last price − open price",
        ValueKind::SignedPrice,
        "all",
        None,
    ),
    field(
        "7683",
        "Upcoming Event",
        "Next major company event. Requires Wall Street Horizon.",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7684",
        "Upcoming Event Date",
        "Date of the next major company event (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7685",
        "Upcoming Analyst Meeting",
        "Date and time of the next analyst meeting (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7686",
        "Upcoming Earnings",
        "Date and time of the next earnings or earnings call (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7687",
        "Upcoming Misc Event",
        "Next shareholder meeting, presentation or other event (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7688",
        "Recent Analyst Meeting",
        "Most recent analyst meeting (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7689",
        "Recent Earnings",
        "Most recent earnings or earnings call (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7690",
        "Recent Misc Event",
        "Most recent shareholder meeting or other event (WSH)",
        ValueKind::Date,
        "stocks",
        None,
    ),
    field(
        "7694",
        "Probability of Max Return",
        "Customer-implied probability of the maximum potential gain",
        ValueKind::Text,
        "options/strategies (inferred)",
        None,
    ),
    field(
        "7695",
        "Break Even",
        "Break-even points",
        ValueKind::Text,
        "options/strategies (inferred)",
        None,
    ),
    field(
        "7696",
        "SPX Delta",
        "Beta-weighted delta = delta × dollar-adjusted beta (beta adjusted by the ratio of the close price)",
        ValueKind::Text,
        "positions/options",
        None,
    ),
    field(
        "7697",
        "Futures Open Interest",
        "Total outstanding futures contracts",
        ValueKind::Text,
        "futures",
        None,
    ),
    field(
        "7698",
        "Last Yield",
        "Implied yield if bought at the last price (yield to worst, across call dates)",
        ValueKind::Percent,
        "bonds",
        None,
    ),
    field(
        "7699",
        "Bid Yield",
        "Implied yield at the bid price (the docs say it \"is calculated using the Ask\")",
        ValueKind::Percent,
        "bonds",
        None,
    ),
    field(
        "7700",
        "Probability of Max Return",
        "Same text as 7694 (a duplicate in IBKR's table)",
        ValueKind::Text,
        "options/strategies",
        None,
    ),
    field(
        "7702",
        "Probability of Max Loss",
        "Customer-implied probability of the maximum potential loss",
        ValueKind::Text,
        "options/strategies",
        None,
    ),
    field(
        "7703",
        "Profit Probability",
        "Customer-implied probability of any gain",
        ValueKind::Text,
        "options/strategies",
        None,
    ),
    field(
        "7704",
        "Organization Type",
        "",
        ValueKind::Text,
        "bonds (inferred)",
        None,
    ),
    field("7705", "Debt Class", "", ValueKind::Text, "bonds", None),
    field(
        "7706",
        "Ratings",
        "Ratings issued for the bond",
        ValueKind::Text,
        "bonds (doc)",
        None,
    ),
    field("7707", "Bond State Code", "", ValueKind::Text, "bonds", None),
    field("7708", "Bond Type", "", ValueKind::Text, "bonds", None),
    field("7714", "Last Trading Date", "", ValueKind::Date, "not specified", None),
    field("7715", "Issue Date", "", ValueKind::Date, "bonds (inferred)", None),
    field(
        "7718",
        "Beta",
        "Beta against a standard index",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7720",
        "Ask Yield",
        "Implied yield if bought at the offer (the docs say it \"is calculated using the Bid\")",
        ValueKind::Percent,
        "bonds",
        None,
    ),
    field(
        "7741",
        "Prior Close",
        "Yesterday's closing price",
        ValueKind::Price,
        "all",
        Some(Meaning::PriorClose),
    ),
    field(
        "7762",
        "Volume Long",
        "High-precision volume for the day (the formatted form is 87)",
        ValueKind::Integer,
        "all",
        Some(Meaning::VolumeLong),
    ),
    field(
        "7768",
        "hasTradingPermissions",
        "Whether the user may trade this contract",
        ValueKind::Flag,
        "all",
        None,
    ),
    field(
        "7899",
        "Stock Type",
        "Common, CORP, ADR, ETF, ETN, EFN, REIT, CEF, ETMF",
        ValueKind::Text,
        "stocks",
        None,
    ),
    field(
        "7920",
        "Daily PnL Raw",
        "Unformatted Daily PnL (see 78)",
        ValueKind::Text,
        "positions",
        None,
    ),
    field(
        "7921",
        "Cost Basis Raw",
        "Unformatted Cost Basis (see 7292)",
        ValueKind::Text,
        "positions",
        None,
    ),
    field(
        "7943",
        "Rebate Rate",
        "Fed funds (or the currency's benchmark rate) minus the borrow fee rate",
        ValueKind::Percent,
        "stocks",
        None,
    ),
];

/// The field with this id.
pub fn by_id(id: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.id == id)
}

/// Fields whose name equals `name` (case-insensitive), or whose meaning it names.
pub fn by_name(name: &str) -> Vec<&'static Field> {
    if let Some(meaning) = Meaning::parse(name) {
        return vec![meaning.field()];
    }
    let wanted = normalize(name);
    FIELDS.iter().filter(|f| normalize(f.name) == wanted).collect()
}

/// Fields whose name or description contains `text`.
pub fn search(text: &str) -> Vec<&'static Field> {
    let wanted = text.to_ascii_lowercase();
    FIELDS
        .iter()
        .filter(|f| {
            f.name.to_ascii_lowercase().contains(&wanted) || f.description.to_ascii_lowercase().contains(&wanted)
        })
        .collect()
}

/// The ids and names closest to an unknown query, for "did you mean".
pub fn nearest(query: &str) -> Vec<&'static Field> {
    let query = query.to_ascii_lowercase();
    let mut scored: Vec<(f64, &'static Field)> = FIELDS
        .iter()
        .map(|f| {
            let by_id = strsim::jaro_winkler(&query, f.id);
            let by_name = strsim::jaro_winkler(&query, &f.name.to_ascii_lowercase());
            (by_id.max(by_name), f)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_fields_mean_what_ibkr_says() {
        let name = |id| by_id(id).unwrap().name;
        assert_eq!(name("85"), "Ask Size");
        assert_eq!(name("86"), "Ask Price");
        assert_eq!(name("87"), "Volume");
        assert_eq!(name("88"), "Bid Size");
        assert_eq!(name("7295"), "Open");
        assert_eq!(name("7741"), "Prior Close");
        assert!(by_id("99999999").is_none());
        assert_eq!(FIELDS.len(), 122);
    }

    #[test]
    fn meanings_resolve_both_ways() {
        assert_eq!(Meaning::parse("Ask Size"), Some(Meaning::AskSize));
        assert_eq!(Meaning::parse("previous close"), Some(Meaning::PriorClose));
        assert_eq!(Meaning::Ask.field().id, "86");
        assert_eq!(by_name("ask")[0].id, "86");
        assert_eq!(by_name("Bid Size")[0].id, "88");
        for (meaning, _) in Meaning::NAMES {
            assert_eq!(meaning.field().meaning, Some(*meaning), "{meaning:?} has a field");
        }
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = FIELDS.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FIELDS.len());
    }
}
