//! Clocks for the scheduler: wall time for live trading, scaled simulated time for the
//! demo (simulated seconds run `speed` times faster than real ones).

use flotilla_domain::{Clock, Timestamp};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A clock the scheduler can also wait on.
pub trait SchedClock: Clock {
    /// Real time to wait until the clock reads `t` (zero if it already does).
    fn real_wait_until(&self, t: Timestamp) -> Duration;
    /// Converts a span of clock time to real time.
    fn to_real(&self, clock_ms: i64) -> Duration;
}

/// The system's wall clock.
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }
}

impl SchedClock for WallClock {
    fn real_wait_until(&self, t: Timestamp) -> Duration {
        Duration::from_millis((t.0 - self.now().0).max(0) as u64)
    }
    fn to_real(&self, clock_ms: i64) -> Duration {
        Duration::from_millis(clock_ms.max(0) as u64)
    }
}

/// Simulated time that starts at `start` and runs `speed` times faster than real time.
pub struct ScaledClock {
    start: Timestamp,
    origin: Instant,
    speed: f64,
}

impl ScaledClock {
    /// A clock reading `start` now and advancing `speed` simulated ms per real ms.
    pub fn new(start: Timestamp, speed: f64) -> Self {
        Self {
            start,
            origin: Instant::now(),
            speed: speed.max(1e-6),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let real = self.origin.elapsed().as_secs_f64() * 1000.0;
        Timestamp(self.start.0 + (real * self.speed) as i64)
    }
}

impl SchedClock for ScaledClock {
    fn real_wait_until(&self, t: Timestamp) -> Duration {
        self.to_real(t.0 - self.now().0)
    }
    fn to_real(&self, clock_ms: i64) -> Duration {
        Duration::from_secs_f64((clock_ms.max(0) as f64 / self.speed) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster_than_real_time() {
        let c = ScaledClock::new(Timestamp(1_000), 1000.0);
        std::thread::sleep(Duration::from_millis(20));
        let advanced = c.now().0 - 1_000;
        assert!(advanced >= 20_000, "advanced {advanced} ms");
        assert_eq!(c.to_real(60_000), Duration::from_millis(60));
    }
}
