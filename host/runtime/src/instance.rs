//! One bot's sandboxed instance and the calls into it.

use crate::error::{CallError, RuntimeError};
use crate::guest::{Contract, Guest};
use crate::host::{BotState, HostIo, TickSource};
use crate::intents::RawIntent;
use crate::runtime::{LoadedComponent, Runtime};
use crate::views::{FillView, OrderUpdateView};
use flotilla_domain::{OrderId, Timeframe, Timestamp};
use std::sync::atomic::Ordering;
use std::time::Duration;
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};

/// Resource caps for one bot's store and calls.
#[derive(Clone, Debug)]
pub struct SandboxLimits {
    /// Linear memory cap in bytes.
    pub memory_bytes: usize,
    /// Wall-time budget of one call, enforced by the epoch deadline.
    pub deadline: Duration,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            deadline: Duration::from_millis(50),
        }
    }
}

/// What a bot says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Description {
    /// Bot name.
    pub name: String,
    /// Bot version.
    pub version: String,
    /// Symbols it needs (empty: whatever is granted).
    pub symbols: Vec<String>,
    /// Timeframes it reads.
    pub timeframes: Vec<Timeframe>,
}

/// The result of one tick call.
#[derive(Debug, Default)]
pub struct TickOutput {
    /// Intents exactly as returned; validate with [`crate::validate_intents`].
    pub intents: Vec<RawIntent>,
    /// Key-value writes made during the call.
    pub kv_writes: Vec<(String, Vec<u8>)>,
    /// Working orders the bot asked to cancel (each once, each one of the working orders
    /// it was shown); the host cancels them after the tick. Always empty for 0.6.0 bots.
    pub cancels: Vec<OrderId>,
    /// Host imports the bot was refused.
    pub violations: Vec<String>,
    /// Host imports called.
    pub host_calls: u64,
}

/// What a tick call (`on-tick`, or `on-ticks` with a source) did.
#[derive(Debug)]
pub struct RunOutput {
    /// The intents of the last tick handled, or the failure that ended the run.
    pub result: Result<TickOutput, CallError>,
    /// (scheduled, time) of the last tick the source handed out, to which the result
    /// belongs; `None` when only the first tick ran.
    pub last: Option<(Timestamp, Timestamp)>,
    /// Ticks handled, the first included.
    pub ticks: u64,
}

/// A live instance of a bot in its own store. After a poisoning error the instance
/// refuses further calls; build a new one from the same [`LoadedComponent`].
pub struct BotInstance {
    store: Store<BotState>,
    guest: Guest,
    deadline_ticks: u64,
    limits: SandboxLimits,
    poisoned: bool,
}

impl BotInstance {
    /// Instantiates `component` in a fresh store with `limits`; `seed` feeds the guest's
    /// WASI randomness so replays are identical.
    pub fn new(
        runtime: &Runtime,
        component: &LoadedComponent,
        io: HostIo,
        limits: SandboxLimits,
        seed: u64,
    ) -> Result<Self, RuntimeError> {
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .instances(16)
            .tables(16)
            .table_elements(100_000)
            .trap_on_grow_failure(true)
            .build();
        let mut io = io;
        io.beats = runtime.beats();
        io.deadline = limits.deadline;
        let mut store = Store::new(runtime.engine(), BotState::new(io, store_limits, seed));
        store.limiter(|s| &mut s.limits);
        let deadline_ticks = runtime.deadline_ticks(limits.deadline);
        store.set_epoch_deadline(deadline_ticks);
        // The deadline is per tick: an `on-ticks` run gets a fresh budget at each tick it
        // takes, so only a tick that overruns traps, not a long run of quick ones. The
        // ticks of a batch run with no call between them, so they share their budgets.
        // Counted in epoch beats, like the deadline itself.
        store.epoch_deadline_callback(move |ctx| {
            let io = &ctx.data().io;
            let spent = io
                .beats
                .load(Ordering::Relaxed)
                .saturating_sub(io.tick_started);
            match (deadline_ticks.saturating_mul(io.deadlines)).checked_sub(spent) {
                Some(left) if left > 0 => Ok(UpdateDeadline::Continue(left)),
                _ => Err(Trap::Interrupt.into()),
            }
        });
        let guest =
            component
                .pre
                .instantiate(&mut store)
                .map_err(|e| RuntimeError::Instantiate {
                    origin: component.origin.clone(),
                    message: format!("{e:#}")
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                })?;
        Ok(Self {
            store,
            guest,
            deadline_ticks,
            limits,
            poisoned: false,
        })
    }

    /// The host-side state the imports read; update positions and capital before a tick.
    pub fn io(&mut self) -> &mut HostIo {
        &mut self.store.data_mut().io
    }

    /// The contract version the bot was built for.
    pub fn contract(&self) -> Contract {
        match self.guest {
            Guest::V06(_) => Contract::V0_6,
            Guest::V07(_) => Contract::V0_7,
        }
    }

    /// Whether an earlier failure poisoned this instance.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Ticks served by this instance.
    pub fn ticks(&self) -> u64 {
        self.store.data().io.ticks
    }

    /// Calls `describe`.
    pub fn describe(&mut self) -> Result<Description, CallError> {
        self.call(|g, s| g.describe(s))
    }

    /// Calls `init` with the bot id, granted symbols and params.
    pub fn init(&mut self, params: &[(String, String)]) -> Result<(), CallError> {
        let io = &self.store.data().io;
        let bot = io.bot.to_string();
        let symbols = io.grant.iter().map(|s| s.to_string()).collect();
        self.call(|g, s| g.init(s, bot, symbols, params))?
            .map_err(CallError::Bot)
    }

    /// Calls `on-tick` at `time` with the bot's capital; the clock the guest sees is `time`.
    pub fn on_tick(&mut self, time: Timestamp, capital: f64) -> Result<TickOutput, CallError> {
        self.run(time, capital, None).result
    }

    /// With a `source`, calls `on-ticks`: the tick at `time`, then the ticks `source` hands
    /// out through `next-tick`, until the bot has intents or the source ends the run.
    /// Without, calls `on-tick`.
    pub fn run(&mut self, time: Timestamp, capital: f64, source: Option<TickSource>) -> RunOutput {
        let batch = source.is_some();
        let io = self.io();
        let first = io.ticks;
        let tick = io.start_tick(time);
        io.capital = capital;
        io.source = source;
        io.last = None;
        io.ended = false;
        io.batch.clear();
        io.caught_up = 0;
        let result = self.call(|g, s| g.on_tick(s, (time, tick, capital), batch));
        let io = self.io();
        io.source = None;
        // Ticks of a batch the bot did not catch up with never ran.
        io.batch.clear();
        io.caught_up = 0;
        let out = TickOutput {
            intents: Vec::new(),
            kv_writes: std::mem::take(&mut io.kv_writes),
            cancels: std::mem::take(&mut io.cancels),
            violations: std::mem::take(&mut io.violations),
            host_calls: std::mem::take(&mut io.host_calls),
        };
        let (last, ticks) = (io.last.take(), io.ticks - first);
        let result = match result {
            // The host may already have moved past the tick these would belong to.
            Ok(Ok(intents)) if io.ended && !intents.is_empty() => Err(CallError::Bot(
                "on-ticks returned intents after next-tick ended the run".into(),
            )),
            Ok(Ok(intents)) => Ok(TickOutput { intents, ..out }),
            Ok(Err(e)) => Err(CallError::Bot(e)),
            Err(e) => Err(e),
        };
        RunOutput {
            result,
            last,
            ticks,
        }
    }

    /// Calls `on-fill`.
    pub fn on_fill(&mut self, fill: &FillView) -> Result<(), CallError> {
        self.call(|g, s| g.on_fill(s, fill))
    }

    /// Calls `on-order` (contract 0.7.0); a 0.6.0 bot has no such export and hears nothing.
    pub fn on_order(&mut self, update: &OrderUpdateView) -> Result<(), CallError> {
        if self.contract() == Contract::V0_6 {
            // Nothing to call, so nothing to fail, poisoned or not.
            return Ok(());
        }
        self.call(|g, s| g.on_order(s, update))
    }

    /// Calls `snapshot`.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, CallError> {
        self.call(|g, s| g.snapshot(s))
    }

    /// Calls `restore`.
    pub fn restore(&mut self, state: &[u8]) -> Result<(), CallError> {
        self.call(|g, s| g.restore(s, state))?
            .map_err(CallError::Bot)
    }

    /// Runs one export call under the deadline; any trap poisons the instance.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&Guest, &mut Store<BotState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        if self.poisoned {
            return Err(CallError::Poisoned);
        }
        let io = &mut self.store.data_mut().io;
        io.tick_started = io.beats.load(Ordering::Relaxed);
        io.deadlines = 1;
        self.store.set_epoch_deadline(self.deadline_ticks);
        match f(&self.guest, &mut self.store) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.poisoned = true;
                Err(self.classify(&e))
            }
        }
    }

    fn classify(&self, e: &wasmtime::Error) -> CallError {
        // The trap code may sit under context (e.g. a wasm backtrace), so look down the chain.
        let trap = e
            .downcast_ref::<Trap>()
            .or_else(|| e.chain().find_map(|c| c.downcast_ref::<Trap>()));
        let text = format!("{e:#}");
        match trap {
            Some(Trap::Interrupt) => CallError::Deadline(self.limits.deadline.as_millis() as u64),
            Some(Trap::StackOverflow) => CallError::StackOverflow,
            _ if text.contains("growing memory") || text.contains("memory size") => {
                CallError::OutOfMemory(self.limits.memory_bytes)
            }
            Some(t) => CallError::Trap(t.to_string()),
            None => {
                CallError::Trap(crate::host::truncate(&e.root_cause().to_string(), 300).to_string())
            }
        }
    }
}
