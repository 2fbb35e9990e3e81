//! Time for the simulator: real by default, manual in tests so rates can be checked exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// A monotonic timeline with a wall-clock origin.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the origin; never goes backwards.
    fn elapsed_s(&self) -> f64;
    /// Wall-clock time at the origin.
    fn origin(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
    origin: OffsetDateTime,
}

impl SystemClock {
    /// Starts now.
    pub fn new() -> Self {
        SystemClock {
            start: Instant::now(),
            origin: OffsetDateTime::now_utc(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn elapsed_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn origin(&self) -> OffsetDateTime {
        self.origin
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    origin: OffsetDateTime,
    nanos: AtomicU64,
}

impl ManualClock {
    /// Stopped at `origin`.
    pub fn new(origin: OffsetDateTime) -> Self {
        ManualClock {
            origin,
            nanos: AtomicU64::new(0),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn elapsed_s(&self) -> f64 {
        self.nanos.load(Ordering::SeqCst) as f64 / 1e9
    }

    fn origin(&self) -> OffsetDateTime {
        self.origin
    }
}
