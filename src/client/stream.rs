//! IBKR's websocket as an OAuth client opens it: `wss://…/v1/api/ws?oauth_token=<access token>`
//! with the `/tickle` answer's `session` as the `api` cookie and IBKR's gateway user agent, then
//! the greeting (`system` with `success`) before any subscription, since IBKR drops what comes
//! earlier. Subscriptions are kept and sent again on a new socket, because IBKR forgets them on
//! reconnect; a socket that drops or closes is opened again (with a fresh `/tickle` session if the
//! old one is refused) a bounded number of times in a row. `tic` goes out every 30 s.
//! Sources: tests/data/ibkr-recorded/ws/README.md.
//!
//! Socket waits are real time, as the socket's I/O is: a manual clock that jumps for every
//! sleeper would end every wait at once.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

use super::Client;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Without this user agent IBKR refuses an OAuth client's upgrade with 403 (ibkr-conduit
/// dbbc63b, 2026-03); ibind sends it too.
const USER_AGENT: &str = "ClientPortalGW/1";

/// How long a socket must have been open for its data to count as working again.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// The most frames [`Stream::keep`] holds: enough for the steps of a scenario, bounded for a
/// stream that is never read.
const KEPT_FRAMES: usize = 1000;

/// Waits before opening a lost socket again: the first, doubled each time.
const FIRST_RECONNECT_WAIT: Duration = Duration::from_millis(100);

/// How the stream behaves.
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// How many times in a row a socket that dropped, closed or could not be reopened is tried
    /// again (its subscriptions sent again) before the stream gives up; data on a socket that
    /// stayed open a minute starts the count again.
    pub reconnects: u32,
    /// The longest wait for the handshake and the greeting.
    pub open_timeout: Duration,
    /// How often `tic` goes out: IBKR asks for one at least once a minute; other clients send
    /// one every 30 s.
    pub tic_every: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            reconnects: 3,
            open_timeout: Duration::from_secs(10),
            tic_every: Duration::from_secs(30),
        }
    }
}

/// A frame as a [`StreamObserver`] sees it.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A frame the client sent, as text (`smd+265598+{"fields":["31"]}`).
    Sent(&'a str),
    /// A frame the server sent, parsed.
    Received(&'a Value),
}

/// Sees every frame of a stream (`run --record` keeps them in the cassette).
pub trait StreamObserver: Send + Sync {
    fn frame(&self, frame: Frame<'_>);
}

/// What waiting on the stream gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A frame from the server.
    Message(Value),
    /// The socket was lost and opened again, subscriptions sent anew: how it was lost.
    Reconnected(String),
}

/// Why the stream cannot go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    /// The session cookie could not be had: `POST /tickle` failed or had no `session`.
    #[error("websocket: {0}")]
    Session(String),
    /// The server answered the upgrade with an HTTP status.
    #[error("websocket handshake to {url} refused with HTTP {status}{body}; {hint}")]
    Refused {
        url: String,
        status: u16,
        body: String,
        hint: &'static str,
    },
    /// The socket could not be opened or broke while opening.
    #[error("websocket to {url}: {detail}; check the base URL and your connection")]
    Network { url: String, detail: String },
    /// The socket opened but the greeting never came.
    #[error(
        "websocket to {url}: no greeting (a `system` frame with `success`) within {} s; IBKR sends it when the socket is authorised",
        timeout.as_secs_f64()
    )]
    NoGreeting { url: String, timeout: Duration },
    /// The socket was lost and could not be kept open.
    #[error("websocket to {url} {how}; gave up after {reconnects} reconnect(s){last}; {hint}")]
    Lost {
        url: String,
        how: String,
        reconnects: u32,
        /// Why the last try to reopen it failed, as `; the last try: …`, or empty.
        last: String,
        hint: &'static str,
    },
}

/// An open stream.
pub struct Stream {
    /// Carries the access token: used to connect, never shown.
    url: String,
    /// The URL without its query, for messages.
    shown: String,
    cookie: String,
    socket: Socket,
    /// Subscribing frames in the order sent, by the topic key an unsubscribe names.
    subscriptions: Vec<(String, String)>,
    /// Data frames a reader passed over, for the next one: in order, at most [`KEPT_FRAMES`].
    kept: std::collections::VecDeque<Value>,
    reconnects: u32,
    /// When the current socket was opened.
    opened_at: Instant,
    options: StreamOptions,
    last_sent: Instant,
    verbosity: u8,
    observer: Option<Arc<dyn StreamObserver>>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("url", &self.shown)
            .field("subscriptions", &self.subscriptions.len())
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// Gets the session from `POST /tickle` and opens the socket. The client needs a live
    /// session token, and the socket's topics a brokerage session (`ssodh/init`).
    pub async fn open(
        client: &Client,
        options: StreamOptions,
        observer: Option<Arc<dyn StreamObserver>>,
    ) -> Result<Self, StreamError> {
        let cookie = session_cookie(client).await?;
        let base = &client.options().base_url;
        let shown = format!(
            "{}/ws",
            base.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1)
        );
        let mut url = String::with_capacity(shown.len() + 64);
        url.push_str(&shown);
        url.push_str("?oauth_token=");
        url.push_str(&client.credentials().access_token);
        let (socket, greeting) = connect(&url, &shown, &cookie, options.open_timeout).await?;
        let verbosity = client.options().verbosity;
        if verbosity > 0 {
            eprintln!("ws {shown}: open");
        }
        let mut stream = Self {
            url,
            shown,
            cookie,
            socket,
            subscriptions: Vec::new(),
            kept: std::collections::VecDeque::new(),
            reconnects: 0,
            opened_at: Instant::now(),
            options,
            last_sent: Instant::now(),
            verbosity,
            observer,
        };
        stream.received(greeting);
        Ok(stream)
    }

    /// Sends one frame; a subscription (`s…`) is remembered for reconnects, an unsubscription
    /// (`u…`) forgets it.
    pub async fn send(&mut self, client: &Client, frame: &str) -> Result<(), StreamError> {
        match subscription_change(frame) {
            // History bars answer once and are ended by their serverId, not their conid: they
            // are not sent again on a new socket.
            Some((true, topic)) if !topic.starts_with("mh") => {
                // `smd` again for a conid adds fields at IBKR: a new socket gets them all.
                let kept = match self.subscriptions.iter().position(|(k, _)| k == topic) {
                    Some(index) => with_fields_of(&self.subscriptions.remove(index).1, frame),
                    None => frame.to_owned(),
                };
                self.subscriptions.push((topic.to_owned(), kept));
            }
            Some((false, topic)) => {
                self.subscriptions.retain(|(k, _)| k != topic);
                // Frames kept from before are stale for a later subscription to the topic.
                let on_topic = format!("s{topic}");
                self.kept.retain(|f| f["topic"] != on_topic.as_str());
            }
            _ => {}
        }
        self.write(client, frame).await
    }

    /// The next event within `wait`: `None` when nothing came. A lost socket is opened again and
    /// resubscribed while reconnects remain; `tic` goes out when due.
    pub async fn next(&mut self, client: &Client, wait: Duration) -> Result<Option<Event>, StreamError> {
        if let Some(frame) = self.kept.pop_front() {
            return Ok(Some(Event::Message(frame)));
        }
        let deadline = Instant::now() + wait;
        loop {
            let tic_due = self.last_sent + self.options.tic_every;
            let wake = deadline.min(tic_due);
            let received = tokio::time::timeout_at(wake, self.socket.next()).await;
            let lost = match received {
                Err(_) if Instant::now() >= deadline => return Ok(None),
                Err(_) => {
                    self.write(client, "tic").await?;
                    continue;
                }
                Ok(Some(Ok(Message::Close(frame)))) => closed_how(frame.as_ref()),
                Ok(Some(Ok(message))) => match json(&message) {
                    Some(value) => return Ok(Some(Event::Message(self.received(value)))),
                    None => continue,
                },
                Ok(Some(Err(e))) => format!("dropped ({})", short_error(&e)),
                Ok(None) => "ended without a close frame".to_owned(),
            };
            self.reconnect(client, &lost).await?;
            return Ok(Some(Event::Reconnected(lost)));
        }
    }

    /// Sends `tic` if one is due: for the times the stream is not read (a REST step), so IBKR's
    /// once-a-minute rule holds between stream steps too.
    pub async fn tic_if_due(&mut self, client: &Client) -> Result<(), StreamError> {
        if self.last_sent.elapsed() >= self.options.tic_every {
            self.write(client, "tic").await?;
        }
        Ok(())
    }

    /// Gives back frames read but not wanted, in the order they came: the next reads get them
    /// first. Only the newest [`KEPT_FRAMES`] are kept.
    pub fn keep(&mut self, frames: Vec<Value>) {
        for frame in frames.into_iter().rev() {
            self.kept.push_front(frame);
        }
        while self.kept.len() > KEPT_FRAMES {
            self.kept.pop_front();
        }
    }

    /// Closes the socket as clients do (1000).
    pub async fn close(mut self) {
        let frame = CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "Closing".into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close(Some(frame))).await;
        if self.verbosity > 0 {
            eprintln!("ws {}: closed", self.shown);
        }
    }

    async fn write(&mut self, client: &Client, frame: &str) -> Result<(), StreamError> {
        if self.verbosity > 0 {
            eprintln!("ws {} <- {}", self.shown, shown_frame(frame));
        }
        if let Some(observer) = &self.observer {
            observer.frame(Frame::Sent(frame));
        }
        self.last_sent = Instant::now();
        if let Err(e) = self.socket.send(Message::text(frame)).await {
            let lost = format!("dropped while sending ({})", short_error(&e));
            self.reconnect(client, &lost).await?;
            // A subscription was sent again on the new socket (merged with earlier fields).
            let resent = subscription_change(frame)
                .is_some_and(|(subscribe, topic)| subscribe && self.subscriptions.iter().any(|(k, _)| k == topic));
            if !resent {
                self.socket
                    .send(Message::text(frame))
                    .await
                    .map_err(|e| self.network(short_error(&e)))?;
            }
        }
        Ok(())
    }

    /// A server frame, shown and observed. Data on a socket open for [`STABLE_AFTER`] starts
    /// the reconnects in a row from zero.
    fn received(&mut self, value: Value) -> Value {
        if self.verbosity > 0 {
            let mut shown = value.clone();
            mask_identity(&mut shown);
            eprintln!(
                "ws {} -> {}",
                self.shown,
                super::redact_body(shown.to_string().as_bytes())
            );
        }
        if let Some(observer) = &self.observer {
            observer.frame(Frame::Received(&value));
        }
        // Data after a while on a socket means it works: a server that answers and then drops
        // every socket at once still exhausts the reconnects.
        let works = !is_housekeeping(&value) && value.get("error").is_none();
        if works && self.opened_at.elapsed() >= STABLE_AFTER {
            self.reconnects = 0;
        }
        value
    }

    /// Opens the socket again (with a fresh `/tickle` session if the old one is refused) and
    /// sends the subscriptions again; tries while reconnects remain, then says the stream is
    /// lost and why the last try failed.
    async fn reconnect(&mut self, client: &Client, how: &str) -> Result<(), StreamError> {
        if self.verbosity > 0 {
            eprintln!("ws {}: {how}", self.shown);
        }
        let mut last = String::new();
        while self.reconnects < self.options.reconnects {
            tokio::time::sleep(FIRST_RECONNECT_WAIT * 2u32.pow(self.reconnects.min(6))).await;
            self.reconnects += 1;
            let timeout = self.options.open_timeout;
            let opened = match connect(&self.url, &self.shown, &self.cookie, timeout).await {
                // The session may be gone (an IBKR reset, a new login): ask /tickle for the
                // current one and try with it.
                Err(StreamError::Refused { .. }) => match session_cookie(client).await {
                    Ok(cookie) => {
                        self.cookie = cookie;
                        connect(&self.url, &self.shown, &self.cookie, timeout).await
                    }
                    Err(e) => Err(e),
                },
                other => other,
            };
            match opened {
                Ok((socket, greeting)) => {
                    self.socket = socket;
                    self.opened_at = Instant::now();
                    self.received(greeting);
                    match self.resubscribe().await {
                        Ok(()) => return Ok(()),
                        Err(e) => last = format!("; the last try: {e}"),
                    }
                }
                Err(e) => {
                    if self.verbosity > 0 {
                        eprintln!("ws {}: reopening failed: {e}", self.shown);
                    }
                    last = format!("; the last try: {e}");
                }
            }
        }
        Err(StreamError::Lost {
            url: self.shown.clone(),
            how: how.to_owned(),
            reconnects: self.reconnects,
            last,
            hint: hint_for_loss(how),
        })
    }

    /// Sends every kept subscription on a new socket.
    async fn resubscribe(&mut self) -> Result<(), StreamError> {
        let frames: Vec<String> = self.subscriptions.iter().map(|(_, f)| f.clone()).collect();
        for frame in frames {
            if self.verbosity > 0 {
                eprintln!("ws {} <- {} (again)", self.shown, shown_frame(&frame));
            }
            if let Some(observer) = &self.observer {
                observer.frame(Frame::Sent(&frame));
            }
            self.socket
                .send(Message::text(frame))
                .await
                .map_err(|e| self.network(short_error(&e)))?;
        }
        self.last_sent = Instant::now();
        Ok(())
    }

    fn network(&self, detail: String) -> StreamError {
        StreamError::Network {
            url: self.shown.clone(),
            detail,
        }
    }
}

/// The handshake, then frames up to the greeting (`system` with `success`), which is returned
/// to be shown and recorded; frames before it carry nothing a subscriber waits for.
async fn connect(url: &str, shown: &str, cookie: &str, timeout: Duration) -> Result<(Socket, Value), StreamError> {
    let network = |detail: String| StreamError::Network {
        url: shown.to_owned(),
        detail,
    };
    let mut request = url
        .into_client_request()
        .map_err(|e| network(format!("not a websocket URL ({})", short_error(&e))))?;
    let headers = request.headers_mut();
    headers.insert("user-agent", HeaderValue::from_static(USER_AGENT));
    headers.insert(
        "cookie",
        HeaderValue::from_str(cookie).map_err(|_| network("the session from /tickle is not a header value".into()))?,
    );
    let opened = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request)).await;
    let mut socket = match opened {
        Err(_) => return Err(network(format!("no handshake within {} s", timeout.as_secs_f64()))),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|b| format!(": {}", super::redact_body(b)))
                .unwrap_or_default();
            return Err(StreamError::Refused {
                url: shown.to_owned(),
                status,
                body,
                hint: hint_for_refusal(status),
            });
        }
        Ok(Err(e)) => return Err(network(short_error(&e))),
        Ok(Ok((socket, _))) => socket,
    };
    let greeted = tokio::time::timeout(timeout, async {
        while let Some(Ok(message)) = socket.next().await {
            let Some(value) = json(&message) else {
                continue;
            };
            if value["topic"] == "system" && value.get("success").is_some() {
                return Some(value);
            }
        }
        None
    })
    .await;
    match greeted {
        Ok(Some(greeting)) => Ok((socket, greeting)),
        _ => Err(StreamError::NoGreeting {
            url: shown.to_owned(),
            timeout,
        }),
    }
}

/// The key a frame subscribes or unsubscribes with: the topic and its argument before the JSON
/// and any `@EXCHANGE` (`smd+265598@SMART+{...}` → `smd+265598`, `sor+{}` → `sor`), so
/// `umd+265598+{}` ends `smd+265598`.
pub fn topic_key(frame: &str) -> &str {
    let end = frame.find("+{").unwrap_or(frame.len());
    let key = &frame[..end];
    key[..key.find('@').unwrap_or(key.len())].trim()
}

/// A text or binary frame's JSON; `None` for control frames and for text that is not JSON.
fn json(message: &Message) -> Option<Value> {
    let bytes: &[u8] = match message {
        Message::Text(text) => text.as_bytes(),
        Message::Binary(bytes) => bytes,
        _ => return None,
    };
    serde_json::from_slice(bytes).ok()
}

/// The `api` cookie: the `session` of a `POST /tickle` made now.
async fn session_cookie(client: &Client) -> Result<String, StreamError> {
    let tickle = client
        .tickle()
        .await
        .map_err(|e| StreamError::Session(format!("POST /tickle for the session cookie failed: {e}")))?;
    let session = tickle["session"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
        StreamError::Session(format!(
            "POST /tickle answered without a `session` ({}); get a live session token and open the brokerage session first",
            super::redact_body(tickle.to_string().as_bytes())
        ))
    })?;
    Ok(format!("api={session}"))
}

/// What a client frame does to a subscription, and to which topic, named without its `s`/`u`
/// as both halves name it: `smd+265598+{...}` is `(true, "md+265598")`, `umd+265598+{}`
/// `(false, "md+265598")`, `sor+{}` `(true, "or")`. `None` for other frames (`tic`).
pub fn subscription_change(frame: &str) -> Option<(bool, &str)> {
    match topic_key(frame).split_at_checked(1)? {
        ("s", topic) => Some((true, topic)),
        ("u", topic) => Some((false, topic)),
        _ => None,
    }
}

/// Frames that keep the socket, not data: the greeting and heartbeats (`system`), status
/// (`sts`), accounts (`act`) and `tic` answers.
pub fn is_housekeeping(frame: &Value) -> bool {
    matches!(frame["topic"].as_str(), Some("system" | "sts" | "act" | "tic"))
}

/// Masks who is logged in and the session in a server frame: the greeting's `success` (the
/// login name), `sts`'s `username` and a `tic` answer's `id` (the session cookie's value).
pub fn mask_identity(frame: &mut Value) {
    const MASKED: &str = "[redacted]";
    let topic = frame["topic"].as_str().unwrap_or_default().to_owned();
    let place = match topic.as_str() {
        "system" => frame.get_mut("success"),
        "tic" => frame.get_mut("id"),
        "sts" => frame.get_mut("args").and_then(|args| args.get_mut("username")),
        _ => None,
    };
    if let Some(value) = place {
        *value = Value::String(MASKED.into());
    }
}

/// `frame` (a subscription) with the `fields` of `earlier` for the same topic added before its
/// own, as IBKR adds them; `frame` itself when either has no fields.
fn with_fields_of(earlier: &str, frame: &str) -> String {
    let arguments = |f: &str| {
        let at = f.find("+{")?;
        let value: Value = serde_json::from_str(&f[at + 1..]).ok()?;
        Some((at, value))
    };
    let (Some((_, earlier_args)), Some((at, mut args))) = (arguments(earlier), arguments(frame)) else {
        return frame.to_owned();
    };
    let (Some(earlier_fields), Some(fields)) = (earlier_args["fields"].as_array(), args["fields"].as_array()) else {
        return frame.to_owned();
    };
    let mut merged = earlier_fields.clone();
    merged.extend(fields.iter().filter(|f| !earlier_fields.contains(f)).cloned());
    args["fields"] = Value::Array(merged);
    format!("{}+{args}", &frame[..at])
}

/// What a lost socket looked like from here: the close code and reason, or a drop.
fn closed_how(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.reason.is_empty() => {
            format!(
                "was closed by the server with code {} and no reason",
                u16::from(frame.code)
            )
        }
        Some(frame) => format!(
            "was closed by the server with code {} ({})",
            u16::from(frame.code),
            frame.reason
        ),
        None => "was closed by the server without a code".to_owned(),
    }
}

/// What to do about a socket that keeps being lost.
fn hint_for_loss(how: &str) -> &'static str {
    if how.contains("code 1000") {
        "IBKR closes with 1000 and no reason without saying why: check that the brokerage session is open (ssodh/init, then /iserver/auth/status authenticated) and that /tickle runs (run `ibkr-probe explain` on the text)"
    } else {
        "the connection broke: check the network, and that the session is still alive (POST /tickle)"
    }
}

/// What to do about a refused upgrade.
fn hint_for_refusal(status: u16) -> &'static str {
    match status {
        401 => {
            "the socket needs the access token as oauth_token and a current /tickle session as the api cookie: get a live session token first"
        }
        403 => "IBKR refuses an upgrade without the User-Agent ClientPortalGW/1",
        404 => "the base URL must end in /v1/api (the socket is at /v1/api/ws)",
        _ => "check the base URL",
    }
}

/// A client frame for traces: the topic key and the size of its arguments.
fn shown_frame(frame: &str) -> String {
    let key = topic_key(frame);
    match frame.len() - key.len() {
        0 => key.to_owned(),
        n => format!("{key} (+{n} bytes of arguments)"),
    }
}

fn short_error(error: &tungstenite::Error) -> String {
    let text = error.to_string();
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_keys_pair_subscriptions_with_their_unsubscriptions() {
        assert_eq!(topic_key(r#"smd+265598+{"fields":["31"]}"#), "smd+265598");
        assert_eq!(topic_key("umd+265598+{}"), "umd+265598");
        assert_eq!(topic_key("sor+{}"), "sor");
        assert_eq!(topic_key("uor+{}"), "uor");
        assert_eq!(topic_key("tic"), "tic");
        assert_eq!(topic_key("umh+123456"), "umh+123456");
        assert_eq!(topic_key(r#"smd+265598@SMART+{"fields":["31"]}"#), "smd+265598");
        assert_eq!(subscription_change("smd+265598@SMART+{}"), Some((true, "md+265598")));
        assert_eq!(subscription_change("umd+265598+{}"), Some((false, "md+265598")));
        assert_eq!(subscription_change("tic"), None);
    }

    #[test]
    fn a_second_smd_for_a_conid_keeps_the_fields_of_the_first() {
        assert_eq!(
            with_fields_of(r#"smd+1+{"fields":["31","84"]}"#, r#"smd+1+{"fields":["84","86"]}"#),
            r#"smd+1+{"fields":["31","84","86"]}"#
        );
        assert_eq!(with_fields_of("sor+{}", "sor+{}"), "sor+{}");
    }

    #[test]
    fn identity_is_masked_in_greeting_status_and_tic() {
        let mut greeting = serde_json::json!({"topic": "system", "success": "jdoe", "isPaper": true});
        let mut status = serde_json::json!({"topic": "sts", "args": {"username": "jdoe", "authenticated": true}});
        let mut tic = serde_json::json!({"topic": "tic", "id": "0123abcd", "alive": true});
        for frame in [&mut greeting, &mut status, &mut tic] {
            mask_identity(frame);
            assert!(
                !frame.to_string().contains("jdoe") && !frame.to_string().contains("0123abcd"),
                "{frame}"
            );
        }
        assert_eq!(status["args"]["authenticated"], true);
    }

    #[test]
    fn close_frames_are_described_with_code_and_reason() {
        let frame = CloseFrame {
            code: 1000.into(),
            reason: "".into(),
        };
        assert_eq!(
            closed_how(Some(&frame)),
            "was closed by the server with code 1000 and no reason"
        );
        assert!(hint_for_loss(&closed_how(Some(&frame))).contains("brokerage session"));
        assert_eq!(closed_how(None), "was closed by the server without a code");
    }
}
