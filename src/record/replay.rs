//! Cassettes as the mock's data source (`mock --replay DIR`): answers come from the recording,
//! in recorded order per request, while the mock still checks every signature, the session
//! rules and the snapshot warm-up. An unrecorded request gets a 404 naming it. The websocket's
//! data frames come from the recording too, by topic and in recorded order.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use super::{Cassette, CassetteError, Interaction};

/// A request's identity for lookups: method, path and sorted query pairs.
type Key = (String, String, Vec<(String, String)>);

fn key(method: &str, path: &str, query: &[(String, String)]) -> Key {
    let mut query = query.to_vec();
    query.sort();
    (method.to_ascii_uppercase(), path.to_owned(), query)
}

/// Recorded answers, with a cursor per request so repeated requests replay in order.
#[derive(Debug, Default)]
pub struct ReplaySource {
    answers: HashMap<Key, Vec<Interaction>>,
    cursors: Mutex<HashMap<Key, usize>>,
    /// Received websocket frames by their topic (`smd+265598`, `sor`), in recorded order.
    frames: HashMap<String, Vec<Value>>,
}

impl ReplaySource {
    /// Loads every cassette in `dir`.
    pub fn load(dir: &Path) -> Result<Self, CassetteError> {
        let mut source = Self::default();
        for (_, cassette) in Cassette::read_dir(dir)? {
            source.add(cassette);
        }
        Ok(source)
    }

    pub fn add(&mut self, cassette: Cassette) {
        for interaction in cassette.interactions {
            let k = key(&interaction.method, &interaction.path, &interaction.query);
            self.answers.entry(k).or_default().push(interaction);
        }
        for frame in cassette.stream {
            if let (Some(topic), "received") = (frame.topic, frame.direction.as_str()) {
                self.frames.entry(topic).or_default().push(frame.message);
            }
        }
    }

    /// The frames recorded on a websocket topic, in order (none: the topic was not recorded).
    pub fn frames(&self, topic: &str) -> &[Value] {
        self.frames.get(topic).map_or(&[], Vec::as_slice)
    }

    /// The recorded request this one stands for: the same request, or one its step asked for
    /// in the same words whose templated query values (`month={{month}}`) came out otherwise,
    /// so a baseline recorded last month still answers this month's month code.
    fn resolve(&self, method: &str, path: &str, query: &[(String, String)]) -> Option<Key> {
        let wanted = key(method, path, query);
        if self.answers.contains_key(&wanted) {
            return Some(wanted);
        }
        self.answers
            .iter()
            .find(|((m, p, recorded), answers)| {
                let Some(asked) = answers.first().and_then(|i| i.asked.as_deref()) else {
                    return false;
                };
                let templated = |name: &str| {
                    asked
                        .split_once('?')
                        .map(|(_, q)| {
                            q.split('&')
                                .any(|pair| pair.starts_with(&format!("{name}=")) && pair.contains("{{"))
                        })
                        .unwrap_or(false)
                };
                *m == wanted.0
                    && *p == wanted.1
                    && recorded.len() == wanted.2.len()
                    && recorded
                        .iter()
                        .zip(&wanted.2)
                        .all(|((rn, rv), (wn, wv))| rn == wn && (rv == wv || templated(rn)))
            })
            .map(|(k, _)| k.clone())
    }

    /// The next recorded answer for this request (the last one again once they run out).
    pub fn answer(&self, method: &str, path: &str, query: &[(String, String)]) -> Option<(u16, Value)> {
        let k = self.resolve(method, path, query)?;
        let answers = self.answers.get(&k)?;
        let mut cursors = self.cursors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cursor = cursors.entry(k).or_insert(0);
        let interaction = answers.get(*cursor).or_else(|| answers.last())?;
        *cursor += 1;
        Some((interaction.status, interaction.body.clone()))
    }

    /// For a snapshot: the recorded answer that carries the most field values, so the mock's own
    /// warm-up rule decides when values appear.
    pub fn richest(&self, method: &str, path: &str, query: &[(String, String)]) -> Option<(u16, Value)> {
        let answers = self.answers.get(&self.resolve(method, path, query)?)?;
        let size = |v: &Value| {
            v.as_array().map_or(0, |items| {
                items
                    .iter()
                    .map(|i| i.as_object().map_or(0, |o| o.len()))
                    .sum::<usize>()
            })
        };
        answers
            .iter()
            .max_by_key(|i| size(&i.body))
            .map(|i| (i.status, i.body.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interaction(path: &str, query: &[(&str, &str)], body: Value) -> Interaction {
        Interaction {
            asked: None,
            method: "GET".into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            status: 200,
            headers: Default::default(),
            body,
        }
    }

    #[test]
    fn answers_in_order_then_repeat_the_last() {
        let mut source = ReplaySource::default();
        source.add(Cassette {
            format: 1,
            scenario: "s".into(),
            interactions: vec![
                interaction("/a", &[("x", "1"), ("y", "2")], json!(1)),
                interaction("/a", &[("y", "2"), ("x", "1")], json!(2)),
            ],
            stream: Vec::new(),
        });
        let q = vec![("y".to_owned(), "2".to_owned()), ("x".to_owned(), "1".to_owned())];
        assert_eq!(source.answer("get", "/a", &q).unwrap().1, json!(1));
        assert_eq!(source.answer("GET", "/a", &q).unwrap().1, json!(2));
        assert_eq!(source.answer("GET", "/a", &q).unwrap().1, json!(2));
        assert!(source.answer("GET", "/b", &q).is_none());
    }

    #[test]
    fn received_frames_are_kept_by_topic_in_order() {
        use crate::record::StreamFrame;
        let frame = |direction: &str, topic: &str, message: Value| StreamFrame {
            direction: direction.into(),
            topic: Some(topic.into()),
            message,
        };
        let mut source = ReplaySource::default();
        source.add(Cassette {
            format: 1,
            scenario: "s".into(),
            interactions: Vec::new(),
            stream: vec![
                frame("sent", "smd+1", json!("smd+1+{}")),
                frame("received", "smd+1", json!({"31": "1"})),
                frame("received", "spl", json!({"args": {}})),
                frame("received", "smd+1", json!({"31": "2"})),
            ],
        });
        assert_eq!(source.frames("smd+1"), [json!({"31": "1"}), json!({"31": "2"})]);
        assert_eq!(source.frames("spl").len(), 1);
        assert!(source.frames("sor").is_empty());
    }
}
