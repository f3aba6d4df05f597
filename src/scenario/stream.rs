//! Stream steps: IBKR's websocket opened for a scenario, frames sent, frames waited for and
//! silence kept. The socket lives from its `stream_open` step to the scenario's end; a socket
//! that cannot be kept open ends the step as a runtime failure (exit 3), as a network error does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use super::load::{CheckSpec, CompiledSnapshot, StreamAction};
use super::outcome::StepStatus;
use super::path::JsonPath;
use super::template;
use crate::client::Client;
use crate::client::stream::{Event, Stream, StreamObserver, StreamOptions, is_housekeeping};

/// Before an `expect_silence` window: how long to wait for the answer to a `tic`, which says the
/// server has read every frame sent before it (an unsubscription too).
const FENCE_WAIT: Duration = Duration::from_secs(1);

/// What one stream step needs from its scenario.
pub(super) struct StreamStep<'a> {
    pub client: &'a Client,
    pub stream: &'a mut Option<Stream>,
    pub observer: Option<Arc<dyn StreamObserver>>,
    pub captures: &'a [(String, JsonPath)],
    pub vars: &'a mut HashMap<String, String>,
}

impl StreamStep<'_> {
    /// Runs the action.
    pub async fn run(self, action: &StreamAction) -> StepStatus {
        let now = self.client.options().clock.now();
        if let StreamAction::Open { reconnects } = action {
            if let Some(old) = self.stream.take() {
                old.close().await;
            }
            let options = StreamOptions {
                reconnects: *reconnects,
                ..StreamOptions::default()
            };
            return match Stream::open(self.client, options, self.observer).await {
                Ok(stream) => {
                    *self.stream = Some(stream);
                    StepStatus::Passed
                }
                Err(e) => StepStatus::Error(e.to_string()),
            };
        }
        let Some(stream) = self.stream.as_mut() else {
            return StepStatus::Error("the stream is not open (a `stream_open` step failed or was skipped)".into());
        };
        match action {
            StreamAction::Open { .. } => unreachable!("opened above"),
            StreamAction::Send(frame) => match template::render(frame, self.vars, now) {
                Ok(frame) => match stream.send(self.client, &frame).await {
                    Ok(()) => StepStatus::Passed,
                    Err(e) => StepStatus::Error(e.to_string()),
                },
                Err(e) => StepStatus::Failed(e),
            },
            StreamAction::Expect {
                topic,
                within,
                json,
                fields,
            } => {
                let topic = match template::render(topic, self.vars, now) {
                    Ok(topic) => topic,
                    Err(e) => return StepStatus::Failed(e),
                };
                let wanted = Wanted {
                    topic: &topic,
                    json,
                    fields: fields.as_ref(),
                    vars: self.vars,
                    now,
                };
                let (status, frame) = wanted.wait(self.client, stream, *within).await;
                if let Some(frame) = frame
                    && let Err(why) = super::load::capture(self.captures, &frame, self.vars)
                {
                    return StepStatus::Failed(why);
                }
                status
            }
            StreamAction::Silence { topic, duration } => {
                let topic = match topic.as_ref().map(|t| template::render(t, self.vars, now)).transpose() {
                    Ok(topic) => topic,
                    Err(e) => return StepStatus::Failed(e),
                };
                silence(self.client, stream, topic.as_deref(), *duration).await
            }
        }
    }
}

/// The frame an `expect_message` step waits for.
struct Wanted<'a> {
    topic: &'a str,
    json: &'a [CheckSpec],
    fields: Option<&'a CompiledSnapshot>,
    vars: &'a HashMap<String, String>,
    now: SystemTime,
}

impl Wanted<'_> {
    /// Reads frames until one passes or the time is up: the status, and the frame that passed.
    /// Data frames on other topics are kept for the steps after.
    async fn wait(&self, client: &Client, stream: &mut Stream, within: Duration) -> (StepStatus, Option<Value>) {
        let deadline = Instant::now() + within;
        let (mut read, mut on_topic) = (0u32, 0u32);
        let mut unmet: Option<String> = None;
        let mut others = Vec::new();
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            let frame = match stream.next(client, left).await {
                Err(e) => break Some((StepStatus::Error(format!("waiting for {}: {e}", self.topic)), None)),
                Ok(None) => break None,
                Ok(Some(Event::Reconnected(_))) => continue,
                Ok(Some(Event::Message(frame))) => frame,
            };
            read += 1;
            if let Some(lost) = session_lost(&frame, self.topic) {
                break Some((StepStatus::Error(lost), None));
            }
            if frame["topic"] != self.topic {
                if !is_housekeeping(&frame) {
                    others.push(frame);
                }
                continue;
            }
            on_topic += 1;
            match self.verdict(&frame) {
                Verdict::Passes => break Some((StepStatus::Passed, Some(frame))),
                Verdict::NotYet(why) => unmet = Some(why),
                Verdict::Wrong(why) => break Some((StepStatus::Failed(why), None)),
            }
        };
        stream.keep(others);
        outcome.unwrap_or_else(|| {
            let last = unmet.map_or(String::new(), |why| format!("; the last one on it: {why}"));
            let why = format!(
                "no {} frame passing the checks within {}: {read} frame(s) came, {on_topic} on {}{last}",
                self.topic,
                humantime::format_duration(within),
                self.topic
            );
            (StepStatus::Failed(why), None)
        })
    }

    /// A frame on the topic: it passes; lacks a value yet (IBKR's updates carry changed fields
    /// only); or has the values and they are wrong.
    fn verdict(&self, frame: &Value) -> Verdict {
        if let Some(fields) = self.fields {
            let problems = crate::fields::check::check_snapshot(frame, &fields.meanings, &fields.mapping);
            if !problems.wrong.is_empty() {
                return Verdict::Wrong(format!("{}: {}", self.topic, problems.wrong.join("; ")));
            }
            if !problems.missing.is_empty() {
                return Verdict::NotYet(problems.missing.join("; "));
            }
        }
        for check in self.json {
            let actual = check.path.as_ref().and_then(|p| p.select(frame));
            if let Err(why) = check.evaluate(actual.as_ref(), self.vars, self.now) {
                return Verdict::NotYet(format!("{}: {why}", check.target));
            }
        }
        Verdict::Passes
    }
}

enum Verdict {
    Passes,
    NotYet(String),
    Wrong(String),
}

/// Waits `duration`; a data frame (on `topic`, if given) fails the step. The window opens once
/// the server has answered a `tic` (or after [`FENCE_WAIT`]): frames it sent before reading an
/// unsubscription were on their way and do not count, nor do frames kept from earlier steps.
async fn silence(client: &Client, stream: &mut Stream, topic: Option<&str>, duration: Duration) -> StepStatus {
    let waiting_for = format!("{} silence", topic.unwrap_or("data"));
    let mut others = Vec::new();
    let status = 'status: {
        if let Err(e) = stream.send(client, "tic").await {
            break 'status StepStatus::Error(e.to_string());
        }
        let fence = Instant::now() + FENCE_WAIT;
        while let Some(left) = fence.checked_duration_since(Instant::now()).filter(|l| !l.is_zero()) {
            let frame = match stream.next(client, left).await {
                Err(e) => break 'status StepStatus::Error(e.to_string()),
                Ok(None) => break,
                // The tic went out on the lost socket: ask again on the new one.
                Ok(Some(Event::Reconnected(_))) => match stream.send(client, "tic").await {
                    Ok(()) => continue,
                    Err(e) => break 'status StepStatus::Error(e.to_string()),
                },
                Ok(Some(Event::Message(frame))) => frame,
            };
            if let Some(lost) = session_lost(&frame, &waiting_for) {
                break 'status StepStatus::Error(lost);
            }
            if frame["topic"] == "tic" {
                break;
            }
            // Frames on the silenced topic were on their way; the others are kept. (Without a
            // topic nothing is judged before the window: all are kept.)
            let in_flight = topic.is_some_and(|t| frame["topic"] == t);
            if !is_housekeeping(&frame) && !in_flight {
                others.push(frame);
            }
        }
        let started = Instant::now();
        let deadline = started + duration;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break 'status StepStatus::Passed;
            }
            let frame = match stream.next(client, left).await {
                Err(e) => break 'status StepStatus::Error(e.to_string()),
                Ok(None) => break 'status StepStatus::Passed,
                Ok(Some(Event::Reconnected(_))) => continue,
                Ok(Some(Event::Message(frame))) => frame,
            };
            if let Some(lost) = session_lost(&frame, &waiting_for) {
                break 'status StepStatus::Error(lost);
            }
            if is_housekeeping(&frame) {
                continue;
            }
            if topic.is_none_or(|t| frame["topic"] == t) {
                let text: String = frame.to_string().chars().take(200).collect();
                break 'status StepStatus::Failed(format!(
                    "expected no {} frame for {}, one came after {:.1} s: {text}",
                    topic.unwrap_or("data"),
                    humantime::format_duration(duration),
                    started.elapsed().as_secs_f64()
                ));
            }
            others.push(frame);
        }
    };
    stream.keep(others);
    status
}

/// IBKR's word that the brokerage session is gone (`sts` with `authenticated: false`): every
/// subscription is dead, and nothing on the socket repairs it.
fn session_lost(frame: &Value, waiting_for: &str) -> Option<String> {
    (frame["topic"] == "sts" && frame["args"]["authenticated"] == false).then(|| {
        format!(
            "the brokerage session was lost while waiting for {waiting_for} (sts: authenticated false); subscriptions are dead until the session is opened again over REST (ssodh/init) and they are sent again"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_without_authentication_is_a_lost_session() {
        let lost = json!({"topic": "sts", "args": {"authenticated": false}});
        assert!(session_lost(&lost, "smd+1").unwrap().contains("ssodh/init"));
        assert!(session_lost(&json!({"topic": "sts", "args": {"competing": false}}), "smd+1").is_none());
    }
}
