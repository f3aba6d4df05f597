//! IBKR's websocket (`/v1/api/ws`) as the mock serves it to OAuth clients: the access token as
//! `oauth_token` in the query and the `/tickle` answer's `session` as the `api` cookie, then the
//! connect burst (`system`, `act`, `sts`), a `system` heartbeat every 10 s and an answer to each
//! `tic`. Shapes and timings: tests/data/ibkr-recorded/ws/ (each file names its source).
//! Market data, order and P&L topics are not served yet (issue 18).

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

async fn serve(state: Arc<State>, mut socket: WebSocket, session_id: String) {
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
                    for answer in answers(&state, &session_id, text.as_str()) {
                        if socket.send(Message::Text(answer.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = heartbeat.tick() => {
                let beat = json!({"topic": "system", "hb": epoch_ms(state.config.clock.now())});
                if socket.send(Message::Text(beat.to_string().into())).await.is_err() {
                    return;
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
fn answers(state: &State, session_id: &str, text: &str) -> Vec<Value> {
    match text.trim() {
        "tic" => vec![json!({
            "topic": "tic", "alive": true, "id": session_id, "lastAccessed": epoch_ms(state.config.clock.now())
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

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
