//! The fleet as the outside sees it: [`FleetPort`] for the HTTP API and the alert
//! channels. Every control is audited in the ledger under the name of whoever asked
//! (a token's name, `telegram:<chat>`, `cli`), whatever its outcome.

use crate::fleet::{BotHandle, Fleet};
use flotilla_domain::{BotId, Decimal, OrderId, Side};
use flotilla_engine::{ExitOrder, ExitReason, TradingState};
use flotilla_telemetry::{
    BotLive, Control, ControlError, EventData, FleetPort, FleetSnapshot, PositionLive, Telemetry,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Host-state key of the bots paused by hand (a restart keeps them paused).
const PAUSED_KEY: &str = "paused_bots";

/// A running fleet behind the [`FleetPort`] trait.
pub struct Port {
    fleet: Arc<Fleet>,
    telemetry: Arc<Telemetry>,
    ledger: PathBuf,
    /// Each bot's version and hash as last read, for when its slot is busy with a tick.
    seen: Mutex<BTreeMap<BotId, (String, String)>>,
}

impl Port {
    /// Attaches `telemetry` to `fleet` (from now on its decisions are published and
    /// counted), restores the bots paused before a restart, and wraps it.
    pub fn attach(fleet: Arc<Fleet>, telemetry: Arc<Telemetry>, ledger: &Path) -> Arc<Self> {
        fleet.core().telemetry = Some(telemetry.clone());
        let paused: Vec<String> = fleet
            .core()
            .ledger
            .load_host_state(PAUSED_KEY)
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        for id in paused {
            if let Some(h) = fleet.handle(&id) {
                h.paused.store(true, Ordering::Relaxed);
                set_paused_metric(&telemetry, &id, true);
            }
        }
        Arc::new(Self {
            fleet,
            telemetry,
            ledger: ledger.to_path_buf(),
            seen: Mutex::new(BTreeMap::new()),
        })
    }

    /// The fleet.
    pub fn fleet(&self) -> &Arc<Fleet> {
        &self.fleet
    }

    fn handle(&self, bot: &str) -> Result<Arc<BotHandle>, ControlError> {
        self.fleet
            .handle(bot)
            .ok_or_else(|| ControlError::UnknownBot(bot.to_string()))
    }

    fn set_state(
        &self,
        state: TradingState,
        reason: &str,
        by: &str,
    ) -> Result<String, ControlError> {
        let why = if reason.trim().is_empty() {
            format!("by {by}")
        } else {
            format!("{} (by {by})", reason.trim())
        };
        self.fleet
            .set_trading_state(state, &why, self.fleet.now())
            .map(|s| s.trim_end().to_string())
            .map_err(|e| ControlError::Failed(format!("{e:#}")))
    }

    fn pause(&self, bot: &str, paused: bool, by: &str) -> Result<String, ControlError> {
        let h = self.handle(bot)?;
        let was = h.paused.swap(paused, Ordering::Relaxed);
        set_paused_metric(&self.telemetry, bot, paused);
        let list: Vec<String> = self
            .fleet
            .handles()
            .iter()
            .filter(|h| h.paused.load(Ordering::Relaxed))
            .map(|h| h.id.as_str().to_string())
            .collect();
        let now = self.fleet.now();
        let mut core = self.fleet.core();
        core.ledger
            .save_host_state(now, PAUSED_KEY, &serde_json::json!(list))
            .map_err(|e| ControlError::Failed(e.to_string()))?;
        core.publish(
            now,
            Some(&h.id),
            EventData::BotState {
                paused,
                by: by.to_string(),
            },
        );
        Ok(match (was, paused) {
            (false, true) => format!("{bot} paused: its runs are skipped, its stops stay armed"),
            (true, true) => format!("{bot} was already paused"),
            (true, false) => format!("{bot} resumed"),
            (false, false) => format!("{bot} was not paused"),
        })
    }

    /// Closes every position of `bot` at market through the exit path (risk passes exits
    /// that shrink a position even when halted), net of exits already working, and pauses
    /// the bot so it does not buy straight back.
    fn flatten(&self, bot: &str, by: &str) -> Result<String, ControlError> {
        let h = self.handle(bot)?;
        let paused = self.pause(bot, true, by)?;
        // A tick in flight may still decide an entry: wait for it (the slot is held for a
        // whole tick), so what is closed below is all the bot will have asked for.
        let _slot = h.slot();
        let now = self.fleet.now();
        let mut core = self.fleet.core();
        let entries: Vec<OrderId> = core
            .working
            .values()
            .filter(|w| w.order.bot == h.id && !w.order.exit && w.order.is_working())
            .map(|w| w.order.id)
            .collect();
        for id in &entries {
            self.fleet
                .request_cancel(&mut core, *id, now)
                .map_err(|e| ControlError::Failed(format!("{e:#}")))?;
        }
        let mut exits = Vec::new();
        for (symbol, p) in core.portfolio.bot_positions(&h.id) {
            if p.quantity.is_zero() {
                continue;
            }
            let side = if p.quantity > Decimal::ZERO {
                Side::Sell
            } else {
                Side::Buy
            };
            let working: Decimal = core
                .working
                .values()
                .filter(|w| {
                    w.order.bot == h.id && w.order.symbol == *symbol && w.order.side == side
                })
                .map(|w| w.order.remaining())
                .sum();
            let quantity = p.quantity.abs() - working;
            if quantity <= Decimal::ZERO {
                continue;
            }
            let trigger = self.fleet.mark(symbol).unwrap_or(p.avg_price);
            exits.push(ExitOrder {
                bot: h.id.clone(),
                symbol: symbol.clone(),
                side,
                quantity,
                reason: ExitReason::Flatten,
                trigger,
                time: now,
            });
        }
        let n = exits.len();
        for exit in exits {
            self.fleet
                .execute_exit(&mut core, exit, now)
                .map_err(|e| ControlError::Failed(format!("{e:#}")))?;
        }
        // Recorded above: now the venue may hear of them.
        self.fleet.flush_outbox(&mut core);
        Ok(format!(
            "{bot}: {n} closing order(s) sent, {} working entry order(s) asked to cancel; {paused}",
            entries.len()
        ))
    }

    fn cancel(&self, id: u64) -> Result<String, ControlError> {
        let order = OrderId(id);
        if !self.fleet.core().working.contains_key(&order) {
            return Err(ControlError::UnknownOrder(id));
        }
        self.fleet
            .cancel_order(order, self.fleet.now())
            .map_err(|e| ControlError::Refused(format!("{e:#}")))?;
        Ok(format!("cancel of order {id} sent to the venue"))
    }

    fn apply(&self, control: &Control, by: &str) -> Result<String, ControlError> {
        match control {
            Control::Halt { reason } => self.set_state(TradingState::Halted, reason, by),
            Control::Reduce { reason } => self.set_state(TradingState::Reducing, reason, by),
            Control::Resume { reason } => self.set_state(TradingState::Active, reason, by),
            Control::PauseBot { bot } => self.pause(bot, true, by),
            Control::ResumeBot { bot } => self.pause(bot, false, by),
            Control::FlattenBot { bot } => self.flatten(bot, by),
            Control::CancelOrder { order_id } => self.cancel(*order_id),
            Control::Reload => {
                let out = crate::control::reload_all(&self.fleet);
                if out.lines().any(|l| l.starts_with("error:")) {
                    Err(ControlError::Failed(out.trim_end().to_string()))
                } else {
                    Ok(out.trim_end().to_string())
                }
            }
        }
    }
}

fn set_paused_metric(t: &Telemetry, bot: &str, paused: bool) {
    t.metrics
        .paused
        .get_or_create(&flotilla_telemetry::metrics::BotLabel { bot: bot.into() })
        .set(i64::from(paused));
}

impl FleetPort for Port {
    fn control(&self, control: &Control, by: &str) -> Result<String, ControlError> {
        let result = self.apply(control, by);
        let bot = match control {
            Control::PauseBot { bot }
            | Control::ResumeBot { bot }
            | Control::FlattenBot { bot } => self.fleet.handle(bot).map(|h| h.id.clone()),
            _ => None,
        };
        let (ok, outcome) = match &result {
            Ok(text) => (true, text.clone()),
            Err(e) => (false, e.to_string()),
        };
        let target = match control {
            Control::Halt { reason } | Control::Reduce { reason } | Control::Resume { reason } => {
                Some(reason.clone()).filter(|r| !r.trim().is_empty())
            }
            Control::PauseBot { bot }
            | Control::ResumeBot { bot }
            | Control::FlattenBot { bot } => Some(bot.clone()),
            Control::CancelOrder { order_id } => Some(order_id.to_string()),
            Control::Reload => None,
        };
        let rec = flotilla_ledger::ControlRecord {
            by: by.to_string(),
            control: control.name().to_string(),
            target,
            ok,
            result: outcome.clone(),
        };
        let now = self.fleet.now();
        let mut core = self.fleet.core();
        match core.ledger.record_control(now, bot.as_ref(), &rec) {
            Ok(()) => core.observe_event(
                now,
                bot.as_ref(),
                "control",
                &serde_json::to_string(&rec).unwrap_or_default(),
            ),
            Err(e) => tracing::error!(error = %e, "could not audit a control"),
        }
        drop(core);
        tracing::info!(control = control.name(), by, "control: {outcome}");
        result
    }

    fn bots(&self) -> Vec<BotLive> {
        let now = self.fleet.now();
        let budgets = self.fleet.core().budgets.clone();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for h in self.fleet.handles() {
            let spec = h.spec();
            let mut quarantine = None;
            // A slot is locked for a whole tick: a busy bot shows what was last read.
            if let Ok(slot) = h.slot.try_lock() {
                let d = slot.description();
                let version = format!("{} {}", d.name, d.version);
                seen.insert(h.id.clone(), (version, slot.component().hash.clone()));
                quarantine = slot
                    .quarantined_until()
                    .filter(|u| *u > now)
                    .map(|u| format!("until {}", crate::report::fmt_time(u)));
            }
            let (version, hash) = seen.get(&h.id).cloned().unwrap_or_default();
            let paused = h.paused.load(Ordering::Relaxed);
            let state = if paused {
                "paused"
            } else if quarantine.is_some() {
                "quarantined"
            } else {
                "running"
            };
            let schedule = h.schedule.borrow().clone();
            out.push(BotLive {
                id: h.id.as_str().to_string(),
                state: state.into(),
                quarantine,
                schedule: schedule.to_string(),
                next_run_ms: schedule.next_after(now).map(|t| t.0),
                version,
                hash,
                allocation: budgets.get(&h.id).map(|b| b.to_string()),
                symbols: spec
                    .symbols
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            });
        }
        out
    }

    fn snapshot(&self) -> FleetSnapshot {
        let bots = self.bots();
        let core = self.fleet.core();
        let st = core.risk.state();
        let positions = core
            .portfolio
            .positions()
            .filter(|(_, _, p)| !p.quantity.is_zero())
            .map(|(b, s, p)| PositionLive {
                bot: b.as_str().into(),
                symbol: s.as_str().into(),
                quantity: p.quantity.to_string(),
                avg_price: p.avg_price.to_string(),
                unrealized: self
                    .fleet
                    .cached_mark(&core.marks, s)
                    .map(|m| p.unrealized(m).round_dp(2).to_string())
                    .unwrap_or_default(),
            })
            .collect();
        FleetSnapshot {
            name: self.fleet.spec.name.clone(),
            trading_state: st.state.as_str().into(),
            state_reason: st.reason.clone(),
            equity: core.equity.round_dp(2).to_string(),
            cash: core.portfolio.cash().round_dp(2).to_string(),
            positions,
            bots: (
                bots.len(),
                bots.iter().filter(|b| b.state == "paused").count(),
                bots.iter().filter(|b| b.state == "quarantined").count(),
            ),
        }
    }

    fn record(&self, kind: &str, bot: Option<&str>, message: &str) {
        let now = self.fleet.now();
        let bot = bot.map(BotId::new);
        if let Err(e) = self
            .fleet
            .core()
            .record_event(now, bot.as_ref(), kind, message)
        {
            tracing::error!(error = %e, kind, "could not record an event");
        }
    }

    fn now_ms(&self) -> i64 {
        self.fleet.now().0
    }

    fn events(&self) -> &flotilla_telemetry::EventHub {
        &self.telemetry.events
    }

    fn metrics(&self) -> &flotilla_telemetry::FleetMetrics {
        &self.telemetry.metrics
    }

    fn ledger_path(&self) -> &Path {
        &self.ledger
    }
}
