//! Contracts: search by symbol, option strikes, contract details and rules, futures and trading
//! schedules, from the mock's instrument table (`mock::data`). Strikes answer only for an
//! underlying searched in this session.

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
    Route {
        methods: &["GET"],
        pattern: "/iserver/contract/{conid}/info-and-rules",
        needs: Needs::Brokerage,
        handler: info_and_rules,
    },
    Route {
        methods: &["POST"],
        pattern: "/iserver/contract/rules",
        needs: Needs::Brokerage,
        handler: rules,
    },
    Route {
        methods: &["GET"],
        pattern: "/iserver/contract/{conid}/algos",
        needs: Needs::Brokerage,
        handler: algos,
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
    Route {
        methods: &["GET"],
        pattern: "/trsrv/futures",
        needs: Needs::Session,
        handler: futures,
    },
    Route {
        methods: &["GET"],
        pattern: "/trsrv/secdef/schedule",
        needs: Needs::Session,
        handler: schedule,
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

/// The instrument a `{conid}` path parameter names.
fn path_instrument(call: &Call<'_>) -> Option<&'static data::Instrument> {
    call.params
        .first()
        .and_then(|c| c.parse().ok())
        .and_then(data::by_conid)
}

fn contract_info(call: &mut Call<'_>) -> Reply {
    match path_instrument(call) {
        Some(instrument) => reply(StatusCode::OK, data::contract_info(instrument)),
        None => bad_request("Invalid contract id"),
    }
}

/// An unknown conid is 400, as recorded (`…-info-and-rules-invalid-conid.json`).
fn info_and_rules(call: &mut Call<'_>) -> Reply {
    match path_instrument(call) {
        Some(instrument) => reply(StatusCode::OK, data::info_and_rules(instrument)),
        None => bad_request("Invalid contract id"),
    }
}

/// `POST /iserver/contract/rules {"conid": …, "isBuy": …}`: the `rules` object of
/// info-and-rules; an unknown conid (0 in the recording) is 400.
fn rules(call: &mut Call<'_>) -> Reply {
    let conid = serde_json::from_slice::<serde_json::Value>(call.body)
        .ok()
        .and_then(|b| super::number(&b["conid"]))
        .map(|c| c as u64);
    match conid.and_then(data::by_conid) {
        Some(instrument) => reply(StatusCode::OK, data::info_and_rules(instrument)["rules"].clone()),
        None => bad_request("Invalid contract id"),
    }
}

/// `GET /iserver/contract/{conid}/algos`: IBKR's algos for a stock (its documented example's
/// list); an unknown conid answers 503, as recorded, not 400 as info does.
fn algos(call: &mut Call<'_>) -> Reply {
    match path_instrument(call).filter(|i| matches!(i.kind, data::Kind::Stock | data::Kind::Etf)) {
        Some(_) => reply(StatusCode::OK, data::algos()),
        None => super::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::Value::Null,
            "unknown conid: IBKR answers 503 here",
        ),
    }
}

fn futures(call: &mut Call<'_>) -> Reply {
    match call.query("symbols").filter(|s| !s.is_empty()) {
        Some(symbols) => reply(StatusCode::OK, data::futures(symbols)),
        None => bad_request("symbols required"),
    }
}

/// `GET /trsrv/secdef/schedule?assetClass=&symbol=`: stocks and ETFs the mock knows.
fn schedule(call: &mut Call<'_>) -> Reply {
    let asset_class = call.query("assetClass").unwrap_or("");
    let symbol = call.query("symbol").unwrap_or("");
    match data::stock_by_symbol(symbol).filter(|_| asset_class == "STK") {
        Some(instrument) => reply(StatusCode::OK, data::schedule(instrument)),
        None => bad_request("assetClass STK and a known symbol are required"),
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
        .filter_map(data::by_conid)
        .map(data::trsrv_secdef)
        .collect();
    reply(StatusCode::OK, serde_json::json!({"secdef": entries}))
}
