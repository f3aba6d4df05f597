//! IBKR's websocket (`/v1/api/ws`) as the mock serves it to OAuth clients: the access token as
//! `oauth_token` in the query, the `/tickle` answer's `session` as the `api` cookie and IBKR's
//! gateway user agent, then the connect burst (`system`, `act`, `sts`), a `system` heartbeat every
//! 10 s and an answer to each `tic`. Shapes and timings: tests/data/ibkr-recorded/ws/ (each file
//! names its source).
//! Market data: `smd+CONID+{"fields":[...]}` subscribes with the snapshot's field ids and values
//! (only while the brokerage session is up, and for at most [`MockConfig::smd_lifetime`]),
//! `umd+CONID+{}` ends it. Live orders: after `sor+{...}`, every order the mock's paper trading
//! adds or moves is sent on `sor` until `uor+{}`. P&L: `spl+{}` sends the account's P&L rows at
//! once and then every stream tick until `upl+{}`. History: `smh+CONID+{...}` answers once with
//! the bars `/iserver/marketdata/history` has and a `serverId` that `umh+SERVERID` frees.
//! When the brokerage session goes, the socket stays open and says so in `sts` frames, as IBKR's
//! does; the `ws-drop`, `ws-close` and `ws-silence` faults lose or silence it. In a replay
//! (`--replay DIR`) data subscriptions get the recording's frames on their topic instead.
//!
//! [`MockConfig::smd_lifetime`]: super::MockConfig::smd_lifetime

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::State;
use super::faults::FaultKind;
use crate::record::replay::ReplaySource;

/// The mock's username, in `system` and `sts` (the mock's choice; IBKR sends the user's).
const USERNAME: &str = "mockuser";

pub(super) async fn upgrade(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    socket: WebSocketUpgrade,
) -> Response {
    if !headers.contains_key("user-agent") {
        // Recorded as a status only (error-handshake-403.json): the body is the mock's choice.
        state
            .log("mock: GET /v1/api/ws -> 403 (no User-Agent: IBKR refuses an OAuth upgrade without ClientPortalGW/1)");
        return StatusCode::FORBIDDEN.into_response();
    }
    let session_id = match refusal(&state, &query, &headers) {
        Ok(session_id) => session_id,
        Err(why) => {
            state.log(&format!("mock: GET /v1/api/ws -> 401 ({why})"));
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "Unauthorized"}))).into_response();
        }
    };
    let fault = state.faults.next("/ws");
    let note = fault.map_or(String::new(), |f| format!("; fault {}", f.name()));
    state.log(&format!("mock: GET /v1/api/ws -> 101 (websocket open{note})"));
    socket.on_upgrade(move |socket| serve(state, socket, session_id, fault))
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
    /// Market data: conid, the fields asked for in order, and when (the mock clock's mark).
    market_data: Vec<(u64, Vec<String>, std::time::Duration)>,
    /// Live orders: the status each order had when last sent (or when `sor` came); `None`
    /// without a subscription.
    orders: Option<std::collections::HashMap<u64, &'static str>>,
    /// P&L, after `spl`.
    pnl: bool,
    /// History subscriptions by the `serverId` handed out, until `umh`.
    history: Vec<String>,
    /// Whether the brokerage session was up when last looked at (the last `sts` said so).
    established: bool,
    /// In a replay: the topics whose recorded frames go on with each stream tick.
    replaying: Vec<String>,
    /// In a replay: how many of each topic's recorded frames were sent.
    replayed: std::collections::HashMap<String, usize>,
}

/// IBKR allows at most five history subscriptions at once (its websocket reference).
const HISTORY_SLOTS: usize = 5;

/// How often the socket looks for order changes and a lost session (real time, as heartbeats).
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

async fn serve(state: Arc<State>, mut socket: WebSocket, session_id: String, fault: Option<FaultKind>) {
    let mut subscriptions = Subscriptions {
        established: established(&state, &session_id),
        ..Subscriptions::default()
    };
    for frame in connect_burst(subscriptions.established) {
        if !send(&mut socket, &frame).await {
            return;
        }
    }
    match fault {
        Some(FaultKind::WsDrop) => {
            // Returning drops the socket: the connection ends without a close frame.
            state.log("mock: websocket cut after its connect burst, no close frame (fault ws-drop)");
            return;
        }
        Some(FaultKind::WsClose) => {
            // The only server close on record: 1000 with an empty reason (ibind #7).
            state.log("mock: websocket closed with 1000 and no reason after its connect burst (fault ws-close)");
            let close = CloseFrame {
                code: 1000,
                reason: "".into(),
            };
            let _ = socket.send(Message::Close(Some(close))).await;
            return;
        }
        Some(FaultKind::WsSilence) => {
            state.log("mock: websocket silent after its connect burst (fault ws-silence)");
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    return;
                }
            }
            return;
        }
        _ => {}
    }
    let mut look = tokio::time::interval(LOOK_EVERY);
    // Heartbeats and updates keep real time, as a socket's I/O does: a manual clock that jumps
    // for every sleeper would have them beat without pause.
    let mut heartbeat = tokio::time::interval(state.config.heartbeat);
    heartbeat.tick().await;
    let mut updates = tokio::time::interval(state.config.stream_tick);
    updates.tick().await;
    loop {
        let frames = tokio::select! {
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => answers(&state, &session_id, &mut subscriptions, text.as_str()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => Vec::new(),
            },
            _ = look.tick() => {
                let mut frames = session_change(&state, &session_id, &mut subscriptions);
                frames.extend(order_changes(&state, &mut subscriptions));
                frames
            }
            _ = heartbeat.tick() => vec![json!({"topic": "system", "hb": epoch_ms(state.config.clock.now())})],
            _ = updates.tick() => stream_updates(&state, &mut subscriptions),
        };
        for frame in &frames {
            if !send(&mut socket, frame).await {
                return;
            }
        }
    }
}

/// Sends one frame; false when the socket is gone.
async fn send(socket: &mut WebSocket, frame: &Value) -> bool {
    socket.send(Message::Text(frame.to_string().into())).await.is_ok()
}

/// Whether the socket's session still has its brokerage session: the `/tickle` session it was
/// opened with, not expired, not idle past the timeout, not taken by a competing login.
fn established(state: &State, session_id: &str) -> bool {
    let now = state.config.clock.now();
    let sessions = state.sessions();
    sessions.get(&state.config.credentials.access_token).is_some_and(|s| {
        let idle = now.duration_since(s.last_request).unwrap_or_default();
        s.session_id == session_id
            && s.expires > now
            && s.brokerage.is_some()
            && !s.competing
            && idle <= state.config.idle_timeout
    })
}

/// `sts` frames when the brokerage session went or came back. Losing it, IBKR sends
/// `authenticated: false` and two partial frames and keeps the socket open with heartbeats; the
/// subscriptions are dead (ibind #25, 2024-09). Coming back, the mock sends the whole `sts` (its
/// choice: nothing is recorded), and subscriptions must be made again.
fn session_change(state: &State, session_id: &str, subscriptions: &mut Subscriptions) -> Vec<Value> {
    let now = established(state, session_id);
    if now == subscriptions.established {
        return Vec::new();
    }
    subscriptions.established = now;
    if now {
        return vec![sts(true)];
    }
    state.log("mock: websocket: the brokerage session is gone; market data stops, sts says so");
    subscriptions.market_data.clear();
    subscriptions.orders = None;
    subscriptions.pnl = false;
    subscriptions.history.clear();
    subscriptions.replaying.clear();
    vec![
        json!({"topic": "sts", "args": {"authenticated": false}}),
        json!({"topic": "sts", "args": {"competing": false}}),
        json!({"topic": "sts", "args": {"message": ""}}),
    ]
}

/// In a replay, a data subscription or its end (`smd`, `sor`, `spl`, `smh` and their `u…`):
/// the recording's frames on that topic stand in for the mock's own. Topics that confirm a
/// subscription (all but `sor`, per ibind's table) get their first frame at once; `smd`, `sor`
/// and `spl` then one more each stream tick until the recording runs out. `None`: not such a
/// frame.
fn replayed_subscription(
    state: &State,
    replay: &ReplaySource,
    subscriptions: &mut Subscriptions,
    text: &str,
) -> Option<Vec<Value>> {
    let (subscribe, rest) = data_subscription(text)?;
    let topic = format!("s{rest}");
    if !subscribe {
        subscriptions.replaying.retain(|t| *t != topic);
        return Some(Vec::new());
    }
    if replay.frames(&topic).is_empty() {
        state.log(&format!(
            "mock: websocket: replay miss: no frame was recorded on {topic}"
        ));
    }
    let first = (!rest.starts_with("or"))
        .then(|| next_replayed(replay, subscriptions, &topic))
        .flatten();
    if !rest.starts_with("mh") && !subscriptions.replaying.contains(&topic) {
        subscriptions.replaying.push(topic);
    }
    Some(first.into_iter().collect())
}

/// A client frame that starts or ends one of the data topics the mock serves (market data,
/// orders, P&L, history): whether it starts one, and the topic without its `s`/`u`.
fn data_subscription(text: &str) -> Option<(bool, &str)> {
    const DATA_TOPICS: [&str; 4] = ["md", "or", "pl", "mh"];
    let (subscribe, topic) = crate::client::stream::subscription_change(text)?;
    DATA_TOPICS
        .iter()
        .any(|t| topic.starts_with(t))
        .then_some((subscribe, topic))
}

/// The next recorded frame on `topic`, if the recording has one more.
fn next_replayed(replay: &ReplaySource, subscriptions: &mut Subscriptions, topic: &str) -> Option<Value> {
    let sent = subscriptions.replayed.entry(topic.to_owned()).or_insert(0);
    let frame = replay.frames(topic).get(*sent).cloned()?;
    *sent += 1;
    Some(frame)
}

/// Market data and P&L again each stream tick, and market data that outlived its time ended.
fn stream_updates(state: &State, subscriptions: &mut Subscriptions) -> Vec<Value> {
    if let Some(replay) = &state.config.replay {
        let topics = subscriptions.replaying.clone();
        return topics
            .iter()
            .filter_map(|topic| next_replayed(replay, subscriptions, topic))
            .collect();
    }
    let clock = &state.config.clock;
    let lifetime = state.config.smd_lifetime;
    subscriptions.market_data.retain(|(conid, _, since)| {
        let alive = clock.since(*since) < lifetime;
        if !alive {
            // No frame announces the end; data simply stops (ibind #145, IBKR changelog 2026-04-14).
            state.log(&format!(
                "mock: websocket: smd+{conid} ended after {} s (IBKR ends market-data streams; send smd again to go on)",
                lifetime.as_secs()
            ));
        }
        alive
    });
    let now = epoch_ms(clock.now());
    // The mock's choice: each subscription's whole frame again (IBKR sends changed fields only,
    // as often as they change).
    subscriptions
        .market_data
        .iter()
        .map(|(conid, fields, _)| market_data(*conid, fields, now))
        .chain(subscriptions.pnl.then(|| pnl(state)))
        .collect()
}

/// What IBKR sends once a socket is authorised: `system`, then `act`, then `sts` (recorded in
/// that order, within ~30 ms: system-connected.json, act.json, sts.json).
fn connect_burst(established: bool) -> Vec<Value> {
    let account = super::api::ACCOUNT;
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
        sts(established),
    ]
}

/// The whole `sts` frame (sts.json).
fn sts(established: bool) -> Value {
    json!({"topic": "sts", "args": {
        "connected": true, "authenticated": established, "established": established, "competing": false,
        "message": "", "fail": "", "serverName": "mock", "serverVersion": "ibkr-probe mock", "username": USERNAME
    }})
}

/// The answers to one client frame. `tic` gets the session's liveness (tic.json); topics the
/// mock does not serve yet get nothing, as IBKR gives nothing for a topic it does not know.
fn answers(state: &State, session_id: &str, subscriptions: &mut Subscriptions, text: &str) -> Vec<Value> {
    let now = epoch_ms(state.config.clock.now());
    let text = text.trim();
    let data_topic = data_subscription(text).is_some_and(|(subscribe, _)| subscribe);
    if data_topic && !subscriptions.established {
        // Subscribing before the brokerage session is up gives nothing (README, "Market data on
        // the stream").
        state.log(&format!(
            "mock: websocket: {} before the brokerage session is open: ignored, as IBKR does (ssodh/init first)",
            crate::client::stream::topic_key(text)
        ));
        return Vec::new();
    }
    if let Some(replay) = &state.config.replay
        && let Some(frames) = replayed_subscription(state, replay, subscriptions, text)
    {
        return frames;
    }
    if let Some((conid, arguments)) = topic_request(text, "smd+") {
        // Re-sending smd for a conid adds fields (recorded: smd-request.json) and, since IBKR
        // ends streams after a while, starts its time again.
        let subscribed = &mut subscriptions.market_data;
        let index = match subscribed.iter().position(|(c, _, _)| *c == conid) {
            Some(index) => index,
            None => {
                subscribed.push((conid, Vec::new(), std::time::Duration::ZERO));
                subscribed.len() - 1
            }
        };
        let (_, subscribed, since) = &mut subscribed[index];
        *since = state.config.clock.mark();
        for field in strings(&arguments["fields"]) {
            if !subscribed.contains(&field) {
                subscribed.push(field);
            }
        }
        return vec![market_data(conid, subscribed, now)];
    }
    if let Some((conid, _)) = topic_request(text, "umd+") {
        // No answer: the data simply stops (documented; none recorded).
        subscriptions.market_data.retain(|(c, _, _)| *c != conid);
        return Vec::new();
    }
    if let Some((conid, arguments)) = topic_request(text, "smh+") {
        return history(state, subscriptions, conid, &arguments);
    }
    if let Some(server_id) = text.strip_prefix("umh+") {
        // IBKR's reference says umh answers nothing; ibind waits for `Unsubscribed <serverId>`
        // (umh-ack.json). The newer source wins.
        subscriptions.history.retain(|id| id != server_id.trim());
        return Vec::new();
    }
    if is_frame(text, "sor") {
        // No snapshot of existing orders on subscribe (recorded: sor-request.json): they are
        // taken as sent, and only what changes from now on is.
        let account = state.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        subscriptions.orders = Some(account.orders.orders.iter().map(|o| (o.id, o.status.name())).collect());
        return Vec::new();
    }
    if is_frame(text, "uor") {
        subscriptions.orders = None;
        return Vec::new();
    }
    if is_frame(text, "spl") {
        subscriptions.pnl = true;
        return vec![pnl(state)];
    }
    if is_frame(text, "upl") {
        subscriptions.pnl = false;
        return Vec::new();
    }
    match text {
        "tic" => vec![json!({
            "topic": "tic", "alive": true, "id": session_id, "lastAccessed": now
        })],
        other => {
            state.log(&format!(
                "mock: websocket frame not served: {}",
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

/// Whether `text` is the bare `topic` or `topic+` with arguments (`sor`, `sor+{}`).
fn is_frame(text: &str, topic: &str) -> bool {
    text.strip_prefix(topic)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('+'))
}

/// `PREFIX<conid>[@EXCHANGE]+{json}`: the conid and the JSON arguments, if the frame is one.
fn topic_request(text: &str, prefix: &str) -> Option<(u64, Value)> {
    let rest = text.strip_prefix(prefix)?;
    let (conid, arguments) = rest.split_once('+').unwrap_or((rest, "{}"));
    let conid = conid.split('@').next()?.parse().ok()?;
    Some((conid, serde_json::from_str(arguments).unwrap_or(Value::Null)))
}

/// The strings of a JSON array (`fields`), others left out.
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|f| f.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// One `smh` answer: the REST history's bars for the arguments (period and bar as in
/// `/iserver/marketdata/history`; the REST defaults when absent, the mock's choice), a fresh
/// `serverId`, and the topic. A sixth subscription gets nothing (IBKR allows five; its answer
/// to a sixth is not recorded).
fn history(state: &State, subscriptions: &mut Subscriptions, conid: u64, arguments: &Value) -> Vec<Value> {
    if subscriptions.history.len() >= HISTORY_SLOTS {
        state.log(&format!(
            "mock: websocket: smh+{conid} refused: {HISTORY_SLOTS} history subscriptions are open; umh+SERVERID frees one"
        ));
        return Vec::new();
    }
    let Some(instrument) = super::data::by_conid(conid) else {
        state.log(&format!("mock: websocket: smh+{conid}: no such conid, nothing sent"));
        return Vec::new();
    };
    let text = |key: &str, default: &'static str| arguments[key].as_str().unwrap_or(default).to_owned();
    let outside_rth = arguments["outsideRth"].as_bool().or(arguments["outsideRTH"].as_bool()) == Some(true);
    let Ok(mut bars) = super::data::history(
        instrument,
        &text("period", "1w"),
        &text("bar", "1d"),
        outside_rth,
        state.config.clock.now(),
    ) else {
        state.log(&format!(
            "mock: websocket: smh+{conid}: bar size not understood, nothing sent"
        ));
        return Vec::new();
    };
    let server_id = (20_000 + state.next_error_id()).to_string();
    bars["serverId"] = json!(server_id);
    bars["topic"] = json!(format!("smh+{conid}"));
    subscriptions.history.push(server_id);
    vec![bars]
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
