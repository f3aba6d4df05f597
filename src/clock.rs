//! Time as a value passed in: the system clock in production, a manual one in tests, which
//! advance it instead of sleeping. The mock reads all its time (pacing, idle expiry, warm-up,
//! token expiry, nonces, activation) from one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Where the time comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The system clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(start)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
}
