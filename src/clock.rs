//! Time as a value passed in: the system clock in production, a manual one in tests, which
//! advance it instead of sleeping. The mock reads all its time (pacing, idle expiry, warm-up,
//! token expiry, nonces, activation) from one; the client's pacing and retries, the runner's
//! polls and sleeps and the activation watch wait on one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A wait in progress.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where the time comes from, and how waiting on it works.
pub trait Clock: Send + Sync {
    /// The time of day: for signatures, dates and what the mock serves.
    fn now(&self) -> SystemTime;

    /// A steady reading for measuring intervals (pacing, deadlines): it never goes back when the
    /// time of day is corrected. Only differences between two readings mean anything.
    fn mark(&self) -> Duration;

    /// Waits `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> Sleep<'_>;

    /// How long since the reading `earlier` of [`Clock::mark`].
    fn since(&self, earlier: Duration) -> Duration {
        self.mark().saturating_sub(earlier)
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn mark(&self) -> Duration {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ORIGIN.get_or_init(std::time::Instant::now).elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The system clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that moves only when told to, or when someone sleeps on it: a sleeper jumps the clock
/// to the wake-up time fixed when its sleep was made, never back (two sleeps made at the same
/// moment and awaited together end at the later one's time, not the sum).
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(start)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.time() += by;
    }

    fn time(&self) -> std::sync::MutexGuard<'_, SystemTime> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.time()
    }

    fn mark(&self) -> Duration {
        self.now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        // The wake-up time is fixed when the sleep is made, as tokio's is.
        let wake = self.now() + duration;
        Box::pin(async move {
            {
                let mut now = self.time();
                *now = (*now).max(wake);
            }
            // Let the tasks the sleeper waits for run, as a real sleep would.
            tokio::task::yield_now().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(90));
    }

    #[tokio::test]
    async fn sleeping_on_a_manual_clock_jumps_to_the_wake_up_time() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        let start = clock.mark();
        let (a, b) = (clock.sleep(Duration::from_secs(2)), clock.sleep(Duration::from_secs(5)));
        tokio::join!(a, b);
        // Side by side, the longer sleep wins; they do not add up.
        assert_eq!(clock.since(start), Duration::from_secs(5));
        clock.sleep(Duration::from_secs(1)).await;
        assert_eq!(clock.since(start), Duration::from_secs(6));
    }

    #[test]
    fn since_a_later_reading_is_zero() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        assert_eq!(clock.since(clock.mark() + Duration::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn the_system_clocks_mark_never_goes_back() {
        let clock = SystemClock;
        let first = clock.mark();
        assert!(clock.mark() >= first);
    }
}
