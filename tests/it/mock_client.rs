//! The client against the mock over loopback: the whole flow, then every refusal the mock must
//! make, with IBKR's bodies and a log line saying why.

use std::time::{Duration, SystemTime};

use crate::common::{client, generated, start_mock};
use ibkr_probe::client::ClientError;
use ibkr_probe::oauth::{
    DhExponent, LiveSessionToken, QueryConvention, Secret, SigningRequest, SystemRandom, base_string, dh, header, lst,
    lst_base_string, sign,
};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn full_flow_lst_session_accounts_search_snapshot_warm_up_tickle() {
    // Prices right after the pre-flight; the partial rows in between have their own test.
    let (mock, log) = start_mock(|c| c.warm_up = std::time::Duration::ZERO).await;
    let client = client(mock.base_url());
    let summary = client.live_session_token().await.unwrap();
    assert!(summary.expires_ms > 1_700_000_000_000);

    let init = client.init_brokerage_session().await.unwrap();
    assert_eq!(init["authenticated"], true);
    assert_eq!(client.auth_status().await.unwrap()["connected"], true);

    let accounts = client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!(accounts["accounts"][0], "DU1234567");

    let search = client
        .expect_json(
            "search",
            Method::GET,
            "/iserver/secdef/search",
            &[("symbol", "ARM")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(search[0]["conid"], "653400472");
    let strikes = client
        .expect_json(
            "strikes",
            Method::GET,
            "/iserver/secdef/strikes",
            &[("conid", "653400472"), ("sectype", "OPT"), ("month", "AUG25")],
            None,
        )
        .await
        .unwrap();
    assert!(strikes["call"].as_array().unwrap().contains(&json!(143.0)));
    let info = client
        .expect_json(
            "info",
            Method::GET,
            "/iserver/secdef/info",
            &[
                ("conid", "653400472"),
                ("sectype", "OPT"),
                ("month", "AUG25"),
                ("strike", "143"),
                ("right", "C"),
            ],
            None,
        )
        .await
        .unwrap();
    assert!(
        info.as_array().unwrap().iter().any(|c| c["conid"] == 804_155_360u64),
        "{info}"
    );

    let query = [("conids", "804155360,653400472"), ("fields", "31,84,85,86,88")];
    let first = client
        .expect_json("snapshot", Method::GET, "/iserver/marketdata/snapshot", &query, None)
        .await
        .unwrap();
    assert!(
        first.as_array().unwrap().iter().all(|e| e.get("31").is_none()),
        "first call only subscribes: {first}"
    );
    let second = client
        .expect_json("snapshot", Method::GET, "/iserver/marketdata/snapshot", &query, None)
        .await
        .unwrap();
    let option = second
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["conid"] == 804_155_360u64)
        .unwrap();
    let ask: f64 = option["86"].as_str().unwrap().parse().unwrap();
    assert!(ask > 0.5 && ask < 5.0, "86 is the ask price: {option}");
    assert_eq!(option["85"], "598", "85 is the ask size");
    assert_eq!(
        option["6509"], "DPB",
        "6509 comes unasked; a paper account's data is delayed"
    );
    assert_eq!(option["6119"], "q0");

    let tickle = client.tickle().await.unwrap();
    assert_eq!(tickle["iserver"]["authStatus"]["authenticated"], true);
    assert_eq!(client.logout().await.unwrap()["status"], true);
    let after = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!(after.status, 401, "after logout the LST is gone");
    mock.stop().await;
    assert!(log.lines().iter().all(|l| l.starts_with("mock: ")), "{:?}", log.lines());
}

#[tokio::test]
async fn snapshot_rows_carry_markers_but_no_prices_until_the_warm_up_has_passed() {
    let clock = ibkr_probe::clock::ManualClock::new(SystemTime::now());
    let mock_clock = clock.clone();
    let (mock, _) = start_mock(|c| {
        c.warm_up = Duration::from_millis(500);
        c.clock = mock_clock;
    })
    .await;
    let client = client(mock.base_url());
    crate::common::make_ready(&client).await;
    let query = [("conids", "265598"), ("fields", "31,84")];
    let mut rows = Vec::new();
    for advance in [0, 100, 300, 200] {
        clock.advance(Duration::from_millis(advance));
        let body = client
            .expect_json("snapshot", Method::GET, "/iserver/marketdata/snapshot", &query, None)
            .await
            .unwrap();
        let mut keys: Vec<String> = body[0].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        rows.push(keys);
    }
    assert_eq!(rows[0], ["conid", "conidEx"], "the first request only subscribes");
    for partial in &rows[1..3] {
        assert_eq!(partial, &["6119", "6509", "_updated", "conid", "conidEx", "server_id"]);
    }
    assert_eq!(
        rows[3],
        ["31", "6119", "6509", "84", "_updated", "conid", "conidEx", "server_id"],
        "500 ms on"
    );
    mock.stop().await;
}

#[tokio::test]
async fn market_data_rules_no_bridge_and_accounts_first() {
    let (mock, log) = start_mock(|_| {}).await;
    let client = client(mock.base_url());
    client.live_session_token().await.unwrap();
    let err = client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no bridge") && err.to_string().contains("ssodh/init"),
        "{err}"
    );
    client.init_brokerage_session().await.unwrap();
    let query = [("conids", "653400472"), ("fields", "31")];
    // Before /iserver/accounts IBKR refuses market data with its documented 400.
    let early = client
        .request(Method::GET, "/iserver/marketdata/snapshot", &query, None)
        .await
        .unwrap();
    assert_eq!(early.status, 400);
    assert_eq!(
        early.json().unwrap()["error"],
        "Bad Request: Please query /accounts first"
    );
    assert!(log.last().contains("before /iserver/accounts"), "{}", log.last());
    let pnl = client
        .request(Method::GET, "/iserver/account/pnl/partitioned", &[], None)
        .await
        .unwrap();
    assert_eq!(pnl.status, 400, "the same rule holds for P&L");
    let missing = client
        .request(Method::GET, "/iserver/marketdata/snapshot", &[("fields", "31")], None)
        .await
        .unwrap();
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json().unwrap()["error"], "Bad Request: Conid(s) missing");
    // Strikes are empty until the underlying was searched in this session.
    client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    let strikes = client
        .expect_json(
            "strikes",
            Method::GET,
            "/iserver/secdef/strikes",
            &[("conid", "653400472"), ("sectype", "OPT"), ("month", "AUG25")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(strikes, json!({"call": [], "put": []}));
    mock.stop().await;
}

#[tokio::test]
async fn every_query_convention_signs_and_the_unproven_one_is_noted() {
    let (mock, log) = start_mock(|_| {}).await;
    for convention in QueryConvention::ALL {
        let mut options = crate::common::options(mock.base_url());
        options.query_convention = convention;
        let client = ibkr_probe::client::Client::new(generated().credentials().unwrap(), options).unwrap();
        client.live_session_token().await.unwrap();
        client.init_brokerage_session().await.unwrap();
        let response = client
            .request(
                Method::GET,
                "/iserver/secdef/search",
                &[("symbol", "ARM"), ("name", "a b,c")],
                None,
            )
            .await
            .unwrap();
        assert_eq!(response.status, 200, "{convention:?}: {}", log.last());
        let noted = log.last().contains("unproven at IBKR");
        assert_eq!(noted, convention == QueryConvention::PerValueEncoded, "{}", log.last());
    }
    mock.stop().await;
}

#[tokio::test]
async fn activation_time_answers_invalid_consumer_until_then() {
    let clock = ibkr_probe::clock::ManualClock::new(SystemTime::now());
    let at = SystemTime::now() + Duration::from_secs(90);
    let mock_clock = clock.clone();
    let (mock, log) = start_mock(|c| {
        c.activate_at = Some(at);
        c.clock = mock_clock;
    })
    .await;
    let client = client(mock.base_url());
    match client.live_session_token().await.unwrap_err() {
        ClientError::Ibkr { message, .. } => {
            assert_eq!((message.status, message.message.as_str()), (401, "invalid consumer"));
            assert!(message.reference_id.is_some());
        }
        other => panic!("{other}"),
    }
    assert!(log.last().contains("not active yet"), "{}", log.last());
    clock.advance(Duration::from_secs(91));
    client.live_session_token().await.unwrap();
    mock.stop().await;
}

#[tokio::test]
async fn idle_brokerage_session_expires_and_tickle_keeps_it() {
    // On the mock's own clock, advanced instead of slept; unpaced, as one tickle every
    // 4 minutes of mock time would be fine at IBKR but the calls come at machine speed.
    let clock = ibkr_probe::clock::ManualClock::new(SystemTime::now());
    let mock_clock = clock.clone();
    let (mock, log) = start_mock(|c| {
        c.idle_timeout = Duration::from_secs(300);
        c.rate_limit = u32::MAX;
        c.timestamp_window = Duration::from_secs(3600);
        c.clock = mock_clock;
    })
    .await;
    let client = client(mock.base_url());
    client.live_session_token().await.unwrap();
    client.init_brokerage_session().await.unwrap();
    for _ in 0..3 {
        clock.advance(Duration::from_secs(200));
        client.tickle().await.unwrap();
    }
    client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(301));
    let response = client
        .request(Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    assert_eq!(response.status, 400);
    assert!(log.last().contains("expired after 301 s"), "{}", log.last());
    assert_eq!(client.auth_status().await.unwrap()["authenticated"], false);
    mock.stop().await;
}

#[tokio::test]
async fn pacing_answers_429_above_the_limit() {
    let (mock, log) = start_mock(|c| c.rate_limit = 3).await;
    let mut options = crate::common::options(mock.base_url());
    options.max_retries = 0;
    let client = ibkr_probe::client::Client::new(generated().credentials().unwrap(), options).unwrap();
    client.live_session_token().await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            client
                .request(Method::POST, "/iserver/auth/status", &[], None)
                .await
                .unwrap()
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(log.lines()[4].contains("requests/s"), "{:?}", log.lines());
    assert!(log.last().contains("penalty box"), "{}", log.last());
    // An endpoint with its own limit refuses the second call within its interval.
    let (mock, log) = start_mock(|c| c.rate_limit = 10).await;
    let client = crate::common::client(mock.base_url());
    client.live_session_token().await.unwrap();
    let first = client.request(Method::POST, "/tickle", &[], None).await.unwrap().status;
    let second = client
        .request_with_retries(Method::POST, "/tickle", &[], None, 0)
        .await
        .unwrap()
        .status;
    assert_eq!((first, second), (200, 429));
    assert!(log.last().contains("one request every 1 s"), "{}", log.last());
    mock.stop().await;
}

fn millis_now() -> String {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string()
}

/// A 2048-bit key nobody uploaded.
fn foreign_key() -> &'static ibkr_probe::oauth::RsaPrivateKey {
    static KEY: std::sync::OnceLock<ibkr_probe::oauth::RsaPrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let pem = ibkr_probe::oauth::keys::generate_rsa_2048_pem().unwrap();
        ibkr_probe::oauth::RsaPrivateKey::from_pem(pem.expose()).unwrap()
    })
}

/// RSA PKCS#1 v1.5 with SHA-1, made with the independent `rsa` crate (the project cannot sign it).
fn rsa_sha1_with_the_rsa_crate(data: &[u8]) -> String {
    use base64::Engine as _;
    use rsa::pkcs8::DecodePrivateKey;
    use sha1::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    generated().write(dir.path(), false).unwrap();
    let pem = std::fs::read_to_string(dir.path().join("private_signature.pem")).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    // DigestInfo for SHA-1 (RFC 8017 §9.2), then the hash.
    let mut digest_info = vec![
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    digest_info.extend_from_slice(&sha1::Sha1::digest(data));
    let signature = key.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &digest_info).unwrap();
    base64::engine::general_purpose::STANDARD.encode(signature)
}

/// One mistake in an ordinary (HMAC-SHA256) request.
#[derive(Clone, Copy, PartialEq, Debug)]
enum HmacBug {
    /// No mistake in the request itself (its LST may still be wrong).
    None,
    LstAsText,
    HmacSha1,
    SignatureEncodedTwice,
    RealmInBaseString,
    SlashUnencoded,
    ParametersUnsorted,
    QueryInUrl,
    TrailingSlash,
    Scheme,
    Host,
    PathPrefix,
    MethodDiffers,
    TimestampMillis,
}

impl HmacBug {
    const ALL: [HmacBug; 13] = [
        Self::LstAsText,
        Self::HmacSha1,
        Self::SignatureEncodedTwice,
        Self::RealmInBaseString,
        Self::SlashUnencoded,
        Self::ParametersUnsorted,
        Self::QueryInUrl,
        Self::TrailingSlash,
        Self::Scheme,
        Self::Host,
        Self::PathPrefix,
        Self::MethodDiffers,
        Self::TimestampMillis,
    ];

    /// What the mock's log must say for it.
    fn named(self) -> &'static str {
        match self {
            Self::None => "",
            Self::LstAsText => "LST's base64 text was used as the HMAC key",
            Self::HmacSha1 => "HMAC-SHA1 was used",
            Self::SignatureEncodedTwice => "percent-encoded twice",
            Self::RealmInBaseString => "realm is in the base string",
            Self::SlashUnencoded => "`/` in the URL is not percent-encoded",
            Self::ParametersUnsorted => "not sorted",
            Self::QueryInUrl => "query string was left in the URL part",
            Self::TrailingSlash => "trailing slash",
            Self::Scheme => "scheme",
            Self::Host => "host differs",
            Self::PathPrefix => "/v1/api prefix",
            Self::MethodDiffers => "signed method differs",
            Self::TimestampMillis => "in milliseconds",
        }
    }
}

/// `GET /iserver/marketdata/snapshot?fields=31,84&conids=265598` (the query deliberately not in
/// sorted order), signed with one mistake.
async fn hmac_attempt(base: &str, token: &LiveSessionToken, bug: HmacBug, nonce: &str) -> (u16, Value) {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    use ibkr_probe::oauth::encode::{Space, percent_encode};
    let b64 = base64::engine::general_purpose::STANDARD;
    let creds = generated().credentials().unwrap();
    let path = "/iserver/marketdata/snapshot";
    let query = "fields=31,84&conids=265598";
    let url = format!("{base}{path}?{query}");
    let timestamp = if bug == HmacBug::TimestampMillis {
        millis_now()
    } else {
        header::timestamp(SystemTime::now())
    };
    // Sent in this (unsorted) order: the token first.
    let params = [
        ("oauth_token", creds.access_token.as_str()),
        ("oauth_consumer_key", creds.consumer_key.as_str()),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", timestamp.as_str()),
    ];
    let with_realm: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .chain([("realm", creds.realm.as_str())])
        .collect();
    let base_for = |method: &str, url: &str, oauth: &[(&str, &str)]| {
        base_string(
            &SigningRequest {
                method,
                url,
                form: &[],
                oauth,
            },
            QueryConvention::InBaseString,
        )
    };
    let (bare, _) = url.split_once('?').unwrap();
    let host_swapped = url.replace("127.0.0.1", "localhost");
    let text = match bug {
        HmacBug::RealmInBaseString => base_for("GET", &url, &with_realm),
        HmacBug::SlashUnencoded => {
            let right = base_for("GET", &url, &params);
            let (method, rest) = right.split_once('&').unwrap();
            let (signed_url, pairs) = rest.split_once('&').unwrap();
            format!("{method}&{}&{pairs}", signed_url.replace("%2F", "/"))
        }
        HmacBug::ParametersUnsorted => {
            let joined: Vec<String> = query
                .split('&')
                .map(str::to_owned)
                .chain(params.iter().map(|(n, v)| format!("{n}={v}")))
                .collect();
            format!(
                "GET&{}&{}",
                percent_encode(bare, Space::Plus),
                percent_encode(&joined.join("&"), Space::Plus)
            )
        }
        HmacBug::QueryInUrl => {
            let mut sorted = params.to_vec();
            sorted.sort();
            let joined: Vec<String> = sorted.iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!(
                "GET&{}&{}",
                percent_encode(&url, Space::Plus),
                percent_encode(&joined.join("&"), Space::Plus)
            )
        }
        HmacBug::TrailingSlash => base_for("GET", &format!("{base}{path}/?{query}"), &params),
        HmacBug::Scheme => base_for("GET", &format!("http://api.ibkr.com/v1/api{path}?{query}"), &params),
        HmacBug::Host => base_for("GET", &host_swapped, &params),
        HmacBug::PathPrefix => base_for("GET", &url.replace("/v1/api", ""), &params),
        HmacBug::MethodDiffers => base_for("POST", &url, &params),
        _ => base_for("GET", &url, &params),
    };
    let signature = match bug {
        HmacBug::LstAsText => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(token.to_base64().expose().as_bytes()).unwrap();
            mac.update(text.as_bytes());
            b64.encode(mac.finalize().into_bytes())
        }
        HmacBug::HmacSha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.expose_bytes()).unwrap();
            mac.update(text.as_bytes());
            b64.encode(mac.finalize().into_bytes())
        }
        HmacBug::SignatureEncodedTwice => percent_encode(&sign::hmac_sha256(token, text.as_bytes()), Space::Percent),
        _ => sign::hmac_sha256(token, text.as_bytes()),
    };
    let response = reqwest::Client::new()
        .get(&url)
        .header(
            "authorization",
            header::authorization_header(&creds.realm, &params, &signature),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A client making one mistake at a time in ordinary requests: IBKR's body, and the mock's log
/// names the mistake.
#[tokio::test]
async fn the_mock_log_names_each_request_signing_mistake() {
    let (mock, log) = start_mock(|c| c.rate_limit = 1_000_000).await;
    let base = mock.base_url();
    let token = lst_attempt(&base, Bug::None, "names-lst").await.token.unwrap();
    let (status, _) = hmac_attempt(&base, &token, HmacBug::LstAsText, "control").await;
    assert_eq!(status, 401);
    for (i, bug) in HmacBug::ALL.into_iter().enumerate() {
        let (status, body) = hmac_attempt(&base, &token, bug, &format!("names-{i}")).await;
        assert_eq!(status, 401, "{bug:?}");
        assert_eq!(
            body,
            json!({"error": "Invalid signature"}),
            "{bug:?}: IBKR's body, nothing more"
        );
        assert!(log.last().contains(bug.named()), "{bug:?}: {}", log.last());
    }
    // An LST derived the wrong way, used for a request that is itself right.
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let attempt = lst_attempt(&base, Bug::None, "names-derivation").await;
    let (k, secret) = attempt
        .derivation
        .unwrap_or_else(|| panic!("{}: {}", attempt.body, log.last()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&k).unwrap();
    mac.update(&secret);
    let sha256_lst = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let wrong = LiveSessionToken::from_base64(&sha256_lst).unwrap();
    let (status, _) = hmac_attempt(&base, &wrong, HmacBug::None, "names-sha256-lst").await;
    assert_eq!(status, 401);
    assert!(
        log.last().contains("the LST was computed with HMAC-SHA256"),
        "{}",
        log.last()
    );
    mock.stop().await;
}

/// What a hand-written, possibly buggy client sends for the LST.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Bug {
    None,
    /// Signed with a key IBKR has never seen.
    ForeignKey,
    /// Signed with the encryption key.
    SwappedKeys,
    NoPrepend,
    UppercasePrepend,
    PrependBase64,
    /// The access token secret used as the portal gave it, never decrypted.
    PrependEncryptedText,
    PrependEncryptedHex,
    RsaSha1,
    RealmInBaseString,
    StaleTimestamp,
    TimestampMillis,
    UnknownConsumer,
    WrongRealm,
    UnknownToken,
}

struct Attempt {
    status: u16,
    body: Value,
    token: Option<LiveSessionToken>,
    /// The LST of a client that pads K to the prime's length (256 bytes), and K's own length.
    padded_token: Option<(LiveSessionToken, usize)>,
    /// K and the decrypted secret, for deriving LSTs the wrong way.
    derivation: Option<(Vec<u8>, Vec<u8>)>,
}

async fn lst_attempt(base: &str, bug: Bug, nonce: &str) -> Attempt {
    let creds = generated().credentials().unwrap();
    let secret = lst::decrypt_access_token_secret(&creds.encryption_key, creds.access_token_secret.expose()).unwrap();
    let mut prepend = lst::prepend(&secret).expose().clone();
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        match bug {
            Bug::NoPrepend => prepend.clear(),
            Bug::UppercasePrepend => prepend = prepend.to_uppercase(),
            Bug::PrependBase64 => prepend = b64.encode(secret.expose()),
            Bug::PrependEncryptedText => prepend = creds.access_token_secret.expose().clone(),
            Bug::PrependEncryptedHex => {
                prepend = hex::encode(b64.decode(creds.access_token_secret.expose()).unwrap());
            }
            _ => {}
        }
    }
    let a = DhExponent::generate(&mut SystemRandom, 32).unwrap();
    let challenge = dh::challenge_hex(&creds.dh_params, &a);
    let url = format!("{base}/oauth/live_session_token");
    let timestamp = match bug {
        Bug::StaleTimestamp => header::timestamp(SystemTime::now() - Duration::from_secs(900)),
        Bug::TimestampMillis => millis_now(),
        _ => header::timestamp(SystemTime::now()),
    };
    let consumer = if bug == Bug::UnknownConsumer {
        "NOTACONS1"
    } else {
        creds.consumer_key.as_str()
    };
    let token = if bug == Bug::UnknownToken {
        "0000000000aaaaaaaaaa"
    } else {
        creds.access_token.as_str()
    };
    let realm = if bug == Bug::WrongRealm {
        "test_realm"
    } else {
        creds.realm.as_str()
    };
    let mut params = vec![
        ("diffie_hellman_challenge", challenge.as_str()),
        ("oauth_consumer_key", consumer),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "RSA-SHA256"),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_token", token),
    ];
    let mut signed = params.clone();
    if bug == Bug::RealmInBaseString {
        signed.push(("realm", realm));
    }
    let request = SigningRequest {
        method: "POST",
        url: &url,
        form: &[],
        oauth: &signed,
    };
    let base_text = lst_base_string(&Secret::new(prepend), &request, QueryConvention::InBaseString);
    let signature = match bug {
        Bug::SwappedKeys => sign::rsa_sha256(&creds.encryption_key, base_text.expose().as_bytes()).unwrap(),
        Bug::ForeignKey => sign::rsa_sha256(foreign_key(), base_text.expose().as_bytes()).unwrap(),
        Bug::RsaSha1 => rsa_sha1_with_the_rsa_crate(base_text.expose().as_bytes()),
        _ => sign::rsa_sha256(&creds.signature_key, base_text.expose().as_bytes()).unwrap(),
    };
    params.sort();
    let authorization = header::authorization_header(realm, &params, &signature);
    let response = reqwest::Client::new()
        .post(&url)
        .header("authorization", authorization)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let (mut token, mut padded_token, mut derivation) = (None, None, None);
    if status == 200 {
        let k = dh::shared_secret(&creds.dh_params, &a, body["diffie_hellman_response"].as_str().unwrap()).unwrap();
        token = Some(LiveSessionToken::derive(&k, &secret));
        let unsigned = k.expose().strip_prefix(&[0u8]).unwrap_or(k.expose());
        let mut padded = vec![0u8; 256 - unsigned.len()];
        padded.extend_from_slice(unsigned);
        padded_token = Some((
            LiveSessionToken::derive(&Secret::new(padded), &secret),
            k.expose().len(),
        ));
        derivation = Some((k.expose().clone(), secret.expose().clone()));
    }
    Attempt {
        status,
        body,
        token,
        padded_token,
        derivation,
    }
}

#[tokio::test]
async fn mock_refuses_each_known_lst_mistake_with_ibkrs_body_and_says_why() {
    let (mock, log) = start_mock(|_| {}).await;
    let base = mock.base_url();
    let cases = [
        (Bug::ForeignKey, "LST failed", "does not verify"),
        (Bug::SwappedKeys, "LST failed", "signed with the encryption key"),
        (Bug::NoPrepend, "LST failed", "without the prepend"),
        (Bug::PrependBase64, "LST failed", "base64, not hex"),
        (Bug::PrependEncryptedText, "LST failed", "never decrypted"),
        (Bug::PrependEncryptedHex, "LST failed", "still-encrypted"),
        (Bug::RsaSha1, "LST failed", "RSA-SHA1 was used"),
        (Bug::TimestampMillis, "LST failed", "in milliseconds"),
        (Bug::UppercasePrepend, "LST failed", "uppercase"),
        (Bug::RealmInBaseString, "LST failed", "realm is in the base string"),
        (Bug::StaleTimestamp, "LST failed", "stale oauth_timestamp"),
        (Bug::UnknownConsumer, "invalid consumer", "unknown consumer key"),
        (Bug::WrongRealm, "invalid consumer", "realm \"test_realm\""),
        (
            Bug::UnknownToken,
            "LST failed, error: No access secret key found for 0000000000aaaaaaaaaa",
            "No access secret key",
        ),
    ];
    let mut ids = Vec::new();
    for (i, (bug, message, reason)) in cases.iter().enumerate() {
        let attempt = lst_attempt(&base, *bug, &format!("nonce{i:02}")).await;
        assert_eq!(attempt.status, 401, "{bug:?}");
        let error = attempt.body["error"].as_str().unwrap();
        let (id, text) = error.strip_prefix("id: ").unwrap().split_once(", error: ").unwrap();
        assert_eq!(text, *message, "{bug:?}");
        assert_eq!(attempt.body["statusCode"], 401);
        ids.push(id.parse::<u64>().unwrap());
        assert!(log.last().contains(reason), "{bug:?}: {}", log.last());
        assert!(log.last().contains("-> 401"), "{}", log.last());
    }
    ids.dedup();
    assert_eq!(ids.len(), cases.len(), "ids come from a counter, not from the message");

    // A replayed nonce is refused even with a perfect signature.
    assert_eq!(lst_attempt(&base, Bug::None, "same-nonce").await.status, 200);
    let replay = lst_attempt(&base, Bug::None, "same-nonce").await;
    assert_eq!(replay.status, 401);
    assert!(log.last().contains("replayed oauth_nonce"), "{}", log.last());
    mock.stop().await;
}

#[tokio::test]
async fn k_padded_to_the_prime_length_is_named_when_its_hmac_fails() {
    let (mock, log) = start_mock(|_| {}).await;
    let base = mock.base_url();
    // About half of all handshakes give a K whose Java encoding is not 256 bytes: retry until one does.
    for attempt in 0..40 {
        let result = lst_attempt(&base, Bug::None, &format!("k-nonce-{attempt}")).await;
        let (Some(good), Some((padded, k_len))) = (result.token, result.padded_token) else {
            panic!("{}", result.body)
        };
        if good.expose_bytes() == padded.expose_bytes() {
            continue;
        }
        let creds = generated().credentials().unwrap();
        let url = format!("{base}/tickle");
        let nonce = format!("tickle-{attempt}");
        let timestamp = header::timestamp(SystemTime::now());
        let params = [
            ("oauth_consumer_key", creds.consumer_key.as_str()),
            ("oauth_nonce", nonce.as_str()),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", timestamp.as_str()),
            ("oauth_token", creds.access_token.as_str()),
        ];
        let request = SigningRequest {
            method: "POST",
            url: &url,
            form: &[],
            oauth: &params,
        };
        let signature = sign::hmac_sha256(&padded, base_string(&request, QueryConvention::UrlOnly).as_bytes());
        let response = reqwest::Client::new()
            .post(&url)
            .header(
                "authorization",
                header::authorization_header(&creds.realm, &params, &signature),
            )
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": "Invalid signature"})
        );
        // A 257-byte K (sign byte) padded to 256 is K without its sign byte: the better name.
        let named = if k_len == 257 {
            "K lacks its leading 00 sign byte"
        } else {
            "K is padded to the prime's length"
        };
        assert!(log.last().contains(named), "K of {k_len} bytes: {}", log.last());
        mock.stop().await;
        return;
    }
    panic!("40 handshakes without a K that pads differently: vanishingly unlikely");
}

/// Every secret in every encoding stays out of the mock's log, the client's errors and Debug output.
#[tokio::test]
async fn no_secret_in_logs_errors_or_debug_output() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (mock, log) = start_mock(|_| {}).await;
    let base = mock.base_url();
    let creds = generated().credentials().unwrap();
    let secret = lst::decrypt_access_token_secret(&creds.encryption_key, creds.access_token_secret.expose()).unwrap();
    let attempt = lst_attempt(&base, Bug::None, "leak-nonce").await;
    let token = attempt.token.unwrap();

    let mut outputs: Vec<String> = Vec::new();
    let ok_client = client(base.clone());
    ok_client.live_session_token().await.unwrap();
    ok_client.init_brokerage_session().await.unwrap();
    ok_client
        .expect_json("accounts", Method::GET, "/iserver/accounts", &[], None)
        .await
        .unwrap();
    for bug in [
        Bug::SwappedKeys,
        Bug::NoPrepend,
        Bug::UppercasePrepend,
        Bug::PrependBase64,
        Bug::PrependEncryptedText,
        Bug::PrependEncryptedHex,
        Bug::RsaSha1,
        Bug::RealmInBaseString,
    ] {
        let attempt = lst_attempt(&base, bug, &format!("leak-{bug:?}")).await;
        outputs.push(attempt.body.to_string());
    }
    for mistake in HmacBug::ALL {
        let (_, body) = hmac_attempt(&base, &token, mistake, &format!("leak-{mistake:?}")).await;
        outputs.push(body.to_string());
    }
    let wrong = client(format!("{base}/nope"));
    outputs.push(wrong.live_session_token().await.unwrap_err().to_string());
    outputs.push(format!(
        "{creds:?} {ok_client:?} {token:?} {:?} {:?}",
        generated().server(),
        creds.signature_key
    ));
    outputs.extend(log.lines());

    let mut needles = vec![creds.access_token_secret.expose().clone()];
    for bytes in [secret.expose().clone(), token.expose_bytes().to_vec()] {
        needles.extend([hex::encode(&bytes), hex::encode_upper(&bytes), b64.encode(&bytes)]);
        let encoded = b64
            .encode(&bytes)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        needles.push(encoded);
    }
    needles.push(
        creds
            .access_token_secret
            .expose()
            .replace('+', "%2B")
            .replace('/', "%2F"),
    );
    let all = outputs.join("\n");
    for needle in &needles {
        let probe = &needle[..needle.len().min(20)];
        assert!(!all.contains(probe), "secret leaked ({probe}) in:\n{all}");
    }
    // Private key material: no 40-character run of any PEM body line.
    let dir = tempfile::tempdir().unwrap();
    generated().write(dir.path(), false).unwrap();
    let pem = std::fs::read_to_string(dir.path().join("private_signature.pem")).unwrap();
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!all.contains(&line[..line.len().min(40)]));
    }
    mock.stop().await;
}
