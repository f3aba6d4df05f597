//! Stream steps through the command line against the embedded mock: the bundled streaming
//! scenarios pass; a socket the mock drops or closes every time ends the run with exit 3 and
//! says how; one dropped once is opened again and resubscribed; checks that do not hold fail
//! with exit 4; stream steps in the wrong place are refused at load with exit 2.

use crate::common::{run_embedded, text};

/// Writes `steps` as a mock-only scenario with `mock_settings` and runs it; (exit code, output).
fn run_scenario(mock_settings: &str, steps: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let text_of = format!(
        "name: stream\ntargets: [mock]\n{mock_settings}use: [{setup}]\nsteps:\n{steps}",
        setup = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/setup/session.yaml")
    );
    std::fs::write(&path, text_of).unwrap();
    let out = run_embedded().arg("-v").arg(&path).output().unwrap();
    (out.status.code(), text(&out))
}

const QUOTE: &str = r#"  - name: open
    stream_open: {}
  - name: subscribe
    subscribe: {topic: market_data, conid: "265598", fields: [bid, ask]}
  - name: a quote
    expect_message: {topic: smd+265598, within: 5s, fields: [bid, ask]}
"#;

#[test]
fn the_bundled_streaming_scenarios_pass_on_the_embedded_mock() {
    let out = run_embedded()
        .args(["scenarios/streaming.yaml", "scenarios/streaming-orders.yaml"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("2 scenario(s) run") && shown.contains("0 failed"),
        "{shown}"
    );
}

#[test]
fn a_socket_dropped_every_time_ends_the_run_with_exit_3_and_says_how() {
    let (code, shown) = run_scenario("mock: {faults: [ws-drop]}\n", QUOTE);
    assert_eq!(code, Some(3), "{shown}");
    assert!(shown.contains("dropped"), "{shown}");
    assert!(shown.contains("gave up after 3 reconnect(s)"), "{shown}");
    // The first socket and three more, each cut after its connect burst (the client's traces).
    assert_eq!(shown.matches("/v1/api/ws: dropped").count(), 4, "{shown}");
    assert_eq!(shown.matches("(again)").count(), 3, "{shown}");
}

#[test]
fn a_socket_closed_with_1000_names_the_code_and_what_to_check() {
    let (code, shown) = run_scenario("mock: {faults: [ws-close]}\n", QUOTE);
    assert_eq!(code, Some(3), "{shown}");
    assert!(
        shown.contains("was closed by the server with code 1000 and no reason"),
        "{shown}"
    );
    assert!(shown.contains("brokerage session"), "{shown}");
}

#[test]
fn a_socket_dropped_once_is_opened_again_and_resubscribed() {
    // Every second socket is cut after its greeting: the scenario's second one. The
    // subscription sent on it is lost, and only the third socket's resubscription brings the
    // quote.
    let (code, shown) = run_scenario("mock: {faults: [\"ws-drop:0.5\"]}\n", &format!("{QUOTE}{QUOTE}"));
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown.matches("/v1/api/ws: open").count(), 2, "{shown}");
    assert_eq!(shown.matches("/v1/api/ws: dropped").count(), 1, "{shown}");
    assert!(
        shown.contains("<- smd+265598 (+23 bytes of arguments) (again)"),
        "{shown}"
    );
    // The quote after the drop came on the new socket, in answer to the resubscription.
    let after_drop = &shown[shown.find("(again)").unwrap()..];
    assert!(after_drop.contains("\"topic\":\"smd+265598\""), "{shown}");
}

#[test]
fn a_silent_socket_fails_the_wait_with_what_came() {
    let (code, shown) = run_scenario(
        "mock: {faults: [ws-silence]}\n",
        &QUOTE.replace("within: 5s", "within: 1s"),
    );
    assert_eq!(code, Some(4), "{shown}");
    assert!(
        shown.contains("no smd+265598 frame passing the checks within 1s: 2 frame(s) came, 0 on smd+265598"),
        "{shown}"
    );
}

/// Unsubscribing and then expecting silence holds every time: the window opens once the server
/// has read the unsubscription (a `tic` answered), so quotes already read and kept, or on their
/// way, do not count. A sleep first lets quotes pile up unread on the socket.
#[test]
fn silence_after_an_unsubscription_holds_every_time() {
    let round = r#"  - name: subscribe
    subscribe: {topic: market_data, conid: "265598", fields: [bid, ask]}
  - name: a quote
    expect_message: {topic: smd+265598, within: 5s, fields: [bid, ask]}
  - name: quotes pile up
    sleep: 600ms
  - name: unsubscribe
    unsubscribe: {topic: market_data, conid: "265598"}
  - name: quiet
    expect_silence: {topic: smd+265598, for: 300ms}
"#;
    let steps = format!("  - name: open\n    stream_open: {{}}\n{}", round.repeat(3));
    let (code, shown) = run_scenario("", &steps);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown.matches("ok   quiet").count(), 3, "{shown}");
    // Quotes did pile up (more than the one awaited per round): they were there to be ignored.
    assert!(shown.matches("\"topic\":\"smd+265598\"").count() >= 6, "{shown}");
}

/// A frame that came while another topic was awaited is not lost: the history bars (sent once)
/// arrive before the quote that is awaited first, and are still there for the step after.
#[test]
fn frames_on_other_topics_wait_for_a_later_step() {
    let steps = r#"  - name: open
    stream_open: {}
  - name: history
    subscribe: {topic: history, conid: "265598", args: {period: 1d, bar: 1h}}
  - name: quotes
    subscribe: {topic: market_data, conid: "265598", fields: [bid, ask]}
  - name: a quote
    expect_message: {topic: smd+265598, within: 5s, fields: [bid, ask]}
  - name: the bars, sent before the quote
    expect_message: {topic: smh+265598, within: 1s, json: {$.serverId: {type: string}}}
"#;
    let (code, shown) = run_scenario("", steps);
    assert_eq!(code, Some(0), "{shown}");
}

#[test]
fn quotes_that_keep_coming_or_a_wrong_field_fail_the_check() {
    // No unsubscription: the quotes keep coming, so silence fails.
    let steps = format!("{QUOTE}  - name: quiet\n    expect_silence: {{topic: smd+265598, for: 2s}}\n");
    let (code, shown) = run_scenario("", &steps);
    assert_eq!(code, Some(4), "{shown}");
    assert!(
        shown.contains("expected no smd+265598 frame for 2s, one came after"),
        "{shown}"
    );

    // A mapping that reads the bid from the bid size: wrong values, failed at once.
    let steps = QUOTE
        .replace(
            "fields: [bid, ask]}\n  - name: a quote",
            "fields: [bid, ask, bid_size]}\n  - name: a quote",
        )
        .replace(
            "within: 5s, fields: [bid, ask]}",
            "within: 5s, fields: [bid, ask], mapping: {bid: \"88\"}}",
        );
    let (code, shown) = run_scenario("", &steps);
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("smd+265598: bid is read from field 88"), "{shown}");
}

#[test]
fn a_lost_brokerage_session_ends_the_wait_with_what_to_do() {
    // Logging out ends the brokerage session under the socket: IBKR's sts says so.
    let steps = format!(
        "{QUOTE}  - name: log out\n    request: {{method: POST, path: /logout}}\n  - name: more quotes\n    expect_message: {{topic: smd+265598, within: 5s}}\n"
    );
    let (code, shown) = run_scenario("", &steps);
    assert_eq!(code, Some(3), "{shown}");
    assert!(
        shown.contains("the brokerage session was lost while waiting for smd+265598"),
        "{shown}"
    );
}

#[test]
fn stream_steps_out_of_place_are_refused_where_they_are_written() {
    let (code, shown) = run_scenario("", "  - name: subscribe\n    subscribe: {topic: orders}\n");
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains("before any `stream_open` step"), "{shown}");
    let (code, shown) = run_scenario(
        "",
        "  - name: open\n    stream_open: {}\n  - name: sub\n    subscribe: {topic: market_dta, conid: \"1\", fields: [bid]}\n",
    );
    assert_eq!(code, Some(2), "{shown}");
    assert!(
        shown.contains("unknown topic \"market_dta\"") && shown.contains("did you mean `market_data`"),
        "{shown}"
    );
    let (code, shown) = run_scenario(
        "",
        "  - name: open\n    stream_open: {}\n  - name: sub\n    subscribe: {topic: market_data, fields: [bid]}\n",
    );
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains("topic `market_data` needs `conid`"), "{shown}");
}
