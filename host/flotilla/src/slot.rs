//! One bot's place in the fleet: its component, its live instance and what survives a
//! rebuild (key-value store, last snapshot). A failed call costs that bot its tick only.

use flotilla_domain::{BotId, MarketData, Symbol, Timestamp};
use flotilla_runtime::{
    BotInstance, CallError, Description, FillView, HostIo, LoadedComponent, OrderUpdateView,
    PositionView, RunOutput, Runtime, RuntimeError, SandboxLimits, TickOutput, TickSource,
    WorkingOrderView,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything needed to (re)build a bot's instance.
#[derive(Clone)]
pub struct SlotSpec {
    /// The bot.
    pub id: BotId,
    /// Symbols granted by the registry.
    pub grant: Vec<Symbol>,
    /// Params from the registry, as text.
    pub params: Vec<(String, String)>,
    /// Memory and deadline caps.
    pub limits: SandboxLimits,
    /// Seed of the guest's WASI randomness.
    pub seed: u64,
}

impl SlotSpec {
    /// The slot settings of a registry entry; `seed` feeds the guest's randomness.
    pub fn from_bot(spec: &flotilla_config::BotSpec, seed: u64) -> Self {
        Self {
            id: spec.id.clone(),
            grant: spec.symbols.clone(),
            params: spec.params.clone(),
            limits: SandboxLimits {
                memory_bytes: spec.limits.memory_bytes() as usize,
                deadline: spec.limits.deadline(),
            },
            seed,
        }
    }
}

/// Counters kept per bot across rebuilds.
#[derive(Clone, Debug, Default)]
pub struct SlotStats {
    /// Ticks attempted.
    pub ticks: u64,
    /// Ticks that failed (trap, deadline, memory, bot error).
    pub failures: u64,
    /// Failures in a row, reset by a good tick.
    pub consecutive_failures: u32,
    /// Times the instance was rebuilt after a failure.
    pub rebuilds: u64,
    /// Scheduled runs skipped because the previous one overran.
    pub skipped: u64,
    /// Ticks that outlived their wall-clock timeout.
    pub timeouts: u64,
    /// Times the bot was quarantined.
    pub quarantines: u64,
}

/// Failures in a row that put a bot in quarantine.
pub const QUARANTINE_AFTER: u32 = 3;
/// First quarantine length (clock time); doubles on each relapse up to [`QUARANTINE_MAX_MS`].
pub const QUARANTINE_BASE_MS: i64 = 10_000;
/// Longest quarantine.
pub const QUARANTINE_MAX_MS: i64 = 600_000;

/// Why a slot could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// Loading or instantiating failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A call during setup failed.
    #[error("bot `{bot}`: {stage} failed: {error}")]
    Call {
        /// The bot.
        bot: BotId,
        /// Which call.
        stage: &'static str,
        /// The failure.
        error: CallError,
    },
    /// The bot needs symbols the registry did not grant.
    #[error("bot `{bot}` needs symbols not granted by the registry: {missing:?}")]
    Ungranted {
        /// The bot.
        bot: BotId,
        /// The missing symbols.
        missing: Vec<String>,
    },
}

/// A bot in the fleet.
pub struct BotSlot {
    spec: SlotSpec,
    component: Arc<LoadedComponent>,
    market: Arc<dyn MarketData>,
    instance: Option<BotInstance>,
    kv: BTreeMap<String, Vec<u8>>,
    snapshot: Option<Vec<u8>>,
    description: Description,
    quarantine: Option<Timestamp>,
    backoff_ms: i64,
    /// Counters.
    pub stats: SlotStats,
}

impl BotSlot {
    /// Instantiates the bot, checks what it asks for against its grant, and initialises it
    /// with its params, its persisted key-value store and its last snapshot.
    pub fn start(
        runtime: &Runtime,
        spec: SlotSpec,
        component: Arc<LoadedComponent>,
        market: Arc<dyn MarketData>,
        kv: BTreeMap<String, Vec<u8>>,
        snapshot: Option<Vec<u8>>,
    ) -> Result<Self, SlotError> {
        let mut slot = Self {
            spec,
            component,
            market,
            instance: None,
            kv,
            snapshot,
            description: Description {
                name: String::new(),
                version: String::new(),
                symbols: vec![],
                timeframes: vec![],
            },
            quarantine: None,
            backoff_ms: QUARANTINE_BASE_MS,
            stats: SlotStats::default(),
        };
        slot.build(runtime)?;
        Ok(slot)
    }

    /// The bot's id.
    pub fn id(&self) -> &BotId {
        &self.spec.id
    }

    /// What the bot said about itself.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// The component it runs.
    pub fn component(&self) -> &Arc<LoadedComponent> {
        &self.component
    }

    /// The registry grant.
    pub fn grant(&self) -> &[Symbol] {
        &self.spec.grant
    }

    /// Until when the bot is quarantined, if it is or was (cleared by a good tick).
    pub fn quarantined_until(&self) -> Option<Timestamp> {
        self.quarantine
    }

    /// After a failed tick: quarantines the bot once it has failed [`QUARANTINE_AFTER`]
    /// times in a row, for a backoff that doubles on each relapse. Returns the end.
    pub fn quarantine_if_failing(&mut self, now: Timestamp) -> Option<Timestamp> {
        let relapse = self.quarantine.is_some();
        if !relapse && self.stats.consecutive_failures < QUARANTINE_AFTER {
            return None;
        }
        if relapse {
            self.backoff_ms = (self.backoff_ms * 2).min(QUARANTINE_MAX_MS);
        }
        let until = now.plus_millis(self.backoff_ms);
        self.quarantine = Some(until);
        self.stats.quarantines += 1;
        Some(until)
    }

    /// After a good tick: true if this ended a quarantine (which is then cleared).
    pub fn recovered(&mut self) -> bool {
        let was = self.quarantine.take().is_some();
        if was {
            self.backoff_ms = QUARANTINE_BASE_MS;
        }
        was
    }

    /// Carries counters and quarantine over from the slot this one replaces.
    pub fn inherit(&mut self, old: &BotSlot) {
        self.stats = old.stats.clone();
        self.quarantine = old.quarantine;
        self.backoff_ms = old.backoff_ms;
    }

    /// The bot's key-value store as the host holds it.
    pub fn kv(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.kv
    }

    fn build(&mut self, runtime: &Runtime) -> Result<(), SlotError> {
        let mut io = HostIo::new(
            self.spec.id.clone(),
            self.spec.grant.clone(),
            self.market.clone(),
        );
        io.kv = self.kv.clone();
        let mut inst = BotInstance::new(
            runtime,
            &self.component,
            io,
            self.spec.limits.clone(),
            self.spec.seed,
        )?;
        let bot = self.spec.id.clone();
        let call = |stage, error| SlotError::Call {
            bot: bot.clone(),
            stage,
            error,
        };
        let description = inst.describe().map_err(|e| call("describe", e))?;
        let missing: Vec<String> = description
            .symbols
            .iter()
            .filter(|s| !self.spec.grant.iter().any(|g| g.as_str() == s.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(SlotError::Ungranted { bot, missing });
        }
        inst.init(&self.spec.params).map_err(|e| call("init", e))?;
        if let Some(state) = &self.snapshot {
            inst.restore(state).map_err(|e| call("restore", e))?;
        }
        self.description = description;
        self.instance = Some(inst);
        Ok(())
    }

    /// Runs one tick, showing the bot its `positions` and `working` orders. A poisoned
    /// instance is rebuilt first; a failure drops the instance so the next tick starts
    /// clean.
    pub fn tick(
        &mut self,
        runtime: &Runtime,
        now: Timestamp,
        capital: f64,
        positions: Arc<[PositionView]>,
        working: Arc<[WorkingOrderView]>,
    ) -> Result<TickOutput, CallError> {
        self.run(runtime, now, capital, positions, working, None)
            .result
    }

    /// Runs the tick at `now`, then, while the bot has no intents, the ticks `source`
    /// hands out (one `on-ticks` call; see the contract). Failures as for [`Self::tick`].
    pub fn run(
        &mut self,
        runtime: &Runtime,
        now: Timestamp,
        capital: f64,
        positions: Arc<[PositionView]>,
        working: Arc<[WorkingOrderView]>,
        source: Option<TickSource>,
    ) -> RunOutput {
        self.stats.ticks += 1;
        if self.instance.is_none() {
            self.stats.rebuilds += 1;
            if let Err(e) = self.build(runtime) {
                let e = CallError::Trap(format!("rebuild failed: {e}"));
                return RunOutput {
                    result: Err(self.failed(e)),
                    last: None,
                    ticks: 1,
                };
            }
        }
        let inst = self.instance.as_mut().expect("built above");
        inst.io().positions = positions;
        inst.io().working = working;
        let mut run = inst.run(now, capital, source);
        self.stats.ticks += run.ticks.saturating_sub(1);
        run.result = match run.result {
            Ok(out) => {
                for (k, v) in &out.kv_writes {
                    self.kv.insert(k.clone(), v.clone());
                }
                self.stats.consecutive_failures = 0;
                Ok(out)
            }
            Err(e) => Err(self.failed(e)),
        };
        run
    }

    fn failed(&mut self, e: CallError) -> CallError {
        self.stats.failures += 1;
        self.stats.consecutive_failures += 1;
        if e.poisons() {
            self.instance = None;
        }
        e
    }

    /// Reports a fill to the bot; a failure here poisons the instance like any other.
    pub fn on_fill(&mut self, fill: &FillView) {
        if let Some(inst) = self.instance.as_mut()
            && let Err(e) = inst.on_fill(fill)
        {
            tracing::warn!(bot = %self.spec.id, error = %e, "on-fill failed");
            self.failed(e);
        }
    }

    /// Reports an order update to the bot (a no-op for a 0.6.0 bot); a failure poisons the
    /// instance like any other.
    pub fn on_order(&mut self, update: &OrderUpdateView) {
        if let Some(inst) = self.instance.as_mut()
            && let Err(e) = inst.on_order(update)
        {
            tracing::warn!(bot = %self.spec.id, error = %e, "on-order failed");
            self.failed(e);
        }
    }

    /// Asks the bot for its state and keeps it, so a rebuild or reload can restore it.
    pub fn take_snapshot(&mut self) -> Option<&[u8]> {
        let inst = self.instance.as_mut()?;
        match inst.snapshot() {
            Ok(s) => self.snapshot = Some(s),
            Err(e) => {
                tracing::warn!(bot = %self.spec.id, error = %e, "snapshot failed");
                self.failed(e);
            }
        }
        self.snapshot.as_deref()
    }
}
