//! A circuit breaker per venue: after repeated failures no new orders go out (exits
//! still do) until a probe succeeds.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When the breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive failures that open it (default 5).
    pub consecutive_failures: u32,
    /// Failure rate over the last `window` calls that opens it, in (0, 1] (default 0.5).
    pub failure_rate: f64,
    /// Calls the rate is measured over (default 20; the rate needs a full window).
    pub window: usize,
    /// How long it stays open before a probe may go (default 30 s).
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate: 0.5,
            window: 20,
            cooldown: Duration::from_secs(30),
        }
    }
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Everything goes.
    Closed,
    /// New orders are held back; exits go.
    Open,
    /// The cooldown passed: the next call is a probe that closes or reopens it.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive: u32,
    recent: std::collections::VecDeque<bool>,
    opened_at: Option<Instant>,
}

/// The breaker. [`Breaker::record`] returns the state it moved to, when it moved, so the
/// caller can record the event.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive: 0,
                recent: Default::default(),
                opened_at: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state now (an open breaker past its cooldown reads half-open).
    pub fn state(&self) -> BreakerState {
        let mut i = self.lock();
        if i.state == BreakerState::Open
            && i.opened_at
                .is_some_and(|t| t.elapsed() >= self.config.cooldown)
        {
            i.state = BreakerState::HalfOpen;
        }
        i.state
    }

    /// Whether a new order (not an exit) may go out now.
    pub fn allows_entries(&self) -> bool {
        self.state() != BreakerState::Open
    }

    /// Books one call's result; returns the new state if it changed.
    pub fn record(&self, ok: bool) -> Option<BreakerState> {
        let before = self.state();
        let mut i = self.lock();
        i.recent.push_back(ok);
        while i.recent.len() > self.config.window.max(1) {
            i.recent.pop_front();
        }
        if ok {
            i.consecutive = 0;
            if before != BreakerState::Closed {
                i.state = BreakerState::Closed;
                i.opened_at = None;
                i.recent.clear();
            }
        } else {
            i.consecutive += 1;
            let failures = i.recent.iter().filter(|r| !**r).count();
            let rate_hit = i.recent.len() >= self.config.window
                && failures as f64 / i.recent.len() as f64 >= self.config.failure_rate;
            if before == BreakerState::HalfOpen
                || i.consecutive >= self.config.consecutive_failures
                || rate_hit
            {
                i.state = BreakerState::Open;
                i.opened_at = Some(Instant::now());
            }
        }
        (i.state != before).then_some(i.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            cooldown: Duration::from_millis(30),
            ..Default::default()
        }
    }

    #[test]
    fn opens_after_consecutive_failures_and_a_probe_closes_it() {
        let b = Breaker::new(quick());
        assert_eq!(b.record(false), None);
        assert_eq!(b.record(false), None);
        assert_eq!(b.record(false), Some(BreakerState::Open));
        assert!(!b.allows_entries());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.allows_entries());
        assert_eq!(b.record(true), Some(BreakerState::Closed));
    }

    #[test]
    fn a_failed_probe_reopens_it() {
        let b = Breaker::new(quick());
        for _ in 0..3 {
            b.record(false);
        }
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.record(false), Some(BreakerState::Open));
    }

    #[test]
    fn a_high_error_rate_opens_it_without_a_streak() {
        let b = Breaker::new(BreakerConfig {
            consecutive_failures: 100,
            window: 10,
            failure_rate: 0.5,
            ..quick()
        });
        let mut opened = None;
        for i in 0..10 {
            opened = opened.or(b.record(i % 2 == 0));
        }
        assert_eq!(opened, Some(BreakerState::Open));
    }
}
