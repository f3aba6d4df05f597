//! The HTTP client for IBKR's Web API (or the mock): the LST handshake, the brokerage session,
//! signed requests, pacing, and bounded retries with backoff and jitter.

pub mod error;
pub mod pacer;
pub mod stream;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

pub use error::{ClientError, IbkrMessage};
use pacer::Pacer;

use crate::clock::Clock;
use crate::config::Credentials;
use crate::oauth::base_string::cmp_joined;
use crate::oauth::encode::{Space, into_string, percent_encode_bytes};
use crate::oauth::{
    DhExponent, LiveSessionToken, QueryConvention, RandomSource, SystemRandom, dh, header, lst, request,
};

/// IBKR's production base URL.
pub const IBKR_BASE_URL: &str = "https://api.ibkr.com/v1/api";

/// How the client behaves on the wire.
#[derive(Clone)]
pub struct ClientOptions {
    pub base_url: String,
    /// Per-attempt timeout, connection to last body byte.
    pub timeout: Duration,
    /// Requests per second across the client (IBKR allows about 10).
    pub rate: f64,
    /// Extra attempts after the first for 429, 5xx and connection errors.
    pub max_retries: u32,
    /// First backoff; doubles per retry, plus up to 100% jitter.
    pub backoff: Duration,
    /// How query parameters enter HMAC base strings.
    pub query_convention: QueryConvention,
    /// DH exponent size in bytes (32 = 256 bits).
    pub dh_exponent_bytes: usize,
    /// Request traces on standard error: 0 none, 1 one line per request and answer, 2 also the
    /// (redacted) Authorization header and the answer's body.
    pub verbosity: u8,
    /// Sees every final answer (`run --record` keeps them as a cassette).
    pub observer: Option<Arc<dyn Observer>>,
    /// The time for signatures, pacing and retry waits (tests pass a manual one).
    pub clock: Arc<dyn Clock>,
}

/// A request's final answer, as an [`Observer`] sees it.
pub struct Exchange<'a> {
    pub method: &'a str,
    /// The full URL, query included.
    pub url: &'a str,
    /// The client's base URL, so an observer can tell the API path.
    pub base_url: &'a str,
    pub response: &'a ApiResponse,
}

/// Watches what the client does without the client knowing who watches: the recorder
/// implements it, so the client depends on no layer above it.
pub trait Observer: Send + Sync {
    /// Called once per request, with the answer after retries.
    fn answered(&self, exchange: &Exchange<'_>);
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("rate", &self.rate)
            .field("max_retries", &self.max_retries)
            .field("verbosity", &self.verbosity)
            .finish_non_exhaustive()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            base_url: IBKR_BASE_URL.to_owned(),
            timeout: Duration::from_secs(10),
            rate: 10.0,
            max_retries: 3,
            backoff: Duration::from_millis(250),
            query_convention: QueryConvention::InBaseString,
            dh_exponent_bytes: dh::DEFAULT_EXPONENT_BYTES,
            verbosity: 0,
            observer: None,
            clock: crate::clock::system(),
        }
    }
}

/// A response, whatever its status: callers decide what a 4xx means.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
    /// Time of the last attempt.
    pub elapsed: Duration,
    /// Attempts made, 1 when no retry was needed.
    pub attempts: u32,
}

impl ApiResponse {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What the LST handshake produced (no secrets: the LST itself stays inside the client).
#[derive(Debug, Clone)]
pub struct LstSummary {
    pub expires_ms: u64,
    /// The server's `Date` header, to measure clock skew.
    pub server_date: Option<String>,
    pub attempts: u32,
}

/// A signed-request client for one credential set.
pub struct Client {
    http: reqwest::Client,
    options: ClientOptions,
    credentials: Arc<Credentials>,
    pacer: Arc<Pacer>,
    /// The identity's part of every request's signature, prepared once.
    signer: request::RequestSigner,
    /// Shared, not copied, by each request: one copy of the secret in memory.
    token: Mutex<Option<Arc<LiveSessionToken>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.options.base_url)
            .finish_non_exhaustive()
    }
}

/// Who signs, as the OAuth core needs it.
fn identity(credentials: &Credentials) -> request::Identity<'_> {
    request::Identity {
        consumer_key: &credentials.consumer_key,
        access_token: &credentials.access_token,
        realm: &credentials.realm,
    }
}

/// What clients of one run share: one pacer, so all their traffic together stays within one
/// rate, and one HTTP client, so the system's root certificates are read once, not per scenario.
#[derive(Debug)]
pub struct Shared {
    pacer: Arc<Pacer>,
    http: reqwest::Client,
}

impl Shared {
    /// The pacer and HTTP client for `options` (its rate, timeout and clock).
    pub fn new(options: &ClientOptions) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("ibkr-probe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Network {
                step: "client setup",
                attempts: 0,
                detail: e.to_string(),
            })?;
        Ok(Self {
            pacer: Arc::new(Pacer::new(options.rate, options.clock.clone())),
            http,
        })
    }
}

impl Client {
    pub fn new(credentials: Credentials, options: ClientOptions) -> Result<Self, ClientError> {
        let shared = Shared::new(&options)?;
        Self::with_shared(Arc::new(credentials), options, &shared)
    }

    /// A client sharing credentials, pacing and connections with others (the runner's
    /// scenarios). The rate and the HTTP timeout are the shared set's (made from the same
    /// options); everything else, base URL and observer first, comes from `options`.
    pub fn with_shared(
        credentials: Arc<Credentials>,
        mut options: ClientOptions,
        shared: &Shared,
    ) -> Result<Self, ClientError> {
        let trimmed = options.base_url.trim_end_matches('/').to_owned();
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(ClientError::BaseUrl(options.base_url));
        }
        options.base_url = trimmed;
        let signer = request::RequestSigner::new(identity(&credentials), &options.base_url, options.query_convention);
        Ok(Self {
            http: shared.http.clone(),
            pacer: shared.pacer.clone(),
            options,
            credentials,
            signer,
            token: Mutex::new(None),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The current live session token, for code that signs requests itself (a websocket, a
    /// benchmark's plain loop). It does not print itself.
    pub fn live_session(&self) -> Option<Arc<LiveSessionToken>> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = Vec::with_capacity(self.options.base_url.len() + path.len() + 64);
        url.extend_from_slice(self.options.base_url.as_bytes());
        if !path.starts_with('/') {
            url.push(b'/');
        }
        url.extend_from_slice(path.as_bytes());
        // In the order the base string sorts them: the query's order means nothing to the
        // server, and a sorted query lets the signer fill in its template.
        let mut query: Vec<&(&str, &str)> = query.iter().collect();
        query.sort_by(|a, b| cmp_joined(**a, **b));
        for (i, (name, value)) in query.into_iter().enumerate() {
            url.push(if i == 0 { b'?' } else { b'&' });
            percent_encode_bytes(&mut url, name.as_bytes(), Space::Percent);
            url.push(b'=');
            // Commas stay literal, as IBKR's own clients send `conids=1,2`.
            for (j, part) in value.split(',').enumerate() {
                if j > 0 {
                    url.push(b',');
                }
                percent_encode_bytes(&mut url, part.as_bytes(), Space::Percent);
            }
        }
        into_string(url)
    }

    /// The full handshake: decrypt the secret, send the DH challenge signed RSA-SHA256 with the
    /// prepend, derive K and the LST, and check it against the server's signature.
    pub async fn live_session_token(&self) -> Result<LstSummary, ClientError> {
        const STEP: &str = "live session token";
        let oauth_error = |source| ClientError::OAuth { step: STEP, source };
        let creds = &self.credentials;
        let secret = lst::decrypt_access_token_secret(&creds.encryption_key, creds.access_token_secret.expose())
            .map_err(oauth_error)?;
        let prepend = lst::prepend(&secret);
        let mut rng = SystemRandom;
        let a = DhExponent::generate(&mut rng, self.options.dh_exponent_bytes).map_err(oauth_error)?;
        let challenge = dh::challenge_hex(&creds.dh_params, &a);
        let url = self.url("/oauth/live_session_token", &[]);

        let response = self
            .send(
                STEP,
                Method::POST,
                &url,
                None,
                self.options.max_retries,
                |nonce, timestamp| {
                    request::lst_authorization(
                        identity(creds),
                        &url,
                        nonce,
                        timestamp,
                        &challenge,
                        &prepend,
                        &creds.signature_key,
                    )
                },
            )
            .await?;
        if !response.is_success() {
            return Err(ClientError::Ibkr {
                step: STEP,
                message: IbkrMessage::parse(response.status, &response.body).with_server_date(&response.headers),
            });
        }
        let body = response.json().map_err(|e| ClientError::Protocol {
            step: STEP,
            detail: format!("body is not JSON: {e}"),
        })?;
        let field = |name: &str| {
            body.get(name).ok_or_else(|| ClientError::Protocol {
                step: STEP,
                detail: format!("no `{name}` in the answer"),
            })
        };
        let dh_response = field("diffie_hellman_response")?.as_str().unwrap_or_default();
        let server_signature = field("live_session_token_signature")?.as_str().unwrap_or_default();
        let expires_ms = field("live_session_token_expiration")?.as_u64().unwrap_or_default();
        let k = dh::shared_secret(&creds.dh_params, &a, dh_response).map_err(oauth_error)?;
        let token = LiveSessionToken::derive(&k, &secret);
        if !token.validate(&creds.consumer_key, server_signature) {
            return Err(ClientError::LstValidation);
        }
        *self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(token));
        let server_date = response
            .headers
            .get("date")
            .and_then(|d| d.to_str().ok())
            .map(str::to_owned);
        Ok(LstSummary {
            expires_ms,
            server_date,
            attempts: response.attempts,
        })
    }

    /// A request signed HMAC-SHA256 with the LST. Returns any status; retries 429/5xx and
    /// connection failures within the configured bounds.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        json: Option<&Value>,
    ) -> Result<ApiResponse, ClientError> {
        self.request_with_retries(method, path, query, json, self.options.max_retries)
            .await
    }

    /// [`Client::request`] with its own bound on retries: 0 hands a scenario the first answer,
    /// 429 included.
    pub async fn request_with_retries(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        json: Option<&Value>,
        max_retries: u32,
    ) -> Result<ApiResponse, ClientError> {
        let token = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(ClientError::NoSession)?;
        let url = self.url(path, query);
        let method_name = method.clone();
        self.send("request", method, &url, json, max_retries, |nonce, timestamp| {
            Ok(self
                .signer
                .authorization(method_name.as_str(), &url, nonce, timestamp, &token))
        })
        .await
    }

    /// Sends one logical request and records its final answer when recording.
    async fn send(
        &self,
        step: &'static str,
        method: Method,
        url: &str,
        json: Option<&Value>,
        max_retries: u32,
        authorize: impl Fn(&str, &str) -> Result<String, crate::oauth::Error>,
    ) -> Result<ApiResponse, ClientError> {
        // `Method` clones without allocating for the standard methods.
        let observed = self.options.observer.as_ref().map(|o| (o, method.clone()));
        let response = self
            .send_with_retries(step, method, url, json, max_retries, authorize)
            .await?;
        if let Some((observer, method)) = observed {
            observer.answered(&Exchange {
                method: method.as_str(),
                url,
                base_url: &self.options.base_url,
                response: &response,
            });
        }
        Ok(response)
    }

    /// Sends one logical request: pacing, a fresh signature per attempt, retries with backoff.
    async fn send_with_retries(
        &self,
        step: &'static str,
        method: Method,
        url: &str,
        json: Option<&Value>,
        max_retries: u32,
        authorize: impl Fn(&str, &str) -> Result<String, crate::oauth::Error>,
    ) -> Result<ApiResponse, ClientError> {
        let mut rng = SystemRandom;
        let idempotent = method == Method::GET;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt > max_retries;
            self.pacer.wait().await;
            let nonce = header::nonce(&mut rng).map_err(|source| ClientError::OAuth { step, source })?;
            let timestamp = header::timestamp(self.options.clock.now());
            let authorization = authorize(&nonce, &timestamp).map_err(|source| ClientError::OAuth { step, source })?;
            let outcome = self.attempt(&method, url, json, authorization, attempt).await;
            let mut wait = self.backoff(attempt, &mut rng);
            match outcome {
                Ok(response) => {
                    let retryable = response.status == 429 || matches!(response.status, 500 | 502 | 503 | 504);
                    let safe = idempotent || matches!(response.status, 429 | 503);
                    // A server that says when to come back is believed, within MAX_RETRY_AFTER; one
                    // that asks for longer (IBKR's penalty box is 10-15 minutes) gets its answer back.
                    let retry_after = retry_after(&response.headers);
                    if !retryable || !safe || last || retry_after.is_some_and(|d| d > MAX_RETRY_AFTER) {
                        return Ok(response);
                    }
                    if let Some(delay) = retry_after {
                        wait = wait.max(delay);
                    }
                }
                Err(e) => {
                    let safe = idempotent || e.is_connect();
                    if !safe || last {
                        return Err(if e.is_timeout() {
                            ClientError::Timeout {
                                step,
                                attempts: attempt,
                                timeout: self.options.timeout,
                            }
                        } else {
                            ClientError::Network {
                                step,
                                attempts: attempt,
                                detail: error_chain(&e),
                            }
                        });
                    }
                }
            }
            self.options.clock.sleep(wait).await;
        }
    }

    /// One signed attempt on the wire, traced at the verbosity asked for (secrets redacted).
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        json: Option<&Value>,
        authorization: String,
        attempt: u32,
    ) -> Result<ApiResponse, reqwest::Error> {
        if self.options.verbosity > 0 {
            self.trace(&format!("-> {method} {url} (attempt {attempt})"));
        }
        if self.options.verbosity > 1 {
            self.trace(&format!("   authorization: {}", redact_authorization(&authorization)));
        }
        let builder = self
            .http
            .request(method.clone(), url)
            .header("authorization", authorization);
        let builder = match json {
            Some(body) => builder.json(body),
            // IBKR answers 411 to a POST without Content-Length.
            None if method == Method::POST => builder.header("content-length", "0").body(""),
            None => builder,
        };
        let started = Instant::now();
        let outcome = match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                response.bytes().await.map(|body| ApiResponse {
                    status,
                    headers,
                    body,
                    elapsed: started.elapsed(),
                    attempts: attempt,
                })
            }
            Err(e) => Err(e),
        };
        if self.options.verbosity > 0 {
            match &outcome {
                Ok(response) => {
                    self.trace(&format!(
                        "<- {} {} ({} ms)",
                        response.status,
                        url,
                        response.elapsed.as_millis()
                    ));
                    if self.options.verbosity > 1 {
                        self.trace(&format!("   body: {}", redact_body(&response.body)));
                    }
                }
                Err(e) => self.trace(&format!("<- error {url}: {}", error_chain(e))),
            }
        }
        outcome
    }

    /// Exponential backoff with full jitter: base * 2^(attempt-1) * (1 + random[0,1)).
    fn backoff(&self, attempt: u32, rng: &mut dyn RandomSource) -> Duration {
        let mut byte = [0u8; 1];
        let jitter = if rng.fill(&mut byte).is_ok() {
            f64::from(byte[0]) / 256.0
        } else {
            0.5
        };
        let exponential = self.options.backoff.saturating_mul(1 << (attempt - 1).min(6));
        exponential.mul_f64(1.0 + jitter)
    }

    /// `POST /iserver/auth/ssodh/init {"publish":true,"compete":true}`: opens the brokerage session.
    pub async fn init_brokerage_session(&self) -> Result<Value, ClientError> {
        let body = serde_json::json!({"publish": true, "compete": true});
        self.expect_json("ssodh/init", Method::POST, "/iserver/auth/ssodh/init", &[], Some(&body))
            .await
    }

    /// `POST /tickle`: keeps the session alive (IBKR drops it after about 5 minutes idle).
    pub async fn tickle(&self) -> Result<Value, ClientError> {
        self.expect_json("tickle", Method::POST, "/tickle", &[], None).await
    }

    /// `POST /iserver/auth/status`.
    pub async fn auth_status(&self) -> Result<Value, ClientError> {
        self.expect_json("auth status", Method::POST, "/iserver/auth/status", &[], None)
            .await
    }

    /// `POST /logout`.
    pub async fn logout(&self) -> Result<Value, ClientError> {
        self.expect_json("logout", Method::POST, "/logout", &[], None).await
    }

    /// A request whose success is a JSON body; anything else becomes a typed error.
    pub async fn expect_json(
        &self,
        step: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let response = self
            .request(method, path, query, body)
            .await
            .map_err(|e| rename_step(e, step))?;
        if !response.is_success() {
            return Err(ClientError::Ibkr {
                step,
                message: IbkrMessage::parse(response.status, &response.body).with_server_date(&response.headers),
            });
        }
        response.json().map_err(|e| ClientError::Protocol {
            step,
            detail: format!("body is not JSON: {e}"),
        })
    }
}

impl Client {
    fn trace(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// The header with its signature replaced: traces show which parameters were sent, never the
/// signature (it is derived from the LST or the private key).
pub fn redact_authorization(header: &str) -> String {
    match header.find("oauth_signature=\"") {
        Some(start) => {
            let value_start = start + "oauth_signature=\"".len();
            let end = header[value_start..]
                .find('"')
                .map_or(header.len(), |e| value_start + e);
            format!("{}[redacted]{}", &header[..value_start], &header[end..])
        }
        None => header.to_owned(),
    }
}

/// A response body for traces, at most 500 characters, with values derived from secrets
/// (`live_session_token_signature`) replaced.
pub fn redact_body(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if let Some(signature) = value.get_mut("live_session_token_signature") {
                *signature = serde_json::Value::String("[redacted]".into());
            }
            value.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut cut: String = text.chars().take(500).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// The longest `Retry-After` the client waits for before retrying.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// `Retry-After` in seconds (the HTTP-date form is not used by IBKR and is ignored).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

fn rename_step(error: ClientError, step: &'static str) -> ClientError {
    match error {
        ClientError::Network { attempts, detail, .. } => ClientError::Network { step, attempts, detail },
        ClientError::Timeout { attempts, timeout, .. } => ClientError::Timeout {
            step,
            attempts,
            timeout,
        },
        other => other,
    }
}

/// An error with its causes, for messages that say what actually broke.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
