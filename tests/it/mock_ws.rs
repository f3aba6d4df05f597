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
    let (mock, log) = crate::common::start_mock(|c| {
        c.heartbeat = Duration::from_millis(200);
        c.stream_tick = Duration::from_millis(100);
    })
    .await;
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
    let tic = next_on(&mut socket, "tic").await;
    assert_eq!(tic["alive"], true);
    assert_eq!(tic["id"], session.as_str());
    assert!(tic["lastAccessed"].as_u64().unwrap() > 1_700_000_000_000);
    // Heartbeats are the `system` frames after the burst.
    let heartbeat = next_on(&mut socket, "system").await;
    assert!(heartbeat["hb"].as_u64().is_some(), "{heartbeat}");

    // Market data: the snapshot's fields and values on the smd topic, until umd.
    socket
        .send(Message::Text(r#"smd+265598+{"fields":["31","84","86"]}"#.into()))
        .await
        .unwrap();
    let quote = next_on(&mut socket, "smd+265598").await;
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
    // Without a User-Agent IBKR refuses an OAuth upgrade with 403 (error-handshake-403.json).
    let mut request = handshake(&mock.base_url(), &token, &session);
    request.headers_mut().remove("user-agent");
    match tokio_tungstenite::connect_async(request).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a refused handshake, got {other:?}"),
    }
    assert!(log.last().contains("no User-Agent"), "{}", log.last());
    mock.stop().await;
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A mock configured by `tweak`, a client ready for market data and orders, and a socket of
/// its session with the connect burst read.
async fn ready_socket(
    tweak: impl FnOnce(&mut ibkr_probe::mock::MockConfig),
) -> (
    ibkr_probe::mock::MockServer,
    crate::common::Log,
    ibkr_probe::client::Client,
    Socket,
) {
    let (mock, log) = crate::common::start_mock(tweak).await;
    let client = crate::common::client(mock.base_url());
    crate::common::make_ready(&client).await;
    let socket = open_socket(&mock, &client).await;
    (mock, log, client, socket)
}

/// Sends one text frame.
async fn send(socket: &mut Socket, text: &str) {
    socket.send(Message::Text(text.into())).await.unwrap();
}

/// A socket opened as IBKR's reference says, its connect burst read.
async fn open_socket(mock: &ibkr_probe::mock::MockServer, client: &ibkr_probe::client::Client) -> Socket {
    let session = tickle_session(client).await;
    let token = crate::common::generated().access_token.clone();
    let (mut socket, _) = tokio_tungstenite::connect_async(handshake(&mock.base_url(), &token, &session))
        .await
        .unwrap();
    for _ in 0..3 {
        next_json(&mut socket).await;
    }
    socket
}

/// The next frame on `topic` within 5 s, skipping others (which may come without end).
async fn next_on(socket: &mut Socket, topic: &str) -> Value {
    let on_topic = async {
        loop {
            let frame = next_json(socket).await;
            if frame["topic"] == topic {
                return frame;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), on_topic)
        .await
        .unwrap_or_else(|_| panic!("no frame on {topic} within 5 s"))
}

/// Sends `tic` and reads up to its answer: no frame on `topic` may come first. Frames are read
/// in order, so this covers everything the mock sent before it read the `tic`.
async fn none_on_before_a_tic_answer(socket: &mut Socket, topic: &str) {
    send(socket, "tic").await;
    loop {
        let frame = next_json(socket).await;
        assert_ne!(frame["topic"], topic, "{frame}");
        if frame["topic"] == "tic" {
            return;
        }
    }
}

/// History bars: one answer per `smh` with the REST history's bars and a `serverId`, at most
/// five open at once, `umh+SERVERID` freeing one.
#[tokio::test]
async fn smh_answers_once_with_bars_and_a_server_id_five_at_a_time() {
    let (mock, log, _client, mut socket) = ready_socket(|_| {}).await;
    let request =
        r#"smh+265598+{"period":"1d","bar":"1h","outsideRth":false,"source":"trades","format":"%o/%c/%h/%l"}"#;
    let mut server_ids = Vec::new();
    for _ in 0..5 {
        send(&mut socket, request).await;
        let bars = next_on(&mut socket, "smh+265598").await;
        assert!(bars["data"].as_array().is_some_and(|d| !d.is_empty()), "{bars}");
        assert_eq!(bars["barLength"], 3600);
        server_ids.push(bars["serverId"].as_str().expect("serverId is a string").to_owned());
    }
    let server_ids: Vec<String> = server_ids
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(server_ids.len(), 5, "a serverId per subscription: {server_ids:?}");
    send(&mut socket, request).await;
    send(&mut socket, "tic").await;
    // The tic answer comes, the sixth history does not.
    let frame = loop {
        let frame = next_json(&mut socket).await;
        if frame["topic"] != "system" {
            break frame;
        }
    };
    assert_eq!(frame["topic"], "tic", "{frame}");
    assert!(
        log.lines()
            .iter()
            .any(|l| l.contains("5 history subscriptions are open"))
    );
    send(&mut socket, &format!("umh+{}", server_ids[0])).await;
    send(&mut socket, request).await;
    next_on(&mut socket, "smh+265598").await;
    mock.stop().await;
}

/// Losing the brokerage session under an open socket: `sts` says `authenticated: false` (and
/// two partial frames), the socket stays open and market data stops (ibind #25).
#[tokio::test]
async fn a_lost_brokerage_session_is_told_in_sts_and_stops_the_data() {
    let (mock, _log, client, mut socket) = ready_socket(|c| c.stream_tick = Duration::from_millis(50)).await;
    send(&mut socket, r#"smd+265598+{"fields":["31"]}"#).await;
    next_on(&mut socket, "smd+265598").await;
    client.logout().await.unwrap();
    let lost = next_on(&mut socket, "sts").await;
    assert_eq!(lost["args"], serde_json::json!({"authenticated": false}));
    assert_eq!(
        next_json(&mut socket).await["args"],
        serde_json::json!({"competing": false})
    );
    assert_eq!(next_json(&mut socket).await["args"], serde_json::json!({"message": ""}));
    // Six stream ticks later, still no quote; the socket still answers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    none_on_before_a_tic_answer(&mut socket, "smd+265598").await;
    mock.stop().await;
}

/// IBKR ends a market-data stream after 15 minutes (its reference of 2026-07): by the mock's
/// clock, so the test moves it instead of waiting.
#[tokio::test]
async fn market_data_stops_after_its_lifetime_by_the_mocks_clock() {
    let clock = ibkr_probe::clock::ManualClock::new(std::time::SystemTime::now());
    let mock_clock: std::sync::Arc<dyn ibkr_probe::clock::Clock> = clock.clone();
    let (mock, log, _client, mut socket) = ready_socket(|c| {
        c.clock = mock_clock;
        c.stream_tick = Duration::from_millis(50);
        // The brokerage session outlives the jump, so only the stream's own lifetime ends it.
        c.idle_timeout = Duration::from_secs(3600);
    })
    .await;
    send(&mut socket, r#"smd+265598+{"fields":["31"]}"#).await;
    next_on(&mut socket, "smd+265598").await;
    next_on(&mut socket, "smd+265598").await;
    clock.advance(Duration::from_secs(15 * 60));
    let ended = async {
        while !log.lines().iter().any(|l| l.contains("smd+265598 ended after 900 s")) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ended)
        .await
        .unwrap_or_else(|_| panic!("the mock never ended smd+265598; its log: {:?}", log.lines()));
    // Frames already on their way when it ended may still come: read up to a tic's answer.
    send(&mut socket, "tic").await;
    next_on(&mut socket, "tic").await;
    // Four stream ticks later, none.
    tokio::time::sleep(Duration::from_millis(200)).await;
    none_on_before_a_tic_answer(&mut socket, "smd+265598").await;
    mock.stop().await;
}

/// Live orders: after `sor+{}`, an order placed through REST (question, reply) arrives on `sor`
/// in the live-orders shape, and again when it is cancelled; `spl` sends the account's P&L.
#[tokio::test]
async fn sor_sends_each_order_the_mock_places_or_cancels() {
    use serde_json::json;
    // Heartbeats far apart: order frames must not wait for them.
    let (mock, _log, client, mut socket) = ready_socket(|c| c.heartbeat = Duration::from_secs(60)).await;
    send(&mut socket, "sor+{}").await;
    send(&mut socket, "tic").await;
    // Up to the tic's answer: frames are read in order, so an answer to sor would have come.
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
    let frame = next_on(&mut socket, "sor").await;
    let row = &frame["args"][0];
    assert_eq!(row["orderId"], order_id, "{frame}");
    assert_eq!(row["conid"], 265598);
    assert_eq!(row["side"], "BUY");
    assert!(frame["args"].is_array(), "args is always an array: {frame}");

    let cancel = format!("/iserver/account/DU1234567/order/{order_id}");
    client.request(Method::DELETE, &cancel, &[], None).await.unwrap();
    let frame = next_on(&mut socket, "sor").await;
    assert_eq!(frame["args"][0]["status"], "Cancelled", "{frame}");

    // P&L: the account's rows at once, keyed `<account>.Core`, as pnl/partitioned has them.
    send(&mut socket, "spl+{}").await;
    let frame = next_on(&mut socket, "spl").await;
    let row = &frame["args"]["DU1234567.Core"];
    assert_eq!(row["rowType"], 1, "{frame}");
    assert!(row["nl"].as_f64().unwrap() > 0.0, "{frame}");
    mock.stop().await;
}
