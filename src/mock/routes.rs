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
    Router::new().fallback(handle).with_state(state)
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
        Some(FaultKind::Gone) => refused(StatusCode::GONE, serde_json::Value::Null, "fault gone"),
        Some(FaultKind::SsoDh) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "failed to generate sso dh token"}),
            "fault sso-dh",
        ),
        Some(FaultKind::Restart) => {
            state.sessions().clear();
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "Service Unavailable", "statusCode": 503}),
                "fault restart: IBKR restarted; every session is gone, a new live session token is needed",
            )
        }
        _ => dispatch(
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
                let mut session = Session::new(grant.token, now, expires, hex::encode(session_id));
                session.buggy_variants = grant.buggy_variants;
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
    if session.is_none() && route.trim_end_matches('/') == "/tickle" {
        // Users saw this when their session was gone, e.g. after IBKR's maintenance (ibeam#242,
        // ibeam#268): nothing to check the signature against, and a plain answer.
        return refused(
            StatusCode::OK,
            json!({"error": "no session"}),
            "no session: get a new live session token",
        );
    }
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
    let instant = now;
    let config = &state.config;
    let mut account = state.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Paced on the path as routed: a trailing slash is the same endpoint.
    let paced = route.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(route);
    if let Err(why) = super::pacing::admit(
        &mut account.pacing,
        paced,
        config.rate_limit,
        config.penalty_box,
        instant,
    ) {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "Too Many Requests"}),
            why,
        );
    }
    // Idle expiry of the brokerage session.
    let idle = instant.duration_since(session.last_request).unwrap_or_default();
    let mut notes = Vec::new();
    if session.brokerage.is_some() && idle > state.config.idle_timeout {
        session.brokerage = None;
        notes.push(format!("brokerage session expired after {} s idle", idle.as_secs()));
    }
    session.last_request = instant;
    if competing {
        session.competing = true;
        session.brokerage = None;
        notes.push("fault competing: another login took the brokerage session".to_owned());
    }
    if accepted == Accepted::SpecOnly {
        notes.push("signed with RFC 5849 per-value encoding: accepted by the spec, unproven at IBKR".to_owned());
    }
    let query: Vec<(String, String)> = query_pairs(uri.query().unwrap_or(""))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut result = api::answer(state, session, &mut account, method, route, &query, body, now);
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
