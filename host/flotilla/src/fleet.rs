//! The fleet: bots, market, risk, broker and ledger wired into one tick path.
//!
//! market → bot.on-tick → boundary validation → risk chain → broker → portfolio → ledger
//! (one transaction per tick) → fills back to the bot. Shared state sits behind one
//! mutex (`Core`) held only for the non-bot part of a tick; bot calls run outside it, so a
//! slow bot never holds up the others.

use crate::slot::{BotSlot, SlotSpec};
use anyhow::{Context, Result};
use flotilla_broker::{Broker, PaperBroker, PaperConfig};
use flotilla_config::{BotSpec, FleetSpec, Registry, Schedule};
use flotilla_domain::{
    BotId, Decimal, Fill, MarketData, Money, OrderId, OrderRequest, Symbol, Timestamp,
};
use flotilla_engine::{EqualSplit, Portfolio, RiskEngine, RiskInput, Verdict};
use flotilla_ledger::{
    BotVersionRecord, IntentRecord, Ledger, LoadStatus, OrderStatus, TickOutcome, TickRecord,
    VerdictKind, VerdictRecord,
};
use flotilla_market::{BarStore, SharedBars, SimConfig, Simulator, SymbolConfig};
use flotilla_runtime::{
    BoundaryLimits, CallError, FillView, PositionView, Runtime, RuntimeConfig, SandboxLimits,
    validate_intents,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How to build a fleet besides the registry.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// Ledger file.
    pub db: PathBuf,
    /// Compiled-component cache directory (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

/// A bot as the scheduler sees it.
pub struct BotHandle {
    /// The bot.
    pub id: BotId,
    /// When it runs.
    pub schedule: Schedule,
    /// Wall-time cap around one tick, beyond the epoch deadline inside it.
    pub timeout: Duration,
    /// The bot's slot; locked for the whole tick, so one bot never runs twice at once.
    pub slot: Arc<Mutex<BotSlot>>,
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
}

/// The running fleet.
pub struct Fleet {
    runtime: Arc<Runtime>,
    market: SharedBars,
    sim: Mutex<Simulator>,
    core: Mutex<Core>,
    bots: Vec<BotHandle>,
    boundary: BoundaryLimits,
    start: Timestamp,
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
}

impl Fleet {
    /// Loads every enabled bot of `registry`. A bot that fails to load is recorded in the
    /// ledger and left out; the rest of the fleet runs.
    pub fn build(registry: &Registry, options: &FleetOptions) -> Result<Self> {
        registry.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let fleet = registry.fleet_spec().map_err(|e| anyhow::anyhow!("{e}"))?;
        let specs = registry.bots().map_err(|e| anyhow::anyhow!("{e}"))?;
        let runtime = Arc::new(
            Runtime::new(RuntimeConfig {
                cache_dir: options.cache_dir.clone(),
                ..Default::default()
            })
            .context("starting the WebAssembly runtime")?,
        );
        let mut ledger = Ledger::open(&options.db)
            .with_context(|| format!("opening ledger {}", options.db.display()))?;
        let (sim, market) = start_market(&fleet)?;
        let mut risk_cfg = flotilla_engine::RiskConfig::default();
        risk_cfg.max_open_positions = fleet.max_open_positions as usize;
        risk_cfg.max_open_positions_per_bot = fleet.max_open_positions as usize;
        for spec in &specs {
            risk_cfg.bots.insert(
                spec.id.clone(),
                flotilla_engine::BotRiskOverrides {
                    max_open_positions: Some(spec.limits.max_open_positions as usize),
                },
            );
        }
        let risk = RiskEngine::new(risk_cfg);
        let portfolio = risk.new_portfolio(fleet.starting_cash);
        let broker: Box<dyn Broker> = Box::new(PaperBroker::new(
            PaperConfig {
                slippage_bps: fleet.broker.slippage_bps,
                fee_bps: fleet.broker.fee_bps,
                min_fee: Decimal::ZERO,
            },
            fleet.starting_cash,
        ));
        let market_view: Arc<dyn MarketData> = Arc::new(market.clone());
        let mut bots = Vec::new();
        for (i, spec) in specs.iter().filter(|s| s.enabled).enumerate() {
            let now = fleet.market.start;
            match load_slot(
                &runtime,
                spec,
                market_view.clone(),
                &ledger,
                fleet.market.seed ^ (i as u64 + 1),
            ) {
                Ok(slot) => {
                    let c = slot.component().clone();
                    ledger.record_bot_version(&BotVersionRecord {
                        bot: spec.id.clone(),
                        version: slot.description().version.clone(),
                        content_hash: c.hash.clone(),
                        component_path: spec.component.display().to_string(),
                        loaded_at: now,
                        status: LoadStatus::Ok,
                        error: None,
                    })?;
                    tracing::info!(bot = %spec.id, version = %slot.description().version, cached = c.from_cache,
                        load_ms = c.load_time.as_millis() as u64, "bot loaded");
                    bots.push(BotHandle {
                        id: spec.id.clone(),
                        schedule: spec.schedule.clone(),
                        timeout: spec.limits.timeout(),
                        slot: Arc::new(Mutex::new(slot)),
                    });
                }
                Err(e) => {
                    tracing::error!(bot = %spec.id, error = %format!("{e:#}"), "bot failed to load; running without it");
                    ledger.record_bot_version(&BotVersionRecord {
                        bot: spec.id.clone(),
                        version: String::new(),
                        content_hash: String::new(),
                        component_path: spec.component.display().to_string(),
                        loaded_at: now,
                        status: LoadStatus::Failed,
                        error: Some(format!("{e:#}")),
                    })?;
                }
            }
        }
        let ids: Vec<BotId> = bots.iter().map(|b| b.id.clone()).collect();
        let budgets = EqualSplit
            .allocate(&ids, fleet.starting_cash)
            .into_iter()
            .collect();
        let totals = ledger
            .positions()?
            .into_iter()
            .map(|p| ((p.bot, p.symbol), (p.realized_pnl, p.fees)))
            .collect();
        Ok(Self {
            runtime,
            market,
            sim: Mutex::new(sim),
            core: Mutex::new(Core {
                portfolio,
                risk,
                broker,
                ledger,
                budgets,
                totals,
            }),
            bots,
            boundary: BoundaryLimits::default(),
            start: fleet.market.start,
        })
    }

    /// The bots that loaded.
    pub fn bots(&self) -> &[BotHandle] {
        &self.bots
    }

    /// The simulated start time.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The shared state (for status, tests and shutdown).
    pub fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Generates market data up to `now`.
    pub fn advance_market(&self, now: Timestamp) -> Result<()> {
        let mut sim = self.sim.lock().unwrap_or_else(|p| p.into_inner());
        let mut store = self.market.write();
        sim.advance_to(now, &mut store)
            .context("advancing the market simulator")?;
        Ok(())
    }

    /// Marks the book to market and records an equity snapshot.
    pub fn record_equity(&self, now: Timestamp) -> Result<Money> {
        let mut core = self.core();
        let equity = core.portfolio.equity(|s| self.mark(s));
        let cash = core.portfolio.cash();
        core.ledger.record_equity(now, cash, equity)?;
        Ok(equity)
    }

    fn mark(&self, symbol: &Symbol) -> Option<Decimal> {
        let (p, _) = self.market.last_price(symbol).ok()?;
        Decimal::from_f64_retain(p).map(|d| d.round_dp(6))
    }

    /// Runs one tick of `bot` (blocking: call from a blocking thread). `scheduled` is when
    /// the scheduler wanted it, `now` when it started.
    pub fn run_tick(
        &self,
        bot: usize,
        scheduled: Timestamp,
        now: Timestamp,
    ) -> Result<TickSummary> {
        let handle = &self.bots[bot];
        let span = tracing::info_span!("tick", bot = %handle.id, at = now.0);
        let _enter = span.enter();
        self.advance_market(now)?;
        let mut slot = handle.slot.lock().unwrap_or_else(|p| p.into_inner());
        let (capital, positions) = {
            let core = self.core();
            let capital = core.budgets.get(&handle.id).copied().unwrap_or_default();
            let positions = core
                .portfolio
                .bot_positions(&handle.id)
                .filter(|(_, p)| !p.quantity.is_zero())
                .map(|(s, p)| PositionView {
                    symbol: s.clone(),
                    quantity: to_f64(p.quantity),
                    avg_price: to_f64(p.avg_price),
                })
                .collect();
            (capital, positions)
        };
        let started = Instant::now();
        let result = slot.tick(&self.runtime, now, to_f64(capital), positions);
        let duration_us = started.elapsed().as_micros() as u64;
        let mut rec = TickRecord {
            bot: handle.id.clone(),
            seq: slot.stats.ticks,
            scheduled_at: scheduled,
            started_at: now,
            lateness_ms: now.0 - scheduled.0,
            duration_us,
            outcome: TickOutcome::Ok,
            error: None,
            intents: Vec::new(),
            kv_writes: Vec::new(),
            positions: Vec::new(),
        };
        let mut summary = TickSummary::default();
        let mut fills = Vec::new();
        let mut rejected_orders = Vec::new();
        let mut core = self.core();
        match result {
            Err(e) => {
                tracing::warn!(error = %e, "tick failed");
                rec.outcome = outcome_of(&e);
                rec.error = Some(e.to_string());
                summary.error = Some(e.to_string());
            }
            Ok(out) => {
                for v in &out.violations {
                    core.ledger
                        .record_event(now, Some(&handle.id), "sandbox_violation", v)?;
                }
                let (intents, rejected) =
                    validate_intents(&handle.id, slot.grant(), out.intents, &self.boundary);
                for r in &rejected {
                    let msg = format!("{} ({}): {}", r.code, r.symbol, r.message);
                    core.ledger
                        .record_event(now, Some(&handle.id), "intent_rejected", &msg)?;
                }
                summary.refused += rejected.len();
                summary.intents = intents.len();
                rec.kv_writes = out.kv_writes;
                for intent in intents {
                    let (ir, fill, rejected) = self.route(&mut core, intent, now)?;
                    rejected_orders.extend(rejected);
                    if ir.verdict.reason.as_deref() == Some("no_change") {
                        // Asking for the position it already holds is not a trade decision.
                        continue;
                    }
                    if ir.verdict.kind == VerdictKind::Refused {
                        summary.refused += 1;
                    }
                    if ir.order.is_some() {
                        summary.orders += 1;
                    }
                    if let Some(f) = fill {
                        let realized = ir.fill.as_ref().map(|(_, r)| *r).unwrap_or_default();
                        let total = core
                            .totals
                            .entry((f.bot.clone(), f.symbol.clone()))
                            .or_default();
                        total.0 += realized;
                        total.1 += f.fee;
                        let (realized_pnl, fees) = *total;
                        let mut pos = core
                            .portfolio
                            .position(&f.bot, &f.symbol)
                            .cloned()
                            .unwrap_or_default();
                        pos.realized_pnl = realized_pnl;
                        pos.fees = fees;
                        rec.positions.retain(|(s, _)| *s != f.symbol);
                        rec.positions.push((f.symbol.clone(), pos));
                        fills.push(f);
                    }
                    rec.intents.push(ir);
                }
            }
        }
        core.ledger.record_tick(&rec)?;
        for id in rejected_orders {
            core.ledger.set_order_status(id, OrderStatus::Rejected)?;
        }
        drop(core);
        for f in &fills {
            slot.on_fill(&FillView {
                order_id: f.order_id.0,
                symbol: f.symbol.to_string(),
                buy: f.side == flotilla_domain::Side::Buy,
                quantity: to_f64(f.quantity),
                price: to_f64(f.price),
                fee: to_f64(f.fee),
                time: f.time,
                tag: f.tag.clone(),
            });
        }
        Ok(summary)
    }

    /// Risk, then the broker, then the book, for one intent.
    fn route(
        &self,
        core: &mut Core,
        intent: flotilla_domain::Intent,
        now: Timestamp,
    ) -> Result<(IntentRecord, Option<Fill>, Option<OrderId>)> {
        let price = self.market.last_price(&intent.symbol).map(|(p, _)| p).ok();
        let price_dec = price
            .and_then(Decimal::from_f64_retain)
            .map(|d| d.round_dp(6))
            .unwrap_or_default();
        let budget = core.budgets.get(&intent.bot).copied().unwrap_or_default();
        let verdict = {
            let Core {
                portfolio, risk, ..
            } = &mut *core;
            risk.evaluate(&intent, &RiskInput::new(now, price_dec, portfolio, budget))
        };
        let mut record = IntentRecord {
            intent: intent.clone(),
            verdict: verdict_record(&verdict),
            order: None,
            fill: None,
        };
        let Some((side, quantity)) = verdict.order() else {
            return Ok((record, None, None));
        };
        let order = OrderRequest {
            id: core.ledger.next_order_id()?,
            bot: intent.bot.clone(),
            symbol: intent.symbol.clone(),
            side,
            quantity,
            time: now,
            tag: intent.tag.clone(),
        };
        let reference = price.unwrap_or(f64::NAN);
        let mut rejected_order = None;
        let fill = match core.broker.submit(&order, reference, now) {
            Ok(fill) => {
                let outcome = core.portfolio.apply_fill_detailed(&fill);
                record.fill = Some((fill.clone(), outcome.realized));
                Some(fill)
            }
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "broker rejected order");
                core.ledger.record_event(
                    now,
                    Some(&intent.bot),
                    "broker_rejected",
                    &format!("{}: {e}", order.id),
                )?;
                rejected_order = Some(order.id);
                None
            }
        };
        record.order = Some(order);
        Ok((record, fill, rejected_order))
    }

    /// Takes every bot's snapshot and stores it in the ledger (on shutdown and reload).
    pub fn save_states(&self) -> Result<()> {
        for b in &self.bots {
            let mut slot = b.slot.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(state) = slot.take_snapshot().map(<[u8]>::to_vec) {
                self.core().ledger.save_state(self.start, &b.id, &state)?;
            }
        }
        Ok(())
    }
}

fn load_slot(
    runtime: &Runtime,
    spec: &BotSpec,
    market: Arc<dyn MarketData>,
    ledger: &Ledger,
    seed: u64,
) -> Result<BotSlot> {
    let component = runtime.load_file(&spec.component)?;
    let kv = ledger.kv_all(&spec.id)?.into_iter().collect();
    let snapshot = ledger.load_state(&spec.id)?;
    let slot_spec = SlotSpec {
        id: spec.id.clone(),
        grant: spec.symbols.clone(),
        params: spec.params.clone(),
        limits: SandboxLimits {
            memory_bytes: spec.limits.memory_bytes() as usize,
            deadline: spec.limits.deadline(),
        },
        seed,
    };
    Ok(BotSlot::start(
        runtime, slot_spec, component, market, kv, snapshot,
    )?)
}

fn start_market(fleet: &FleetSpec) -> Result<(Simulator, SharedBars)> {
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
    Ok((sim, SharedBars::new(store)))
}

fn verdict_record(v: &Verdict) -> VerdictRecord {
    let detail = serde_json::to_value(v).unwrap_or_default();
    match v {
        Verdict::Approved { quantity, .. } => VerdictRecord {
            kind: VerdictKind::Approved,
            reason: None,
            detail,
            quantity: Some(*quantity),
        },
        Verdict::Resized {
            quantity, reason, ..
        } => VerdictRecord {
            kind: VerdictKind::Resized,
            reason: Some(reason.code().to_string()),
            detail,
            quantity: Some(*quantity),
        },
        Verdict::Refused(r) => VerdictRecord {
            kind: VerdictKind::Refused,
            reason: Some(r.reason.code().to_string()),
            detail,
            quantity: None,
        },
    }
}

fn outcome_of(e: &CallError) -> TickOutcome {
    match e {
        CallError::Deadline(_) => TickOutcome::Timeout,
        CallError::Bot(_) => TickOutcome::Error,
        _ => TickOutcome::Trap,
    }
}

fn to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
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
