//! Market data: the snapshot with IBKR's warm-up (the first request for a conid only subscribes),
//! and unsubscribing.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Call, Needs, Reply, Route, bad_request, now_ms, reply};
use crate::mock::data;

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["GET"],
        pattern: "/iserver/marketdata/snapshot",
        needs: Needs::Brokerage,
        handler: snapshot,
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
    let updated = now_ms(call.now);
    let brokerage = call.brokerage();
    let note = (!brokerage.accounts_called)
        .then(|| "snapshot before /iserver/accounts: IBKR returns no data until accounts is called".to_owned());
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
            data::snapshot_entry(*conid, known, warmed_up, updated)
        })
        .collect();
    Reply {
        status: StatusCode::OK,
        body: Value::Array(entries),
        note,
    }
}

fn unsubscribe_all(call: &mut Call<'_>) -> Reply {
    call.brokerage().subscribed.clear();
    reply(StatusCode::OK, json!({"unsubscribed": true}))
}

fn unsubscribe(call: &mut Call<'_>) -> Reply {
    let conid = serde_json::from_slice::<Value>(call.body)
        .ok()
        .and_then(|v| v["conid"].as_u64());
    match conid {
        Some(conid) => match call.brokerage().subscribed.remove(&conid) {
            Some(_) => reply(StatusCode::OK, json!({"success": true})),
            // Recorded in 2026: 500 for a conid without a subscription (body as IBKR documents it).
            None => super::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "unknown"}),
                format!("conid {conid} has no market-data subscription to end"),
            ),
        },
        None => bad_request("conid required"),
    }
}
