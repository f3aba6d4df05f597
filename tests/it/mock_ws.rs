//! The mock's websocket as a raw client following IBKR's reference meets it: the access token as
//! `oauth_token`, the `/tickle` session as the `api` cookie, ibind's User-Agent; the connect
//! burst, `tic` answered, heartbeats; a socket without the right token or cookie refused.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, Message};

/// The handshake request: what ibind and ibkr-conduit send (tests/data/ibkr-recorded/ws/connect-oauth.json).
fn handshake(base_url: &str, token: &str, cookie: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("{}/ws?oauth_token={token}", base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("cookie", format!("api={cookie}").parse().unwrap());
    headers.insert("user-agent", "ClientPortalGW/1".parse().unwrap());
    request
}

/// The `session` of a `POST /tickle`: the websocket's `api` cookie.
async fn tickle_session(client: &ibkr_probe::client::Client) -> String {
    let tickle = client.request(Method::POST, "/tickle", &[], None).await.unwrap();
    tickle.json().unwrap()["session"].as_str().unwrap().to_owned()
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: StreamExt<Item = Result<Message, Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

#[tokio::test]
async fn a_raw_client_gets_the_connect_burst_tic_answers_and_heartbeats() {
    let (mock, log) = crate::common::start_mock(|c| c.heartbeat = Duration::from_millis(200)).await;
    let client = crate::common::client(mock.base_url());
    crate::common::make_ready(&client).await;
    let session = tickle_session(&client).await;
    let token = crate::common::generated().access_token.clone();

    let (mut socket, response) = tokio_tungstenite::connect_async(handshake(&mock.base_url(), &token, &session))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    let mut burst = Vec::new();
    for _ in 0..3 {
        burst.push(next_json(&mut socket).await);
    }
    let topics: Vec<&str> = burst.iter().map(|f| f["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["system", "act", "sts"], "{burst:?}");
    assert!(burst[0]["success"].is_string());
    assert_eq!(burst[1]["args"]["accounts"][0], "DU1234567");
    assert_eq!(burst[2]["args"]["authenticated"], true, "the brokerage session is up");

    socket.send(Message::Text("tic".into())).await.unwrap();
    // A heartbeat may come first.
    let tic = loop {
        let frame = next_json(&mut socket).await;
        if frame["topic"] == "tic" {
            break frame;
        }
    };
    assert_eq!(tic["alive"], true);
    assert_eq!(tic["id"], session.as_str());
    assert!(tic["lastAccessed"].as_u64().unwrap() > 1_700_000_000_000);
    let heartbeat = loop {
        let frame = next_json(&mut socket).await;
        if frame.get("hb").is_some() {
            break frame;
        }
    };
    assert_eq!(heartbeat["topic"], "system");

    // Market data: the snapshot's fields and values on the smd topic, until umd.
    socket
        .send(Message::Text(r#"smd+265598+{"fields":["31","84","86"]}"#.into()))
        .await
        .unwrap();
    let quote = loop {
        let frame = next_json(&mut socket).await;
        if frame["topic"] == "smd+265598" {
            break frame;
        }
    };
    assert_eq!(quote["conid"], 265598);
    for field in ["31", "84", "86", "6509", "_updated"] {
        assert!(quote.get(field).is_some(), "{field} in {quote}");
    }
    let (bid, ask): (f64, f64) = (
        quote["84"].as_str().unwrap().parse().unwrap(),
        quote["86"].as_str().unwrap().parse().unwrap(),
    );
    assert!(bid <= ask, "{quote}");
    socket.send(Message::Text("umd+265598+{}".into())).await.unwrap();
    // Between the second and third heartbeats after it, no market data: the umd has long been
    // read by then (a tick may fall between sending it and the mock reading it).
    let mut beats = 0;
    while beats < 3 {
        let frame = next_json(&mut socket).await;
        if frame.get("hb").is_some() {
            beats += 1;
        } else if beats == 2 {
            assert_ne!(frame["topic"], "smd+265598", "data after umd: {frame}");
        }
    }
    socket.close(None).await.unwrap();
    assert!(
        log.lines().iter().any(|l| l.contains("GET /v1/api/ws -> 101")),
        "{:?}",
        log.lines()
    );
    mock.stop().await;
}

#[tokio::test]
async fn a_socket_without_the_access_token_or_the_session_cookie_is_refused() {
    let (mock, log) = crate::common::start_mock(|_| {}).await;
    let client = crate::common::client(mock.base_url());
    client.live_session_token().await.unwrap();
    let session = tickle_session(&client).await;
    let token = crate::common::generated().access_token.clone();
    for (token, cookie, why) in [
        ("not-the-token", session.as_str(), "oauth_token is not the access token"),
        (token.as_str(), "0123456789abcdef", "not this session's id"),
    ] {
        match tokio_tungstenite::connect_async(handshake(&mock.base_url(), token, cookie)).await {
            Err(Error::Http(response)) => assert_eq!(response.status(), 401),
            other => panic!("expected a refused handshake, got {other:?}"),
        }
        assert!(log.last().contains(why), "{}", log.last());
    }
    mock.stop().await;
}

/// Live orders: after `sor+{}`, an order placed through REST (question, reply) arrives on `sor`
/// in the live-orders shape, and again when it is cancelled; `spl` sends the account's P&L.
#[tokio::test]
async fn sor_sends_each_order_the_mock_places_or_cancels() {
    use serde_json::json;
    // Heartbeats far apart: order frames must not wait for them.
    let (mock, _log) = crate::common::start_mock(|c| c.heartbeat = Duration::from_secs(60)).await;
    let client = crate::common::client(mock.base_url());
    crate::common::make_ready(&client).await;
    let session = tickle_session(&client).await;
    let token = crate::common::generated().access_token.clone();
    let (mut socket, _) = tokio_tungstenite::connect_async(handshake(&mock.base_url(), &token, &session))
        .await
        .unwrap();
    socket.send(Message::Text("sor+{}".into())).await.unwrap();
    socket.send(Message::Text("tic".into())).await.unwrap();
    // The burst, then the tic's answer: frames are read in order, so the sor has been read.
    loop {
        let frame = next_json(&mut socket).await;
        assert_ne!(frame["topic"], "sor", "no snapshot of existing orders: {frame}");
        if frame["topic"] == "tic" {
            break;
        }
    }

    let order = json!({"orders": [{"conid": 265598, "side": "BUY", "quantity": 1, "orderType": "LMT", "price": 1.0, "tif": "DAY"}]});
    let path = "/iserver/account/DU1234567/orders";
    let question = client
        .request(Method::POST, path, &[], Some(&order))
        .await
        .unwrap()
        .json()
        .unwrap();
    let id = question[0]["id"].as_str().unwrap().to_owned();
    let confirmed = json!({"confirmed": true});
    let placed = client
        .request(Method::POST, &format!("/iserver/reply/{id}"), &[], Some(&confirmed))
        .await
        .unwrap()
        .json()
        .unwrap();
    let order_id: u64 = placed[0]["order_id"].as_str().unwrap().parse().unwrap();
    let sor = |frame: &Value| frame["topic"] == "sor";
    let frame = loop {
        let frame = next_json(&mut socket).await;
        if sor(&frame) {
            break frame;
        }
    };
    let row = &frame["args"][0];
    assert_eq!(row["orderId"], order_id, "{frame}");
    assert_eq!(row["conid"], 265598);
    assert_eq!(row["side"], "BUY");
    assert!(frame["args"].is_array(), "args is always an array: {frame}");

    let cancel = format!("/iserver/account/DU1234567/order/{order_id}");
    client.request(Method::DELETE, &cancel, &[], None).await.unwrap();
    let frame = loop {
        let frame = next_json(&mut socket).await;
        if sor(&frame) {
            break frame;
        }
    };
    assert_eq!(frame["args"][0]["status"], "Cancelled", "{frame}");

    // P&L: the account's rows at once, keyed `<account>.Core`, as pnl/partitioned has them.
    socket.send(Message::Text("spl+{}".into())).await.unwrap();
    let frame = loop {
        let frame = next_json(&mut socket).await;
        if frame["topic"] == "spl" {
            break frame;
        }
    };
    let row = &frame["args"]["DU1234567.Core"];
    assert_eq!(row["rowType"], 1, "{frame}");
    assert!(row["nl"].as_f64().unwrap() > 0.0, "{frame}");
    mock.stop().await;
}
