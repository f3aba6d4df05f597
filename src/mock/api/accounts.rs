//! Accounts and portfolio. `/iserver/accounts` needs the brokerage session and must come before
//! market data; the `/portfolio` endpoints work with the OAuth session alone, as at IBKR. The
//! account holds a small book of the mock's instruments, valued at the snapshot's prices, so
//! positions, summary, ledger and allocation agree with each other and with market data.
//! Response shapes: `src/mock/responses/` (from recorded IBKR traffic; see its README).

use std::sync::LazyLock;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::book::{Book, Holding};
use super::{ACCOUNT, Call, Needs, Reply, Route, bad_request, reply, template};
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
        pattern: "/iserver/account/{acct}/summary",
        needs: Needs::Brokerage,
        handler: iserver_summary,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/account/pnl/partitioned",
        needs: Needs::Brokerage,
        handler: pnl,
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
        pattern: "/portfolio/positions/{conid}",
        needs: Needs::Session,
        handler: positions_by_conid,
    },
    Route {
        methods: &["GET"],
        pattern: "/portfolio/{acct}/allocation",
        needs: Needs::Session,
        handler: allocation,
    },
];

static ISERVER_ACCOUNTS: LazyLock<Value> =
    LazyLock::new(|| template(include_str!("../responses/iserver-accounts.json")));
static ACCOUNT_OBJECT: LazyLock<Value> =
    LazyLock::new(|| template(include_str!("../responses/portfolio-account.json")));
static SUMMARY: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/portfolio-summary.json")));
static LEDGER: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/ledger-currency.json")));
static POSITION_ROW: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/position-row.json")));

/// The account object as `/subaccounts` and `/meta` answer it: the recordings show
/// `brokerageAccess` false there for the account `/portfolio/accounts` calls true.
fn account_without_brokerage() -> Value {
    let mut account = ACCOUNT_OBJECT.clone();
    account["brokerageAccess"] = json!(false);
    account
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn position_row(holding: &Holding) -> Value {
    let mut row = POSITION_ROW.clone();
    let contract = &holding.contract;
    let (price, multiplier) = (holding.price(), contract.multiplier());
    let option = match contract {
        data::Contract::Option(option) => Some(option),
        data::Contract::Instrument(_) => None,
    };
    let fields = [
        ("acctId", json!(ACCOUNT)),
        ("conid", json!(holding.conid)),
        ("contractDesc", json!(contract.name())),
        ("ticker", json!(contract.symbol())),
        ("fullName", json!(contract.symbol())),
        ("name", json!(contract.name())),
        ("listingExchange", json!(contract.exchange())),
        ("type", json!(contract.type_name())),
        ("assetClass", json!(contract.sec_type())),
        ("currency", json!("USD")),
        ("multiplier", json!(if multiplier == 1.0 { 0.0 } else { multiplier })),
        ("putOrCall", json!(option.map(|o| o.right.to_string()))),
        ("expiry", json!(option.map(|o| o.expiry.to_string()))),
        ("strike", json!(option.map_or("0".to_owned(), |o| o.strike.to_string()))),
        ("position", json!(holding.quantity)),
        ("mktPrice", json!(price)),
        ("mktValue", json!(round2(holding.value()))),
        // IBKR's average cost is per contract (×100 for an option), the average price per unit.
        ("avgCost", json!(holding.average * multiplier)),
        ("avgPrice", json!(holding.average)),
        ("realizedPnl", json!(round2(holding.realized))),
        ("unrealizedPnl", json!(round2(holding.unrealized()))),
        ("baseMktValue", json!(round2(holding.value()))),
        ("baseMktPrice", json!(price)),
        ("baseAvgCost", json!(holding.average * multiplier)),
        ("baseAvgPrice", json!(holding.average)),
        ("baseRealizedPnl", json!(round2(holding.realized))),
        ("baseUnrealizedPnl", json!(round2(holding.unrealized()))),
    ];
    if let Some(map) = row.as_object_mut() {
        for (key, value) in fields {
            map.insert(key.to_owned(), value);
        }
    }
    row
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

fn meta(_: &mut Call<'_>) -> Reply {
    reply(StatusCode::OK, account_without_brokerage())
}

fn summary(call: &mut Call<'_>) -> Reply {
    let account = Book::of(&call.account.orders);
    let (cash, positions, liquidation) = (account.cash, account.positions_value(), account.net_liquidation());
    let mut body = SUMMARY.clone();
    for (key, amount) in [
        ("netliquidation", liquidation),
        ("totalcashvalue", cash),
        ("grosspositionvalue", positions),
        ("equitywithloanvalue", liquidation),
        ("availablefunds", cash),
        ("excessliquidity", cash),
        ("buyingpower", account.buying_power()),
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
    let account = Book::of(&call.account.orders);
    let currency = |name: &str| {
        let mut entry = LEDGER.clone();
        for (key, value) in [
            ("acctcode", json!(ACCOUNT)),
            ("currency", json!(name)),
            ("secondkey", json!(name)),
            ("cashbalance", json!(round2(account.cash))),
            ("settledcash", json!(round2(account.cash))),
            ("stockmarketvalue", json!(round2(account.positions_value()))),
            ("netliquidationvalue", json!(round2(account.net_liquidation()))),
            ("unrealizedpnl", json!(round2(account.unrealized()))),
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
    let Some(page) = call.params.get(1).and_then(|p| p.parse::<usize>().ok()) else {
        return bad_request("the page is a number, from 0");
    };
    // One page holds up to 100 rows: the whole book is page 0; a later page is empty (200).
    let rows: Vec<Value> = match page {
        0 => Book::of(&call.account.orders)
            .holdings
            .iter()
            .map(position_row)
            .collect(),
        _ => Vec::new(),
    };
    reply(StatusCode::OK, Value::Array(rows))
}

fn position(call: &mut Call<'_>) -> Reply {
    let conid = call.params.get(1).and_then(|c| c.parse::<u64>().ok());
    let account = Book::of(&call.account.orders);
    match account.holdings.iter().find(|h| Some(h.conid) == conid) {
        Some(holding) => reply(StatusCode::OK, json!([position_row(holding)])),
        // IBKR: 200 with an empty body for a conid the account does not hold.
        None => reply(StatusCode::OK, Value::Null).with_note("no position in this conid: IBKR answers 200, empty"),
    }
}

/// The 21 keys of a position row in IBKR's compact form, which `/portfolio/positions/{conid}`
/// answers (recording `GET-portfolio-positions-conid.json`).
const COMPACT_ROW: [&str; 21] = [
    "acctId",
    "conid",
    "contractDesc",
    "position",
    "mktPrice",
    "mktValue",
    "currency",
    "avgCost",
    "avgPrice",
    "realizedPnl",
    "unrealizedPnl",
    "exchs",
    "expiry",
    "putOrCall",
    "multiplier",
    "strike",
    "exerciseStyle",
    "conExchMap",
    "assetClass",
    "undConid",
    "model",
];

/// `GET /portfolio/positions/{conid}`: the position keyed by account id, in the compact row
/// form, under the account and the same id with a `C` suffix, as recorded (the second row has
/// `strike` as a number and `multiplier` null). For a conid the account does not hold the mock
/// answers `{}`: nothing records that case.
fn positions_by_conid(call: &mut Call<'_>) -> Reply {
    let conid = call.params.first().and_then(|c| c.parse::<u64>().ok());
    let book = Book::of(&call.account.orders);
    let Some(holding) = book.holdings.iter().find(|h| Some(h.conid) == conid) else {
        return reply(StatusCode::OK, json!({}));
    };
    let mut row = position_row(holding);
    if let Some(map) = row.as_object_mut() {
        map.retain(|key, _| COMPACT_ROW.contains(&key.as_str()));
    }
    let mut second = row.clone();
    second["acctId"] = json!(format!("{ACCOUNT}C"));
    second["strike"] = json!(
        second["strike"]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    );
    second["multiplier"] = Value::Null;
    reply(StatusCode::OK, json!({ACCOUNT: [row], format!("{ACCOUNT}C"): [second]}))
}

fn allocation(call: &mut Call<'_>) -> Reply {
    let account = Book::of(&call.account.orders);
    let positions = round2(account.positions_value());
    reply(
        StatusCode::OK,
        json!({
            "assetClass": {"long": {"STK": positions, "CASH": round2(account.cash)}, "short": {}},
            "sector": {"long": {"Others": positions}, "short": {}},
            "group": {"long": {"Others": positions}, "short": {}},
        }),
    )
}

/// IBKR's 400 for `/iserver/account` calls made before `/iserver/accounts` in the brokerage
/// session (its documented `account-is-not-set` example).
pub(super) fn accounts_first(call: &mut Call<'_>) -> Option<Reply> {
    (!call.brokerage().accounts_called).then(|| bad_request("Please query /accounts first"))
}

/// `GET /iserver/account/{acct}/summary`: flat numbers, unlike `/portfolio/{acct}/summary`
/// (recording `GET-iserver-account-acct-summary.json`).
fn iserver_summary(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = accounts_first(call) {
        return refusal;
    }
    let account = Book::of(&call.account.orders);
    let (cash, liquidation) = (round2(account.cash), round2(account.net_liquidation()));
    reply(
        StatusCode::OK,
        json!({
            "accountType": "", "status": "", "balance": cash, "SMA": cash,
            "buyingPower": round2(account.buying_power()), "availableFunds": cash, "excessLiquidity": cash,
            "netLiquidationValue": liquidation, "equityWithLoanValue": liquidation, "regTLoan": 0.0,
            "securitiesGVP": round2(account.positions_value()), "totalCashValue": cash, "accruedInterest": 0.0,
            "regTMargin": 0.0, "initialMargin": round2(account.initial_margin()),
            "maintenanceMargin": round2(account.maintenance_margin()),
            "cashBalances": [{"currency": "USD", "balance": cash, "settledCash": cash}]
        }),
    )
}

/// `GET /iserver/account/pnl/partitioned`: the first call of a brokerage session answers
/// `{"upnl": {}}` (as recorded in 2026; P&L is a subscription, like market data), later calls
/// one row per account model in IBKR's documented shape.
fn pnl(call: &mut Call<'_>) -> Reply {
    if let Some(refusal) = accounts_first(call) {
        return refusal;
    }
    if !std::mem::replace(&mut call.brokerage().pnl_asked, true) {
        return reply(StatusCode::OK, json!({"upnl": {}})).with_note("P&L subscribed: the first answer is empty");
    }
    reply(StatusCode::OK, json!({"upnl": pnl_rows(&call.account.orders)}))
}

/// P&L by account model, `{"DU1234567.Core": {...}}`: what `pnl/partitioned` lists under `upnl`
/// and the websocket's `spl` topic sends as its `args`.
pub(in crate::mock) fn pnl_rows(orders: &crate::mock::state::OrderBook) -> Value {
    let account = Book::of(orders);
    json!({format!("{ACCOUNT}.Core"): {
        "rowType": 1, "dpl": round2(account.unrealized() / 10.0), "nl": round2(account.net_liquidation()),
        "upl": round2(account.unrealized()), "el": round2(account.cash), "mv": round2(account.positions_value())
    }})
}
