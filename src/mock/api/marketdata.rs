//! Market data: the snapshot with IBKR's warm-up (the first request for a conid only subscribes,
//! prices arrive after `MockConfig::warm_up`), history bars, and unsubscribing.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Call, Needs, Reply, Route, bad_request, now_ms, refused, reply};
use crate::mock::data::{self, HistoryError};
use crate::mock::state::{self, Subscription};

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["GET"],
        pattern: "/iserver/marketdata/snapshot",
        needs: Needs::Brokerage,
        handler: snapshot,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/marketdata/history",
        needs: Needs::Brokerage,
        handler: history,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/marketdata/unsubscribeall",
        needs: Needs::Brokerage,
        handler: unsubscribe_all,
    },
    Route {
        methods: &["POST"],
        pattern: "/iserver/marketdata/unsubscribe",
        needs: Needs::Brokerage,
        handler: unsubscribe,
    },
];

fn snapshot(call: &mut Call<'_>) -> Reply {
    let conids: Vec<u64> = call
        .query("conids")
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
    let fields: Vec<String> = call
        .query("fields")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(refusal) = super::accounts::accounts_first(call) {
        return refusal.with_note("snapshot before /iserver/accounts");
    }
    let (now, warm_up) = (call.now, call.config.warm_up);
    let brokerage = call.brokerage();
    let entries: Vec<Value> = conids
        .iter()
        .map(|conid| {
            let stage = state::stage(brokerage.subscribed.get(conid), now, warm_up);
            let subscription = brokerage.subscribed.entry(*conid).or_insert_with(|| Subscription {
                fields: Vec::new(),
                since: now,
            });
            for field in &fields {
                if !subscription.fields.contains(field) {
                    subscription.fields.push(field.clone());
                }
            }
            data::snapshot_entry(*conid, &subscription.fields, stage, now_ms(now))
        })
        .collect();
    reply(StatusCode::OK, Value::Array(entries))
}

/// `GET /iserver/marketdata/history?conid=&period=&bar=`. A period IBKR cannot read gets a
/// default window (see `data::history`); a bad bar size or an unknown conid get a 400 whose text
/// is the mock's own: no public source shows IBKR's.
fn history(call: &mut Call<'_>) -> Reply {
    let Some(conid) = call.query("conid").and_then(|c| c.parse::<u64>().ok()) else {
        return bad_request("conid required");
    };
    let Some(instrument) = data::by_conid(conid) else {
        return bad_request("Invalid conid");
    };
    let period = call.query("period").unwrap_or("1w").to_owned();
    let bar = call.query("bar").unwrap_or("1d").to_owned();
    let outside_rth = call.query("outsideRth").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    match data::history(instrument, &period, &bar, outside_rth, call.now) {
        Ok(body) if data::period_is_valid(&period) => reply(StatusCode::OK, body),
        Ok(body) => reply(StatusCode::OK, body).with_note(&format!(
            "period {period:?} is not {{1-30}}min, {{1-8}}h, {{1-1000}}d, {{1-792}}w, {{1-182}}m or {{1-15}}y: IBKR serves a default window"
        )),
        Err(HistoryError::Bar(b)) => bad_request(&format!("Invalid bar size: {b}")),
    }
}

fn unsubscribe_all(call: &mut Call<'_>) -> Reply {
    call.brokerage().subscribed.clear();
    reply(StatusCode::OK, json!({"unsubscribed": true}))
}

fn unsubscribe(call: &mut Call<'_>) -> Reply {
    let conid = serde_json::from_slice::<Value>(call.body)
        .ok()
        .and_then(|v| super::number(&v["conid"]))
        .map(|c| c as u64);
    match conid {
        Some(conid) => match call.brokerage().subscribed.remove(&conid) {
            Some(_) => reply(StatusCode::OK, json!({"success": true})),
            // Recorded in 2026: 500 for a conid without a subscription (body as IBKR documents it).
            None => refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "unknown"}),
                format!("conid {conid} has no market-data subscription to end"),
            ),
        },
        None => bad_request("conid required"),
    }
}
