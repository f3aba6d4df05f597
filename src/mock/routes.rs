//! Request handling: faults, OAuth checks, pacing, the session rules and the endpoints.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::State;
use super::api::{self, Reply, now_ms, refused, reply};
use super::auth::{self, Accepted, IncomingRequest};
use super::faults::FaultKind;
use super::state::Session;
use crate::oauth::base_string::query_pairs;
use crate::oauth::header::parse_authorization_header;
use crate::oauth::{RandomSource, SystemRandom};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/api/ws", axum::routing::get(super::ws::upgrade))
        .fallback(handle)
        .with_state(state)
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
    let fault = state.faults.next(path.strip_prefix("/v1/api").unwrap_or(&path));
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
    let result = match fault.and_then(|kind| fault_reply(&state, kind)) {
        Some(reply) => reply,
        None => dispatch(
            &state,
            &method,
            &uri,
            &headers,
            &body,
            fault == Some(FaultKind::Competing),
        ),
    };
    let mut note = result.note.unwrap_or_default();
    if fault == Some(FaultKind::Slow) {
        note = format!("fault slow; {note}");
    }
    log(result.status.as_u16(), note.trim_end_matches("; "));
    if result.body.is_null() {
        return result.status.into_response();
    }
    (result.status, axum::Json(result.body)).into_response()
}

/// The answer of a fault that answers in IBKR's place, if `kind` is one.
fn fault_reply(state: &State, kind: FaultKind) -> Option<Reply> {
    let unavailable = || json!({"error": "Service Unavailable", "statusCode": 503});
    Some(match kind {
        FaultKind::RateLimit => refused(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "Too Many Requests"}),
            "fault rate-limit",
        ),
        FaultKind::InvalidSignature => refused(
            StatusCode::UNAUTHORIZED,
            json!({"error": auth::INVALID_SIGNATURE}),
            "fault invalid-signature",
        ),
        FaultKind::ServerError if state.next_error_id().is_multiple_of(2) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "failed to process request"}),
            "fault server-error",
        ),
        FaultKind::ServerError => refused(StatusCode::SERVICE_UNAVAILABLE, unavailable(), "fault server-error"),
        FaultKind::Gone => refused(StatusCode::GONE, serde_json::Value::Null, "fault gone"),
        FaultKind::SsoDh => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "failed to generate sso dh token"}),
            "fault sso-dh",
        ),
        FaultKind::Restart => {
            state.sessions().clear();
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                unavailable(),
                "fault restart: IBKR restarted; every session is gone, a new live session token is needed",
            )
        }
        _ => return None,
    })
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

/// One request as it reaches the API: what it asks, when, and whether a competing login took
/// its brokerage session just now.
struct Arrival<'a> {
    method: &'a Method,
    uri: &'a Uri,
    route: &'a str,
    body: &'a Bytes,
    now: std::time::SystemTime,
    competing: bool,
}

fn dispatch(state: &State, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes, competing: bool) -> Reply {
    let Some(route) = uri.path().strip_prefix("/v1/api") else {
        return refused(
            StatusCode::NOT_FOUND,
            json!({"error": "Not Found"}),
            "the Web API lives under /v1/api",
        );
    };
    let now = state.config.clock.now();
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
    if is_lst {
        return live_session_token(state, method, &request, now);
    }
    let arrival = Arrival {
        method,
        uri,
        route,
        body,
        now,
        competing,
    };
    serve(state, &arrival, &request)
}

/// The handshake: a new session for the consumer, or IBKR's refusal.
fn live_session_token(
    state: &State,
    method: &Method,
    request: &IncomingRequest<'_>,
    now: std::time::SystemTime,
) -> Reply {
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
    let config = &state.config;
    let granted = auth::live_session_token(
        &config.credentials,
        request,
        now,
        config.timestamp_window,
        config.activate_at,
        &b,
    );
    let grant = match granted {
        Ok(grant) => grant,
        Err(refusal) => return lst_refusal(state, &refusal.message, &refusal.reason),
    };
    let expires = now + std::time::Duration::from_secs(24 * 3600);
    let mut session_id = [0u8; 16];
    let _ = SystemRandom.fill(&mut session_id);
    let mut session = Session::new(grant.token, now, expires, hex::encode(session_id));
    session.buggy_variants = grant.buggy_variants;
    if let Ok(mut issued) = state.issued.lock() {
        issued.push((grant.shared_secret, session.token.clone()));
    }
    state
        .sessions()
        .insert(config.credentials.access_token.clone(), session);
    reply(
        StatusCode::OK,
        json!({
            "diffie_hellman_response": grant.dh_response_hex,
            "live_session_token_signature": grant.signature_hex,
            "live_session_token_expiration": now_ms(expires),
        }),
    )
}

/// An ordinary request: its session and signature checked, paced, then answered by the API.
fn serve(state: &State, arrival: &Arrival<'_>, request: &IncomingRequest<'_>) -> Reply {
    let (config, now) = (&state.config, arrival.now);
    let mut sessions = state.sessions();
    let session = sessions
        .get_mut(&config.credentials.access_token)
        .filter(|s| s.expires > now);
    if session.is_none() && arrival.route.trim_end_matches('/') == "/tickle" {
        // Users saw this when their session was gone, e.g. after IBKR's maintenance (ibeam#242,
        // ibeam#268): nothing to check the signature against, and a plain answer.
        return refused(
            StatusCode::OK,
            json!({"error": "no session"}),
            "no session: get a new live session token",
        );
    }
    let token = session.as_ref().map(|s| (&s.token, s.buggy_variants.as_slice()));
    let verified = if config.verify_signatures {
        auth::hmac_request(&config.credentials, request, now, config.timestamp_window, token)
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
    let mut account = state.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Paced on the path as routed: a trailing slash is the same endpoint.
    let route = arrival.route;
    let paced = route.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(route);
    if let Err(why) = super::pacing::admit(&mut account.pacing, paced, config.rate_limit, config.penalty_box, now) {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "Too Many Requests"}),
            why,
        );
    }
    let mut notes = session_notes(state, session, arrival);
    if accepted == Accepted::SpecOnly {
        notes.push("signed with RFC 5849 per-value encoding: accepted by the spec, unproven at IBKR".to_owned());
    }
    let query: Vec<(String, String)> = query_pairs(arrival.uri.query().unwrap_or(""))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let asked = api::Asked {
        method: arrival.method,
        path: route,
        query: &query,
        body: arrival.body,
        now,
    };
    let mut result = api::answer(state, session, &mut account, &asked);
    if let Some(note) = result.note.take() {
        notes.push(note);
    }
    result.note = (!notes.is_empty()).then(|| notes.join("; "));
    result
}

/// What happens to the brokerage session before the request is answered: it expires when idle
/// too long, and a competing login takes it. Returns the log's notes.
fn session_notes(state: &State, session: &mut Session, arrival: &Arrival<'_>) -> Vec<String> {
    let idle = arrival.now.duration_since(session.last_request).unwrap_or_default();
    let mut notes = Vec::new();
    if session.brokerage.is_some() && idle > state.config.idle_timeout {
        session.brokerage = None;
        notes.push(format!("brokerage session expired after {} s idle", idle.as_secs()));
    }
    session.last_request = arrival.now;
    if arrival.competing {
        session.competing = true;
        session.brokerage = None;
        notes.push("fault competing: another login took the brokerage session".to_owned());
    }
    notes
}

fn lst_refusal(state: &State, message: &str, reason: &str) -> Reply {
    let id = state.next_error_id();
    refused(
        StatusCode::UNAUTHORIZED,
        json!({"error": format!("id: {id}, error: {message}"), "statusCode": 401}),
        reason.to_owned(),
    )
}
