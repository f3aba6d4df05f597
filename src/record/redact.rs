//! Removing secrets and identities from a cassette before it touches disk, so cassettes can be
//! committed to a public repository: account ids become stable placeholders (`DU0000001`, the
//! same one for the same account throughout), and tokens, signatures and DH values are replaced.

use std::collections::HashMap;

use serde_json::Value;

use super::{Interaction, StreamFrame};

/// Keys whose values are secret or session-identifying, replaced wherever they occur.
const SECRET_KEYS: &[&str] = &[
    "live_session_token_signature",
    "diffie_hellman_response",
    "diffie_hellman_challenge",
    "oauth_signature",
    "oauth_token",
    "session",
    "sessionId",
    "hardware_info",
    "MAC",
    "userId",
    // The login name, in the websocket's `sts` frame.
    "username",
];

/// Redacts interactions in place. `extra` are literal strings to remove wherever they appear
/// (the access token, the consumer key).
pub struct Redactor {
    accounts: HashMap<String, String>,
    extra: Vec<String>,
}

impl Redactor {
    pub fn new(extra: Vec<String>) -> Self {
        Self {
            accounts: HashMap::new(),
            extra: extra.into_iter().filter(|e| e.len() >= 6).collect(),
        }
    }

    /// The placeholder for an account id, stable within this redactor.
    fn account(&mut self, id: &str) -> String {
        let next = self.accounts.len() + 1;
        self.accounts
            .entry(id.to_owned())
            .or_insert_with(|| format!("DU{next:07}"))
            .clone()
    }

    fn text(&mut self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.extra {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        // Account ids: U or DU followed by digits, as whole words.
        let words: Vec<String> = out
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| is_account_id(w))
            .map(str::to_owned)
            .collect();
        for word in words {
            let placeholder = self.account(&word);
            out = replace_word(&out, &word, &placeholder);
        }
        out
    }

    fn value(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                // Keys can be account ids too (acctProps, aliases).
                let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                for (key, mut inner) in entries {
                    if SECRET_KEYS.contains(&key.as_str()) {
                        inner = match inner {
                            Value::Number(_) => Value::from(0),
                            Value::Bool(b) => Value::Bool(b),
                            _ => Value::String("[redacted]".into()),
                        };
                    } else {
                        self.value(&mut inner);
                    }
                    map.insert(self.text(&key), inner);
                }
            }
            _ => {}
        }
    }

    /// Redacts one interaction: path, query and body.
    pub fn interaction(&mut self, interaction: &mut Interaction) {
        interaction.path = self.text(&interaction.path);
        for (name, value) in &mut interaction.query {
            *value = if SECRET_KEYS.contains(&name.as_str()) {
                "[redacted]".into()
            } else {
                self.text(value)
            };
        }
        self.value(&mut interaction.body);
    }

    /// Redacts one websocket frame: the login name and session the client masks in its traces
    /// too, then the keys redacted everywhere.
    pub fn frame(&mut self, frame: &mut StreamFrame) {
        crate::client::stream::mask_identity(&mut frame.message);
        self.value(&mut frame.message);
        if let Some(topic) = &frame.topic {
            frame.topic = Some(self.text(topic));
        }
    }
}

fn is_account_id(word: &str) -> bool {
    let digits = word.strip_prefix("DU").or_else(|| word.strip_prefix('U'));
    digits.is_some_and(|d| d.len() >= 5 && d.chars().all(|c| c.is_ascii_digit()))
}

/// Replaces `word` where it stands as a whole word.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find(word) {
        let before_ok = rest[..position]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let after = &rest[position + word.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !c.is_ascii_alphanumeric());
        out.push_str(&rest[..position]);
        out.push_str(if before_ok && after_ok { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accounts_become_stable_placeholders_and_secrets_go() {
        let mut redactor = Redactor::new(vec!["6f531f8fd316915af53f".into()]);
        let mut accounts = Interaction {
            asked: None,
            method: "GET".into(),
            path: "/iserver/account/U7654321/summary".into(),
            query: vec![("acct".into(), "U7654321".into())],
            status: 200,
            headers: Default::default(),
            body: json!({"accounts": ["U7654321", "DU1111111"], "acctProps": {"U7654321": {"x": 1}}, "selectedAccount": "U7654321",
                         "sessionId": "6657fe5d.0000000a", "userId": 107838735, "note": "token 6f531f8fd316915af53f", "conid": 653400472}),
        };
        redactor.interaction(&mut accounts);
        let body = &accounts.body;
        assert_eq!(accounts.path, "/iserver/account/DU0000001/summary");
        assert_eq!(accounts.query[0].1, "DU0000001");
        assert_eq!(body["accounts"], json!(["DU0000001", "DU0000002"]));
        assert!(body["acctProps"]["DU0000001"].is_object());
        assert_eq!(body["selectedAccount"], "DU0000001");
        assert_eq!(body["sessionId"], "[redacted]");
        assert_eq!(body["userId"], 0);
        assert_eq!(body["note"], "token [redacted]");
        assert_eq!(body["conid"], 653400472, "contract ids are kept");
    }

    #[test]
    fn words_not_substrings() {
        assert_eq!(
            replace_word("U12345 XU12345 U123456", "U12345", "DU0000001"),
            "DU0000001 XU12345 U123456"
        );
        assert!(!is_account_id("USD"));
        assert!(is_account_id("DU1234567"));
    }
}
