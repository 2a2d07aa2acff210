//! Direct access to the host's imports, usable from any bot callback.
//!
//! On wasm32 these call the `flotilla:bot/host` imports (and the runner alone calls
//! `flotilla:bot/replay`, the backtest-only ones). On other targets (unit tests on the
//! build machine) they talk to a per-thread in-memory mock that
//! [`testing`](crate::testing) fills, so bot logic can be tested natively.

use crate::spec::{Indicator, IndicatorValues};
use crate::types::{Bar, LogLevel, Position, Timeframe, Timestamp, WorkingOrder};

/// The last `count` closed bars of a granted symbol, oldest first.
pub fn bars(symbol: &str, timeframe: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
    sync();
    imp::bars(symbol, timeframe, count)
}

/// One closed bar of a granted symbol, `back` bars before the newest (0 is the newest);
/// `None` if the host holds fewer. Cheaper than [`bars`]: no list crosses the boundary.
pub fn bar_at(symbol: &str, timeframe: Timeframe, back: u32) -> Result<Option<Bar>, String> {
    sync();
    imp::bar_at(symbol, timeframe, back)
}

/// A series for `next_tick` to hand in the newest bar of: the symbol by its index in the
/// granted list (its name is for the native mock).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watch<'a> {
    pub index: u32,
    // Only the native mock looks symbols up by name.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub symbol: &'a str,
    pub timeframe: Timeframe,
}

/// The next tick of a run, as `next_tick` hands it out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NextTick {
    pub time: Timestamp,
    pub tick: u64,
    pub capital: f64,
    /// The watched series' newest closed bar, when the host had one to hand.
    pub newest: Option<Bar>,
}

/// Inside `on-ticks`: the next tick, or `None` when the run goes back to the host. Only the
/// runner calls it: a bot that did would skip ticks.
pub(crate) fn next_tick(watch: Option<Watch<'_>>) -> Option<NextTick> {
    sync();
    leave_batch();
    imp::next_tick(watch)
}

/// Ticks `next_ticks` handed out.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Batch {
    /// The host already moved to them (a single tick, as `next_tick` gives it); otherwise
    /// it moves to each when the bot catches up.
    pub moved: bool,
    /// The capital at every one of them.
    pub capital: f64,
    /// Each tick's time and the watched series' newest bar at it.
    pub ticks: Vec<(Timestamp, Option<Bar>)>,
}

/// Numbers per tick in a `next-ticks` list.
const STRIDE: usize = 7;

/// Inside `on-ticks`: up to `max` next ticks, each with `watch`'s newest bar, after the
/// host moved through the first `done` of the last batch; `None` when the run goes back
/// to the host. Only the runner calls it.
pub(crate) fn next_ticks(watch: Watch<'_>, max: u32, done: u32) -> Option<Batch> {
    leave_batch();
    let raw = imp::next_ticks(watch, max, done);
    let (&[moved, capital], rest) = raw.split_first_chunk::<2>()?;
    let ticks: Vec<_> = rest
        .chunks_exact(STRIDE)
        .map(|t| {
            let bar = (!t[1].is_nan()).then(|| Bar {
                time: t[1] as Timestamp,
                open: t[2],
                high: t[3],
                low: t[4],
                close: t[5],
                volume: t[6],
            });
            (t[0] as Timestamp, bar)
        })
        .collect();
    (!ticks.is_empty()).then_some(Batch {
        moved: moved != 0.0,
        capital,
        ticks,
    })
}

// Inside a batch: the tick the bot runs (1-based) and the one the host caught up with.
thread_local! {
    static AT: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
}

/// The bot now runs the `n`-th tick of the batch (1-based).
pub(crate) fn enter_batch_tick(n: u32) {
    AT.with(|at| at.set((n, at.get().1)));
}

/// Outside a batch: host calls need no catching up.
pub(crate) fn leave_batch() {
    AT.with(|at| at.set((0, 0)));
}

/// Whether the host was called during the current batch tick (it caught up with it).
pub(crate) fn caught_up_now() -> bool {
    AT.with(|at| matches!(at.get(), (n, up) if n > 0 && n == up))
}

/// Inside a batch, moves the host to the tick the bot runs: before any host call, and
/// before a tick's intents or error go back.
pub(crate) fn sync() {
    AT.with(|at| {
        let (n, up) = at.get();
        if n > up {
            imp::catch_up(n);
            at.set((n, n));
        }
    });
}

/// The last `count` values of `spec` over a granted symbol's closed bars, computed by the
/// host (fewer, or none, while the indicator warms up).
pub fn indicator(
    symbol: &str,
    timeframe: Timeframe,
    spec: Indicator,
    count: u32,
) -> Result<IndicatorValues, String> {
    sync();
    imp::indicator(symbol, timeframe, spec, count)
}

/// The latest close of a granted symbol.
pub fn last_price(symbol: &str) -> Result<f64, String> {
    sync();
    imp::last_price(symbol)
}

/// The bot's own open positions.
pub fn positions() -> Vec<Position> {
    sync();
    imp::positions()
}

/// The capital currently allocated to the bot.
pub fn capital() -> f64 {
    sync();
    imp::capital()
}

/// A value from the bot's persisted key-value store.
pub fn kv_get(key: &str) -> Option<Vec<u8>> {
    sync();
    imp::kv_get(key)
}

/// Stores a value in the bot's persisted key-value store.
pub fn kv_set(key: &str, value: &[u8]) {
    sync();
    imp::kv_set(key, value)
}

/// Writes to the host's log, tagged with the bot id.
pub fn log(level: LogLevel, message: &str) {
    sync();
    imp::log(level, message)
}

/// The bot's own orders still working, as they were when the current call started
/// (exits the host manages are not listed).
pub fn working_orders() -> Vec<WorkingOrder> {
    sync();
    imp::working_orders()
}

/// Asks the host to cancel the working order `id`; the cancel happens after the current
/// call. An error when `id` is not one of [`working_orders`].
pub fn cancel_order(id: u64) -> Result<(), String> {
    sync();
    imp::cancel_order(id)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::flotilla::bot::host as wit;
    use crate::bindings::flotilla::bot::replay;
    use crate::bindings::flotilla::bot::types as wt;
    use crate::spec::{BandSeries, Indicator, IndicatorValues, MacdSeries};
    use crate::types::{Bar, LogLevel, OrderState, Position, Side, Timeframe, WorkingOrder};

    pub(super) fn bars(symbol: &str, tf: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
        let bars = wit::bars(symbol, crate::runner::wit_timeframe(tf), count)?;
        // Same repr(C) layout: the collect reuses the allocation.
        Ok(bars.into_iter().map(bar).collect())
    }

    pub(super) fn bar_at(symbol: &str, tf: Timeframe, back: u32) -> Result<Option<Bar>, String> {
        Ok(wit::bar_at(symbol, crate::runner::wit_timeframe(tf), back)?.map(bar))
    }

    /// A bar in the SDK's terms.
    fn bar(b: wt::Bar) -> Bar {
        Bar {
            time: b.time,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
        }
    }

    pub(super) fn next_tick(watch: Option<super::Watch<'_>>) -> Option<super::NextTick> {
        let watch = watch.map(|w| wt::Series {
            symbol: w.index,
            timeframe: crate::runner::wit_timeframe(w.timeframe),
        });
        replay::next_tick(watch).map(|t| super::NextTick {
            time: t.ctx.time,
            tick: t.ctx.tick,
            capital: t.ctx.capital,
            newest: t.newest.map(bar),
        })
    }

    pub(super) fn next_ticks(w: super::Watch<'_>, max: u32, done: u32) -> Vec<f64> {
        let watch = wt::Series {
            symbol: w.index,
            timeframe: crate::runner::wit_timeframe(w.timeframe),
        };
        replay::next_ticks(watch, max, done)
    }

    pub(super) fn catch_up(n: u32) {
        replay::catch_up(n)
    }

    pub(super) fn indicator(
        symbol: &str,
        tf: Timeframe,
        spec: Indicator,
        count: u32,
    ) -> Result<IndicatorValues, String> {
        let spec = match spec {
            Indicator::Sma(p) => wt::Indicator::Sma(p),
            Indicator::Ema(p) => wt::Indicator::Ema(p),
            Indicator::Wma(p) => wt::Indicator::Wma(p),
            Indicator::Rsi(p) => wt::Indicator::Rsi(p),
            Indicator::Atr(p) => wt::Indicator::Atr(p),
            Indicator::StdDev(p) => wt::Indicator::Stddev(p),
            Indicator::Roc(p) => wt::Indicator::Roc(p),
            Indicator::Macd { fast, slow, signal } => {
                wt::Indicator::Macd(wt::MacdSpec { fast, slow, signal })
            }
            Indicator::Bollinger { period, deviations } => {
                wt::Indicator::Bollinger(wt::BandsSpec { period, deviations })
            }
        };
        // The lists move out of the generated types: no copy.
        Ok(
            match wit::indicator(symbol, crate::runner::wit_timeframe(tf), spec, count)? {
                wt::IndicatorValues::Line(v) => IndicatorValues::Line(v),
                wt::IndicatorValues::Macd(m) => IndicatorValues::Macd(MacdSeries {
                    macd: m.macd,
                    signal: m.signal,
                    histogram: m.histogram,
                }),
                wt::IndicatorValues::Bands(b) => IndicatorValues::Bands(BandSeries {
                    upper: b.upper,
                    middle: b.middle,
                    lower: b.lower,
                }),
            },
        )
    }

    pub(super) fn last_price(symbol: &str) -> Result<f64, String> {
        wit::last_price(symbol)
    }

    pub(super) fn positions() -> Vec<Position> {
        wit::positions()
            .into_iter()
            .map(|p| Position {
                symbol: p.symbol,
                quantity: p.quantity,
                avg_price: p.avg_price,
            })
            .collect()
    }

    pub(super) fn capital() -> f64 {
        wit::capital()
    }

    pub(super) fn kv_get(key: &str) -> Option<Vec<u8>> {
        wit::kv_get(key)
    }

    pub(super) fn kv_set(key: &str, value: &[u8]) {
        wit::kv_set(key, value)
    }

    pub(super) fn log(level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => wt::LogLevel::Trace,
            LogLevel::Debug => wt::LogLevel::Debug,
            LogLevel::Info => wt::LogLevel::Info,
            LogLevel::Warn => wt::LogLevel::Warn,
            LogLevel::Error => wt::LogLevel::Error,
        };
        wit::log(level, message)
    }

    pub(super) fn working_orders() -> Vec<WorkingOrder> {
        wit::working_orders()
            .into_iter()
            .map(|o| WorkingOrder {
                id: o.id,
                symbol: o.symbol,
                side: match o.side {
                    wt::Side::Buy => Side::Buy,
                    wt::Side::Sell => Side::Sell,
                },
                quantity: o.quantity,
                filled: o.filled,
                limit_price: o.limit_price,
                time_in_force: crate::runner::time_in_force(o.time_in_force),
                state: match o.state {
                    wt::OrderState::Pending => OrderState::Pending,
                    wt::OrderState::Accepted => OrderState::Accepted,
                    wt::OrderState::PartiallyFilled => OrderState::PartiallyFilled,
                    wt::OrderState::PendingCancel => OrderState::PendingCancel,
                },
                time: o.time,
                tag: o.tag,
            })
            .collect()
    }

    pub(super) fn cancel_order(id: u64) -> Result<(), String> {
        wit::cancel_order(id)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod imp {
    use crate::indicators::series;
    use crate::spec::{Indicator, IndicatorValues};
    use crate::types::{Bar, LogLevel, OrderState, Position, Timeframe, WorkingOrder};
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// The native stand-in for the host; one per thread so parallel tests stay apart.
    #[derive(Default)]
    pub(crate) struct Mock {
        pub bars: HashMap<(String, Timeframe), Vec<Bar>>,
        pub prices: HashMap<String, f64>,
        pub positions: Vec<Position>,
        /// What `working_orders` lists.
        pub working: Vec<WorkingOrder>,
        /// The ids `cancel_order` recorded, each once, as the host records them.
        pub cancels: Vec<u64>,
        pub capital: f64,
        pub kv: HashMap<String, Vec<u8>>,
        pub logs: Vec<(LogLevel, String)>,
        /// Ticks `next_tick` hands out, in order: (time, tick, capital).
        pub next_ticks: std::collections::VecDeque<(i64, u64, f64)>,
        /// `bar_at` calls answered (the host calls a bot made for single bars).
        pub bar_at_calls: u64,
        /// Batches `next_ticks` hands out, in order: each tick's (time, bar); after them
        /// it hands out `next_ticks`' ticks one at a time, as moved to.
        pub batches: std::collections::VecDeque<Vec<(i64, Option<Bar>)>>,
        /// The `done` of every `next_ticks` call and the `n` of every `catch_up`, in order
        /// (`catch_up`'s negated, to tell them apart).
        pub batch_calls: Vec<i64>,
    }

    thread_local! {
        static MOCK: RefCell<Mock> = RefCell::new(Mock::default());
    }

    /// Runs `f` with the thread's mock host.
    pub(crate) fn with<R>(f: impl FnOnce(&mut Mock) -> R) -> R {
        MOCK.with(|m| f(&mut m.borrow_mut()))
    }

    pub(super) fn bars(symbol: &str, tf: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
        with(|m| match m.bars.get(&(symbol.to_owned(), tf)) {
            Some(all) => Ok(all[all.len().saturating_sub(count as usize)..].to_vec()),
            None => Err(format!("symbol {symbol:?} not granted or no {tf} bars")),
        })
    }

    pub(super) fn bar_at(symbol: &str, tf: Timeframe, back: u32) -> Result<Option<Bar>, String> {
        with(|m| m.bar_at_calls += 1);
        newest(symbol, tf, back)
    }

    fn newest(symbol: &str, tf: Timeframe, back: u32) -> Result<Option<Bar>, String> {
        with(|m| match m.bars.get(&(symbol.to_owned(), tf)) {
            Some(all) => Ok(all.len().checked_sub(back as usize + 1).map(|i| all[i])),
            None => Err(format!("symbol {symbol:?} not granted or no {tf} bars")),
        })
    }

    /// Hands in the watched series' newest bar as the host does: what `bar_at(.., 0)`
    /// would answer, `None` when that is not a bar.
    pub(super) fn next_tick(watch: Option<super::Watch<'_>>) -> Option<super::NextTick> {
        let (time, tick, capital) = with(|m| m.next_ticks.pop_front())?;
        let newest = watch.and_then(|w| newest(w.symbol, w.timeframe, 0).ok().flatten());
        Some(super::NextTick {
            time,
            tick,
            capital,
            newest,
        })
    }

    /// A planned batch while there is one, then single ticks as `next_tick` gives them.
    pub(super) fn next_ticks(w: super::Watch<'_>, _max: u32, done: u32) -> Vec<f64> {
        with(|m| m.batch_calls.push(i64::from(done)));
        let wire = |b: Option<Bar>| match b {
            Some(b) => [b.time as f64, b.open, b.high, b.low, b.close, b.volume],
            None => [f64::NAN; 6],
        };
        if let Some(batch) = with(|m| m.batches.pop_front()) {
            let capital = with(|m| m.capital);
            let mut out = vec![0.0, capital];
            for (time, bar) in batch {
                out.push(time as f64);
                out.extend(wire(bar));
            }
            return out;
        }
        let Some(t) = next_tick(Some(w)) else {
            return Vec::new();
        };
        let mut out = vec![1.0, t.capital, t.time as f64];
        out.extend(wire(t.newest));
        out
    }

    pub(super) fn catch_up(n: u32) {
        with(|m| m.batch_calls.push(-i64::from(n)));
    }

    /// Answers like the host: the same checks and bar window, computed with the SDK's own
    /// [`series`] functions.
    pub(super) fn indicator(
        symbol: &str,
        tf: Timeframe,
        spec: Indicator,
        count: u32,
    ) -> Result<IndicatorValues, String> {
        spec.validate()
            .map_err(|e| format!("invalid indicator: {e}"))?;
        // The host caps `count` like a `bars` call.
        let count = count.min(5_000);
        let window = usize::try_from(spec.history(count)).unwrap_or(usize::MAX);
        let bars = bars(symbol, tf, u32::try_from(window).unwrap_or(u32::MAX))?;
        Ok(compute(spec, &bars, count as usize))
    }

    /// The last `count` values of `spec` over `bars`.
    pub(crate) fn compute(spec: Indicator, bars: &[Bar], count: usize) -> IndicatorValues {
        let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
        let last = |mut v: Vec<f64>| v.split_off(v.len().saturating_sub(count));
        let p = |n: u32| n as usize;
        match spec {
            Indicator::Sma(n) => IndicatorValues::Line(last(series::sma(&close, p(n)))),
            Indicator::Ema(n) => IndicatorValues::Line(last(series::ema(&close, p(n)))),
            Indicator::Wma(n) => IndicatorValues::Line(last(series::wma(&close, p(n)))),
            Indicator::Rsi(n) => IndicatorValues::Line(last(series::rsi(&close, p(n)))),
            Indicator::StdDev(n) => IndicatorValues::Line(last(series::stddev(&close, p(n)))),
            Indicator::Roc(n) => IndicatorValues::Line(last(series::roc(&close, p(n)))),
            Indicator::Atr(n) => {
                let high: Vec<f64> = bars.iter().map(|b| b.high).collect();
                let low: Vec<f64> = bars.iter().map(|b| b.low).collect();
                IndicatorValues::Line(last(series::atr(&high, &low, &close, p(n))))
            }
            Indicator::Macd { fast, slow, signal } => {
                let m = series::macd(&close, p(fast), p(slow), p(signal));
                IndicatorValues::Macd(crate::spec::MacdSeries {
                    macd: last(m.macd),
                    signal: last(m.signal),
                    histogram: last(m.histogram),
                })
            }
            Indicator::Bollinger { period, deviations } => {
                let b = series::bollinger(&close, p(period), deviations);
                IndicatorValues::Bands(crate::spec::BandSeries {
                    upper: last(b.upper),
                    middle: last(b.middle),
                    lower: last(b.lower),
                })
            }
        }
    }

    pub(super) fn last_price(symbol: &str) -> Result<f64, String> {
        with(|m| {
            let last_bar = m
                .bars
                .iter()
                .filter(|((s, _), _)| s == symbol)
                .filter_map(|(_, bars)| bars.last())
                .max_by_key(|b| b.time);
            m.prices
                .get(symbol)
                .copied()
                .or(last_bar.map(|b| b.close))
                .ok_or_else(|| format!("symbol {symbol:?} not granted"))
        })
    }

    pub(super) fn positions() -> Vec<Position> {
        with(|m| m.positions.clone())
    }

    pub(super) fn capital() -> f64 {
        with(|m| m.capital)
    }

    pub(super) fn kv_get(key: &str) -> Option<Vec<u8>> {
        with(|m| m.kv.get(key).cloned())
    }

    pub(super) fn kv_set(key: &str, value: &[u8]) {
        with(|m| m.kv.insert(key.to_owned(), value.to_vec()));
    }

    pub(super) fn log(level: LogLevel, message: &str) {
        with(|m| m.logs.push((level, message.to_owned())));
    }

    pub(super) fn working_orders() -> Vec<WorkingOrder> {
        with(|m| m.working.clone())
    }

    /// Answers like the host: an error for an id that is not working, else recorded once
    /// (not at all for an order whose cancel is already pending).
    pub(super) fn cancel_order(id: u64) -> Result<(), String> {
        with(|m| {
            let Some(order) = m.working.iter().find(|o| o.id == id) else {
                return Err(format!(
                    "order #{id} is not one of this bot's working orders"
                ));
            };
            if order.state != OrderState::PendingCancel && !m.cancels.contains(&id) {
                m.cancels.push(id);
            }
            Ok(())
        })
    }
}
