//! The client's stream against the mock, below the scenario steps: `tic` when one is due while
//! the stream is not read (a REST step runs), and never more often.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ibkr_probe::client::stream::{Frame, Stream, StreamObserver, StreamOptions};

/// Keeps the frames the client sends.
#[derive(Default)]
struct Sent(Mutex<Vec<String>>);

impl StreamObserver for Sent {
    fn frame(&self, frame: Frame<'_>) {
        if let Frame::Sent(text) = frame {
            self.0.lock().unwrap().push(text.to_owned());
        }
    }
}

#[tokio::test]
async fn a_tic_goes_out_between_reads_when_one_is_due_and_not_before() {
    let (mock, _log) = crate::common::start_mock(|_| {}).await;
    let client = crate::common::client(mock.base_url());
    crate::common::make_ready(&client).await;
    let sent = Arc::new(Sent::default());
    let options = StreamOptions {
        tic_every: Duration::from_millis(200),
        ..StreamOptions::default()
    };
    let mut stream = Stream::open(&client, options, Some(sent.clone())).await.unwrap();
    let tics = || sent.0.lock().unwrap().iter().filter(|f| *f == "tic").count();

    stream.tic_if_due(&client).await.unwrap();
    assert_eq!(tics(), 0, "none is due right after opening");
    // The stream is not read meanwhile, as during a REST step; socket time is real time.
    tokio::time::sleep(Duration::from_millis(250)).await;
    stream.tic_if_due(&client).await.unwrap();
    assert_eq!(tics(), 1);
    stream.tic_if_due(&client).await.unwrap();
    assert_eq!(tics(), 1, "the one just sent resets the time");
    stream.close().await;
    mock.stop().await;
}
