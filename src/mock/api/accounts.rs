//! Accounts and portfolio. `/iserver/accounts` needs the brokerage session and must come before
//! market data; the `/portfolio` endpoints work with the OAuth session alone, as at IBKR. The
//! account holds a small book of the mock's instruments, valued at the snapshot's prices, so
//! positions, summary, ledger and allocation agree with each other and with market data.
//! Response shapes: `src/mock/responses/` (from recorded IBKR traffic; see its README).

use std::sync::LazyLock;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Call, Needs, Reply, Route, refused, reply};
use crate::mock::data;

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["GET"],
        pattern: "/iserver/accounts",
        needs: Needs::Brokerage,
        handler: iserver_accounts,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/accounts",
        needs: Needs::Session,
        handler: portfolio_accounts,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/subaccounts",
        needs: Needs::Session,
        handler: subaccounts,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/meta",
        needs: Needs::Session,
        handler: meta,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/summary",
        needs: Needs::Session,
        handler: summary,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/ledger",
        needs: Needs::Session,
        handler: ledger,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/positions/{page}",
        needs: Needs::Session,
        handler: positions,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/position/{conid}",
        needs: Needs::Session,
        handler: position,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/allocation",
        needs: Needs::Session,
        handler: allocation,
    },
];

/// The mock's one (paper) account.
pub(crate) const ACCOUNT: &str = "DU1234567";

/// The book: (conid, quantity, average cost). Prices come from the snapshot's quotes.
const BOOK: [(u64, f64, f64); 3] = [
    (653_400_472, 100.0, 120.0),
    (265_598, 50.0, 190.0),
    (756_733, 10.0, 600.0),
];

/// Cash in USD.
const CASH: f64 = 100_000.0;

fn template(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| unreachable!("a bundled response file is JSON: {e}"))
}

static ISERVER_ACCOUNTS: LazyLock<Value> =
    LazyLock::new(|| template(include_str!("../responses/iserver-accounts.json")));
static ACCOUNT_OBJECT: LazyLock<Value> =
    LazyLock::new(|| template(include_str!("../responses/portfolio-account.json")));
static SUMMARY: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/portfolio-summary.json")));
static LEDGER: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/ledger-currency.json")));
static POSITION_ROW: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/position-row.json")));

/// One holding, valued at the mock's last price.
struct Holding {
    stock: &'static data::Stock,
    quantity: f64,
    average: f64,
}

impl Holding {
    fn value(&self) -> f64 {
        self.quantity * self.stock.last
    }

    fn unrealized(&self) -> f64 {
        self.quantity * (self.stock.last - self.average)
    }
}

/// The book's market value.
fn book_value() -> f64 {
    holdings().map(|h| h.value()).sum()
}

/// The account object as `/subaccounts` and `/meta` answer it: the recordings show
/// `brokerageAccess` false there for the account `/portfolio/accounts` calls true.
fn account_without_brokerage() -> Value {
    let mut account = ACCOUNT_OBJECT.clone();
    account["brokerageAccess"] = json!(false);
    account
}

fn holdings() -> impl Iterator<Item = Holding> {
    BOOK.iter().filter_map(|(conid, quantity, average)| {
        data::stock_by_conid(*conid).map(|stock| Holding {
            stock,
            quantity: *quantity,
            average: *average,
        })
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn position_row(holding: &Holding) -> Value {
    let mut row = POSITION_ROW.clone();
    let stock = holding.stock;
    let fields = [
        ("acctId", json!(ACCOUNT)),
        ("conid", json!(stock.conid)),
        ("contractDesc", json!(stock.symbol)),
        ("ticker", json!(stock.symbol)),
        ("fullName", json!(stock.symbol)),
        ("name", json!(stock.company)),
        ("listingExchange", json!(stock.exchange)),
        ("type", json!(if stock.symbol == "SPY" { "ETF" } else { "COMMON" })),
        ("position", json!(holding.quantity)),
        ("mktPrice", json!(stock.last)),
        ("mktValue", json!(round2(holding.value()))),
        ("avgCost", json!(holding.average)),
        ("avgPrice", json!(holding.average)),
        ("unrealizedPnl", json!(round2(holding.unrealized()))),
        ("baseMktValue", json!(round2(holding.value()))),
        ("baseMktPrice", json!(stock.last)),
        ("baseAvgCost", json!(holding.average)),
        ("baseAvgPrice", json!(holding.average)),
        ("baseUnrealizedPnl", json!(round2(holding.unrealized()))),
    ];
    if let Some(map) = row.as_object_mut() {
        for (key, value) in fields {
            map.insert(key.to_owned(), value);
        }
    }
    row
}

/// IBKR answers an account it does not know on `/portfolio/{acct}/…` with 401 and an empty
/// body, which looks like an OAuth refusal.
fn unknown_account(call: &Call<'_>) -> Option<Reply> {
    let account = call.params.first().copied().unwrap_or("");
    (account != ACCOUNT).then(|| {
        refused(
            StatusCode::UNAUTHORIZED,
            Value::Null,
            format!(
                "unknown account {account:?}: IBKR answers 401 with an empty body (the mock's account is {ACCOUNT})"
            ),
        )
    })
}

fn iserver_accounts(call: &mut Call<'_>) -> Reply {
    call.brokerage().accounts_called = true;
    reply(StatusCode::OK, ISERVER_ACCOUNTS.clone())
}

fn portfolio_accounts(_: &mut Call<'_>) -> Reply {
    reply(StatusCode::OK, json!([*ACCOUNT_OBJECT]))
}

fn subaccounts(_: &mut Call<'_>) -> Reply {
    reply(StatusCode::OK, json!([account_without_brokerage()]))
}

fn meta(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = unknown_account(call) {
        return refusal;
    }
    reply(StatusCode::OK, account_without_brokerage())
}

fn summary(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = unknown_account(call) {
        return refusal;
    }
    let positions = book_value();
    let liquidation = CASH + positions;
    let mut body = SUMMARY.clone();
    for (key, amount) in [
        ("netliquidation", liquidation),
        ("totalcashvalue", CASH),
        ("grosspositionvalue", positions),
        ("equitywithloanvalue", liquidation),
        ("availablefunds", CASH),
        ("excessliquidity", CASH),
        ("buyingpower", 4.0 * CASH),
    ] {
        if let Some(entry) = body.get_mut(key) {
            entry["amount"] = json!(round2(amount));
        }
    }
    if let Some(entry) = body.get_mut("accountcode") {
        entry["value"] = json!(ACCOUNT);
    }
    reply(StatusCode::OK, body)
}

fn ledger(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = unknown_account(call) {
        return refusal;
    }
    let positions = book_value();
    let unrealized: f64 = holdings().map(|h| h.unrealized()).sum();
    let currency = |name: &str| {
        let mut entry = LEDGER.clone();
        for (key, value) in [
            ("acctcode", json!(ACCOUNT)),
            ("currency", json!(name)),
            ("secondkey", json!(name)),
            ("cashbalance", json!(CASH)),
            ("settledcash", json!(CASH)),
            ("stockmarketvalue", json!(round2(positions))),
            ("netliquidationvalue", json!(round2(CASH + positions))),
            ("unrealizedpnl", json!(round2(unrealized))),
        ] {
            entry[key] = value;
        }
        entry
    };
    // `endofbundle` closes the last currency entry; BASE has none.
    let mut base = currency("BASE");
    if let Some(map) = base.as_object_mut() {
        map.remove("endofbundle");
    }
    reply(StatusCode::OK, json!({"USD": currency("USD"), "BASE": base}))
}

fn positions(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = unknown_account(call) {
        return refusal;
    }
    let Some(page) = call.params.get(1).and_then(|p| p.parse::<usize>().ok()) else {
        return super::bad_request("the page is a number, from 0");
    };
    // One page holds up to 100 rows: the whole book is page 0; a later page is empty (200).
    let rows: Vec<Value> = if page == 0 {
        holdings().map(|h| position_row(&h)).collect()
    } else {
        Vec::new()
    };
    reply(StatusCode::OK, Value::Array(rows))
}

fn position(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = unknown_account(call) {
        return refusal;
    }
    let conid = call.params.get(1).and_then(|c| c.parse::<u64>().ok());
    match holdings().find(|h| Some(h.stock.conid) == conid) {
        Some(holding) => reply(StatusCode::OK, json!([position_row(&holding)])),
        // IBKR: 200 with an empty body for a conid the account does not hold.
        None => reply(StatusCode::OK, Value::Null).with_note("no position in this conid: IBKR answers 200, empty"),
    }
}

fn allocation(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = unknown_account(call) {
        return refusal;
    }
    let positions = round2(book_value());
    reply(
        StatusCode::OK,
        json!({
            "assetClass": {"long": {"STK": positions, "CASH": CASH}, "short": {}},
            "sector": {"long": {"Others": positions}, "short": {}},
            "group": {"long": {"Others": positions}, "short": {}},
        }),
    )
}
