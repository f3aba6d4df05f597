//! The market scanner: its parameters and a run over the mock's stocks. Shapes from the 2026
//! recordings `GET-iserver-scanner-params.json` (a trimmed copy: the real answer is large) and
//! `POST-iserver-scanner-run.json`.

use std::sync::LazyLock;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Call, Needs, Reply, Route, refused, reply, template};
use crate::mock::data::{self, Kind};

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["GET"],
        pattern: "/iserver/scanner/params",
        needs: Needs::Brokerage,
        handler: params,
    },
    Route {
        methods: &["POST"],
        pattern: "/iserver/scanner/run",
        needs: Needs::Brokerage,
        handler: run,
    },
];

static PARAMS: LazyLock<Value> = LazyLock::new(|| template(include_str!("../responses/scanner-params.json")));

fn params(_: &mut Call<'_>) -> Reply {
    reply(StatusCode::OK, PARAMS.clone())
}

/// Whether the parameters list a scan type with this code.
fn known_scan(code: &str) -> bool {
    PARAMS["scan_type_list"]
        .as_array()
        .is_some_and(|types| types.iter().any(|t| t["code"] == code))
}

/// `POST /iserver/scanner/run`: the mock's stocks ranked by change since the prior close. An
/// unknown scan type is IBKR's 500 (recorded status; the body was not published, so the mock
/// sends none).
fn run(call: &mut Call<'_>) -> Reply {
    let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
    let scan = body["type"].as_str().unwrap_or("");
    if !known_scan(scan) {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            Value::Null,
            format!("unknown scan type {scan:?}: codes are in /iserver/scanner/params"),
        );
    }
    let mut stocks: Vec<(&data::Instrument, f64)> = data::INSTRUMENTS
        .iter()
        .filter(|i| i.kind == Kind::Stock)
        .map(|i| {
            let change = data::quote(i.conid).map_or(0.0, |q| (q.last - q.prior_close) / q.prior_close);
            (i, change)
        })
        .collect();
    stocks.sort_by(|a, b| b.1.total_cmp(&a.1));
    if scan.contains("LOSE") {
        stocks.reverse();
    }
    let contracts: Vec<Value> = stocks
        .iter()
        .enumerate()
        .map(|(rank, (stock, _))| {
            let mut row = json!({
                "server_id": rank.to_string(), "symbol": stock.symbol, "conidex": stock.conid.to_string(),
                "con_id": stock.conid, "available_chart_periods": "#R|1", "company_name": stock.company,
                "contract_description_1": stock.symbol, "listing_exchange": stock.exchange, "sec_type": "STK"
            });
            // Only the first row names the column, as recorded.
            if rank == 0 {
                row["column_name"] = json!("Chg%");
            }
            row
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({"contracts": contracts, "scan_data_column_name": "Chg%"}),
    )
}
