//! The mock's endpoints: one module per API area, each declaring its routes in a table. The
//! dispatcher (`routes`) checks OAuth, pacing and the session first; [`answer`] then finds the
//! route, applies the session rule the route needs, and calls its handler.

mod accounts;
mod book;
mod contracts;
mod marketdata;
mod orders;
mod scanner;
mod session;

/// P&L rows as `pnl/partitioned` and the websocket's `spl` topic show them.
pub(super) use accounts::pnl_rows;
/// An order as the live-orders listing and the websocket's `sor` topic show it.
pub(super) use orders::order_row;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::State;
use super::state::{Account, Brokerage, Session, Subscription};

/// An answer and, for the log, why it was given.
pub(super) struct Reply {
    pub status: StatusCode,
    /// `Value::Null` is sent as an empty body, as IBKR sends several of its refusals.
    pub body: Value,
    pub note: Option<String>,
}

impl Reply {
    pub fn with_note(mut self, note: &str) -> Self {
        self.note = Some(note.to_owned());
        self
    }
}

pub(super) fn reply(status: StatusCode, body: Value) -> Reply {
    Reply {
        status,
        body,
        note: None,
    }
}

pub(super) fn refused(status: StatusCode, body: Value, note: impl Into<String>) -> Reply {
    Reply {
        status,
        body,
        note: Some(note.into()),
    }
}

/// IBKR's 400: `{"error":"Bad Request: …","statusCode":400}`.
pub(super) fn bad_request(message: &str) -> Reply {
    refused(
        StatusCode::BAD_REQUEST,
        json!({"error": format!("Bad Request: {message}"), "statusCode": 400}),
        message.to_owned(),
    )
}

/// A response shape bundled from `src/mock/responses/`.
pub(super) fn template(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| unreachable!("a bundled response file is JSON: {e}"))
}

/// A number sent as a JSON number or a numeric string: clients send conids and quantities both
/// ways (ibind sends strings) and IBKR takes either.
pub(super) fn number(value: &Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

pub(super) fn now_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Session control (ssodh/init, status, tickle, logout): answered from the session's own
    /// state, never from a recording.
    Control,
    /// An OAuth session only: `/portfolio` works without a brokerage session, as at IBKR.
    Session,
    /// A brokerage session (`ssodh/init` first), else IBKR's 400 `no bridge`.
    Brokerage,
}

/// One endpoint: its methods, its path pattern (`/portfolio/{acct}/summary`) and its handler.
struct Route {
    methods: &'static [&'static str],
    pattern: &'static str,
    needs: Needs,
    handler: fn(&mut Call<'_>) -> Reply,
}

/// Every area's routes.
const AREAS: [&[Route]; 6] = [
    session::ROUTES,
    accounts::ROUTES,
    contracts::ROUTES,
    marketdata::ROUTES,
    orders::ROUTES,
    scanner::ROUTES,
];

/// The mock's one (paper) account.
pub(crate) const ACCOUNT: &str = "DU1234567";

/// One request, as a handler sees it.
struct Call<'a> {
    config: &'a super::MockConfig,
    session: &'a mut Session,
    /// The account's orders and fills, shared by every session.
    account: &'a mut Account,
    /// The pattern's `{…}` parts, in order.
    params: Vec<&'a str>,
    query: &'a [(String, String)],
    body: &'a Bytes,
    now: SystemTime,
}

impl Call<'_> {
    /// A query parameter's value.
    fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The brokerage session; [`answer`] has checked there is one for [`Needs::Brokerage`].
    fn brokerage(&mut self) -> &mut Brokerage {
        self.session.brokerage.get_or_insert_with(Brokerage::default)
    }
}

/// The parts of `path` that stand where `pattern` has `{…}`, if the path fits the pattern.
fn fit<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => params.push(g),
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// Every endpoint the mock serves: its methods and path pattern (under `/v1/api`).
pub(crate) fn endpoints() -> impl Iterator<Item = (&'static [&'static str], &'static str)> {
    AREAS
        .iter()
        .flat_map(|area| area.iter())
        .map(|r| (r.methods, r.pattern))
}

/// Whether a route serves `method path`.
pub(crate) fn serves(method: &str, path: &str) -> bool {
    endpoints().any(|(methods, pattern)| methods.contains(&method) && fit(pattern, path).is_some())
}

/// Answers a request whose OAuth and pacing checks passed.
/// What a request asks of the API, once its signature and pacing have passed.
pub(super) struct Asked<'a> {
    pub method: &'a Method,
    /// The path below `/v1/api`.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a Bytes,
    pub now: SystemTime,
}

pub(super) fn answer(state: &State, session: &mut Session, account: &mut Account, asked: &Asked<'_>) -> Reply {
    let Asked {
        method,
        path,
        query,
        body,
        now,
    } = *asked;
    // ibind calls `/iserver/account/trades/` with a trailing slash and IBKR answers it.
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let mut fits_path = false;
    let mut found = None;
    for route in AREAS.iter().flat_map(|area| area.iter()) {
        if let Some(params) = fit(route.pattern, path) {
            fits_path = true;
            if route.methods.contains(&method.as_str()) {
                found = Some((route, params));
                break;
            }
        }
    }
    let needs_bridge = found
        .as_ref()
        .map_or(path.starts_with("/iserver/"), |(r, _)| r.needs == Needs::Brokerage);
    if needs_bridge && session.competing {
        return match path {
            "/iserver/accounts" => reply(StatusCode::OK, json!({})),
            _ => refused(
                StatusCode::BAD_REQUEST,
                json!({"error": "Init session first", "statusCode": 400}),
                "",
            ),
        }
        .with_note("competing session: POST /iserver/auth/ssodh/init takes it back");
    }
    if needs_bridge && session.brokerage.is_none() {
        return bad_request("no bridge").with_note("no brokerage session: POST /iserver/auth/ssodh/init first");
    }
    let Some((route, params)) = found else {
        return match fits_path {
            true => refused(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "Method Not Allowed"}),
                format!("{method} is not served for {path}"),
            ),
            false => refused(
                StatusCode::NOT_FOUND,
                json!({"error": "Not Found"}),
                "the mock does not serve this endpoint",
            ),
        };
    };
    if route.needs != Needs::Control
        && let Some(replay) = &state.config.replay
    {
        let brokerage = session.brokerage.get_or_insert_with(Brokerage::default);
        return replayed(replay, brokerage, method.as_str(), path, query, now);
    }
    if let Some(refusal) = unknown_account(route.pattern, path, &params) {
        return refusal;
    }
    let mut call = Call {
        config: &state.config,
        session,
        account,
        params,
        query,
        body,
        now,
    };
    (route.handler)(&mut call)
}

/// IBKR's refusal of an account id the session does not have, for routes with `{acct}`: the
/// `/portfolio` family answers 401 with an empty body (which looks like an OAuth refusal), the
/// `/iserver` family 400 (2026 recordings; the body text is the one IBKR documents and ibind#122
/// shows).
fn unknown_account(pattern: &str, path: &str, params: &[&str]) -> Option<Reply> {
    let index = pattern
        .split('/')
        .filter(|p| p.starts_with('{'))
        .position(|p| p == "{acct}")?;
    let account = params.get(index).copied().unwrap_or("");
    if account == ACCOUNT {
        return None;
    }
    let note = format!("unknown account {account:?} (the mock's account is {ACCOUNT})");
    Some(if path.starts_with("/portfolio") {
        refused(
            StatusCode::UNAUTHORIZED,
            Value::Null,
            format!("{note}: IBKR answers 401 with an empty body"),
        )
    } else {
        refused(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("Bad Request: accountId is not valid: {account}"), "statusCode": 400}),
            note,
        )
    })
}

/// An answer from the cassettes, with the session's warm-up rule for snapshots.
fn replayed(
    replay: &crate::record::replay::ReplaySource,
    brokerage: &mut Brokerage,
    method: &str,
    route: &str,
    query: &[(String, String)],
    now: SystemTime,
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
            brokerage.subscribed.entry(conid).or_insert_with(|| Subscription {
                fields: Vec::new(),
                since: now,
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_fit_paths_and_give_their_parameters() {
        assert_eq!(
            fit("/portfolio/{acct}/summary", "/portfolio/DU1/summary"),
            Some(vec!["DU1"])
        );
        assert_eq!(
            fit("/portfolio/{acct}/positions/{page}", "/portfolio/DU1/positions/0"),
            Some(vec!["DU1", "0"])
        );
        assert_eq!(fit("/portfolio/{acct}/summary", "/portfolio//summary"), None);
        assert_eq!(fit("/portfolio/{acct}/summary", "/portfolio/DU1/summary/x"), None);
        assert_eq!(fit("/tickle", "/tickle"), Some(vec![]));
    }

    #[test]
    fn every_route_is_reachable_and_served_once() {
        let mut seen = std::collections::HashSet::new();
        for route in AREAS.iter().flat_map(|a| a.iter()) {
            for method in route.methods {
                assert!(
                    seen.insert((*method, route.pattern)),
                    "{method} {} twice",
                    route.pattern
                );
            }
        }
        assert!(seen.len() >= 20, "{}", seen.len());
    }
}
