//! IBKR's websocket as an OAuth client opens it: `wss://…/v1/api/ws?oauth_token=<access token>`
//! with the `/tickle` answer's `session` as the `api` cookie and IBKR's gateway user agent, then
//! the greeting (`system` with `success`) before any subscription, since IBKR drops what comes
//! earlier. Subscriptions are kept and sent again on a new socket, because IBKR forgets them on
//! reconnect; a socket that drops or closes is opened again a bounded number of times. `tic` goes
//! out every 30 s. Sources: tests/data/ibkr-recorded/ws/README.md.
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

/// IBKR asks for a `tic` at least once a minute; other clients send one every 30 s.
const TIC_EVERY: Duration = Duration::from_secs(30);

/// Waits before opening a lost socket again: the first, doubled each time.
const FIRST_RECONNECT_WAIT: Duration = Duration::from_millis(100);

/// How the stream behaves.
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// How many times a socket that dropped or closed is opened again (and its subscriptions
    /// sent again) before the stream gives up.
    pub reconnects: u32,
    /// The longest wait for the handshake and the greeting.
    pub open_timeout: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            reconnects: 3,
            open_timeout: Duration::from_secs(10),
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
    #[error("websocket to {url} {how}; gave up after {reconnects} reconnect(s); {hint}")]
    Lost {
        url: String,
        how: String,
        reconnects: u32,
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
    reconnects: u32,
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
        let base = &client.options().base_url;
        let shown = format!(
            "{}/ws",
            base.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1)
        );
        let mut url = String::with_capacity(shown.len() + 64);
        url.push_str(&shown);
        url.push_str("?oauth_token=");
        url.push_str(&client.credentials().access_token);
        let cookie = format!("api={session}");
        let (socket, greeting) = connect(&url, &shown, &cookie, options.open_timeout).await?;
        let verbosity = client.options().verbosity;
        if verbosity > 0 {
            eprintln!("ws {shown}: open");
        }
        let stream = Self {
            url,
            shown,
            cookie,
            socket,
            subscriptions: Vec::new(),
            reconnects: 0,
            options,
            last_sent: Instant::now(),
            verbosity,
            observer,
        };
        stream.message(&greeting);
        Ok(stream)
    }

    /// Sends one frame; a subscription (`s…`) is remembered for reconnects, an unsubscription
    /// (`u…`) forgets it.
    pub async fn send(&mut self, frame: &str) -> Result<(), StreamError> {
        let key = topic_key(frame);
        match key.split_at_checked(1) {
            // History bars answer once and are ended by their serverId, not their conid: they
            // are not sent again on a new socket.
            Some(("s", rest)) if !rest.starts_with("mh") => {
                self.subscriptions.retain(|(k, _)| k != rest);
                self.subscriptions.push((rest.to_owned(), frame.to_owned()));
            }
            Some(("u", rest)) => self.subscriptions.retain(|(k, _)| k != rest),
            _ => {}
        }
        self.write(frame).await
    }

    /// The next event within `wait`: `None` when nothing came. A lost socket is opened again and
    /// resubscribed while reconnects remain; `tic` goes out when due.
    pub async fn next(&mut self, wait: Duration) -> Result<Option<Event>, StreamError> {
        let deadline = Instant::now() + wait;
        loop {
            let tic_due = self.last_sent + TIC_EVERY;
            let wake = deadline.min(tic_due);
            let received = tokio::time::timeout_at(wake, self.socket.next()).await;
            let lost = match received {
                Err(_) if Instant::now() >= deadline => return Ok(None),
                Err(_) => {
                    self.write("tic").await?;
                    continue;
                }
                Ok(Some(Ok(Message::Text(text)))) => match self.message(text.as_bytes()) {
                    Some(value) => return Ok(Some(Event::Message(value))),
                    None => continue,
                },
                Ok(Some(Ok(Message::Binary(bytes)))) => match self.message(&bytes) {
                    Some(value) => return Ok(Some(Event::Message(value))),
                    None => continue,
                },
                Ok(Some(Ok(Message::Close(frame)))) => closed_how(frame.as_ref()),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => format!("dropped ({})", short_error(&e)),
                Ok(None) => "ended without a close frame".to_owned(),
            };
            self.reconnect(&lost).await?;
            return Ok(Some(Event::Reconnected(lost)));
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

    async fn write(&mut self, frame: &str) -> Result<(), StreamError> {
        if self.verbosity > 0 {
            eprintln!("ws {} <- {}", self.shown, shown_frame(frame));
        }
        if let Some(observer) = &self.observer {
            observer.frame(Frame::Sent(frame));
        }
        self.last_sent = Instant::now();
        if let Err(e) = self.socket.send(Message::text(frame)).await {
            let lost = format!("dropped while sending ({})", short_error(&e));
            self.reconnect(&lost).await?;
            // Frames sent again on the new socket include this one if it subscribes.
            if !self.subscriptions.iter().any(|(_, f)| f == frame) {
                self.socket
                    .send(Message::text(frame))
                    .await
                    .map_err(|e| self.network(short_error(&e)))?;
            }
        }
        Ok(())
    }

    /// A server frame as JSON, shown and observed; `None` for frames that are not JSON.
    fn message(&self, bytes: &[u8]) -> Option<Value> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        if self.verbosity > 0 {
            eprintln!("ws {} -> {}", self.shown, super::redact_body(bytes));
        }
        if let Some(observer) = &self.observer {
            observer.frame(Frame::Received(&value));
        }
        Some(value)
    }

    /// Opens the socket again and sends the subscriptions again, or says the stream is lost.
    async fn reconnect(&mut self, how: &str) -> Result<(), StreamError> {
        if self.verbosity > 0 {
            eprintln!("ws {}: {how}", self.shown);
        }
        let lost = |reconnects| StreamError::Lost {
            url: self.shown.clone(),
            how: how.to_owned(),
            reconnects,
            hint: hint_for_loss(how),
        };
        if self.reconnects >= self.options.reconnects {
            return Err(lost(self.reconnects));
        }
        tokio::time::sleep(FIRST_RECONNECT_WAIT * 2u32.pow(self.reconnects.min(6))).await;
        self.reconnects += 1;
        self.socket = match connect(&self.url, &self.shown, &self.cookie, self.options.open_timeout).await {
            Ok((socket, greeting)) => {
                self.message(&greeting);
                socket
            }
            Err(StreamError::Refused { .. } | StreamError::NoGreeting { .. }) => return Err(lost(self.reconnects)),
            Err(other) => return Err(other),
        };
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
async fn connect(url: &str, shown: &str, cookie: &str, timeout: Duration) -> Result<(Socket, Vec<u8>), StreamError> {
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
            let bytes = match &message {
                Message::Text(text) => text.as_bytes(),
                Message::Binary(bytes) => bytes,
                _ => continue,
            };
            let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            if value["topic"] == "system" && value.get("success").is_some() {
                return Some(bytes.to_vec());
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
/// (`smd+265598+{...}` → `smd+265598`, `sor+{}` → `sor`), so `umd+265598+{}` ends `smd+265598`.
pub fn topic_key(frame: &str) -> &str {
    let end = frame.find("+{").unwrap_or(frame.len());
    frame[..end].trim()
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
