//! Request handling: faults, OAuth checks, pacing, the session rules and the endpoints.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::{self, Accepted, IncomingRequest};
use super::data;
use super::faults::FaultKind;
use super::{Brokerage, Session, State};
use crate::oauth::base_string::query_pairs;
use crate::oauth::header::parse_authorization_header;
use crate::oauth::{RandomSource, SystemRandom};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// An answer and, for the log, why it was given.
struct Reply {
    status: StatusCode,
    body: Value,
    note: Option<String>,
}

fn reply(status: StatusCode, body: Value) -> Reply {
    Reply {
        status,
        body,
        note: None,
    }
}

fn refused(status: StatusCode, body: Value, note: impl Into<String>) -> Reply {
    Reply {
        status,
        body,
        note: Some(note.into()),
    }
}

fn bad_request(message: &str) -> Reply {
    refused(
        StatusCode::BAD_REQUEST,
        json!({"error": format!("Bad Request: {message}"), "statusCode": 400}),
        message.to_owned(),
    )
}

fn now_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

async fn handle(
    AxumState(state): AxumState<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = uri.path().to_owned();
    let fault = state.faults.next();
    let log = |status: u16, note: &str| {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        state.log(&format!("mock: {method} {path} -> {status}{note}"));
    };
    match fault {
        Some(FaultKind::DropConnection) => {
            log(0, "fault drop-connection: connection closed without a response");
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("fault: drop-connection"))
            });
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap_or_default();
        }
        Some(FaultKind::MalformedJson) => {
            log(200, "fault malformed-json");
            return ([("content-type", "application/json")], "{\"authenticated\": tru").into_response();
        }
        Some(FaultKind::Slow) => {
            tokio::time::sleep(state.config.slow_delay).await;
        }
        _ => {}
    }
    let result = match fault {
        Some(FaultKind::RateLimit) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "Too Many Requests"}),
            "fault rate-limit",
        ),
        Some(FaultKind::InvalidSignature) => refused(
            StatusCode::UNAUTHORIZED,
            json!({"error": auth::INVALID_SIGNATURE}),
            "fault invalid-signature",
        ),
        Some(FaultKind::ServerError) => {
            if state.next_error_id() % 2 == 0 {
                refused(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "failed to process request"}),
                    "fault server-error",
                )
            } else {
                refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "Service Unavailable", "statusCode": 503}),
                    "fault server-error",
                )
            }
        }
        _ => dispatch(&state, &method, &uri, &headers, &body),
    };
    let mut note = result.note.unwrap_or_default();
    if fault == Some(FaultKind::Slow) {
        note = format!("fault slow; {note}");
    }
    log(result.status.as_u16(), note.trim_end_matches("; "));
    (result.status, axum::Json(result.body)).into_response()
}

/// Full URLs the client may have signed for this request.
fn candidate_urls(state: &State, uri: &Uri, headers: &HeaderMap) -> Vec<String> {
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut urls = vec![format!("http://{}{path_and_query}", state.local_addr)];
    if let Some(host) = headers.get("host").and_then(|h| h.to_str().ok()) {
        urls.push(format!("http://{host}{path_and_query}"));
        urls.push(format!("https://{host}{path_and_query}"));
    }
    urls.push(format!("https://api.ibkr.com{path_and_query}"));
    urls.sort();
    urls.dedup();
    urls
}

fn dispatch(state: &State, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Reply {
    let Some(route) = uri.path().strip_prefix("/v1/api") else {
        return refused(
            StatusCode::NOT_FOUND,
            json!({"error": "Not Found"}),
            "the Web API lives under /v1/api",
        );
    };
    let now = SystemTime::now();
    let is_lst = route == "/oauth/live_session_token";
    let header = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| "no Authorization header".to_owned())
        .and_then(|h| parse_authorization_header(h).map_err(|e| e.to_string()));
    let header = match header {
        Ok(header) => header,
        Err(why) if is_lst => return lst_refusal(state, auth::INVALID_CONSUMER, &why),
        Err(why) => return refused(StatusCode::UNAUTHORIZED, json!({"error": auth::INVALID_SIGNATURE}), why),
    };
    let urls = candidate_urls(state, uri, headers);
    let request = IncomingRequest {
        method: method.as_str(),
        urls: &urls,
        header: &header,
    };
    let nonce = header.get("oauth_nonce").unwrap_or("");
    if !nonce.is_empty() && !state.fresh_nonce(nonce, now) {
        let why = "replayed oauth_nonce: every request needs a fresh nonce";
        return if is_lst {
            lst_refusal(state, auth::LST_FAILED, why)
        } else {
            refused(StatusCode::UNAUTHORIZED, json!({"error": auth::INVALID_SIGNATURE}), why)
        };
    }
    let credentials = &state.config.credentials;
    let window = state.config.timestamp_window;

    if is_lst {
        if method != Method::POST {
            return refused(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "Method Not Allowed"}),
                "use POST",
            );
        }
        let mut b = vec![0u8; 32];
        if SystemRandom.fill(&mut b).is_err() {
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
                "no randomness",
            );
        }
        return match auth::live_session_token(credentials, &request, now, window, state.config.activate_at, &b) {
            Ok(grant) => {
                let expires = now + std::time::Duration::from_secs(24 * 3600);
                let mut session_id = [0u8; 16];
                let _ = SystemRandom.fill(&mut session_id);
                let session = Session {
                    token: grant.token,
                    expires,
                    buggy_variants: grant.buggy_variants,
                    brokerage: None,
                    last_request: Instant::now(),
                    recent: Default::default(),
                    session_id: hex::encode(session_id),
                };
                if let Ok(mut issued) = state.issued.lock() {
                    issued.push((grant.shared_secret, session.token.clone()));
                }
                state.sessions().insert(credentials.access_token.clone(), session);
                reply(
                    StatusCode::OK,
                    json!({
                        "diffie_hellman_response": grant.dh_response_hex,
                        "live_session_token_signature": grant.signature_hex,
                        "live_session_token_expiration": now_ms(expires),
                    }),
                )
            }
            Err(refusal) => lst_refusal(state, &refusal.message, &refusal.reason),
        };
    }

    let mut sessions = state.sessions();
    let session = sessions.get_mut(&credentials.access_token).filter(|s| s.expires > now);
    let token = session.as_ref().map(|s| (&s.token, s.buggy_variants.as_slice()));
    let verified = if state.config.verify_signatures {
        auth::hmac_request(credentials, &request, now, window, token)
    } else {
        Ok(Accepted::Proven(crate::oauth::QueryConvention::UrlOnly))
    };
    let accepted = match verified {
        Ok(accepted) => accepted,
        Err(refusal) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                json!({"error": refusal.message}),
                refusal.reason,
            );
        }
    };
    let Some(session) = session else {
        return refused(
            StatusCode::UNAUTHORIZED,
            json!({"error": auth::INVALID_SIGNATURE}),
            "no session",
        );
    };
    // Pacing: a sliding one-second window per session.
    let instant = Instant::now();
    while session
        .recent
        .front()
        .is_some_and(|t| instant.duration_since(*t).as_secs_f64() >= 1.0)
    {
        session.recent.pop_front();
    }
    if session.recent.len() >= state.config.rate_limit as usize {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "Too Many Requests"}),
            format!("more than {} requests/s in this session", state.config.rate_limit),
        );
    }
    session.recent.push_back(instant);
    // Idle expiry of the brokerage session.
    let idle = instant.duration_since(session.last_request);
    let mut notes = Vec::new();
    if session.brokerage.is_some() && idle > state.config.idle_timeout {
        session.brokerage = None;
        notes.push(format!("brokerage session expired after {} s idle", idle.as_secs()));
    }
    session.last_request = instant;
    if accepted == Accepted::SpecOnly {
        notes.push("signed with RFC 5849 per-value encoding: accepted by the spec, unproven at IBKR".to_owned());
    }
    let query: Vec<(String, String)> = query_pairs(uri.query().unwrap_or(""))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut result = endpoint(state, session, method, route, &query, body, now);
    if let Some(note) = result.note.take() {
        notes.push(note);
    }
    result.note = (!notes.is_empty()).then(|| notes.join("; "));
    result
}

fn lst_refusal(state: &State, message: &str, reason: &str) -> Reply {
    let id = state.next_error_id();
    refused(
        StatusCode::UNAUTHORIZED,
        json!({"error": format!("id: {id}, error: {message}"), "statusCode": 401}),
        reason.to_owned(),
    )
}

impl State {
    fn sessions(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

const MAC: &str = "98:F2:B3:23:BF:A0";

fn server_info() -> Value {
    json!({"serverName": "JifN10022", "serverVersion": "Build 10.29.0b, May 15, 2024 2:25:08 PM"})
}

fn auth_status(established: bool) -> Value {
    if established {
        json!({
            "authenticated": true, "competing": false, "connected": true, "message": "",
            "MAC": MAC, "serverInfo": server_info(), "hardware_info": format!("195aff6f|{MAC}"), "fail": ""
        })
    } else {
        json!({"authenticated": false, "competing": false, "connected": false, "MAC": MAC})
    }
}

fn endpoint(
    state: &State,
    session: &mut Session,
    method: &Method,
    route: &str,
    query: &[(String, String)],
    body: &Bytes,
    now: SystemTime,
) -> Reply {
    let get_or_post = *method == Method::GET || *method == Method::POST;
    match route {
        "/iserver/auth/ssodh/init" if *method == Method::POST => {
            session.brokerage = Some(Brokerage::default());
            let mut status = auth_status(true);
            if let Some(map) = status.as_object_mut() {
                map.remove("fail");
            }
            return reply(StatusCode::OK, status);
        }
        "/iserver/auth/status" if get_or_post => {
            return reply(StatusCode::OK, auth_status(session.brokerage.is_some()));
        }
        "/tickle" if get_or_post => {
            let remaining = state.config.idle_timeout.as_millis() as u64;
            let mut iserver_status = auth_status(session.brokerage.is_some());
            if let Some(map) = iserver_status.as_object_mut() {
                map.remove("fail");
                map.remove("hardware_info");
            }
            return reply(
                StatusCode::OK,
                json!({
                    "session": session.session_id,
                    "ssoExpires": remaining,
                    "collission": false,
                    "userId": 107_838_735,
                    "hmds": {"error": "no bridge"},
                    "iserver": {"authStatus": iserver_status}
                }),
            );
        }
        "/logout" if get_or_post => {
            session.brokerage = None;
            session.expires = now;
            return reply(StatusCode::OK, json!({"status": true}));
        }
        _ => {}
    }
    if !route.starts_with("/iserver/") {
        return refused(
            StatusCode::NOT_FOUND,
            json!({"error": "Not Found"}),
            "the mock does not serve this endpoint",
        );
    }
    let Some(brokerage) = session.brokerage.as_mut() else {
        return bad_request("no bridge").with_note("no brokerage session: POST /iserver/auth/ssodh/init first");
    };
    if let Some(replay) = &state.config.replay {
        return replayed(replay, brokerage, method.as_str(), route, query);
    }
    match (method.as_str(), route) {
        ("GET", "/iserver/accounts") => {
            brokerage.accounts_called = true;
            reply(StatusCode::OK, accounts())
        }
        ("GET", "/iserver/secdef/search") => {
            let Some(symbol) = param(query, "symbol").filter(|s| !s.is_empty()) else {
                return bad_request("symbol required");
            };
            if let Some(stock) = data::stock_by_symbol(symbol) {
                brokerage.searched.insert(stock.conid);
            }
            reply(StatusCode::OK, data::search(symbol))
        }
        ("GET", "/iserver/secdef/strikes") => {
            let (Some(conid), Some(month)) = (
                param(query, "conid").and_then(|c| c.parse().ok()),
                param(query, "month"),
            ) else {
                return bad_request("conid and month are required");
            };
            match data::strikes(conid, month, brokerage.searched.contains(&conid)) {
                Some(body) => reply(StatusCode::OK, body),
                None => bad_request("unknown conid or month"),
            }
        }
        ("GET", "/iserver/secdef/info") => {
            let conid = param(query, "conid").and_then(|c| c.parse().ok());
            let month = param(query, "month");
            let strike = param(query, "strike").and_then(|s| s.parse::<f64>().ok());
            let right = param(query, "right")
                .and_then(|r| r.chars().next())
                .map(|c| c.to_ascii_uppercase());
            match (conid, month, strike) {
                (Some(conid), Some(month), Some(strike)) => match data::info(conid, month, strike, right) {
                    Some(body) => reply(StatusCode::OK, body),
                    None => bad_request("unknown conid or month"),
                },
                _ => bad_request("conid, month and strike are required"),
            }
        }
        ("GET", "/iserver/marketdata/snapshot") => snapshot(brokerage, query, now),
        ("GET", "/iserver/marketdata/unsubscribeall") => {
            brokerage.subscribed.clear();
            reply(StatusCode::OK, json!({"unsubscribed": true}))
        }
        ("POST", "/iserver/marketdata/unsubscribe") => {
            let conid = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["conid"].as_u64());
            match conid {
                Some(conid) => {
                    brokerage.subscribed.remove(&conid);
                    reply(StatusCode::OK, json!({"success": true}))
                }
                None => bad_request("conid required"),
            }
        }
        _ => refused(
            StatusCode::NOT_FOUND,
            json!({"error": "Not Found"}),
            "the mock does not serve this endpoint",
        ),
    }
}

/// An answer from the cassettes, with the session's warm-up rule for snapshots.
fn replayed(
    replay: &crate::record::replay::ReplaySource,
    brokerage: &mut Brokerage,
    method: &str,
    route: &str,
    query: &[(String, String)],
) -> Reply {
    let snapshot = route == "/iserver/marketdata/snapshot";
    let answer = if snapshot {
        replay.richest(method, route, query)
    } else {
        replay.answer(method, route, query)
    };
    let Some((status, mut body)) = answer else {
        let shown: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let what = if shown.is_empty() {
            format!("{method} {route}")
        } else {
            format!("{method} {route}?{}", shown.join("&"))
        };
        return refused(
            StatusCode::NOT_FOUND,
            json!({"error": format!("not recorded: {what}")}),
            format!("replay miss: {what}"),
        );
    };
    if route == "/iserver/accounts" {
        brokerage.accounts_called = true;
    }
    if snapshot && let Some(entries) = body.as_array_mut() {
        for entry in entries {
            let Some(conid) = entry.get("conid").and_then(Value::as_u64) else {
                continue;
            };
            let warmed_up = brokerage.accounts_called && brokerage.subscribed.contains_key(&conid);
            brokerage.subscribed.entry(conid).or_default();
            if !warmed_up && let Some(map) = entry.as_object_mut() {
                map.retain(|k, _| k == "conid" || k == "conidEx");
            }
        }
    }
    Reply {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        body,
        note: Some("replayed".into()),
    }
}

impl Reply {
    fn with_note(mut self, note: &str) -> Self {
        self.note = Some(note.to_owned());
        self
    }
}

fn snapshot(brokerage: &mut Brokerage, query: &[(String, String)], now: SystemTime) -> Reply {
    let conids: Vec<u64> = param(query, "conids")
        .unwrap_or("")
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    if conids.is_empty() {
        return bad_request("Conid(s) missing");
    }
    if conids.len() > 100 {
        return bad_request("too many conids (at most 100)");
    }
    let fields: Vec<String> = param(query, "fields")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let mut note = None;
    if !brokerage.accounts_called {
        note = Some("snapshot before /iserver/accounts: IBKR returns no data until accounts is called".to_owned());
    }
    let entries: Vec<Value> = conids
        .iter()
        .map(|conid| {
            let warmed_up = brokerage.accounts_called && brokerage.subscribed.contains_key(conid);
            let known = brokerage.subscribed.entry(*conid).or_default();
            for field in &fields {
                if !known.contains(field) {
                    known.push(field.clone());
                }
            }
            data::snapshot_entry(*conid, known, warmed_up, now_ms(now))
        })
        .collect();
    Reply {
        status: StatusCode::OK,
        body: Value::Array(entries),
        note,
    }
}

fn accounts() -> Value {
    let id = "DU1234567";
    json!({
        "accounts": [id],
        "acctProps": {id: {"hasChildAccounts": false, "supportsCashQty": true, "liteUnderPro": false, "noFXConv": false,
                           "isProp": false, "supportsFractions": true, "allowCustomerTime": false}},
        "aliases": {id: id},
        "allowFeatures": {"showGFIS": true, "showEUCostReport": false, "allowEventContract": true, "allowFXConv": true,
            "allowFinancialLens": false, "allowMTA": true, "allowTypeAhead": true, "allowEventTrading": true,
            "snapshotRefreshTimeout": 30, "liteUser": false, "showWebNews": true, "research": true, "debugPnl": true,
            "showTaxOpt": true, "showImpactDashboard": true, "allowDynAccount": false, "allowCrypto": false,
            "allowFA": false, "allowLiteUnderPro": false,
            "allowedAssetTypes": "STK,CFD,OPT,FOP,WAR,FUT,BAG,PDC,CASH,IND,BOND,BILL,FUND,SLB,News,CMDTY,IOPT,ICU,ICS,PHYSS,CRYPTO"},
        "chartPeriods": {"STK": ["*"], "OPT": ["2h", "1d", "2d", "1w", "1m"], "FUT": ["*"], "CASH": ["*"], "IND": ["*"]},
        "groups": [],
        "profiles": [],
        "selectedAccount": id,
        "serverInfo": {"serverName": "JisfN9050", "serverVersion": "Build 10.29.0c, May 28, 2024 10:34:32 AM"},
        "sessionId": "6657fe5d.0000000a",
        "isFT": false,
        "isPaper": true
    })
}
