//! The store data of one bot: what the host imports read and write for it, and where a
//! run of ticks takes its ticks from. The imports themselves are in `imports.rs`.
//!
//! Every import is deny-by-default: market data only for granted symbols, sizes capped,
//! and every refusal remembered so the host can record it.

use crate::views::{PositionView, WorkingOrderView};
use flotilla_domain::{Bar, BotId, MarketData, OrderId, Symbol, Timeframe, Timestamp};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const MAX_VIOLATIONS: usize = 32;

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
// No working orders here: they change only with an order event, which must reach the bot
// first, so a source ends the run before one and the first tick's list holds for the run.

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
pub(crate) const BATCH_STRIDE: usize = 7;

/// What the host imports read and write for one bot: its grant, market view, positions,
/// working orders, capital and key-value store, and what a call leaves for the host (key
/// writes, refusals, cancels). The host updates it before each call.
pub struct HostIo {
    /// The bot.
    pub bot: BotId,
    /// Symbols the registry granted.
    pub grant: Vec<Symbol>,
    /// Closed bars, shared by the fleet.
    pub market: Arc<dyn MarketData>,
    /// The bot's open positions.
    pub positions: Arc<[PositionView]>,
    /// The bot's working orders as `working-orders` lists them (contract 0.7.0).
    pub working: Arc<[WorkingOrderView]>,
    /// The bot's allocated capital.
    pub capital: f64,
    /// The bot's persisted key-value store (the host loads and saves it).
    pub kv: BTreeMap<String, Vec<u8>>,
    /// Keys written since the host last drained them.
    pub kv_writes: Vec<(String, Vec<u8>)>,
    /// Imports the bot was refused since the last drain (e.g. an ungranted symbol).
    pub violations: Vec<String>,
    /// Working orders the bot asked to cancel since the last drain, each once.
    pub cancels: Vec<OrderId>,
    /// Host calls made since the last drain.
    pub host_calls: u64,
    /// Reused by `bars` and `indicator` so a tick does not allocate for the bars it reads.
    pub(crate) scratch: Scratch,
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
pub(crate) struct Scratch {
    pub(crate) bars: Vec<Bar>,
    pub(crate) high: Vec<f64>,
    pub(crate) low: Vec<f64>,
    pub(crate) close: Vec<f64>,
}

impl HostIo {
    /// A fresh view for `bot` with an empty key-value store.
    pub fn new(bot: BotId, grant: Vec<Symbol>, market: Arc<dyn MarketData>) -> Self {
        Self {
            bot,
            grant,
            market,
            positions: Arc::from([]),
            working: Arc::from([]),
            capital: 0.0,
            kv: BTreeMap::new(),
            kv_writes: Vec::new(),
            violations: Vec::new(),
            cancels: Vec::new(),
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

    /// Whether the current tick left something the host records with that tick (a key
    /// written, an import refused, a cancel asked for): a run must hand back first.
    pub(crate) fn must_hand_back(&self) -> bool {
        !self.kv_writes.is_empty() || !self.violations.is_empty() || !self.cancels.is_empty()
    }

    /// Moves the host through the first `n` ticks of the batch (no further than its end);
    /// a tick that is not the one planned ends the run.
    pub(crate) fn catch_up(&mut self, n: usize) {
        let n = n.min(self.batch.len());
        while self.caught_up < n {
            // What a tick left is recorded with that tick.
            if self.must_hand_back() {
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
    pub(crate) fn granted(&mut self, symbol: &str) -> Result<usize, String> {
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

    pub(crate) fn violate(&mut self, msg: String) {
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
