//! The client against scripted failures: wiremock for exact sequences (429 then 200, 503 bursts,
//! malformed JSON, a stalled server) and the mock's own fault injection. Every case ends in
//! bounded time with a clear error, never a panic.

use std::time::{Duration, Instant, SystemTime};

use ibkr_probe::client::{Client, ClientError};
use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn scripted() -> (MockServer, Client) {
    let server = crate::common::lst_server().await;
    let client = crate::common::client(format!("{}/v1/api", server.uri()));
    client.live_session_token().await.unwrap();
    (server, client)
}

fn accounts() -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path("/v1/api/iserver/accounts"))
}

#[tokio::test]
async fn retries_429_then_succeeds() {
    let (server, client) = scripted().await;
    accounts()
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": "Too Many Requests"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    accounts()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accounts": ["DU1"]})))
        .mount(&server)
        .await;
    let response = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!((response.status, response.attempts), (200, 2));
}

#[tokio::test]
async fn a_503_burst_is_retried_within_bounds() {
    let (server, client) = scripted().await;
    accounts()
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": "x", "statusCode": 503})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    accounts()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let response = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!((response.status, response.attempts), (200, 3));

    // A longer burst than the retry budget: the last 503 comes back, after 1 + max_retries attempts.
    let (server, client) = scripted().await;
    accounts().respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let response = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!((response.status, response.attempts), (503, 3));
    let err = client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err}");
}

#[tokio::test]
async fn a_post_is_not_retried_on_500() {
    let (server, client) = scripted().await;
    Mock::given(method("POST"))
        .and(path("/v1/api/tickle"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let response = client.request(Method::POST, "/tickle", &[], None).await.unwrap();
    assert_eq!((response.status, response.attempts), (500, 1));
}

#[tokio::test]
async fn malformed_json_is_a_protocol_error() {
    let (server, client) = scripted().await;
    accounts()
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"accounts\": ["))
        .mount(&server)
        .await;
    let err = client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[tokio::test]
async fn a_stalled_server_times_out_in_bounded_time() {
    let (server, _) = scripted().await;
    let mut options = crate::common::options(format!("{}/v1/api", server.uri()));
    options.timeout = Duration::from_millis(300);
    options.max_retries = 1;
    let client = Client::new(crate::common::generated().credentials().unwrap(), options).unwrap();
    client.live_session_token().await.unwrap();
    accounts()
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { attempts: 2, .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(err.to_string().contains("stalled"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = crate::common::client(format!("http://127.0.0.1:{port}/v1/api"));
    let started = Instant::now();
    let err = client.live_session_token().await.unwrap_err();
    assert!(matches!(err, ClientError::Network { attempts: 3, .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn invalid_consumer_from_the_server_is_typed_and_explained() {
    let (mock, _) =
        crate::common::start_mock(|c| c.activate_at = Some(SystemTime::now() + Duration::from_secs(3600))).await;
    let err = crate::common::client(mock.base_url())
        .live_session_token()
        .await
        .unwrap_err();
    let ClientError::Ibkr { message, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(message.message, "invalid consumer");
    assert!(err.to_string().contains("not an error code"), "{err}");
    mock.stop().await;
}

#[tokio::test]
async fn mock_faults_drop_connection_malformed_json_and_slow() {
    // LST passes (rate 0.5: every second request is hit), the GET after it loses its connection.
    let (mock, log) = crate::common::start_mock(|c| c.faults = vec!["drop-connection:0.5".parse().unwrap()]).await;
    let mut options = crate::common::options(mock.base_url());
    options.max_retries = 0;
    let client = Client::new(crate::common::generated().credentials().unwrap(), options.clone()).unwrap();
    client.live_session_token().await.unwrap();
    let err = client.request(Method::GET, "/tickle", &[], None).await.unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err}");
    assert!(log.lines().iter().any(|l| l.contains("fault drop-connection")));
    mock.stop().await;

    let (mock, _) = crate::common::start_mock(|c| c.faults = vec!["malformed-json:0.5".parse().unwrap()]).await;
    let client = Client::new(
        crate::common::generated().credentials().unwrap(),
        crate::common::options(mock.base_url()),
    )
    .unwrap();
    client.live_session_token().await.unwrap();
    let err = client.tickle().await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol { .. }), "{err}");
    mock.stop().await;

    let (mock, _) = crate::common::start_mock(|c| {
        c.faults = vec!["slow:0.5".parse().unwrap()];
        c.slow_delay = Duration::from_secs(5);
    })
    .await;
    options.base_url = mock.base_url();
    options.timeout = Duration::from_millis(300);
    let client = Client::new(crate::common::generated().credentials().unwrap(), options).unwrap();
    client.live_session_token().await.unwrap();
    let err = client.tickle().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    mock.stop().await;
}

#[tokio::test]
async fn retry_after_is_honoured_within_a_bound() {
    let server = crate::common::lst_server().await;
    let clock = ibkr_probe::clock::ManualClock::new(SystemTime::now());
    let options = ibkr_probe::client::ClientOptions {
        clock: clock.clone(),
        ..crate::common::options(format!("{}/v1/api", server.uri()))
    };
    let client = Client::new(crate::common::generated().credentials().unwrap(), options).unwrap();
    client.live_session_token().await.unwrap();
    accounts()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    accounts()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let started = ibkr_probe::clock::Clock::mark(&*clock);
    let response = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!((response.status, response.attempts), (200, 2));
    let waited = ibkr_probe::clock::Clock::since(&*clock, started);
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");

    // A penalty box longer than the bound is not waited out: the 429 comes back at once.
    let (server, client) = scripted().await;
    accounts()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "600"))
        .mount(&server)
        .await;
    let started = Instant::now();
    let response = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!((response.status, response.attempts), (429, 1));
    assert!(started.elapsed() < Duration::from_secs(2));
}
