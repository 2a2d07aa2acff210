//! What both fake venues share: a clock that may run faster than real time, a seeded
//! market of one-minute bars on it, the faults a test can inject, and a journal of every
//! request for the assertions.

use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One minute, in milliseconds.
pub const MINUTE: i64 = 60_000;

/// The fake's clock: `start` at creation, then `speed` fake milliseconds per real one,
/// shifted by the clock-skew fault.
#[derive(Debug)]
pub struct FakeClock {
    start: Timestamp,
    speed: f64,
    origin: Instant,
    skew_ms: AtomicI64,
}

impl FakeClock {
    /// A clock at `start` now, running `speed` times real time (clamped to 0.001..=100000).
    pub fn new(start: Timestamp, speed: f64) -> Self {
        Self {
            start,
            speed: if speed.is_finite() {
                speed.clamp(0.001, 100_000.0)
            } else {
                1.0
            },
            origin: Instant::now(),
            skew_ms: AtomicI64::new(0),
        }
    }

    /// The venue's time now (what its server-time endpoint reports), skew included.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.true_now().0 + self.skew_ms.load(Ordering::Relaxed))
    }

    /// The time now without the skew fault (what the venue's market runs on).
    pub fn true_now(&self) -> Timestamp {
        let real = self.origin.elapsed().as_secs_f64() * 1000.0;
        Timestamp(self.start.0 + (real * self.speed) as i64)
    }

    /// The fake's speed.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The real time that `fake_ms` of fake time takes.
    pub fn real(&self, fake_ms: i64) -> Duration {
        Duration::from_secs_f64((fake_ms.max(0) as f64 / self.speed) / 1000.0)
    }

    /// Shifts the reported time by `ms` (the clock-skew fault; 0 to heal).
    pub fn set_skew_ms(&self, ms: i64) {
        self.skew_ms.store(ms, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Series {
    rng: ChaCha8Rng,
    price: f64,
    vol: f64,
    bars: Vec<Bar>,
}

/// A seeded random walk of one-minute bars per symbol from a start time, generated as
/// far as asked and kept: every query of the same minute gives the same bar.
#[derive(Debug)]
pub struct FakeMarket {
    start: Timestamp,
    series: Mutex<BTreeMap<Symbol, Series>>,
}

impl FakeMarket {
    /// A market from `start` (rounded down to the minute) for `symbols` with their first
    /// prices; `seed` fixes every bar.
    pub fn new(seed: u64, start: Timestamp, symbols: &[(Symbol, f64)]) -> Self {
        let start = Timestamp(start.0.div_euclid(MINUTE) * MINUTE);
        let series = symbols
            .iter()
            .enumerate()
            .map(|(i, (s, p))| {
                let rng =
                    ChaCha8Rng::seed_from_u64(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9));
                let vol = 0.0008;
                (
                    s.clone(),
                    Series {
                        rng,
                        price: *p,
                        vol,
                        bars: Vec::new(),
                    },
                )
            })
            .collect();
        Self {
            start,
            series: Mutex::new(series),
        }
    }

    /// When the market starts.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The symbols, sorted.
    pub fn symbols(&self) -> Vec<Symbol> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Symbol, Series>> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The one-minute bars of `symbol` opening in `[from, to)` (none before the start or
    /// for an unknown symbol). Ask only for closed bars: `to` at most the clock's now
    /// rounded down to the minute.
    pub fn bars(&self, symbol: &Symbol, from: Timestamp, to: Timestamp) -> Vec<Bar> {
        let mut all = self.lock();
        let Some(s) = all.get_mut(symbol) else {
            return Vec::new();
        };
        let need = ((to.0 - self.start.0) / MINUTE).max(0) as usize;
        while s.bars.len() < need {
            let t = Timestamp(self.start.0 + s.bars.len() as i64 * MINUTE);
            let open = s.price;
            let mut high = open;
            let mut low = open;
            let mut p = open;
            for _ in 0..4 {
                let z: f64 = s.rng.random_range(-1.0..1.0);
                p *= 1.0 + z * s.vol;
                high = high.max(p);
                low = low.min(p);
            }
            s.price = p;
            let volume: f64 = 1000.0 + s.rng.random_range(0.0..1000.0);
            s.bars.push(Bar {
                time: t,
                open: round4(open),
                high: round4(high),
                low: round4(low),
                close: round4(p),
                volume: volume.round(),
            });
        }
        let first = ((from.0 - self.start.0).max(0) + MINUTE - 1) / MINUTE;
        s.bars
            .iter()
            .skip(first as usize)
            .take_while(|b| b.time < to)
            .copied()
            .collect()
    }

    /// The bars of `symbol` at `timeframe` opening in `[from, to)`, aggregated from the
    /// one-minute bars (a bar is listed once all its minutes are in range).
    pub fn bars_at(
        &self,
        symbol: &Symbol,
        timeframe: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<Bar> {
        let step = timeframe.millis();
        let from = Timestamp(from.0.div_euclid(step) * step);
        let to = Timestamp(to.0.div_euclid(step) * step);
        aggregate(&self.bars(symbol, from, to), step)
    }

    /// The last close of `symbol` before `now` (the market's price), if it has a bar yet.
    pub fn last_price(&self, symbol: &Symbol, now: Timestamp) -> Option<f64> {
        let to = Timestamp(now.0.div_euclid(MINUTE) * MINUTE);
        self.bars(symbol, Timestamp(to.0 - MINUTE), to)
            .last()
            .map(|b| b.close)
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// One-minute bars grouped into bars of `step` ms (complete groups only).
pub fn aggregate(bars: &[Bar], step: i64) -> Vec<Bar> {
    if step == MINUTE {
        return bars.to_vec();
    }
    let per = (step / MINUTE) as usize;
    let mut out: Vec<Bar> = Vec::new();
    let mut group: Vec<Bar> = Vec::new();
    for b in bars {
        if group
            .first()
            .is_some_and(|g| g.time.0.div_euclid(step) != b.time.0.div_euclid(step))
        {
            group.clear();
        }
        group.push(*b);
        if group.len() == per {
            out.push(Bar {
                time: Timestamp(group[0].time.0.div_euclid(step) * step),
                open: group[0].open,
                high: group.iter().map(|b| b.high).fold(f64::MIN, f64::max),
                low: group.iter().map(|b| b.low).fold(f64::MAX, f64::min),
                close: group[per - 1].close,
                volume: group.iter().map(|b| b.volume).sum(),
            });
            group.clear();
        }
    }
    out
}

/// A fixed-window request limit (the venue's rate limit).
#[derive(Debug)]
pub struct RateWindow {
    /// Requests (or weight) allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
    state: Mutex<(Instant, u32)>,
}

impl RateWindow {
    /// `limit` per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            state: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Spends `weight`; `Err(until the window resets)` when over the limit.
    pub fn check(&self, weight: u32) -> Result<u32, Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.0.elapsed() >= self.window {
            *s = (Instant::now(), 0);
        }
        if s.1 + weight > self.limit {
            return Err(self.window.saturating_sub(s.0.elapsed()));
        }
        s.1 += weight;
        Ok(s.1)
    }

    /// Used so far in this window.
    pub fn used(&self) -> u32 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// When the current window ends.
    pub fn resets_in(&self) -> Duration {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.window.saturating_sub(s.0.elapsed())
    }
}

/// Faults a test (or a rehearsing operator) injects while the fake runs. Counters count
/// down: `fail_5xx = 2` fails the next two requests.
#[derive(Debug, Default)]
pub struct Faults {
    /// After accepting an order, wait this long before answering (past the client's
    /// timeout: the order is placed, the answer lost). 0 = off.
    pub delay_after_accept_ms: AtomicU64,
    /// The next N requests to the order endpoint (POST) answer 5xx *after* placing the
    /// order when `fail_5xx_after_place` is set, else before.
    pub fail_5xx: AtomicU32,
    /// Whether a 5xx fault places the order first (1) or not (0).
    pub fail_5xx_after_place: AtomicU32,
    /// The next N requests answer 429 with Retry-After.
    pub rate_limited: AtomicU32,
    /// The next N requests answer 418 with Retry-After.
    pub banned: AtomicU32,
    /// Retry-After for the 429 and 418 faults, seconds (default 1 when 0).
    pub retry_after_s: AtomicU64,
    /// Bumped to close every open WebSocket.
    pub stream_generation: AtomicU64,
    /// WebSocket connects are refused until this many ms since the fake started (0 = off).
    pub streams_down_until_ms: AtomicU64,
    /// Orders fill at most this fraction of a bar's volume, in millionths (0 = whole).
    pub partial_fill_ppm: AtomicU32,
    /// A new order is "not found" by queries for this long after its creation, ms.
    pub not_found_for_ms: AtomicU64,
    /// The next N orders break a filter (refused with the venue's filter error).
    pub filter_failures: AtomicU32,
    /// The next N orders are placed, then answered Binance's -1007 (timeout, execution
    /// status unknown).
    pub timeout_1007: AtomicU32,
    /// 1: the stock market is closed (the venue's clock says so; crypto trades on).
    pub market_closed: AtomicU32,
}

impl Faults {
    /// Closes every open WebSocket now and refuses reconnects for `down` (real time).
    pub fn drop_streams_for(&self, since_start: Duration, down: Duration) {
        let until = (since_start + down).as_millis() as u64;
        self.streams_down_until_ms.store(until, Ordering::SeqCst);
        self.stream_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes one from a countdown; true if it was positive.
    pub fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Retry-After to send with a 429 or 418.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs(self.retry_after_s.load(Ordering::Relaxed).max(1))
    }
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// When it arrived.
    pub at: Instant,
    /// HTTP method (`WS` for a WebSocket upgrade).
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Status answered.
    pub status: u16,
}

/// Every request, in order of arrival.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    /// Records a request.
    pub fn record(&self, method: &str, path: &str, status: u16) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(JournalEntry {
                at: Instant::now(),
                method: method.to_string(),
                path: path.to_string(),
                status,
            });
    }

    /// Records a request that arrived at `at` (answered later, as a delayed one is).
    pub fn record_at(&self, at: Instant, method: &str, path: &str, status: u16) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = JournalEntry {
            at,
            method: method.to_string(),
            path: path.to_string(),
            status,
        };
        // Kept in order of arrival.
        let pos = e.partition_point(|x| x.at <= at);
        e.insert(pos, entry);
    }

    /// Every request so far.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_market_is_deterministic_and_aggregates() {
        let s = Symbol::new("AAPL");
        let a = FakeMarket::new(7, Timestamp(0), &[(s.clone(), 100.0)]);
        let b = FakeMarket::new(7, Timestamp(0), &[(s.clone(), 100.0)]);
        let x = a.bars(&s, Timestamp(0), Timestamp(10 * MINUTE));
        // Asked in pieces, the same bars.
        let mut y = b.bars(&s, Timestamp(0), Timestamp(3 * MINUTE));
        y.extend(b.bars(&s, Timestamp(3 * MINUTE), Timestamp(10 * MINUTE)));
        assert_eq!(x, y);
        assert_eq!(x.len(), 10);
        assert!(
            x.iter()
                .all(|b| b.low <= b.open && b.open <= b.high && b.low <= b.close)
        );
        let five = a.bars_at(&s, Timeframe::M5, Timestamp(0), Timestamp(10 * MINUTE));
        assert_eq!(five.len(), 2);
        assert_eq!(five[0].close, x[4].close);
        assert_eq!(five[1].open, x[5].open);
    }

    #[test]
    fn a_fast_clock_and_skew() {
        let c = FakeClock::new(Timestamp(1_000), 1000.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.now().0 >= 21_000);
        c.set_skew_ms(-60_000);
        assert!(c.now().0 < c.true_now().0);
        assert_eq!(c.real(60_000), Duration::from_millis(60));
    }

    #[test]
    fn the_rate_window_says_when_it_resets() {
        let w = RateWindow::new(2, Duration::from_millis(50));
        assert!(w.check(1).is_ok() && w.check(1).is_ok());
        assert!(w.check(1).is_err());
        std::thread::sleep(Duration::from_millis(55));
        assert!(w.check(1).is_ok());
    }
}
