//! The store data of one bot and the host imports it may call.
//!
//! Every import is deny-by-default: market data only for granted symbols, sizes capped,
//! and every refusal remembered so the host can record it.

use crate::bindings::flotilla::bot::{host, types};
use flotilla_domain::{Bar, BotId, MarketData, Symbol, Timeframe, Timestamp};
use flotilla_indicators::{Spec, Values};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Most bars one `bars` call returns, and most values one `indicator` call returns.
pub const MAX_BARS_PER_CALL: u32 = 5_000;
const MAX_KV_KEY: usize = 256;
const MAX_KV_VALUE: usize = 64 * 1024;
const MAX_KV_ENTRIES: usize = 1_024;
const MAX_LOG_LEN: usize = 1_024;
const MAX_VIOLATIONS: usize = 32;

/// A bot's position as the bot sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionView {
    /// The instrument.
    pub symbol: Symbol,
    /// Signed units.
    pub quantity: f64,
    /// Average entry price.
    pub avg_price: f64,
}

/// One more tick of a run, as the host hands it to a bot inside `on-ticks`.
#[derive(Clone, Debug)]
pub struct NextTick {
    /// When the scheduler wanted the tick (echoed back in [`crate::RunOutput::last`]).
    pub scheduled: Timestamp,
    /// The tick's time; the bot's clock shows it.
    pub time: Timestamp,
    /// The bot's capital at that tick.
    pub capital: f64,
    /// The bot's open positions at that tick (shared: they change only with its fills).
    pub positions: Arc<[PositionView]>,
}

/// Where a run inside `on-ticks` takes its ticks from.
pub trait Ticks: Send {
    /// The next tick, with the host moved to it (market, positions, capital); `None` ends
    /// the run.
    fn next(&mut self) -> Option<NextTick>;

    /// Reads ahead, moving nothing: appends to `out` up to `max` next ticks at which
    /// nothing the bot sees can change but the newest bar of `symbol` at `timeframe`, each
    /// with that bar. Stops before a tick that has none. By default plans nothing: every
    /// tick then comes from [`Ticks::next`].
    fn plan(
        &mut self,
        symbol: &Symbol,
        timeframe: Timeframe,
        max: usize,
        out: &mut Vec<(Timestamp, Bar)>,
    ) {
        let _ = (symbol, timeframe, max, out);
    }

    /// Moves to the next tick, which [`Ticks::plan`] said is at `time`: when it was
    /// scheduled, or `None` (the run ends) if it is not that tick.
    fn catch_up(&mut self, time: Timestamp) -> Option<Timestamp> {
        self.next().filter(|n| n.time == time).map(|n| n.scheduled)
    }
}

impl<F: FnMut() -> Option<NextTick> + Send> Ticks for F {
    fn next(&mut self) -> Option<NextTick> {
        self()
    }
}

/// A run's tick source.
pub type TickSource = Box<dyn Ticks>;

/// Most ticks one `next-ticks` call hands out.
pub const MAX_BATCH: usize = 1_024;
/// The most time a batch's shared deadlines add up to: a bot stuck in a batch's first tick
/// traps after at most this long, not after a thousand deadlines.
pub const MAX_BATCH_TIME: Duration = Duration::from_secs(2);
/// Numbers per tick in a `next-ticks` list: the tick's time and its bar's six fields.
const BATCH_STRIDE: usize = 7;

/// What the host imports read and write for one bot: its grant, market view, positions,
/// capital and key-value store. The host updates it before each call.
pub struct HostIo {
    /// The bot.
    pub bot: BotId,
    /// Symbols the registry granted.
    pub grant: Vec<Symbol>,
    /// Closed bars, shared by the fleet.
    pub market: Arc<dyn MarketData>,
    /// The bot's open positions.
    pub positions: Arc<[PositionView]>,
    /// The bot's allocated capital.
    pub capital: f64,
    /// The bot's persisted key-value store (the host loads and saves it).
    pub kv: BTreeMap<String, Vec<u8>>,
    /// Keys written since the host last drained them.
    pub kv_writes: Vec<(String, Vec<u8>)>,
    /// Imports the bot was refused since the last drain (e.g. an ungranted symbol).
    pub violations: Vec<String>,
    /// Host calls made since the last drain.
    pub host_calls: u64,
    /// Reused by `bars` and `indicator` so a tick does not allocate for the bars it reads.
    scratch: Scratch,
    /// Inside an `on-ticks` call: where `next-tick` takes its ticks from.
    pub(crate) source: Option<TickSource>,
    /// Ticks this instance has started (the `tick` field of the contexts).
    pub(crate) ticks: u64,
    /// Inside an `on-ticks` call: the (scheduled, time) of the last tick handed out.
    pub(crate) last: Option<(Timestamp, Timestamp)>,
    /// Inside an `on-ticks` call: `next-tick` said none (the host may have moved on).
    pub(crate) ended: bool,
    /// The last `next-ticks` batch: each tick's time and bar, planned, not yet moved to.
    pub(crate) batch: Vec<(Timestamp, Bar)>,
    /// How many of `batch` the host has moved to.
    pub(crate) caught_up: usize,
    /// The epoch beat at which the current tick started: the deadline is per tick, also
    /// inside a run.
    pub(crate) tick_started: u64,
    /// How many ticks' deadlines the time since `tick_started` may use: 1, or a batch's
    /// ticks, which run without a host call between them and so share theirs.
    pub(crate) deadlines: u64,
    /// One tick's deadline (sizes batches: see [`MAX_BATCH_TIME`]).
    pub(crate) deadline: Duration,
    /// The runtime's epoch beats (a private counter until an instance takes this view).
    pub(crate) beats: Arc<AtomicU64>,
    /// The bot's clock, moved to each tick's time.
    pub(crate) clock: Arc<AtomicI64>,
}

/// Buffers the `bars` and `indicator` imports keep between calls.
#[derive(Default)]
struct Scratch {
    bars: Vec<Bar>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
}

impl HostIo {
    /// A fresh view for `bot` with an empty key-value store.
    pub fn new(bot: BotId, grant: Vec<Symbol>, market: Arc<dyn MarketData>) -> Self {
        Self {
            bot,
            grant,
            market,
            positions: Arc::from([]),
            capital: 0.0,
            kv: BTreeMap::new(),
            kv_writes: Vec::new(),
            violations: Vec::new(),
            host_calls: 0,
            scratch: Scratch::default(),
            source: None,
            ticks: 0,
            last: None,
            ended: false,
            batch: Vec::new(),
            caught_up: 0,
            tick_started: 0,
            deadlines: 1,
            deadline: Duration::from_millis(50),
            beats: Arc::new(AtomicU64::new(0)),
            clock: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Starts a tick at `time`: the clock, the tick counter and the deadline's start move.
    pub(crate) fn start_tick(&mut self, time: Timestamp) -> u64 {
        self.tick_started = self.beats.load(Ordering::Relaxed);
        self.deadlines = 1;
        self.enter_tick(time)
    }

    /// Counts one more tick and moves the bot's clock to it.
    fn enter_tick(&mut self, time: Timestamp) -> u64 {
        self.ticks += 1;
        self.clock.store(time.0, Ordering::Relaxed);
        self.ticks
    }

    /// Moves the host through the first `n` ticks of the batch (no further than its end);
    /// a tick that is not the one planned ends the run.
    pub(crate) fn catch_up(&mut self, n: usize) {
        let n = n.min(self.batch.len());
        while self.caught_up < n {
            // A key written or an import refused is recorded with its own tick.
            if !self.kv_writes.is_empty() || !self.violations.is_empty() {
                self.ended = true;
                return;
            }
            let time = self.batch[self.caught_up].0;
            let Some(scheduled) = self.source.as_mut().and_then(|s| s.catch_up(time)) else {
                self.ended = true;
                self.batch.clear();
                self.caught_up = 0;
                return;
            };
            // `tick_started` stays: the batch's ticks share their deadlines.
            self.caught_up += 1;
            self.enter_tick(time);
            self.last = Some((scheduled, time));
        }
    }

    /// The index of `symbol` in the grant (an index, not a clone: this is on the tick path).
    fn granted(&mut self, symbol: &str) -> Result<usize, String> {
        match self.grant.iter().position(|s| s.as_str() == symbol) {
            Some(i) => Ok(i),
            None => {
                let msg = format!(
                    "symbol `{}` is not granted to bot `{}`",
                    truncate(symbol, 64),
                    self.bot
                );
                self.violate(msg.clone());
                Err(msg)
            }
        }
    }

    fn violate(&mut self, msg: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(msg);
        }
    }
}

/// The data of one bot's `Store`.
pub struct BotState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) io: HostIo,
}

impl BotState {
    pub(crate) fn new(io: HostIo, limits: StoreLimits, seed: u64) -> Self {
        let clock = io.clock.clone();
        use rand::{RngCore, SeedableRng};
        // No preopened dirs, env, args or sockets; clocks and randomness come from the host
        // so a replay sees the same values.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut bytes = vec![0u8; 4096];
        rng.fill_bytes(&mut bytes);
        let mut b = WasiCtx::builder();
        b.wall_clock(SimWallClock(clock.clone()))
            .monotonic_clock(SimMonotonicClock(clock))
            .secure_random(wasmtime_wasi::Deterministic::new(bytes.clone()))
            .insecure_random(wasmtime_wasi::Deterministic::new(bytes))
            .insecure_random_seed(seed as u128)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Self {
            wasi: b.build(),
            table: ResourceTable::new(),
            limits,
            io,
        }
    }
}

impl WasiView for BotState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The host's (simulated or real) time, shown to the guest as its wall clock.
struct SimWallClock(Arc<AtomicI64>);
impl wasmtime_wasi::HostWallClock for SimWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Relaxed).max(0) as u64)
    }
}

/// Monotonic time derived from the same clock, in nanoseconds.
struct SimMonotonicClock(Arc<AtomicI64>);
impl wasmtime_wasi::HostMonotonicClock for SimMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        (self.0.load(Ordering::Relaxed).max(0) as u64).saturating_mul(1_000_000)
    }
}

impl BotState {
    /// The last `count` (at most [`MAX_BARS_PER_CALL`]) closed bars of a granted symbol,
    /// read into the reused buffer, so the only allocation is what wasmtime is handed.
    fn last_bars(
        &mut self,
        symbol: &str,
        timeframe: types::Timeframe,
        count: u32,
    ) -> Result<&[Bar], String> {
        self.io.host_calls += 1;
        let i = self.io.granted(symbol)?;
        let count = count.min(MAX_BARS_PER_CALL) as usize;
        let io = &mut self.io;
        io.market
            .bars_into(&io.grant[i], timeframe.into(), count, &mut io.scratch.bars)
            .map_err(|e| e.to_string())?;
        Ok(&io.scratch.bars)
    }

    /// The newest closed bar of a watched series, as `bar-at(.., 0)` answers it; `None`
    /// (the guest then asks `bar-at`) for an index past the grant or no bar held.
    fn newest_bar(&mut self, watch: types::Series) -> Option<types::Bar> {
        let io = &mut self.io;
        let symbol = io.grant.get(watch.symbol as usize)?;
        io.market
            .bars_into(symbol, watch.timeframe.into(), 1, &mut io.scratch.bars)
            .ok()?;
        io.scratch.bars.first().map(wit_bar)
    }
}

impl types::Host for BotState {}

impl host::Host for BotState {
    fn bars(
        &mut self,
        symbol: String,
        timeframe: types::Timeframe,
        count: u32,
    ) -> Result<Vec<types::Bar>, String> {
        let bars = self.last_bars(&symbol, timeframe, count)?;
        Ok(bars.iter().map(wit_bar).collect())
    }

    fn bar_at(
        &mut self,
        symbol: String,
        timeframe: types::Timeframe,
        back: u32,
    ) -> Result<Option<types::Bar>, String> {
        let count = back.saturating_add(1);
        let bars = self.last_bars(&symbol, timeframe, count)?;
        // Fewer than `back + 1` bars held (or more asked than a call returns): no such bar.
        Ok((bars.len() == count as usize).then(|| wit_bar(&bars[0])))
    }

    fn next_tick(&mut self, watch: Option<types::Series>) -> Option<types::RunTick> {
        self.io.host_calls += 1;
        // The rest of a batch never runs.
        self.io.batch.clear();
        self.io.caught_up = 0;
        // A key written or an import refused is recorded with its own tick: hand back first.
        if self.io.ended || !self.io.kv_writes.is_empty() || !self.io.violations.is_empty() {
            return None;
        }
        let Some(next) = self.io.source.as_mut().and_then(|source| source.next()) else {
            self.io.ended = true;
            return None;
        };
        let tick = self.io.start_tick(next.time);
        self.io.positions = next.positions;
        self.io.capital = next.capital;
        self.io.last = Some((next.scheduled, next.time));
        // Read after the source moved the market: the bar `bar-at(.., 0)` would give now.
        let newest = watch.and_then(|w| self.newest_bar(w));
        Some(types::RunTick {
            ctx: types::TickContext {
                time: next.time.0,
                tick,
                capital: next.capital,
            },
            newest,
        })
    }

    fn next_ticks(&mut self, watch: types::Series, max: u32, done: u32) -> Vec<f64> {
        self.io.host_calls += 1;
        let io = &mut self.io;
        io.catch_up(done as usize);
        io.batch.clear();
        io.caught_up = 0;
        if io.ended || !io.kv_writes.is_empty() || !io.violations.is_empty() {
            return Vec::new();
        }
        let fit = MAX_BATCH_TIME.as_micros() / io.deadline.as_micros().max(1);
        let max = (max as usize).min(MAX_BATCH).min(fit.max(1) as usize);
        if let (Some(symbol), Some(source)) =
            (io.grant.get(watch.symbol as usize), io.source.as_mut())
        {
            source.plan(symbol, watch.timeframe.into(), max, &mut io.batch);
            io.batch.truncate(max);
        }
        if !io.batch.is_empty() {
            io.tick_started = io.beats.load(Ordering::Relaxed);
            io.deadlines = io.batch.len() as u64;
            let mut out = Vec::with_capacity(2 + BATCH_STRIDE * io.batch.len());
            out.extend([0.0, io.capital]);
            for (time, bar) in &io.batch {
                wire_tick(&mut out, time.0, Some(wit_bar(bar)));
            }
            return out;
        }
        // Nothing planned: one tick, moved to, as `next-tick` hands it.
        let next = self.next_tick(Some(watch));
        // `next_tick` counted this call again.
        self.io.host_calls -= 1;
        let Some(next) = next else {
            return Vec::new();
        };
        let mut out = vec![1.0, next.ctx.capital];
        wire_tick(&mut out, next.ctx.time, next.newest);
        out
    }

    fn catch_up(&mut self, n: u32) {
        self.io.host_calls += 1;
        self.io.catch_up(n as usize);
    }

    fn indicator(
        &mut self,
        symbol: String,
        timeframe: types::Timeframe,
        spec: types::Indicator,
        count: u32,
    ) -> Result<types::IndicatorValues, String> {
        self.io.host_calls += 1;
        let i = self.io.granted(&symbol)?;
        let spec = spec_from_wit(spec);
        spec.validate()
            .map_err(|e| format!("invalid indicator: {e}"))?;
        let count = count.min(MAX_BARS_PER_CALL) as usize;
        let io = &mut self.io;
        let s = &mut io.scratch;
        io.market
            .bars_into(
                &io.grant[i],
                timeframe.into(),
                spec.history(count),
                &mut s.bars,
            )
            .map_err(|e| e.to_string())?;
        s.close.clear();
        s.close.extend(s.bars.iter().map(|b| b.close));
        // Only ATR reads highs and lows; skip copying them for everything else.
        s.high.clear();
        s.low.clear();
        if matches!(spec, Spec::Atr(_)) {
            s.high.extend(s.bars.iter().map(|b| b.high));
            s.low.extend(s.bars.iter().map(|b| b.low));
        }
        let values = flotilla_indicators::compute(&spec, &s.high, &s.low, &s.close, count)
            .map_err(|e| format!("invalid indicator: {e}"))?;
        Ok(values_to_wit(values))
    }

    fn last_price(&mut self, symbol: String) -> Result<f64, String> {
        self.io.host_calls += 1;
        let i = self.io.granted(&symbol)?;
        self.io
            .market
            .last_price(&self.io.grant[i])
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    }

    fn positions(&mut self) -> Vec<types::Position> {
        self.io.host_calls += 1;
        self.io
            .positions
            .iter()
            .map(|p| types::Position {
                symbol: p.symbol.to_string(),
                quantity: p.quantity,
                avg_price: p.avg_price,
            })
            .collect()
    }

    fn capital(&mut self) -> f64 {
        self.io.host_calls += 1;
        self.io.capital
    }

    fn kv_get(&mut self, key: String) -> Option<Vec<u8>> {
        self.io.host_calls += 1;
        self.io.kv.get(&key).cloned()
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>) {
        self.io.host_calls += 1;
        if key.len() > MAX_KV_KEY || value.len() > MAX_KV_VALUE {
            let msg = format!(
                "kv-set refused: key {} bytes, value {} bytes (caps {MAX_KV_KEY}/{MAX_KV_VALUE})",
                key.len(),
                value.len()
            );
            return self.io.violate(msg);
        }
        if !self.io.kv.contains_key(&key) && self.io.kv.len() >= MAX_KV_ENTRIES {
            return self.io.violate(format!(
                "kv-set refused: store full ({MAX_KV_ENTRIES} keys)"
            ));
        }
        self.io.kv.insert(key.clone(), value.clone());
        self.io.kv_writes.retain(|(k, _)| *k != key);
        self.io.kv_writes.push((key, value));
    }

    fn log(&mut self, level: types::LogLevel, message: String) {
        self.io.host_calls += 1;
        let message = truncate(&message, MAX_LOG_LEN);
        let bot = self.io.bot.as_str();
        match level {
            types::LogLevel::Trace => tracing::trace!(target: "flotilla::bot", bot, "{message}"),
            types::LogLevel::Debug => tracing::debug!(target: "flotilla::bot", bot, "{message}"),
            types::LogLevel::Info => tracing::info!(target: "flotilla::bot", bot, "{message}"),
            types::LogLevel::Warn => tracing::warn!(target: "flotilla::bot", bot, "{message}"),
            types::LogLevel::Error => tracing::error!(target: "flotilla::bot", bot, "{message}"),
        }
    }
}

impl From<types::Timeframe> for Timeframe {
    fn from(tf: types::Timeframe) -> Self {
        match tf {
            types::Timeframe::M1 => Timeframe::M1,
            types::Timeframe::M5 => Timeframe::M5,
            types::Timeframe::M15 => Timeframe::M15,
            types::Timeframe::H1 => Timeframe::H1,
            types::Timeframe::D1 => Timeframe::D1,
        }
    }
}

/// A bar as the contract spells it.
/// Appends one tick of a `next-ticks` list: its time, then its bar (NaN when none).
fn wire_tick(out: &mut Vec<f64>, time: i64, bar: Option<types::Bar>) {
    out.push(time as f64);
    match bar {
        Some(b) => out.extend([b.time as f64, b.open, b.high, b.low, b.close, b.volume]),
        None => out.extend([f64::NAN; BATCH_STRIDE - 1]),
    }
}

fn wit_bar(b: &Bar) -> types::Bar {
    types::Bar {
        time: b.time.0,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
    }
}

/// The indicator a guest asked for, in the indicators crate's terms.
fn spec_from_wit(spec: types::Indicator) -> Spec {
    use types::Indicator as I;
    match spec {
        I::Sma(p) => Spec::Sma(p),
        I::Ema(p) => Spec::Ema(p),
        I::Wma(p) => Spec::Wma(p),
        I::Rsi(p) => Spec::Rsi(p),
        I::Atr(p) => Spec::Atr(p),
        I::Stddev(p) => Spec::StdDev(p),
        I::Roc(p) => Spec::Roc(p),
        I::Macd(m) => Spec::Macd {
            fast: m.fast,
            slow: m.slow,
            signal: m.signal,
        },
        I::Bollinger(b) => Spec::Bollinger {
            period: b.period,
            deviations: b.deviations,
        },
    }
}

/// Computed values as the WIT variant; the vectors move, nothing is copied.
fn values_to_wit(values: Values) -> types::IndicatorValues {
    match values {
        Values::Line(v) => types::IndicatorValues::Line(v),
        Values::Macd {
            macd,
            signal,
            histogram,
        } => types::IndicatorValues::Macd(types::MacdValues {
            macd,
            signal,
            histogram,
        }),
        Values::Bands {
            upper,
            middle,
            lower,
        } => types::IndicatorValues::Bands(types::BandValues {
            upper,
            middle,
            lower,
        }),
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
