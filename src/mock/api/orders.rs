//! Orders as simulated paper trading: place (with IBKR's confirmation question and
//! `/iserver/reply/{id}`), what-if, modify, cancel, live orders, order status and trades. A
//! marketable order fills at once at the quote's bid or ask; others stay `PreSubmitted`. Fills
//! move the account's cash and positions (`book`). Shapes from the 2026 recordings
//! (`tests/data/ibkr-recorded/*order*`, `*reply*`, `*trades*`); each handler names its file.
//! Refusal texts without a recorded body are the mock's own wording (docs/mock.md lists them).

use std::sync::LazyLock;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::book::Book;
use super::{ACCOUNT, Call, Needs, Reply, Route, bad_request, now_ms, number, refused, reply, template};
use crate::mock::data::{self, Contract};
use crate::mock::state::{Order, OrderStatus, OrderTicket, OrderType};

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["POST"],
        pattern: "/iserver/account/{acct}/orders",
        needs: Needs::Brokerage,
        handler: place,
    },
    Route {
        methods: &["POST"],
        pattern: "/iserver/account/{acct}/orders/whatif",
        needs: Needs::Brokerage,
        handler: whatif,
    },
    Route {
        methods: &["POST"],
        pattern: "/iserver/reply/{id}",
        needs: Needs::Brokerage,
        handler: answer_question,
    },
    Route {
        methods: &["POST"],
        pattern: "/iserver/account/{acct}/order/{id}",
        needs: Needs::Brokerage,
        handler: modify,
    },
    Route {
        methods: &["DELETE"],
        pattern: "/iserver/account/{acct}/order/{id}",
        needs: Needs::Brokerage,
        handler: cancel,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/account/orders",
        needs: Needs::Brokerage,
        handler: live_orders,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/account/order/status/{id}",
        needs: Needs::Brokerage,
        handler: status,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/account/trades",
        needs: Needs::Brokerage,
        handler: trades,
    },
];

/// IBKR's confirmation question for an order on a contract without market data: id `o354`,
/// text as recorded in 2026 (`POST-iserver-account-acct-orders-reply.json`). When IBKR asks it
/// is not recorded; the mock asks when the session has no market-data subscription for the
/// contract, which is what the text says.
const NO_MARKET_DATA: (&str, &str) = (
    "o354",
    "You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\nAre you sure you want to submit this order?",
);

/// IBKR limits working orders per contract and side (the 2026 what-if recording's error).
const MAX_WORKING_PER_SIDE: usize = 15;

/// Time-in-force values IBKR's order body takes.
const TIFS: [&str; 6] = ["DAY", "GTC", "IOC", "OPG", "PAX", "OVT"];

static STATUS: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/order-status.json")));

/// A refusal of the order body: what IBKR answers and why.
struct Invalid(Reply);

/// Reads one order object. A wrong `orderType` gets a bare 500, as in ibind#108, where
/// `"LIMIT"` answered `500 :: Internal Server Error ::` with an empty body (that request had
/// other oddities too, so the cause is the thread's reading, not proven).
fn ticket(order: &Value) -> Result<OrderTicket, Invalid> {
    let conid = number(&order["conid"])
        .or_else(|| order["conidex"].as_str().and_then(|c| c.parse().ok()))
        .map(|c| c as u64)
        .filter(|c| Contract::by_conid(*c).is_some())
        .ok_or_else(|| Invalid(bad_request("Invalid contract id")))?;
    let order_type_text = order["orderType"].as_str().unwrap_or("");
    let order_type = OrderType::parse(order_type_text).ok_or_else(|| {
        let names: Vec<&str> = OrderType::ALL.iter().map(|(n, _)| *n).collect();
        Invalid(refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            Value::Null,
            format!(
                "orderType {order_type_text:?} is not one of {}: IBKR answers 500 with an empty body",
                names.join(", ")
            ),
        ))
    })?;
    let buy = match order["side"].as_str().map(str::to_ascii_uppercase).as_deref() {
        Some("BUY") => true,
        Some("SELL") => false,
        _ => return Err(Invalid(bad_request("side must be BUY or SELL"))),
    };
    let quantity = number(&order["quantity"])
        .filter(|q| *q > 0.0)
        .ok_or_else(|| Invalid(bad_request("quantity must be a positive number")))?;
    let price = number(&order["price"]);
    if order_type.needs_price() && price.is_none() {
        return Err(Invalid(bad_request("price is required for this orderType")));
    }
    let tif = order["tif"].as_str().unwrap_or("DAY").to_ascii_uppercase();
    if !TIFS.contains(&tif.as_str()) {
        return Err(Invalid(bad_request("tif is not valid")));
    }
    Ok(OrderTicket {
        conid,
        buy,
        quantity,
        order_type,
        price,
        tif,
        outside_rth: order["outsideRTH"].as_bool().unwrap_or(false),
        client_id: order["cOID"].as_str().map(str::to_owned),
    })
}

/// The tickets of a `{"orders": [...]}` body.
fn tickets(body: &[u8]) -> Result<Vec<OrderTicket>, Invalid> {
    let body: Value = serde_json::from_slice(body).map_err(|_| Invalid(bad_request("the body is not JSON")))?;
    let Some(orders) = body["orders"].as_array().filter(|o| !o.is_empty()) else {
        return Err(Invalid(bad_request("the body needs an \"orders\" array")));
    };
    orders.iter().map(ticket).collect()
}

/// Where a ticket fills now, if it is marketable. Stop orders never trigger in the mock.
fn fill_price(ticket: &OrderTicket) -> Option<f64> {
    let quote = data::quote(ticket.conid)?;
    let touch = if ticket.buy { quote.ask } else { quote.bid };
    let marketable = match ticket.order_type {
        OrderType::Market | OrderType::Midprice => true,
        OrderType::Limit => ticket
            .price
            .is_some_and(|p| if ticket.buy { p >= touch } else { p <= touch }),
        _ => false,
    };
    marketable.then_some(touch)
}

/// IBKR's answer to a placed order: its id (a string here, a number in status and cancel, as
/// recorded) and `PreSubmitted`, as every recorded placement says; a fill shows in status,
/// live orders and trades.
fn placed(id: u64) -> Value {
    json!({"order_id": id.to_string(), "order_status": OrderStatus::PreSubmitted.name(), "encrypt_message": "1"})
}

/// Places tickets and answers as IBKR does after a placement or a confirmed question.
fn submit(call: &mut Call<'_>, tickets: Vec<OrderTicket>) -> Reply {
    let now = call.now;
    let book = &mut call.account.orders;
    let mut answers = Vec::new();
    for ticket in tickets {
        let fill = fill_price(&ticket);
        let id = book.next_id();
        let status = if fill.is_some() {
            OrderStatus::Filled
        } else {
            OrderStatus::PreSubmitted
        };
        book.orders.push(Order {
            id,
            ticket,
            status,
            placed: now,
            fill,
        });
        answers.push(placed(id));
    }
    reply(StatusCode::OK, Value::Array(answers))
}

/// A reply id in the shape IBKR uses (a UUID), from the session and a counter that only grows.
fn question_id(session_id: &str, count: u64) -> String {
    let session = u64::from_str_radix(session_id.get(..16).unwrap_or("0"), 16).unwrap_or(0);
    let hex = format!("{session:016x}{count:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `POST /iserver/account/{acct}/orders` (recordings `POST-iserver-account-acct-orders.json`,
/// `…-reply.json`): an order on a contract with no market data in this session is held behind
/// the `o354` question; otherwise it is placed at once.
fn place(call: &mut Call<'_>) -> Reply {
    let tickets = match tickets(call.body) {
        Ok(tickets) => tickets,
        Err(Invalid(refusal)) => return refusal,
    };
    if let Some(refusal) = too_many_working(call, &tickets) {
        return refusal;
    }
    let session_id = call.session.session_id.clone();
    let brokerage = call.brokerage();
    if tickets.iter().any(|t| !brokerage.subscribed.contains_key(&t.conid)) {
        brokerage.questions_asked += 1;
        let id = question_id(&session_id, brokerage.questions_asked);
        brokerage.questions.insert(id.clone(), tickets);
        let (message_id, text) = NO_MARKET_DATA;
        return reply(
            StatusCode::OK,
            json!([{
                "id": id, "message": [text], "isSuppressed": false,
                "messageIds": [message_id], "messageOptions": ["Yes", "No"]
            }]),
        )
        .with_note("order held behind question o354 (no market data for the contract in this session)");
    }
    submit(call, tickets)
}

/// The working-order limit IBKR applies per contract and side: a 200 with an error object.
fn too_many_working(call: &Call<'_>, tickets: &[OrderTicket]) -> Option<Reply> {
    let text = working_limit(call, tickets.first()?)?;
    Some(reply(StatusCode::OK, json!({"error": text})).with_note("working-order limit"))
}

/// The mock's wording of IBKR's working-order limit (the recording's text was redacted), when
/// the ticket's contract and side are at it.
fn working_limit(call: &Call<'_>, ticket: &OrderTicket) -> Option<String> {
    let working = call
        .account
        .orders
        .orders
        .iter()
        .filter(|o| o.status.working() && o.ticket.conid == ticket.conid && o.ticket.buy == ticket.buy)
        .count();
    (working >= MAX_WORKING_PER_SIDE).then(|| {
        format!(
            "The account already has the maximum of {MAX_WORKING_PER_SIDE} working {} orders for this contract.",
            if ticket.buy { "buy" } else { "sell" }
        )
    })
}

/// `POST /iserver/reply/{id}` with `{"confirmed": true}` places the held orders; `false`
/// drops them. An id that is not waiting (used, or never given) is IBKR's 400 (ibind#35, ibind#101).
fn answer_question(call: &mut Call<'_>) -> Reply {
    let id = call.params.first().copied().unwrap_or("").to_owned();
    let confirmed = serde_json::from_slice::<Value>(call.body)
        .ok()
        .and_then(|b| b["confirmed"].as_bool());
    let Some(confirmed) = confirmed else {
        return bad_request("the body needs {\"confirmed\": true or false}");
    };
    let Some(tickets) = call.brokerage().questions.remove(&id) else {
        return refused(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("reply id not found: '{id}'")}),
            "no question waits under this id (answered already, or from another session)",
        );
    };
    if !confirmed {
        // IBKR: "false will decline the message and discard the order"; the body is the one its
        // newer reference lists among the reply's examples.
        return reply(StatusCode::OK, json!({"error": "Order not confirmed "}))
            .with_note("question declined: the orders are dropped");
    }
    submit(call, tickets)
}

/// `POST /iserver/account/{acct}/orders/whatif` (recording `…-orders-whatif.json`): margin and
/// position effects on the account as it stands, without placing anything; errors and warnings
/// ride along in a 200. Margins by the book's rules.
fn whatif(call: &mut Call<'_>) -> Reply {
    let tickets = match tickets(call.body) {
        Ok(tickets) => tickets,
        Err(Invalid(refusal)) => return refusal,
    };
    let Some(ticket) = tickets.first() else {
        return bad_request("the body needs an \"orders\" array");
    };
    let Some(quote) = data::quote(ticket.conid) else {
        return bad_request("Invalid contract id");
    };
    let multiplier = Contract::by_conid(ticket.conid).map_or(1.0, |c| c.multiplier());
    let price = ticket.price.unwrap_or(if ticket.buy { quote.ask } else { quote.bid });
    let amount = price * ticket.quantity * multiplier;
    let book = Book::of(&call.account.orders);
    let (held, equity) = (book.position(ticket.conid), book.net_liquidation());
    let change = if ticket.buy { ticket.quantity } else { -ticket.quantity };
    let (initial, maintenance) = (book.initial_margin(), book.maintenance_margin());
    let money = |x: f64| data::with_separators(x.abs().round() as u64);
    let error = working_limit(call, ticket);
    let warn = (!call.brokerage().subscribed.contains_key(&ticket.conid)).then(|| {
        "21/You are trying to submit an order without having market data for this instrument. IB strongly recommends against this kind of blind trading which may result in erroneous or unexpected trades.".to_owned()
    });
    reply(
        StatusCode::OK,
        json!({
            "amount": {"amount": format!("{} USD ({} Shares)", money(amount), ticket.quantity), "commission": "1 USD", "total": format!("{} USD", money(amount + 1.0))},
            "equity": {"current": money(equity), "change": money(1.0), "after": money(equity - 1.0)},
            "initial": {"current": money(initial), "change": money(0.25 * amount), "after": money(initial + 0.25 * amount)},
            "maintenance": {"current": money(maintenance), "change": money(0.2 * amount), "after": money(maintenance + 0.2 * amount)},
            "position": {"current": held.to_string(), "change": change.to_string(), "after": (held + change).to_string()},
            "warn": warn, "warns": warn.iter().collect::<Vec<_>>(),
            "error": error, "errors": error.iter().collect::<Vec<_>>(),
            "accruedInterest": null,
            "action": error.as_ref().map(|_| "order_submit_issue"),
            "order_id": error.as_ref().map(|_| format!("{:x}.{:x}.01.01", now_ms(call.now), ticket.conid)),
            "cqe": {
                "post_payload": {"snapshots": [{"balances": {"USD": format!("{:.2}", book.cash), "BASE": format!("{:.2}", book.cash)}}], "side": if ticket.buy { "b" } else { "s" }},
                "request_method": "POST"
            }
        }),
    )
}

/// IBKR's 400 for an order id it does not have (its documented text; recording
/// `DELETE-…-order-id-nonexistent.json` has the status).
fn no_such_order(id: &str, why: &str) -> Reply {
    refused(
        StatusCode::BAD_REQUEST,
        json!({"error": format!("OrderID {id} doesn't exist")}),
        why,
    )
}

/// The order an `{id}` path parameter names.
fn order_id(call: &Call<'_>, index: usize) -> Result<u64, Reply> {
    let text = call.params.get(index).copied().unwrap_or("");
    text.parse::<u64>()
        .ok()
        .filter(|id| call.account.orders.get(*id).is_some())
        .ok_or_else(|| no_such_order(text, "no such order in this account"))
}

/// `POST /iserver/account/{acct}/order/{id}` with the whole order object, not wrapped
/// (recording `POST-…-order-id-modify.json`): a working order takes the new values.
fn modify(call: &mut Call<'_>) -> Reply {
    let id = match order_id(call, 1) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
    let ticket = match ticket(&body) {
        Ok(ticket) => ticket,
        Err(Invalid(refusal)) => return refusal,
    };
    let Some(order) = call.account.orders.get_mut(id).filter(|o| o.status.working()) else {
        return bad_request("the order is no longer working");
    };
    order.fill = fill_price(&ticket);
    if order.fill.is_some() {
        order.status = OrderStatus::Filled;
    }
    order.ticket = ticket;
    reply(StatusCode::OK, json!([placed(id)]))
}

/// `DELETE /iserver/account/{acct}/order/{id}` (recording `DELETE-…-order-id.json`): the
/// recorded answer for an order cancelled at once has `conid` -1 and `account` null.
fn cancel(call: &mut Call<'_>) -> Reply {
    let id = match order_id(call, 1) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let Some(order) = call.account.orders.get_mut(id).filter(|o| o.status.working()) else {
        return no_such_order(&id.to_string(), "the order is filled or cancelled already");
    };
    order.status = OrderStatus::Cancelled;
    reply(
        StatusCode::OK,
        json!({"msg": "Request was submitted", "order_id": id, "conid": -1, "account": null}),
    )
}

/// `GET /iserver/account/orders`: `{"orders": [...], "snapshot": false}`. The first call of a
/// brokerage session answers an empty list even when orders exist (noted with the 2026
/// recording `GET-iserver-account-orders-empty.json`); rows as ibind captured them.
fn live_orders(call: &mut Call<'_>) -> Reply {
    if !std::mem::replace(&mut call.brokerage().orders_listed, true) {
        return reply(StatusCode::OK, json!({"orders": [], "snapshot": false}))
            .with_note("first live-orders call of the session: IBKR answers an empty list; ask again");
    }
    let rows: Vec<Value> = call.account.orders.orders.iter().map(order_row).collect();
    reply(StatusCode::OK, json!({"orders": rows, "snapshot": false}))
}

/// What listings, status and trades say about an order, computed once.
struct Facts {
    contract: Contract,
    filled: f64,
    side: &'static str,
    description: String,
    limit_price: String,
}

impl Facts {
    fn of(order: &Order) -> Option<Self> {
        let ticket = &order.ticket;
        let contract = Contract::by_conid(ticket.conid)?;
        let side = if ticket.buy { "Buy" } else { "Sell" };
        let price = ticket.price.map(|p| format!(" {p:.2}")).unwrap_or_default();
        Some(Self {
            contract,
            filled: if order.fill.is_some() { ticket.quantity } else { 0.0 },
            side: if ticket.buy { "B" } else { "S" },
            description: format!(
                "{side} {} {}{price}, {}",
                ticket.quantity,
                ticket.order_type.display(),
                ticket.tif
            ),
            limit_price: ticket.price.map(|p| format!("{p:.2}")).unwrap_or_default(),
        })
    }
}

pub(in crate::mock) fn order_row(order: &Order) -> Value {
    let Some(facts) = Facts::of(order) else {
        return Value::Null;
    };
    let ticket = &order.ticket;
    let contract = &facts.contract;
    json!({
        "acct": ACCOUNT, "account": ACCOUNT, "conidex": ticket.conid.to_string(), "conid": ticket.conid,
        "orderId": order.id, "cashCcy": "USD", "sizeAndFills": format!("{}/{}", facts.filled, ticket.quantity),
        "orderDesc": facts.description, "description1": contract.symbol(), "ticker": contract.symbol(),
        "secType": contract.sec_type(), "listingExchange": contract.exchange(),
        "remainingQuantity": ticket.quantity - facts.filled, "filledQuantity": facts.filled, "totalSize": ticket.quantity,
        "companyName": contract.name(), "status": order.status.name(),
        "order_ccp_status": if order.status.working() { "Submitted" } else { order.status.name() },
        "origOrderType": ticket.order_type.status_name(),
        "supportsTaxOpt": "1", "lastExecutionTime": compact_time(order.placed),
        "orderType": ticket.order_type.display(), "bgColor": "#FFFFFF", "fgColor": "#0000CC",
        "order_ref": ticket.client_id.clone().unwrap_or_default(),
        "timeInForce": ticket.tif, "lastExecutionTime_r": now_ms(order.placed),
        "side": if ticket.buy { "BUY" } else { "SELL" },
        "price": facts.limit_price,
        "outsideRTH": ticket.outside_rth
    })
}

/// IBKR's compact time, `yymmddHHMMSS` in UTC.
fn compact_time(at: std::time::SystemTime) -> String {
    let (year, month, day, hour, minute, second) = crate::calendar::clock(at);
    format!("{:02}{month:02}{day:02}{hour:02}{minute:02}{second:02}", year % 100)
}

/// `GET /iserver/account/order/status/{id}`: snake_case, numbers as strings, side `B`/`S`
/// (recording `GET-iserver-account-order-status-id.json`, kept in `responses/order-status.json`).
fn status(call: &mut Call<'_>) -> Reply {
    let order = match order_id(call, 0) {
        Ok(id) => call.account.orders.get(id),
        Err(refusal) => return refusal,
    };
    let Some((order, facts)) = order.and_then(|o| Facts::of(o).map(|f| (o, f))) else {
        return bad_request("the order's contract is unknown");
    };
    let ticket = &order.ticket;
    let contract = &facts.contract;
    let mut body = STATUS.clone();
    for (key, value) in [
        ("account", json!(ACCOUNT)),
        ("order_clearing_account", json!(ACCOUNT)),
        ("order_id", json!(order.id)),
        ("conid", json!(ticket.conid)),
        ("conidex", json!(ticket.conid.to_string())),
        ("symbol", json!(contract.symbol())),
        ("contract_description_1", json!(contract.symbol())),
        ("company_name", json!(contract.name())),
        ("listing_exchange", json!(contract.exchange())),
        ("sec_type", json!(contract.sec_type())),
        ("side", json!(facts.side)),
        ("size", json!(format!("{:.1}", ticket.quantity))),
        ("total_size", json!(format!("{:.1}", ticket.quantity))),
        ("cum_fill", json!(format!("{:.1}", facts.filled))),
        ("size_and_fills", json!(format!("{}/{}", facts.filled, ticket.quantity))),
        ("limit_price", json!(facts.limit_price)),
        ("order_status", json!(order.status.name())),
        ("order_type", json!(ticket.order_type.status_name())),
        ("tif", json!(ticket.tif)),
        ("outside_rth", json!(ticket.outside_rth)),
        ("order_time", json!(compact_time(order.placed))),
        ("order_description", json!(facts.description)),
        (
            "order_description_with_contract",
            json!(facts.description.replacen(' ', &format!(" {} ", contract.symbol()), 2)),
        ),
        ("request_id", json!(order.id.to_string())),
        ("cannot_cancel_order", json!(!order.status.working())),
    ] {
        body[key] = value;
    }
    reply(StatusCode::OK, body)
}

/// `GET /iserver/account/trades`: the fills, newest first. Only an empty list was ever
/// recorded (`GET-iserver-account-trades-empty.json`); a row has the keys of IBKR's documented
/// example (cpapi-v1 reference, "Trades", read 2026-11-30).
fn trades(call: &mut Call<'_>) -> Reply {
    let rows: Vec<Value> = call
        .account
        .orders
        .orders
        .iter()
        .rev()
        .filter_map(|order| {
            let price = order.fill?;
            let facts = Facts::of(order)?;
            let (ticket, contract) = (&order.ticket, &facts.contract);
            let (year, month, day, hour, minute, second) = crate::calendar::clock(order.placed);
            let verb = if ticket.buy { "Bot" } else { "Sold" };
            Some(json!({
                "execution_id": format!("{:08x}.{:08x}.01.01", order.id, ticket.conid),
                "symbol": contract.symbol(), "supports_tax_opt": "1", "side": facts.side,
                "order_description": format!("{verb} {} @ {price:.2} on {}", ticket.quantity, contract.exchange()),
                "trade_time": format!("{year:04}{month:02}{day:02}-{hour:02}:{minute:02}:{second:02}"),
                "trade_time_r": now_ms(order.placed), "size": ticket.quantity, "price": format!("{price:.2}"),
                "order_ref": ticket.client_id.clone().unwrap_or_default(), "submitter": "mockuser1",
                "exchange": contract.exchange(), "commission": "1.00",
                "net_amount": (price * ticket.quantity * contract.multiplier() * 100.0).round() / 100.0,
                "account": ACCOUNT, "accountCode": ACCOUNT, "account_allocation_name": ACCOUNT,
                "company_name": contract.name(), "contract_description_1": contract.symbol(),
                "sec_type": contract.sec_type(), "listing_exchange": contract.exchange(), "conid": ticket.conid,
                "conidEx": ticket.conid.to_string(), "clearing_id": "IB", "clearing_name": "IB",
                "liquidation_trade": "0", "is_event_trading": "0"
            }))
        })
        .collect();
    reply(StatusCode::OK, Value::Array(rows))
}
