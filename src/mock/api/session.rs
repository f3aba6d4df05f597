//! Session control: the brokerage session (`ssodh/init`), its status, the keep-alive and logout.
//! GET and POST both work for status, tickle and logout, as at IBKR.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Call, Needs, Reply, Route, reply};
use crate::mock::state::Brokerage;

pub(super) const ROUTES: &[Route] = &[
    Route {
        methods: &["POST"],
        pattern: "/iserver/auth/ssodh/init",
        needs: Needs::Control,
        handler: init,
    },
    Route {
        methods: &["GET", "POST"],
        pattern: "/iserver/auth/status",
        needs: Needs::Control,
        handler: status,
    },
    Route {
        methods: &["GET", "POST"],
        pattern: "/tickle",
        needs: Needs::Control,
        handler: tickle,
    },
    Route {
        methods: &["GET", "POST"],
        pattern: "/logout",
        needs: Needs::Control,
        handler: logout,
    },
];

const MAC: &str = "98:F2:B3:23:BF:A0";

fn server_info() -> Value {
    json!({"serverName": "JifN10022", "serverVersion": "Build 10.44.1d, Mar 3, 2026 1:55:32 PM"})
}

/// The brokerage status as IBKR's 2026 OAuth recordings show it (`established` included). A
/// session another login took over says `competing: true` (ibeam and ibind reports).
fn auth_status(established: bool, competing: bool) -> Value {
    if established {
        json!({
            "authenticated": true, "established": true, "competing": false, "connected": true, "message": "",
            "MAC": MAC, "serverInfo": server_info(), "hardware_info": format!("195aff6f|{MAC}"), "fail": ""
        })
    } else {
        // A competing login leaves the session authenticated but not the brokerage's (ibeam#40).
        json!({"authenticated": competing, "established": false, "competing": competing, "connected": competing, "MAC": MAC})
    }
}

/// The first `ssodh/init` of a session answers six keys (`passed`, `established: false`); one
/// while the brokerage session is up answers the full status (both recorded in April 2026).
fn init(call: &mut Call<'_>) -> Reply {
    let established = call.session.brokerage.is_some() && !call.session.competing;
    if !established {
        call.session.brokerage = Some(Brokerage::default());
    }
    call.session.competing = false;
    if !established {
        return reply(
            StatusCode::OK,
            json!({
                "authenticated": true, "competing": false, "connected": true, "passed": true,
                "established": false, "hardware_info": format!("195aff6f|{MAC}")
            }),
        );
    }
    let mut status = auth_status(true, false);
    if let Some(map) = status.as_object_mut() {
        map.remove("fail");
    }
    reply(StatusCode::OK, status)
}

fn status(call: &mut Call<'_>) -> Reply {
    reply(
        StatusCode::OK,
        auth_status(call.session.brokerage.is_some(), call.session.competing),
    )
}

/// Under OAuth (2026 recordings) the answer has only `session`, `hmds` and `iserver`; the
/// `ssoExpires`, `collission` and `userId` of older (gateway) answers are gone.
fn tickle(call: &mut Call<'_>) -> Reply {
    let mut iserver_status = auth_status(call.session.brokerage.is_some(), call.session.competing);
    if let Some(map) = iserver_status.as_object_mut() {
        map.remove("fail");
    }
    reply(
        StatusCode::OK,
        json!({
            "session": call.session.session_id,
            "hmds": {"error": "no bridge"},
            "iserver": {"authStatus": iserver_status}
        }),
    )
}

fn logout(call: &mut Call<'_>) -> Reply {
    call.session.brokerage = None;
    call.session.expires = call.now;
    reply(StatusCode::OK, json!({"status": true}))
}
