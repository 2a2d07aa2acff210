//! One request budget per account, shared by every bot and every call of a connector.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A client-side rate budget (GCRA through `governor`) with a pause the venue can order:
/// after a 429 or 418, nothing goes out to that venue until the pause ends.
#[derive(Debug)]
pub struct RateBudget {
    limiter: DefaultDirectRateLimiter,
    per_window: u32,
    paused_until: Mutex<Option<Instant>>,
    /// What the venue last said is left of its window (`u64::MAX`: not said).
    venue_remaining: AtomicU64,
    /// Requests that had to wait for the budget or a pause.
    waited: AtomicU64,
}

impl RateBudget {
    /// `per_window` requests (or weight units) per `window`, with bursts up to the same.
    pub fn new(per_window: u32, window: Duration) -> Self {
        let n = NonZeroU32::new(per_window.max(1)).expect("at least 1");
        let period = window / n.get();
        let quota = Quota::with_period(period.max(Duration::from_micros(1)))
            .expect("a positive period")
            .allow_burst(n);
        Self {
            limiter: RateLimiter::direct(quota),
            per_window: n.get(),
            paused_until: Mutex::new(None),
            venue_remaining: AtomicU64::new(u64::MAX),
            waited: AtomicU64::new(0),
        }
    }

    /// Waits until `weight` units may be spent, and spends them: first for any pause
    /// the venue ordered, then for the budget.
    pub async fn acquire(&self, weight: u32) {
        let mut waited = false;
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > Instant::now() => {
                    waited = true;
                    tokio::time::sleep_until(t.into()).await;
                }
                _ => break,
            }
        }
        let w = NonZeroU32::new(weight.clamp(1, self.per_window)).expect("at least 1");
        if self.limiter.check_n(w).map(|r| r.is_err()).unwrap_or(false) {
            waited = true;
            let _ = self.limiter.until_n_ready(w).await;
        }
        if waited {
            self.waited.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Orders a pause: nothing is sent before `for_` has passed (a later pause extends
    /// it, an earlier one never shortens it).
    pub fn pause(&self, for_: Duration) {
        let until = Instant::now() + for_;
        let mut p = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if p.is_none_or(|t| t < until) {
            *p = Some(until);
        }
    }

    /// How long the current pause still lasts, if one does.
    pub fn paused_for(&self) -> Option<Duration> {
        let p = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        p.and_then(|t| t.checked_duration_since(Instant::now()))
    }

    /// Records what the venue says is left of its window (its rate headers).
    pub fn observe_remaining(&self, remaining: u64) {
        self.venue_remaining.store(remaining, Ordering::Relaxed);
    }

    /// What the venue last said is left of its window, if it said.
    pub fn venue_remaining(&self) -> Option<u64> {
        let v = self.venue_remaining.load(Ordering::Relaxed);
        (v != u64::MAX).then_some(v)
    }

    /// Requests that waited for the budget or a pause, so far.
    pub fn waited(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }

    /// The budget's size per window.
    pub fn per_window(&self) -> u32 {
        self.per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_burst_beyond_the_budget_waits() {
        let b = RateBudget::new(10, Duration::from_millis(200));
        let t = Instant::now();
        for _ in 0..10 {
            b.acquire(1).await;
        }
        assert!(t.elapsed() < Duration::from_millis(50), "the burst fits");
        b.acquire(5).await;
        assert!(
            t.elapsed() >= Duration::from_millis(90),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(b.waited(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_pause_holds_every_request() {
        let b = RateBudget::new(100, Duration::from_secs(60));
        b.pause(Duration::from_millis(120));
        b.pause(Duration::from_millis(10)); // never shortens
        let t = Instant::now();
        b.acquire(1).await;
        assert!(
            t.elapsed() >= Duration::from_millis(115),
            "{:?}",
            t.elapsed()
        );
        assert!(b.paused_for().is_none());
    }
}
