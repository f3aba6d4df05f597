//! The mock's trading, history, scanner and failure modes with our own client: the order flow
//! as simulated paper trading, IBKR's answers to bad inputs, and the recorded fault kinds.

use crate::common::start_mock;
use ibkr_probe::client::{ApiResponse, Client};
use reqwest::Method;
use serde_json::{Value, json};

const ORDERS: &str = "/iserver/account/DU1234567/orders";

/// A client with a brokerage session and `/iserver/accounts` called, on an unpaced mock.
async fn ready(
    tweak: impl FnOnce(&mut ibkr_probe::mock::MockConfig),
) -> (ibkr_probe::mock::MockServer, crate::common::Log, Client) {
    let (mock, log) = start_mock(|c| {
        c.rate_limit = u32::MAX;
        c.warm_up = std::time::Duration::ZERO;
        tweak(c);
    })
    .await;
    let client = crate::common::client(mock.base_url());
    crate::common::make_ready(&client).await;
    (mock, log, client)
}

async fn call(client: &Client, method: Method, path: &str, query: &[(&str, &str)], body: Option<Value>) -> ApiResponse {
    client
        .request_with_retries(method, path, query, body.as_ref(), 0)
        .await
        .unwrap()
}

fn order(conid: u64, side: &str, order_type: &str, price: Option<f64>) -> Value {
    let mut order = json!({"conid": conid, "side": side, "quantity": 10, "orderType": order_type, "tif": "DAY"});
    if let Some(price) = price {
        order["price"] = json!(price);
    }
    order
}

#[tokio::test]
async fn an_order_waits_behind_the_market_data_question_then_lives_and_cancels() {
    let (mock, log, client) = ready(|_| {}).await;
    // No market data for SPY yet: IBKR asks o354 first.
    let asked = call(
        &client,
        Method::POST,
        ORDERS,
        &[],
        Some(json!({"orders": [order(756_733, "BUY", "LMT", Some(600.0))]})),
    )
    .await;
    let question = asked.json().unwrap();
    assert_eq!(question[0]["messageIds"][0], "o354", "{question}");
    assert!(
        question[0]["message"][0]
            .as_str()
            .unwrap()
            .contains("without market data")
    );
    let id = question[0]["id"].as_str().unwrap().to_owned();
    let placed = call(
        &client,
        Method::POST,
        &format!("/iserver/reply/{id}"),
        &[],
        Some(json!({"confirmed": true})),
    )
    .await;
    let placed = placed.json().unwrap();
    assert_eq!(placed[0]["order_status"], "PreSubmitted", "{placed}");
    let order_id = placed[0]["order_id"].as_str().unwrap().to_owned();
    // The reply id is spent.
    let again = call(
        &client,
        Method::POST,
        &format!("/iserver/reply/{id}"),
        &[],
        Some(json!({"confirmed": true})),
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json().unwrap()["error"], format!("reply id not found: '{id}'"));

    // The first live-orders call of a session is empty, as recorded; the second lists it.
    let first = call(&client, Method::GET, "/iserver/account/orders", &[], None)
        .await
        .json()
        .unwrap();
    assert_eq!(first, json!({"orders": [], "snapshot": false}));
    let second = call(&client, Method::GET, "/iserver/account/orders", &[], None)
        .await
        .json()
        .unwrap();
    assert_eq!(second["orders"][0]["orderId"].to_string(), order_id);
    assert_eq!(second["orders"][0]["status"], "PreSubmitted");
    assert_eq!(second["orders"][0]["side"], "BUY");

    let status = call(
        &client,
        Method::GET,
        &format!("/iserver/account/order/status/{order_id}"),
        &[],
        None,
    )
    .await;
    let status = status.json().unwrap();
    assert_eq!(status["side"], "B");
    assert_eq!(status["order_type"], "LIMIT");
    assert_eq!(status["limit_price"], "600.00");

    let modified = call(
        &client,
        Method::POST,
        &format!("/iserver/account/DU1234567/order/{order_id}"),
        &[],
        Some(order(756_733, "BUY", "LMT", Some(601.0))),
    )
    .await;
    assert_eq!(modified.json().unwrap()[0]["order_status"], "PreSubmitted");

    let cancelled = call(
        &client,
        Method::DELETE,
        &format!("/iserver/account/DU1234567/order/{order_id}"),
        &[],
        None,
    )
    .await;
    let cancelled = cancelled.json().unwrap();
    assert_eq!(cancelled["msg"], "Request was submitted");
    assert_eq!(cancelled["conid"], -1);
    let twice = call(
        &client,
        Method::DELETE,
        &format!("/iserver/account/DU1234567/order/{order_id}"),
        &[],
        None,
    )
    .await;
    assert_eq!(twice.status, 400);
    let unknown = call(
        &client,
        Method::DELETE,
        "/iserver/account/DU1234567/order/42",
        &[],
        None,
    )
    .await;
    assert_eq!(unknown.json().unwrap()["error"], "OrderID 42 doesn't exist");
    assert!(
        log.lines().iter().any(|l| l.contains("question o354")),
        "{:?}",
        log.lines()
    );
    mock.stop().await;
}

#[tokio::test]
async fn a_marketable_order_fills_and_moves_cash_positions_and_trades() {
    let (mock, _, client) = ready(|_| {}).await;
    let quote = &[("conids", "8314"), ("fields", "31,84,86")];
    call(&client, Method::GET, "/iserver/marketdata/snapshot", quote, None).await;
    let snapshot = call(&client, Method::GET, "/iserver/marketdata/snapshot", quote, None)
        .await
        .json()
        .unwrap();
    let ask: f64 = snapshot[0]["86"].as_str().unwrap().parse().unwrap();
    let before = call(&client, Method::GET, "/portfolio/DU1234567/ledger", &[], None)
        .await
        .json()
        .unwrap();

    let placed = call(
        &client,
        Method::POST,
        ORDERS,
        &[],
        Some(json!({"orders": [order(8314, "BUY", "MKT", None)]})),
    )
    .await;
    // Every recorded placement answers PreSubmitted; the fill shows in status, listings, trades.
    let placed = placed.json().unwrap();
    assert_eq!(placed[0]["order_status"], "PreSubmitted");
    let id = placed[0]["order_id"].as_str().unwrap();
    let status = call(
        &client,
        Method::GET,
        &format!("/iserver/account/order/status/{id}"),
        &[],
        None,
    )
    .await;
    assert_eq!(status.json().unwrap()["order_status"], "Filled");

    let position = call(&client, Method::GET, "/portfolio/DU1234567/position/8314", &[], None)
        .await
        .json()
        .unwrap();
    assert_eq!(position[0]["position"], 10.0);
    assert_eq!(position[0]["avgPrice"].as_f64().unwrap(), ask);
    let after = call(&client, Method::GET, "/portfolio/DU1234567/ledger", &[], None)
        .await
        .json()
        .unwrap();
    let spent = before["USD"]["cashbalance"].as_f64().unwrap() - after["USD"]["cashbalance"].as_f64().unwrap();
    assert!((spent - 10.0 * ask).abs() < 0.01, "spent {spent}, ask {ask}");
    let trades = call(&client, Method::GET, "/iserver/account/trades", &[], None)
        .await
        .json()
        .unwrap();
    assert_eq!(trades[0]["conid"], 8314);
    assert_eq!(trades[0]["side"], "B");
    assert_eq!(trades[0]["price"], format!("{ask:.2}"));
    // P&L: the first call subscribes, the next one carries the account's row.
    assert_eq!(
        call(&client, Method::GET, "/iserver/account/pnl/partitioned", &[], None)
            .await
            .json()
            .unwrap(),
        json!({"upnl": {}})
    );
    let pnl = call(&client, Method::GET, "/iserver/account/pnl/partitioned", &[], None)
        .await
        .json()
        .unwrap();
    assert_eq!(pnl["upnl"]["DU1234567.Core"]["rowType"], 1);
    mock.stop().await;
}

#[tokio::test]
async fn an_option_fill_is_a_position_worth_a_hundred_times_its_price() {
    let (mock, _, client) = ready(|_| {}).await;
    let option = "804155360";
    call(
        &client,
        Method::GET,
        "/iserver/marketdata/snapshot",
        &[("conids", option), ("fields", "31")],
        None,
    )
    .await;
    let quote = call(
        &client,
        Method::GET,
        "/iserver/marketdata/snapshot",
        &[("conids", option), ("fields", "86,55")],
        None,
    )
    .await
    .json()
    .unwrap();
    assert_eq!(quote[0]["55"], "ARM", "an option's symbol is its underlying's");
    let ask: f64 = quote[0]["86"].as_str().unwrap().parse().unwrap();
    let before = call(&client, Method::GET, "/portfolio/DU1234567/ledger", &[], None)
        .await
        .json()
        .unwrap();
    call(
        &client,
        Method::POST,
        ORDERS,
        &[],
        Some(json!({"orders": [order(804_155_360, "BUY", "MKT", None)]})),
    )
    .await;
    let after = call(&client, Method::GET, "/portfolio/DU1234567/ledger", &[], None)
        .await
        .json()
        .unwrap();
    let spent = before["USD"]["cashbalance"].as_f64().unwrap() - after["USD"]["cashbalance"].as_f64().unwrap();
    assert!(
        (spent - 10.0 * 100.0 * ask).abs() < 0.01,
        "spent {spent} for 10 contracts at {ask}"
    );
    let position = call(
        &client,
        Method::GET,
        "/portfolio/DU1234567/position/804155360",
        &[],
        None,
    )
    .await
    .json()
    .unwrap();
    assert_eq!(position[0]["position"], 10.0);
    assert_eq!(position[0]["assetClass"], "OPT");
    assert_eq!(position[0]["contractDesc"], "ARM AUG 22 '25 143 Call");
    // Selling half keeps the average cost and books the rest as realized.
    let sell = order(653_400_472, "SELL", "MKT", None);
    call(
        &client,
        Method::GET,
        "/iserver/marketdata/snapshot",
        &[("conids", "653400472"), ("fields", "31")],
        None,
    )
    .await;
    call(&client, Method::POST, ORDERS, &[], Some(json!({"orders": [sell]}))).await;
    let arm = call(
        &client,
        Method::GET,
        "/portfolio/DU1234567/position/653400472",
        &[],
        None,
    )
    .await
    .json()
    .unwrap();
    assert_eq!(
        (arm[0]["position"].as_f64(), arm[0]["avgPrice"].as_f64()),
        (Some(90.0), Some(120.0))
    );
    assert!(arm[0]["realizedPnl"].as_f64().unwrap() > 0.0);
    let whatif = call(
        &client,
        Method::POST,
        &format!("{ORDERS}/whatif"),
        &[],
        Some(json!({"orders": [order(653_400_472, "SELL", "LMT", Some(150.0))]})),
    )
    .await
    .json()
    .unwrap();
    assert_eq!(whatif["position"]["current"], "90", "what-if reads the account");
    mock.stop().await;
}

#[tokio::test]
async fn bad_orders_get_ibkrs_answers() {
    let (mock, log, client) = ready(|_| {}).await;
    // ibind#108: "LIMIT" is not an order type; IBKR answers 500 with an empty body.
    let wrong_type = call(
        &client,
        Method::POST,
        ORDERS,
        &[],
        Some(json!({"orders": [order(265_598, "BUY", "LIMIT", Some(1.0))]})),
    )
    .await;
    assert_eq!(wrong_type.status, 500);
    assert!(wrong_type.body.is_empty());
    assert!(log.last().contains("orderType \"LIMIT\""), "{}", log.last());
    let no_conid = call(
        &client,
        Method::POST,
        &format!("{ORDERS}/whatif"),
        &[],
        Some(json!({"orders": [order(0, "BUY", "LMT", Some(1.0))]})),
    )
    .await;
    assert_eq!(no_conid.status, 400);
    let other_account = call(
        &client,
        Method::POST,
        "/iserver/account/U9999999/orders",
        &[],
        Some(json!({"orders": [order(265_598, "BUY", "LMT", Some(1.0))]})),
    )
    .await;
    assert_eq!(other_account.status, 400);
    assert_eq!(
        other_account.json().unwrap()["error"],
        "Bad Request: accountId is not valid: U9999999"
    );
    let unknown = call(
        &client,
        Method::POST,
        ORDERS,
        &[],
        Some(json!({"orders": [order(999_999_999, "BUY", "LMT", Some(1.0))]})),
    )
    .await;
    assert_eq!(
        unknown.status, 400,
        "a conid the mock never handed out cannot be traded"
    );
    let no_price = call(
        &client,
        Method::POST,
        ORDERS,
        &[],
        Some(json!({"orders": [order(265_598, "BUY", "LMT", None)]})),
    )
    .await;
    assert_eq!(no_price.status, 400);
    let unknown_status = call(
        &client,
        Method::GET,
        "/iserver/account/order/status/000000000",
        &[],
        None,
    )
    .await;
    assert_eq!(unknown_status.status, 400);
    mock.stop().await;
}

#[tokio::test]
async fn history_scanner_and_contracts_follow_ibkrs_rules() {
    let (mock, _, client) = ready(|_| {}).await;
    let history = |period: &'static str, bar: &'static str, conid: &'static str| {
        let client = &client;
        async move {
            call(
                client,
                Method::GET,
                "/iserver/marketdata/history",
                &[("conid", conid), ("period", period), ("bar", bar)],
                None,
            )
            .await
        }
    };
    let bars = history("1d", "1h", "265598").await.json().unwrap();
    let data = bars["data"].as_array().unwrap();
    assert_eq!(data.len(), 6, "a session of hourly bars: 10:00 to 15:00 New York time");
    assert_eq!(
        data.last().unwrap()["c"],
        228.52,
        "bars end at the snapshot's last price"
    );
    assert_eq!(bars["symbol"], "AAPL");
    assert_eq!(
        history("INVALID", "1min", "265598").await.status,
        200,
        "recorded: 200 for a bad period"
    );
    assert_eq!(history("1d", "7min", "265598").await.status, 400);
    let most = history("1000d", "1min", "265598").await;
    assert_eq!(
        most.json().unwrap()["data"].as_array().unwrap().len(),
        1000,
        "the latest 1000 bars"
    );
    assert_eq!(history("1d", "1h", "999999999").await.status, 400);

    let params = call(&client, Method::GET, "/iserver/scanner/params", &[], None)
        .await
        .json()
        .unwrap();
    assert!(
        params["scan_type_list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "TOP_PERC_GAIN")
    );
    let run = |kind: &'static str| {
        let client = &client;
        async move {
            let body = json!({"instrument": "STK", "type": kind, "location": "STK.US.MAJOR", "filter": []});
            call(client, Method::POST, "/iserver/scanner/run", &[], Some(body)).await
        }
    };
    let gainers = run("TOP_PERC_GAIN").await.json().unwrap();
    assert_eq!(gainers["contracts"][0]["column_name"], "Chg%");
    assert!(gainers["contracts"][1].get("column_name").is_none());
    assert_eq!(run("TOTALLY_INVALID").await.status, 500);

    let futures = call(&client, Method::GET, "/trsrv/futures", &[("symbols", "ES")], None)
        .await
        .json()
        .unwrap();
    assert_eq!(futures["ES"][0]["expirationDate"], 20_261_218);
    let rules = call(
        &client,
        Method::GET,
        "/iserver/contract/265598/info-and-rules",
        &[("isBuy", "true")],
        None,
    )
    .await;
    assert_eq!(rules.json().unwrap()["rules"]["orderTypes"][0], "limit");
    let unknown = call(
        &client,
        Method::GET,
        "/iserver/contract/999999999/info-and-rules",
        &[],
        None,
    )
    .await;
    assert_eq!(unknown.status, 400);
    let page = call(&client, Method::GET, "/portfolio/DU1234567/positions/7", &[], None).await;
    assert_eq!(page.json().unwrap(), json!([]), "a page past the end is empty");
    let summary = call(&client, Method::GET, "/iserver/account/DU1234567/summary", &[], None)
        .await
        .json()
        .unwrap();
    assert!(summary["netLiquidationValue"].as_f64().unwrap() > 100_000.0);
    mock.stop().await;
}

async fn init(client: &Client) -> ApiResponse {
    let body = json!({"publish": true, "compete": true});
    call(client, Method::POST, "/iserver/auth/ssodh/init", &[], Some(body)).await
}

#[tokio::test]
async fn brokerage_faults_hit_ssodh_init_as_users_reported() {
    let (mock, _) = start_mock(|c| c.faults = vec!["gone".parse().unwrap(), "sso-dh:0.5".parse().unwrap()]).await;
    let client = crate::common::client(mock.base_url());
    client.live_session_token().await.unwrap();
    let gone = init(&client).await;
    assert_eq!((gone.status, gone.body.is_empty()), (410, true));
    // Both are due on the second init: the first listed wins.
    assert_eq!(init(&client).await.status, 410);
    mock.stop().await;
    let (mock, _) = start_mock(|c| c.faults = vec!["sso-dh".parse().unwrap()]).await;
    let client = crate::common::client(mock.base_url());
    client.live_session_token().await.unwrap();
    let sso = init(&client).await;
    assert_eq!(sso.status, 500);
    assert_eq!(sso.json().unwrap()["error"], "failed to generate sso dh token");
    // Other calls are not hit.
    assert_eq!(call(&client, Method::POST, "/tickle", &[], None).await.status, 200);
    mock.stop().await;
}

#[tokio::test]
async fn a_competing_login_takes_the_brokerage_session_until_init() {
    let (mock, log, client) = ready(|c| c.faults = vec!["competing:0.2".parse().unwrap()]).await;
    // Requests 1-4 after the LST are init, accounts and two status calls; the fifth is hit.
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(
            call(&client, Method::GET, "/iserver/auth/status", &[], None)
                .await
                .json()
                .unwrap()["competing"]
                .clone(),
        );
    }
    let status = call(&client, Method::GET, "/iserver/auth/status", &[], None)
        .await
        .json()
        .unwrap();
    assert_eq!(status["competing"], true, "{seen:?} {:?}", log.lines());
    assert_eq!(status["authenticated"], true);
    assert_eq!(
        call(&client, Method::GET, "/iserver/accounts", &[], None)
            .await
            .json()
            .unwrap(),
        json!({})
    );
    let search = call(
        &client,
        Method::GET,
        "/iserver/secdef/search",
        &[("symbol", "ARM")],
        None,
    )
    .await;
    assert_eq!(search.json().unwrap()["error"], "Init session first");
    client.init_brokerage_session().await.unwrap();
    assert_eq!(client.auth_status().await.unwrap()["competing"], false);
    mock.stop().await;
}

#[tokio::test]
async fn a_restart_ends_every_session() {
    // Every third request after the handshake is hit: the third here.
    let (mock, _) = start_mock(|c| c.faults = vec!["restart:0.34".parse().unwrap()]).await;
    let client = crate::common::client(mock.base_url());
    client.live_session_token().await.unwrap();
    assert_eq!(call(&client, Method::POST, "/tickle", &[], None).await.status, 200);
    assert_eq!(
        call(&client, Method::POST, "/iserver/auth/status", &[], None)
            .await
            .status,
        200
    );
    let restarted = call(&client, Method::POST, "/iserver/auth/status", &[], None).await;
    assert_eq!(restarted.status, 503);
    let after = call(&client, Method::POST, "/iserver/auth/status", &[], None).await;
    assert_eq!(after.status, 401, "the old live session token is gone");
    let tickle = call(&client, Method::POST, "/tickle", &[], None).await;
    assert_eq!(
        (tickle.status, tickle.json().unwrap()),
        (200, json!({"error": "no session"}))
    );
    mock.stop().await;
}
