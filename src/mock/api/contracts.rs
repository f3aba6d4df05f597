//! Contracts: search by symbol, option strikes and contract details, from the mock's instrument
//! table (`mock::data`). Strikes answer only for an underlying searched in this session.

use axum::http::StatusCode;

use super::{Call, Needs, Reply, Route, bad_request, reply};
use crate::mock::data;

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["GET"],
        pattern: "/iserver/secdef/search",
        needs: Needs::Brokerage,
        handler: search,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/secdef/strikes",
        needs: Needs::Brokerage,
        handler: strikes,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/secdef/info",
        needs: Needs::Brokerage,
        handler: info,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/contract/{conid}/info",
        needs: Needs::Brokerage,
        handler: contract_info,
    },
    // No recording shows trsrv without a brokerage session; the mock serves it with the OAuth
    // session alone because it lies outside `/iserver`, the bridge that "no bridge" is about.
    Route {
        methods: &["GET"],
        pattern: "/trsrv/stocks",
        needs: Needs::Session,
        handler: trsrv_stocks,
    },
    Route {
        methods: &["GET"],
        pattern: "/trsrv/secdef",
        needs: Needs::Session,
        handler: trsrv_secdef,
    },
];

fn search(call: &mut Call<'_>) -> Reply {
    let Some(symbol) = call.query("symbol").filter(|s| !s.is_empty()).map(str::to_owned) else {
        return bad_request("symbol required");
    };
    if let Some(stock) = data::stock_by_symbol(&symbol) {
        call.brokerage().searched.insert(stock.conid);
    }
    reply(StatusCode::OK, data::search(&symbol))
}

fn strikes(call: &mut Call<'_>) -> Reply {
    let conid = call.query("conid").and_then(|c| c.parse().ok());
    let month = call.query("month").map(str::to_owned);
    let (Some(conid), Some(month)) = (conid, month) else {
        return bad_request("conid and month are required");
    };
    let searched = call.brokerage().searched.contains(&conid);
    match data::strikes(conid, &month, searched) {
        Some(body) => reply(StatusCode::OK, body),
        None => bad_request("unknown conid"),
    }
}

fn info(call: &mut Call<'_>) -> Reply {
    let conid = call.query("conid").and_then(|c| c.parse().ok());
    let month = call.query("month");
    let strike = call.query("strike").and_then(|s| s.parse::<f64>().ok());
    let right = call
        .query("right")
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

fn contract_info(call: &mut Call<'_>) -> Reply {
    let stock = call
        .params
        .first()
        .and_then(|c| c.parse().ok())
        .and_then(data::stock_by_conid);
    match stock {
        Some(stock) => reply(StatusCode::OK, data::contract_info(stock)),
        None => bad_request("Invalid contract id"),
    }
}

fn trsrv_stocks(call: &mut Call<'_>) -> Reply {
    match call.query("symbols").filter(|s| !s.is_empty()) {
        Some(symbols) => reply(StatusCode::OK, data::trsrv_stocks(symbols)),
        None => bad_request("symbols required"),
    }
}

fn trsrv_secdef(call: &mut Call<'_>) -> Reply {
    let entries: Vec<serde_json::Value> = call
        .query("conids")
        .unwrap_or("")
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .filter_map(data::stock_by_conid)
        .map(data::trsrv_secdef)
        .collect();
    reply(StatusCode::OK, serde_json::json!({"secdef": entries}))
}
