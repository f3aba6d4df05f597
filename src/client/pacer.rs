//! Request pacing: every request of a client takes the next free slot, at most `rate` per second,
//! so the harness never earns IBKR's 429 penalty box by itself.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::clock::Clock;

/// Spaces requests evenly: one slot every `1/rate` seconds, shared by all tasks using it.
pub struct Pacer {
    interval: Duration,
    clock: Arc<dyn Clock>,
    /// The next free slot, as a reading of the clock's steady mark.
    next_slot: Mutex<Duration>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// `rate` requests per second (0 disables pacing), on `clock`'s time.
    pub fn new(rate: f64, clock: Arc<dyn Clock>) -> Self {
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        let next_slot = Mutex::new(clock.mark());
        Self {
            interval,
            clock,
            next_slot,
        }
    }

    /// Waits for this caller's slot.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let wait = {
            let mut next = self.next_slot.lock().await;
            let now = self.clock.mark();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot - now
        };
        if !wait.is_zero() {
            self.clock.sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::SystemTime;

    #[tokio::test]
    async fn spaces_requests() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        let pacer = Pacer::new(10.0, clock.clone());
        let start = clock.mark();
        for _ in 0..5 {
            pacer.wait().await;
        }
        // Slots at 0, 100, 200, 300, 400 ms.
        assert_eq!(clock.since(start), Duration::from_millis(400));
    }

    #[tokio::test]
    async fn tasks_side_by_side_share_the_slots() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        let pacer = Arc::new(Pacer::new(4.0, clock.clone()));
        let start = clock.mark();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let pacer = pacer.clone();
            tasks.spawn(async move { pacer.wait().await });
        }
        tasks.join_all().await;
        // Eight slots 250 ms apart, the last at 1.75 s: no two tasks got the same slot.
        assert_eq!(clock.since(start), Duration::from_millis(1750));
    }
}
