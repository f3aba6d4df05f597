//! Stream steps: IBKR's websocket opened for a scenario, frames sent, frames waited for and
//! silence kept. The socket lives from its `stream_open` step to the scenario's end; a socket
//! that cannot be kept open ends the step as a runtime failure (exit 3), as a network error does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use super::assert::{as_text, show};
use super::load::{CheckSpec, CompiledSnapshot, StreamAction};
use super::outcome::StepStatus;
use super::path::JsonPath;
use super::template;
use crate::client::Client;
use crate::client::stream::{Event, Stream, StreamObserver, StreamOptions};

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
            StreamAction::Open { .. } => StepStatus::Passed,
            StreamAction::Send(frame) => match template::render(frame, self.vars, now) {
                Ok(frame) => match stream.send(&frame).await {
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
                let (status, frame) = wanted.wait(stream, *within).await;
                if let Some(frame) = frame {
                    for (name, path) in self.captures {
                        match path.select(&frame) {
                            Some(value) => {
                                self.vars.insert(name.clone(), as_text(&value));
                            }
                            None => {
                                let why = format!("capture `{name}`: {path} selected nothing in {}", show(&frame));
                                return StepStatus::Failed(why);
                            }
                        }
                    }
                }
                status
            }
            StreamAction::Silence { topic, duration } => {
                let topic = match topic.as_ref().map(|t| template::render(t, self.vars, now)).transpose() {
                    Ok(topic) => topic,
                    Err(e) => return StepStatus::Failed(e),
                };
                silence(stream, topic.as_deref(), *duration).await
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
    async fn wait(&self, stream: &mut Stream, within: Duration) -> (StepStatus, Option<Value>) {
        let deadline = Instant::now() + within;
        let (mut read, mut on_topic) = (0u32, 0u32);
        let mut unmet: Option<String> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = match stream.next(left).await {
                Err(e) => return (StepStatus::Error(format!("waiting for {}: {e}", self.topic)), None),
                Ok(None) => break,
                Ok(Some(Event::Reconnected(_))) => continue,
                Ok(Some(Event::Message(frame))) => frame,
            };
            read += 1;
            if let Some(lost) = session_lost(&frame, self.topic) {
                return (StepStatus::Error(lost), None);
            }
            if frame["topic"] != self.topic {
                continue;
            }
            on_topic += 1;
            match self.verdict(&frame) {
                Verdict::Passes => return (StepStatus::Passed, Some(frame)),
                Verdict::NotYet(why) => unmet = Some(why),
                Verdict::Wrong(why) => return (StepStatus::Failed(why), None),
            }
        }
        let last = unmet.map_or(String::new(), |why| format!("; the last one on it: {why}"));
        let why = format!(
            "no {} frame passing the checks within {}: {read} frame(s) came, {on_topic} on {}{last}",
            self.topic,
            humantime::format_duration(within),
            self.topic
        );
        (StepStatus::Failed(why), None)
    }

    /// A frame on the topic: it passes; lacks a value yet (IBKR's updates carry changed fields
    /// only); or has the values and they are wrong.
    fn verdict(&self, frame: &Value) -> Verdict {
        if let Some(fields) = self.fields {
            let problems = crate::fields::check::check_snapshot(frame, &fields.meanings, &fields.mapping);
            let (missing, wrong): (Vec<String>, Vec<String>) =
                problems.into_iter().partition(|p| p.ends_with("is missing"));
            if !wrong.is_empty() {
                return Verdict::Wrong(format!("{}: {}", self.topic, wrong.join("; ")));
            }
            if !missing.is_empty() {
                return Verdict::NotYet(missing.join("; "));
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

/// Waits `duration`; a data frame (on `topic`, if given) fails the step.
async fn silence(stream: &mut Stream, topic: Option<&str>, duration: Duration) -> StepStatus {
    let started = Instant::now();
    let deadline = started + duration;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stream.next(left).await {
            Err(e) => return StepStatus::Error(e.to_string()),
            Ok(None) => return StepStatus::Passed,
            Ok(Some(Event::Reconnected(_))) => {}
            Ok(Some(Event::Message(frame))) => {
                let on_topic = topic.is_none_or(|t| frame["topic"] == t);
                if on_topic && is_data(&frame) {
                    let text: String = frame.to_string().chars().take(200).collect();
                    let why = format!(
                        "expected no {} frame for {}, one came after {:.1} s: {text}",
                        topic.unwrap_or("data"),
                        humantime::format_duration(duration),
                        started.elapsed().as_secs_f64()
                    );
                    return StepStatus::Failed(why);
                }
            }
        }
    }
}

/// Whether a frame carries data rather than the socket's housekeeping (heartbeats, status,
/// accounts, `tic` answers).
fn is_data(frame: &Value) -> bool {
    !matches!(frame["topic"].as_str(), Some("system" | "sts" | "act" | "tic"))
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
    fn heartbeats_and_status_are_not_data_but_topics_are() {
        assert!(!is_data(&json!({"topic": "system", "hb": 1})));
        assert!(!is_data(&json!({"topic": "sts", "args": {}})));
        assert!(is_data(&json!({"topic": "smd+265598", "31": "1.0"})));
        assert!(is_data(&json!({"message": "Unsubscribed 123"})));
    }

    #[test]
    fn a_status_without_authentication_is_a_lost_session() {
        let lost = json!({"topic": "sts", "args": {"authenticated": false}});
        assert!(session_lost(&lost, "smd+1").unwrap().contains("ssodh/init"));
        assert!(session_lost(&json!({"topic": "sts", "args": {"competing": false}}), "smd+1").is_none());
    }
}
