//! IBKR's websocket (`/v1/api/ws`) as the mock serves it to OAuth clients: the access token as
//! `oauth_token` in the query and the `/tickle` answer's `session` as the `api` cookie, then the
//! connect burst (`system`, `act`, `sts`), a `system` heartbeat every 10 s and an answer to each
//! `tic`. Shapes and timings: tests/data/ibkr-recorded/ws/ (each file names its source).
//! Market data: `smd+CONID+{"fields":[...]}` subscribes with the snapshot's field ids and values,
//! `umd+CONID+{}` ends it. Live orders: after `sor+{...}`, every order the mock's paper trading
//! adds or moves is sent on `sor` until `uor+{}`. P&L: `spl+{}` sends the account's P&L rows at
//! once and with each heartbeat until `upl+{}`. History bars are not served yet (issue 18).

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::State;

/// The mock's username, in `system` and `sts` (the mock's choice; IBKR sends the user's).
const USERNAME: &str = "mockuser";

pub(super) async fn upgrade(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    socket: WebSocketUpgrade,
) -> Response {
    let session_id = match refusal(&state, &query, &headers) {
        Ok(session_id) => session_id,
        Err(why) => {
            state.log(&format!("mock: GET /v1/api/ws -> 401 ({why})"));
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "Unauthorized"}))).into_response();
        }
    };
    state.log("mock: GET /v1/api/ws -> 101 (websocket open)");
    socket.on_upgrade(move |socket| serve(state, socket, session_id))
}

/// The session id the socket belongs to, or why it is refused (the mock's own words: IBKR's
/// refusal body is not recorded).
fn refusal(state: &State, query: &[(String, String)], headers: &HeaderMap) -> Result<String, String> {
    let credentials = &state.config.credentials;
    let token = query.iter().find(|(k, _)| k == "oauth_token").map(|(_, v)| v.as_str());
    if token != Some(credentials.access_token.as_str()) {
        return Err("oauth_token is not the access token".into());
    }
    let cookie = headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("api=").map(str::to_owned))
        .ok_or("no api cookie: send the `session` of a POST /tickle as Cookie: api=...")?;
    let now = state.config.clock.now();
    let sessions = state.sessions();
    let session = sessions
        .get(&credentials.access_token)
        .filter(|s| s.expires > now)
        .ok_or("no session: get a live session token first")?;
    if session.session_id != cookie {
        return Err("the api cookie is not this session's id from /tickle".into());
    }
    Ok(session.session_id.clone())
}

/// What a socket is subscribed to.
#[derive(Default)]
struct Subscriptions {
    /// Market data: conid and the fields asked for, in order.
    market_data: Vec<(u64, Vec<String>)>,
    /// Live orders: the status each order had when last sent (or when `sor` came); `None`
    /// without a subscription.
    orders: Option<std::collections::HashMap<u64, &'static str>>,
    /// P&L, after `spl`.
    pnl: bool,
}

/// How often the socket looks for order changes to send (real time, as for heartbeats).
const ORDER_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

async fn serve(state: Arc<State>, mut socket: WebSocket, session_id: String) {
    let mut subscriptions = Subscriptions::default();
    let mut order_check = tokio::time::interval(ORDER_CHECK);
    for frame in connect_burst(&state) {
        if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
            return;
        }
    }
    // Heartbeats keep real time, as a socket's I/O does: a manual clock that jumps for every
    // sleeper would have them beat without pause.
    let mut heartbeat = tokio::time::interval(state.config.heartbeat);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => {
                    for answer in answers(&state, &session_id, &mut subscriptions, text.as_str()) {
                        if socket.send(Message::Text(answer.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = order_check.tick() => {
                if let Some(frame) = order_changes(&state, &mut subscriptions)
                    && socket.send(Message::Text(frame.to_string().into())).await.is_err()
                {
                    return;
                }
            }
            _ = heartbeat.tick() => {
                let now = epoch_ms(state.config.clock.now());
                let beat = json!({"topic": "system", "hb": now});
                // The mock's choice: each subscription's whole frame again with each heartbeat
                // (IBKR sends changed fields only, about every 4 s for a liquid stock).
                let updates: Vec<Value> = subscriptions
                    .market_data
                    .iter()
                    .map(|(conid, fields)| market_data(*conid, fields, now))
                    .chain(subscriptions.pnl.then(|| pnl(&state)))
                    .collect();
                for frame in std::iter::once(beat).chain(updates) {
                    if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// What IBKR sends once a socket is authorised: `system`, then `act`, then `sts` (recorded in
/// that order, within ~30 ms: system-connected.json, act.json, sts.json).
fn connect_burst(state: &State) -> Vec<Value> {
    let account = super::api::ACCOUNT;
    let established = state
        .sessions()
        .get(&state.config.credentials.access_token)
        .is_some_and(|s| s.brokerage.is_some() && !s.competing);
    vec![
        json!({"topic": "system", "success": USERNAME, "isFT": false, "isPaper": true}),
        json!({"topic": "act", "args": {
            "accounts": [account],
            "acctProps": {account: {"hasChildAccounts": false, "supportsCashQty": true, "liteUnderPro": false,
                "noFXConv": false, "isProp": false, "supportsFractions": true, "allowCustomerTime": false, "autoFx": false}},
            "aliases": {account: account},
            "selectedAccount": account,
            "isPaper": true
        }}),
        json!({"topic": "sts", "args": {
            "connected": true, "authenticated": established, "established": established, "competing": false,
            "message": "", "fail": "", "serverName": "mock", "serverVersion": "ibkr-probe mock", "username": USERNAME
        }}),
    ]
}

/// The answers to one client frame. `tic` gets the session's liveness (tic.json); topics the
/// mock does not serve yet get nothing, as IBKR gives nothing for a topic it does not know.
fn answers(state: &State, session_id: &str, subscriptions: &mut Subscriptions, text: &str) -> Vec<Value> {
    let now = epoch_ms(state.config.clock.now());
    let text = text.trim();
    if let Some((conid, fields)) = topic_request(text, "smd+") {
        // Re-sending smd for a conid adds fields (recorded: smd-request.json).
        let subscribed = &mut subscriptions.market_data;
        let index = match subscribed.iter().position(|(c, _)| *c == conid) {
            Some(index) => index,
            None => {
                subscribed.push((conid, Vec::new()));
                subscribed.len() - 1
            }
        };
        let subscribed = &mut subscribed[index].1;
        for field in fields {
            if !subscribed.contains(&field) {
                subscribed.push(field);
            }
        }
        return vec![market_data(conid, subscribed, now)];
    }
    if let Some((conid, _)) = topic_request(text, "umd+") {
        // No answer: the data simply stops (documented; none recorded).
        subscriptions.market_data.retain(|(c, _)| *c != conid);
        return Vec::new();
    }
    if text == "sor" || text.starts_with("sor+") {
        // No snapshot of existing orders on subscribe (recorded: sor-request.json): they are
        // taken as sent, and only what changes from now on is.
        let account = state.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        subscriptions.orders = Some(account.orders.orders.iter().map(|o| (o.id, o.status.name())).collect());
        return Vec::new();
    }
    if text == "uor" || text.starts_with("uor+") {
        subscriptions.orders = None;
        return Vec::new();
    }
    if text == "spl" || text.starts_with("spl+") {
        subscriptions.pnl = true;
        return vec![pnl(state)];
    }
    if text == "upl" || text.starts_with("upl+") {
        subscriptions.pnl = false;
        return Vec::new();
    }
    match text {
        "tic" => vec![json!({
            "topic": "tic", "alive": true, "id": session_id, "lastAccessed": now
        })],
        other => {
            state.log(&format!(
                "mock: websocket frame not served yet: {}",
                other.chars().take(40).collect::<String>()
            ));
            Vec::new()
        }
    }
}

/// The orders added or moved since they were last sent, as one `sor` frame whose `args` is an
/// array of orders in the live-orders shape (recorded: sor-update.json).
fn order_changes(state: &State, subscriptions: &mut Subscriptions) -> Option<Value> {
    let seen = subscriptions.orders.as_mut()?;
    let account = state.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let changed: Vec<Value> = account
        .orders
        .orders
        .iter()
        .filter(|order| seen.insert(order.id, order.status.name()) != Some(order.status.name()))
        .map(super::api::order_row)
        .collect();
    (!changed.is_empty()).then(|| json!({"topic": "sor", "args": changed}))
}

/// A P&L frame: `args` an object keyed `<account>.Core` (recorded: spl-update.json).
fn pnl(state: &State) -> Value {
    let account = state.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    json!({"topic": "spl", "args": super::api::pnl_rows(&account.orders)})
}

/// `PREFIX<conid>[@EXCHANGE]+{json}`: the conid and the `fields` of the JSON, if the frame is one.
fn topic_request(text: &str, prefix: &str) -> Option<(u64, Vec<String>)> {
    let rest = text.strip_prefix(prefix)?;
    let (conid, arguments) = rest.split_once('+').unwrap_or((rest, "{}"));
    let conid = conid.split('@').next()?.parse().ok()?;
    let arguments: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
    let fields = arguments["fields"]
        .as_array()
        .map(|fields| fields.iter().filter_map(|f| f.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Some((conid, fields))
}

/// A market-data frame: the snapshot's entry for these fields (recorded: smd-update.json; the
/// stream has no warm-up rows), with its topic.
fn market_data(conid: u64, fields: &[String], now_ms: u64) -> Value {
    let mut frame = super::data::snapshot_entry(conid, fields, super::data::Stage::Full, now_ms);
    if let Some(map) = frame.as_object_mut() {
        map.insert("topic".into(), json!(format!("smd+{conid}")));
    }
    frame
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
