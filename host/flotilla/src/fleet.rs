//! The fleet: bots, market, risk, broker and ledger wired into one tick path.
//!
//! Shared state sits behind one mutex (`Core`) held only for the non-bot part of a tick;
//! bot calls run outside it, so a slow bot never holds up the others. Bots can be added,
//! removed and swapped while the fleet runs (see `reload`).

use crate::slot::{BotSlot, SlotSpec};
pub use crate::source::{MarketSource, NewBar};
use anyhow::{Context, Result};
use flotilla_backtest::{BarEvent, FillMode};
use flotilla_broker::{Broker, PaperBroker, PaperConfig};
use flotilla_config::{BotSpec, FleetSpec, Registry, Schedule};
use flotilla_domain::{BotId, ClientOrderId, Decimal, MarketData, Money, Symbol, Timestamp};
use flotilla_engine::{ExitBook, Portfolio, RiskEngine, ThompsonAllocator};
use flotilla_ledger::{BotVersionRecord, Ledger, LoadStatus};
use flotilla_market::{BarStore, SharedBars, SimConfig, Simulator, SymbolConfig};
use flotilla_runtime::{BoundaryLimits, LoadedComponent, Runtime};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::{mpsc, watch};

/// How to build a fleet besides the registry.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// Ledger file; `:memory:` keeps it in memory (backtests).
    pub db: PathBuf,
    /// Compiled-component cache directory (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Replay these bars instead of running the simulator (backtests).
    pub replay: Option<Vec<BarEvent>>,
    /// Paper broker costs instead of the registry's.
    pub broker: Option<PaperConfig>,
    /// When orders fill: at the last close (live, paper) or at the next bar's open.
    pub fill: FillMode,
    /// Record ticks that produced nothing (live: yes, for the audit; backtests: no, for speed).
    pub record_quiet_ticks: bool,
    /// Keep fills, refusals and events in memory instead of writing the ledger (backtests
    /// without a ledger file: nobody reads it afterwards).
    pub journal_in_memory: bool,
    /// A venue's live bars instead of the simulator, and the venue's time now (the run
    /// starts there).
    pub live: Option<(
        std::sync::Arc<Mutex<Option<crate::live::LiveMarket>>>,
        Timestamp,
    )>,
    /// A replay's engine, components and scheduled bars, shared with other replays of
    /// the same `replay` bars (parameter optimization).
    pub shared: Option<Arc<crate::shared::SharedReplay>>,
}

impl FleetOptions {
    /// Live/paper defaults: a ledger file, immediate fills, every tick recorded.
    pub fn new(db: impl Into<PathBuf>, cache_dir: Option<PathBuf>) -> Self {
        Self {
            db: db.into(),
            cache_dir,
            replay: None,
            broker: None,
            fill: FillMode::Close,
            record_quiet_ticks: true,
            journal_in_memory: false,
            live: None,
            shared: None,
        }
    }
}

/// A bot as the scheduler sees it. The slot is locked for a whole tick, so one bot never
/// runs twice at once, and a reload waits for the tick in flight.
pub struct BotHandle {
    /// The bot.
    pub id: BotId,
    /// Its registry entry as last applied.
    pub spec: Mutex<BotSpec>,
    /// Its schedule; the bot's task wakes when it changes.
    pub schedule: watch::Sender<Schedule>,
    /// Turns true when the bot is removed or disabled.
    pub stop: watch::Sender<bool>,
    /// Paused by hand: its runs are skipped (recorded as such); its host exits stay armed.
    pub paused: std::sync::atomic::AtomicBool,
    /// The bot's live state.
    pub slot: Mutex<BotSlot>,
}

impl BotHandle {
    /// The slot, even if a panicking thread poisoned its lock.
    pub fn slot(&self) -> MutexGuard<'_, BotSlot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Wall-time cap around one tick.
    pub fn timeout(&self) -> std::time::Duration {
        self.spec().limits.timeout()
    }
    /// The registry entry as last applied.
    pub fn spec(&self) -> BotSpec {
        self.spec.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Records a newly applied registry entry.
    pub fn set_spec(&self, spec: BotSpec) {
        *self.spec.lock().unwrap_or_else(|p| p.into_inner()) = spec;
    }
}

/// State shared by every tick: the book, the risk engine, the broker and the ledger.
pub struct Core {
    /// The fleet's positions and cash, per bot.
    pub portfolio: Portfolio,
    /// The central risk engine.
    pub risk: RiskEngine,
    /// Where approved orders go.
    pub broker: Box<dyn Broker>,
    /// The ledger.
    pub ledger: Ledger,
    /// Capital allocated per bot.
    pub budgets: BTreeMap<BotId, Money>,
    /// Realised PnL and fees per (bot, symbol) since the ledger began; the book forgets
    /// them when a position closes, the ledger's position rows must not.
    pub totals: BTreeMap<(BotId, Symbol), (Money, Money)>,
    /// Host-managed exits (stops, targets, trails) of open positions.
    pub exits: ExitBook,
    /// The capital allocator.
    pub allocator: ThompsonAllocator,
    /// Fleet equity as last marked.
    pub equity: Money,
    /// The latest 1-minute bar seen per symbol.
    pub last_bar: BTreeMap<Symbol, Timestamp>,
    /// Each symbol's latest close as a ledger price, converted once per bar (the f64 to
    /// decimal conversion is a visible share of a backtest step).
    pub marks: rustc_hash::FxHashMap<Symbol, Decimal>,
    /// When capital is next reallocated.
    pub next_rebalance: Timestamp,
    /// A replay's orders waiting for a bar (market orders for the next open, limits until
    /// a bar crosses them: the shared matching model, `flotilla_broker::matching`),
    /// oldest first, with whether the next bar is their first.
    pub resting: Vec<(crate::execution::Working, bool)>,
    /// Orders handed to the execution service and not done yet, by id.
    pub working: BTreeMap<flotilla_domain::OrderId, crate::execution::Working>,
    /// The working orders by the id the venue knows them by.
    pub by_client: BTreeMap<ClientOrderId, flotilla_domain::OrderId>,
    /// Orders recorded by the tick in progress, sent once its record commits.
    pub outbox: Vec<flotilla_domain::OrderId>,
    /// The last venue event booked.
    pub venue_seq: u64,
    /// The namespace of this ledger's client order ids (see [`flotilla_domain::ClientOrderId`]).
    pub client_ns: String,
    /// The host state last written to the ledger, per key, so unchanged state is not
    /// written again.
    pub persisted: BTreeMap<&'static str, String>,
    /// Order updates to report to each bot at its next tick (contract 0.7.0 `on-order`).
    pub order_notices: BTreeMap<BotId, Vec<flotilla_runtime::OrderUpdateView>>,
    /// Cancels asked for by the tick in progress, sent once its record commits.
    pub cancel_outbox: Vec<ClientOrderId>,
    /// Shared by every tick that has no working orders (a replay allocates none per tick).
    pub no_working: std::sync::Arc<[flotilla_runtime::WorkingOrderView]>,
    /// When the oldest fill waiting for each bot came from the venue (latency figures).
    pub notice_since: BTreeMap<BotId, std::time::Instant>,
    /// Fills to report to each bot at its next tick.
    pub fill_notices: BTreeMap<BotId, Vec<flotilla_domain::Fill>>,
    /// Decisions kept in memory instead of the ledger (backtests without a ledger file).
    pub replay_log: Option<crate::journal::ReplayLog>,
    /// Each bot's capital and positions as its ticks show them, kept until a fill or a
    /// budget change (a replay would otherwise convert them from decimals every tick).
    pub tick_views: rustc_hash::FxHashMap<BotId, crate::tick::TickView>,
    /// The event stream and metrics of a served run (`None`: nobody watches, e.g. a
    /// backtest, which then pays nothing for them).
    pub telemetry: Option<Arc<flotilla_telemetry::Telemetry>>,
}

/// What one tick did, for logs and tests.
#[derive(Clone, Debug, Default)]
pub struct TickSummary {
    /// Intents the bot returned that passed the boundary.
    pub intents: usize,
    /// Orders sent.
    pub orders: usize,
    /// Intents refused at the boundary or by risk.
    pub refused: usize,
    /// The failure, if the call failed.
    pub error: Option<String>,
    /// Ticks the call handled (more than 1 for a replay's run of ticks).
    pub ticks: u64,
}

/// The running fleet.
pub struct Fleet {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) market: SharedBars,
    source: Mutex<MarketSource>,
    pub(crate) fill_mode: FillMode,
    pub(crate) record_quiet_ticks: bool,
    /// Replaying recorded bars (a backtest): the replay loop moves the market before each
    /// step, and host state (risk memory, allocator) is not saved for a restart.
    pub(crate) replaying: bool,
    core: Mutex<Core>,
    bots: RwLock<BTreeMap<BotId, Arc<BotHandle>>>,
    spawner: Mutex<Option<mpsc::UnboundedSender<Arc<BotHandle>>>>,
    pub(crate) boundary: BoundaryLimits,
    pub(crate) spec: FleetSpec,
    /// What fills cost (the paper broker's and a replay's matching model's).
    pub(crate) costs: PaperConfig,
    /// When this run starts: the registry's start, or where the ledger left off.
    start: Timestamp,
    /// The execution service, once started (live and paper runs; replays fill in process).
    pub(crate) execution: std::sync::OnceLock<crate::execution::Execution>,
    registry_path: PathBuf,
    /// Components loaded before the fleet was built, by path (a shared replay's).
    preloaded: BTreeMap<PathBuf, Arc<LoadedComponent>>,
}

impl Fleet {
    /// Loads every enabled bot of `registry`. A bot that fails to load is recorded in the
    /// ledger and left out; the rest of the fleet runs.
    pub fn build(registry: &Registry, options: &FleetOptions) -> Result<Self> {
        registry.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut fleet = registry.fleet_spec().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut specs = registry.bots().map_err(|e| anyhow::anyhow!("{e}"))?;
        // One allocation per symbol name across the fleet (market, grants, replayed bars):
        // symbols compare by pointer first, so lookups on the per-bar path that meet their
        // own symbol do not read its text.
        let shared = options.shared.as_deref();
        // A shared replay's store is keyed by its own allocations: start from those.
        let mut canon: BTreeSet<Symbol> = shared.map(|s| s.symbols()).unwrap_or_default();
        let mut canonical = |s: &Symbol| match canon.get(s) {
            Some(c) => c.clone(),
            None => {
                canon.insert(s.clone());
                s.clone()
            }
        };
        for s in &mut fleet.market.symbols {
            *s = canonical(s);
        }
        for s in specs.iter_mut().flat_map(|spec| spec.symbols.iter_mut()) {
            *s = canonical(s);
        }
        let replay: Option<Vec<BarEvent>> = options.replay.as_ref().map(|events| {
            events
                .iter()
                .map(|e| BarEvent {
                    symbol: canonical(&e.symbol),
                    ..e.clone()
                })
                .collect()
        });
        let runtime = crate::shared::runtime(shared, options.cache_dir.clone())?;
        let mut ledger = if options.db.as_os_str() == ":memory:" {
            Ledger::open_in_memory()?
        } else {
            Ledger::open(&options.db)
                .with_context(|| format!("opening ledger {}", options.db.display()))?
        };
        let resume_at = if options.replay.is_none() {
            ledger
                .last_recorded_time()?
                .filter(|t| *t > fleet.market.start)
        } else {
            None
        };
        let live = options.live.as_ref().and_then(|(m, now)| {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .map(|m| (m, *now))
        });
        let resume_at = match &live {
            Some((_, now)) => Some(*now),
            None => resume_at,
        };
        let (source, market) = match replay {
            None if live.is_some() => {
                let (m, _) = live.expect("checked");
                let mut store = BarStore::new();
                for s in &fleet.market.symbols {
                    store.add_symbol(s);
                }
                (MarketSource::Live(Box::new(m)), SharedBars::new(store))
            }
            None => {
                let (sim, market) = start_market(&fleet, resume_at)?;
                (MarketSource::Sim(Box::new(sim)), market)
            }
            Some(events) => {
                // The whole history is known: resample it once, reveal it as time passes.
                let store = match shared {
                    Some(s) => s.store.clone(),
                    None => crate::shared::schedule(&events)?,
                };
                let source = MarketSource::Replay { events, next: 0 };
                (source, SharedBars::new(store))
            }
        };
        let mut risk =
            RiskEngine::try_new(risk_config(&fleet.risk, &specs)).context("risk limits")?;
        if let Some(memory) = ledger.load_host_state("risk_memory")? {
            risk.restore(serde_json::from_value(memory).context("restoring the risk memory")?);
        }
        let allocator = match ledger.load_host_state("allocator")? {
            Some(state) => ThompsonAllocator::restore(
                fleet.allocator.clone(),
                serde_json::from_value(state).context("restoring the allocator")?,
            ),
            None => ThompsonAllocator::new(fleet.allocator.clone()),
        }
        .context("allocator settings")?;
        // A live ledger carries the book on: its fills rebuild positions and cash, its
        // stored exit book the stops, targets and trails, before any bot ticks.
        let replaying = options.replay.is_some();
        let mut portfolio = risk.new_portfolio(fleet.starting_cash);
        let mut exits = ExitBook::new(fleet.risk.quantity_decimals);
        if !replaying {
            for f in ledger.all_fills()? {
                portfolio.apply_fill_detailed(&f.to_fill());
            }
            if let Some(book) = ledger.load_host_state("exits")? {
                exits = ExitBook::restore(
                    fleet.risk.quantity_decimals,
                    serde_json::from_value(book).context("restoring the exit book")?,
                );
            }
        }
        let start = resume_at.unwrap_or(fleet.market.start);
        let paper = options.broker.clone().unwrap_or(PaperConfig {
            slippage_bps: fleet.broker.slippage_bps,
            fee_bps: fleet.broker.fee_bps,
            min_fee: Decimal::ZERO,
        });
        let broker: Box<dyn Broker> =
            Box::new(PaperBroker::new(paper.clone(), fleet.starting_cash));
        // Marked at the market's latest prices, so the first allocation sizes from what the
        // account holds rather than the starting cash.
        let equity = portfolio.equity(|s| market.last_price(s).ok().and_then(|(p, _)| to_price(p)));
        // Made once per ledger and kept: a replay's from its seed (byte-identical reruns),
        // a live ledger's from the clock, so two ledgers on one account never share ids.
        let client_ns = if options.journal_in_memory {
            ClientOrderId::namespace_from_seed(fleet.market.seed)
        } else {
            let seed = if replaying {
                fleet.market.seed
            } else {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or_default()
            };
            ledger.client_id_namespace(seed)?
        };
        let totals = ledger
            .positions()?
            .into_iter()
            .map(|p| ((p.bot, p.symbol), (p.realized_pnl, p.fees)))
            .collect();
        let this = Self {
            runtime,
            market,
            source: Mutex::new(source),
            fill_mode: options.fill,
            record_quiet_ticks: options.record_quiet_ticks,
            replaying: options.replay.is_some(),
            core: Mutex::new(Core {
                portfolio,
                risk,
                broker,
                ledger,
                budgets: BTreeMap::new(),
                totals,
                exits,
                allocator,
                equity,
                last_bar: BTreeMap::new(),
                marks: Default::default(),
                next_rebalance: start,
                persisted: BTreeMap::new(),
                client_ns,
                working: BTreeMap::new(),
                resting: Vec::new(),
                by_client: BTreeMap::new(),
                outbox: Vec::new(),
                venue_seq: 0,
                tick_views: Default::default(),
                replay_log: options
                    .journal_in_memory
                    .then(crate::journal::ReplayLog::default),
                fill_notices: BTreeMap::new(),
                notice_since: BTreeMap::new(),
                order_notices: BTreeMap::new(),
                cancel_outbox: Vec::new(),
                no_working: std::sync::Arc::from([]),
                telemetry: None,
            }),
            bots: RwLock::new(BTreeMap::new()),
            spawner: Mutex::new(None),
            boundary: BoundaryLimits::default(),
            spec: fleet,
            costs: paper,
            start,
            execution: std::sync::OnceLock::new(),
            registry_path: registry.origin().to_path_buf(),
            preloaded: shared.map(|s| s.components.clone()).unwrap_or_default(),
        };
        for spec in specs.into_iter().filter(|s| s.enabled) {
            // A bad bot is recorded and left out; it never stops the others.
            let _ = this.add_bot(spec);
        }
        this.rebalance_now(this.start())?;
        Ok(this)
    }

    /// The bots running now, by id.
    pub fn handles(&self) -> Vec<Arc<BotHandle>> {
        self.bots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// One bot's handle.
    pub fn handle(&self, id: &str) -> Option<Arc<BotHandle>> {
        self.bots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The registry file the fleet was built from.
    pub fn registry_path(&self) -> &Path {
        &self.registry_path
    }

    /// When this run starts: the registry's market start for a new ledger, else the
    /// ledger's last recorded time (a restart resumes; it never replays a traded day).
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The shared state (for status, tests and shutdown).
    pub fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets the scheduler hear about bots added later.
    pub(crate) fn set_spawner(&self, tx: Option<mpsc::UnboundedSender<Arc<BotHandle>>>) {
        *self.spawner.lock().unwrap_or_else(|p| p.into_inner()) = tx;
    }

    /// Loads, instantiates and initialises a bot, then adds it to the fleet (and to a
    /// running scheduler). Every attempt is recorded in the ledger.
    pub fn add_bot(&self, spec: BotSpec) -> Result<Arc<BotHandle>> {
        let loaded = match self.preloaded.get(&spec.component) {
            Some(c) => Ok(c.clone()),
            None => self
                .runtime
                .load_file(&spec.component)
                .map_err(anyhow::Error::from),
        };
        let slot = loaded.and_then(|c| self.start_slot(&spec, c, None));
        let slot = self.record_load(&spec, slot)?;
        let handle = Arc::new(BotHandle {
            id: spec.id.clone(),
            schedule: watch::Sender::new(spec.schedule.clone()),
            stop: watch::Sender::new(false),
            paused: Default::default(),
            spec: Mutex::new(spec),
            slot: Mutex::new(slot),
        });
        self.bots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(handle.id.clone(), handle.clone());
        if let Some(tx) = self
            .spawner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(handle.clone());
        }
        Ok(handle)
    }

    /// Stops a bot after its tick in flight and saves its state.
    pub fn remove_bot(&self, id: &BotId) -> Result<()> {
        let handle = self
            .bots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(h) = handle {
            h.stop.send_replace(true);
            let state = h.slot().take_snapshot().map(<[u8]>::to_vec);
            let mut core = self.core();
            core.tick_views.remove(id);
            if let Some(state) = state {
                core.ledger.save_state(self.start(), id, &state)?;
            }
        }
        Ok(())
    }

    /// Builds a slot for `spec` on `component`, with the bot's persisted key-value store
    /// and `snapshot` (else its last saved state).
    pub(crate) fn start_slot(
        &self,
        spec: &BotSpec,
        component: Arc<LoadedComponent>,
        snapshot: Option<Vec<u8>>,
    ) -> Result<BotSlot> {
        let (kv, saved) = {
            let core = self.core();
            (
                core.ledger.kv_all(&spec.id)?.into_iter().collect(),
                core.ledger.load_state(&spec.id)?,
            )
        };
        let market: Arc<dyn MarketData> = Arc::new(self.market.clone());
        let slot_spec = SlotSpec::from_bot(spec, self.spec.market.seed ^ fnv1a(spec.id.as_str()));
        Ok(BotSlot::start(
            &self.runtime,
            slot_spec,
            component,
            market,
            kv,
            snapshot.or(saved),
        )?)
    }

    /// Records a load attempt in the ledger and logs it; passes the slot through.
    pub(crate) fn record_load(&self, spec: &BotSpec, slot: Result<BotSlot>) -> Result<BotSlot> {
        let now = self.start();
        let path = spec.component.display().to_string();
        let mut core = self.core();
        match slot {
            Ok(slot) => {
                let c = slot.component();
                core.ledger.record_bot_version(&BotVersionRecord {
                    bot: spec.id.clone(),
                    version: slot.description().version.clone(),
                    content_hash: c.hash.clone(),
                    component_path: path,
                    loaded_at: now,
                    status: LoadStatus::Ok,
                    error: None,
                })?;
                tracing::info!(bot = %spec.id, version = %slot.description().version, cached = c.from_cache,
                    load_ms = c.load_time.as_millis() as u64, "bot loaded");
                Ok(slot)
            }
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::error!(bot = %spec.id, error = %msg, "bot failed to load");
                core.ledger.record_bot_version(&BotVersionRecord {
                    bot: spec.id.clone(),
                    version: String::new(),
                    content_hash: String::new(),
                    component_path: path,
                    loaded_at: now,
                    status: LoadStatus::Failed,
                    error: Some(msg.clone()),
                })?;
                core.record_event(now, Some(&spec.id), "load_failed", &msg)?;
                Err(e)
            }
        }
    }

    /// The latest market time the fleet has seen (its start before any bar).
    pub fn now(&self) -> Timestamp {
        self.core()
            .last_bar
            .values()
            .max()
            .copied()
            .unwrap_or(self.start())
    }

    /// Reallocates capital at the latest market time (after bots were added or removed).
    pub fn rebalance(&self) {
        let now = self
            .core()
            .last_bar
            .values()
            .max()
            .copied()
            .unwrap_or(self.start());
        if let Err(e) = self.rebalance_now(now) {
            tracing::error!(error = %format!("{e:#}"), "rebalance failed; budgets unchanged");
        }
    }

    /// Brings market data up to `now`, appending the replayed bars pushed to `pushed`
    /// (none when simulating). The caller keeps the buffer, so a replay allocates none.
    ///
    /// Returns when the next replayed bar closes, read under the same lock (a replay asks
    /// after every step).
    pub fn advance_market(
        &self,
        now: Timestamp,
        pushed: &mut Vec<NewBar>,
    ) -> Result<Option<Timestamp>> {
        self.advance_market_with(now, pushed, true)
    }

    /// [`Fleet::advance_market`]; without `take_live`, a live market's new bars enter the
    /// store but wait for the host duties (a bot's tick reads them, the duties book them).
    pub(crate) fn advance_market_with(
        &self,
        now: Timestamp,
        pushed: &mut Vec<NewBar>,
        take_live: bool,
    ) -> Result<Option<Timestamp>> {
        let (next, notes) = {
            let mut source = self.source.lock().unwrap_or_else(|p| p.into_inner());
            let mut store = self.market.write();
            source.advance_to(now, &mut store, pushed, take_live)?;
            let notes = match &mut *source {
                MarketSource::Live(live) => live.take_notes(),
                _ => Vec::new(),
            };
            (source.next_event(), notes)
        };
        self.apply_feed_notes(notes, now)?;
        Ok(next)
    }

    /// With a live feed, records the bar-arrival → tick latency of a tick due at `at`.
    pub(crate) fn note_live_tick(&self, symbols: &[Symbol], at: Timestamp) {
        if let MarketSource::Live(live) =
            &mut *self.source.lock().unwrap_or_else(|p| p.into_inner())
        {
            live.note_tick(symbols, at);
        }
    }

    /// A live feed's bar-arrival → due-tick latencies so far, µs (empty otherwise).
    pub fn bar_to_tick_us(&self) -> Vec<u64> {
        match &*self.source.lock().unwrap_or_else(|p| p.into_inner()) {
            MarketSource::Live(live) => live.bar_to_tick_us().to_vec(),
            _ => Vec::new(),
        }
    }

    /// Whether bars come from a venue's live feed.
    pub fn is_live(&self) -> bool {
        matches!(
            &*self.source.lock().unwrap_or_else(|p| p.into_inner()),
            MarketSource::Live(_)
        )
    }

    /// With a live feed, whether `symbols` have their bars closing at `at`, and how long a
    /// due bot may wait for them; `None` otherwise.
    pub(crate) fn live_bars_ready(
        &self,
        symbols: &[Symbol],
        at: Timestamp,
    ) -> Option<(bool, std::time::Duration)> {
        match &*self.source.lock().unwrap_or_else(|p| p.into_inner()) {
            MarketSource::Live(live) => {
                Some((live.has_bars_closing_at(symbols, at), live.bar_wait()))
            }
            _ => None,
        }
    }

    /// Runs `f` on the replayed bars still to come, oldest first (none when not
    /// replaying); moves nothing.
    pub(crate) fn with_replayed<R>(&self, f: impl FnOnce(&[BarEvent]) -> R) -> R {
        let source = self.source.lock().unwrap_or_else(|p| p.into_inner());
        match &*source {
            MarketSource::Replay { events, next } => f(&events[*next..]),
            MarketSource::Sim(_) | MarketSource::Live(_) => f(&[]),
        }
    }

    /// When the next replayed bar closes, if replaying.
    pub fn next_market_event(&self) -> Option<Timestamp> {
        self.source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_event()
    }

    /// Marks the book to market and records an equity snapshot.
    pub fn record_equity(&self, now: Timestamp) -> Result<Money> {
        let mut core = self.core();
        let equity = core.portfolio.equity(|s| self.mark(s));
        let cash = core.portfolio.cash();
        core.ledger.record_equity(now, cash, equity)?;
        Ok(equity)
    }

    pub(crate) fn mark(&self, symbol: &Symbol) -> Option<Decimal> {
        let (p, _) = self.market.last_price(symbol).ok()?;
        to_price(p)
    }

    /// [`Fleet::mark`], from the marks the host duties converted at the last bar when
    /// there is one (a symbol with no bar through them yet falls back to the market).
    pub(crate) fn cached_mark(
        &self,
        marks: &rustc_hash::FxHashMap<Symbol, Decimal>,
        s: &Symbol,
    ) -> Option<Decimal> {
        marks.get(s).copied().or_else(|| self.mark(s))
    }

    /// Takes every bot's snapshot and stores it in the ledger (on shutdown and reload).
    pub fn save_states(&self) -> Result<()> {
        for h in self.handles() {
            let state = h.slot().take_snapshot().map(<[u8]>::to_vec);
            if let Some(state) = state {
                self.core().ledger.save_state(self.start(), &h.id, &state)?;
            }
        }
        Ok(())
    }
}

/// Risk limits from the registry: `[fleet.risk]` (its own per-bot overrides dropped) with
/// each bot's `[bot.risk]`.
pub(crate) fn risk_config(
    fleet: &flotilla_engine::RiskConfig,
    specs: &[BotSpec],
) -> flotilla_engine::RiskConfig {
    let mut cfg = fleet.clone();
    cfg.bots.clear();
    for spec in specs {
        cfg.bots.insert(spec.id.clone(), spec.risk.clone());
    }
    cfg
}

pub(crate) use flotilla_domain::to_price;

/// A stable 64-bit hash of a bot id, so a bot's seed does not depend on registry order.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The simulator from the registry's start; with `resume_at`, run on to that time (same
/// seed, so prices continue where the previous run's left off).
fn start_market(
    fleet: &FleetSpec,
    resume_at: Option<Timestamp>,
) -> Result<(Simulator, SharedBars)> {
    let symbols = SymbolConfig::default_set()
        .into_iter()
        .filter(|s| {
            fleet
                .market
                .symbols
                .iter()
                .any(|m| m.as_str() == s.symbol.as_str())
        })
        .collect();
    let config = SimConfig {
        seed: fleet.market.seed,
        start: fleet.market.start,
        symbols,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(config).context("configuring the market simulator")?;
    let mut store = BarStore::new();
    let warm = sim.config().warm_up_minutes;
    sim.warm_up(&mut store, warm)
        .context("warming up the market simulator")?;
    if let Some(t) = resume_at {
        sim.advance_to(t, &mut store)
            .context("resuming the market simulator")?;
    }
    Ok((sim, SharedBars::new(store)))
}

/// The default registry: `config/fleet.toml` under the current directory if present,
/// else the bundled copy resolved against the source tree.
pub fn default_registry_path() -> PathBuf {
    let local = Path::new("config/fleet.toml");
    if local.exists() {
        local.to_path_buf()
    } else {
        Path::new(flotilla_config::SOURCE_CONFIG_DIR).join("fleet.toml")
    }
}
