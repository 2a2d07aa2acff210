//! The tick path of one bot: market → on-tick → boundary → risk → broker → book → ledger.

use crate::fleet::{BotHandle, Core, Fleet, TickSummary, to_price};
use anyhow::Result;
use flotilla_backtest::FillMode;
use flotilla_domain::{Decimal, Fill, MarketData, OrderId, OrderRequest, Timestamp};
use flotilla_engine::{ExitPlan, RiskInput, Verdict};
use flotilla_ledger::{IntentRecord, TickOutcome, TickRecord, VerdictKind, VerdictRecord};
use flotilla_runtime::{CallError, FillView, PositionView, TickSource, validate_intents};
use std::sync::Arc;
use std::time::Instant;

impl Fleet {
    /// Runs one tick of `bot` (blocking: call from a blocking thread). `scheduled` is when
    /// the scheduler wanted it, `now` when it started.
    pub fn run_tick(
        &self,
        handle: &BotHandle,
        scheduled: Timestamp,
        now: Timestamp,
    ) -> Result<TickSummary> {
        self.run_ticks(handle, scheduled, now, None)
    }

    /// Like [`Self::run_tick`], then, while the bot has no intents, the ticks `source`
    /// hands out, in one call into the bot (a replay's run of ticks). The intents, the
    /// record and the summary belong to the last tick handed out.
    pub(crate) fn run_ticks(
        &self,
        handle: &BotHandle,
        scheduled: Timestamp,
        now: Timestamp,
        source: Option<TickSource>,
    ) -> Result<TickSummary> {
        let span = tracing::info_span!("tick", bot = %handle.id, at = now.0);
        let _enter = span.enter();
        if !self.replaying {
            self.advance_market(now, &mut Vec::new())?;
        }
        let mut slot = handle.slot();
        if let Some(until) = slot.quarantined_until().filter(|u| now < *u) {
            return self.record_quarantined(handle, scheduled, now, until);
        }
        let (capital, positions, notices) = {
            let mut core = self.core();
            let notices = core.fill_notices.remove(&handle.id).unwrap_or_default();
            let (capital, positions) = tick_inputs(&mut core, &handle.id);
            (capital, positions, notices)
        };
        // Fills that happened outside the bot's tick (next-open fills) reach it now.
        for f in &notices {
            slot.on_fill(&fill_view(f));
        }
        // A run right after a quarantine would record its recovery late: one tick only.
        let source = source.filter(|_| slot.quarantined_until().is_none());
        let started = Instant::now();
        // No working orders yet: the host does not track resting orders (contract 0.7.0's
        // `working-orders`; the order-execution work passes them in).
        let run = slot.run(
            &self.runtime,
            now,
            capital,
            positions,
            Arc::from([]),
            source,
        );
        let duration_us = started.elapsed().as_micros() as u64;
        let (scheduled, now) = run.last.unwrap_or((scheduled, now));
        let result = run.result;
        let mut rec = TickRecord::new(handle.id.clone(), scheduled, now, TickOutcome::Ok);
        rec.seq = slot.stats.ticks;
        rec.duration_us = duration_us;
        let mut summary = TickSummary {
            ticks: run.ticks,
            ..TickSummary::default()
        };
        let mut fills = Vec::new();
        let mut rejected_orders = Vec::new();
        let mut core = self.core();
        match result {
            Err(e) => {
                tracing::warn!(error = %e, "tick failed");
                rec.outcome = outcome_of(&e);
                rec.error = Some(e.to_string());
                summary.error = Some(e.to_string());
                if let Some(until) = slot.quarantine_if_failing(now) {
                    let msg = format!(
                        "{} failures in a row (last: {e}); quarantined until {}",
                        slot.stats.consecutive_failures,
                        crate::report::fmt_time(until)
                    );
                    tracing::warn!(until = until.0, "bot quarantined");
                    core.record_event(now, Some(&handle.id), "quarantine", &msg)?;
                }
            }
            Ok(out) => {
                if slot.recovered() {
                    core.record_event(
                        now,
                        Some(&handle.id),
                        "recovered",
                        "tick succeeded after quarantine",
                    )?;
                }
                for v in &out.violations {
                    core.record_event(now, Some(&handle.id), "sandbox_violation", v)?;
                }
                // `out.cancels` (contract 0.7.0) are not acted on yet: the order-execution
                // work cancels them after the tick.
                let (intents, rejected) =
                    validate_intents(&handle.id, slot.grant(), out.intents, &self.boundary);
                for r in &rejected {
                    let msg = format!("{} ({}): {}", r.code, r.symbol, r.message);
                    core.record_event(now, Some(&handle.id), "intent_rejected", &msg)?;
                }
                summary.refused += rejected.len();
                summary.intents = intents.len();
                rec.kv_writes = out.kv_writes;
                for intent in intents {
                    let (ir, fill, rejected) = self.route(&mut core, intent, now, false)?;
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
                        let pos = position_row(&mut core, &f, realized);
                        rec.positions.retain(|(s, _)| *s != f.symbol);
                        rec.positions.push((f.symbol.clone(), pos));
                        fills.push(f);
                    }
                    rec.intents.push(ir);
                }
            }
        }
        if !fills.is_empty() {
            // In the tick's own transaction: the fills and the state they changed land together.
            rec.host_state = self.changed_host_state(&mut core, true)?;
        }
        let quiet =
            rec.intents.is_empty() && rec.outcome == TickOutcome::Ok && rec.kv_writes.is_empty();
        if self.record_quiet_ticks || !quiet {
            core.record_tick(&rec)?;
        }
        for id in rejected_orders {
            core.order_rejected(id)?;
        }
        drop(core);
        for f in &fills {
            slot.on_fill(&fill_view(f));
        }
        Ok(summary)
    }

    fn record_quarantined(
        &self,
        handle: &BotHandle,
        scheduled: Timestamp,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<TickSummary> {
        let error = format!("quarantined until {}", crate::report::fmt_time(until));
        let mut rec = TickRecord::new(handle.id.clone(), scheduled, now, TickOutcome::Quarantined);
        rec.error = Some(error.clone());
        self.core().record_tick(&rec)?;
        Ok(TickSummary {
            error: Some(error),
            ..TickSummary::default()
        })
    }

    /// Risk, then the broker, then the book, for one intent.
    /// Risk, then the broker, then the book, for one intent; `exit` marks a host-managed
    /// exit (it passes the chain as a reducing order even when trading is halted).
    pub(crate) fn route(
        &self,
        core: &mut Core,
        intent: flotilla_domain::Intent,
        now: Timestamp,
        exit: bool,
    ) -> Result<(IntentRecord, Option<Fill>, Option<OrderId>)> {
        let last = self.market.last_price(&intent.symbol).ok();
        let price = last.map(|(p, _)| p);
        let price_dec = price.and_then(to_price).unwrap_or_default();
        let budget = core.budgets.get(&intent.bot).copied().unwrap_or_default();
        let reference = self.previous_close(&intent.symbol);
        let verdict = {
            let Core {
                portfolio,
                risk,
                equity,
                ..
            } = &mut *core;
            let mut input = RiskInput::new(now, price_dec, portfolio, budget).with_equity(*equity);
            if let Some((_, t)) = last {
                input = input.with_price_time(t);
            }
            if let Some(r) = reference {
                input = input.with_reference_price(r);
            }
            if exit {
                risk.evaluate_exit(&intent, &input)
            } else {
                risk.evaluate(&intent, &input)
            }
        };
        let mut record = IntentRecord {
            intent: intent.clone(),
            // A replay without a ledger reads the numbers of refusals only; building the
            // JSON for every approval was a third of an intent's cost.
            verdict: verdict_record(
                &verdict,
                core.replay_log.is_none() || matches!(verdict, Verdict::Refused(_)),
            ),
            order: None,
            fill: None,
        };
        let Some((side, quantity)) = verdict.order() else {
            if exit {
                core.exits.exit_failed(&intent.bot, &intent.symbol);
            }
            return Ok((record, None, None));
        };
        if !exit && let Some(plan) = ExitPlan::from_intent(&intent) {
            core.exits.set_plan(&intent.bot, &intent.symbol, plan);
        }
        let id = core.next_order_id()?;
        let order = OrderRequest {
            id,
            client_id: flotilla_domain::ClientOrderId::for_order(&core.client_ns, id),
            bot: intent.bot.clone(),
            symbol: intent.symbol.clone(),
            side,
            quantity,
            time: now,
            tag: intent.tag.clone(),
            exit,
        };
        if self.fill_mode == FillMode::NextOpen && !exit {
            // Filled by the host at the open of the symbol's next bar (no look-ahead).
            record.order = Some(order.clone());
            core.pending.push(order);
            return Ok((record, None, None));
        }
        let (fill, rejected_order) =
            self.fill_order(core, &order, price.unwrap_or(f64::NAN), now, exit)?;
        if let Some((f, realized)) = &fill {
            record.fill = Some((f.clone(), *realized));
        }
        record.order = Some(order);
        Ok((record, fill.map(|(f, _)| f), rejected_order))
    }

    /// Sends `order` to the broker at `reference` and books the fill: portfolio, risk,
    /// exits, allocator. Returns the fill with its realised PnL, or the rejected order.
    pub(crate) fn fill_order(
        &self,
        core: &mut Core,
        order: &OrderRequest,
        reference: f64,
        now: Timestamp,
        exit: bool,
    ) -> Result<Booked> {
        match core.broker.submit(order, reference, now) {
            Ok(fill) => {
                let outcome = core.portfolio.apply_fill_detailed(&fill);
                core.risk.on_fill(&fill, &outcome);
                let pos = core.portfolio.position(&fill.bot, &fill.symbol).cloned();
                core.exits.on_fill(&fill, pos.as_ref());
                if let Some(trade) = &outcome.closed_trade {
                    core.allocator.observe_trade(trade);
                }
                Ok((Some((fill, outcome.realized)), None))
            }
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "broker rejected order");
                core.record_event(
                    now,
                    Some(&order.bot),
                    "broker_rejected",
                    &format!("{}: {e}", order.id),
                )?;
                if exit {
                    core.exits.exit_failed(&order.bot, &order.symbol);
                }
                Ok((None, Some(order.id)))
            }
        }
    }

    /// The close before the latest 1-minute bar: the price band's anchor.
    fn previous_close(&self, symbol: &flotilla_domain::Symbol) -> Option<Decimal> {
        let bars = self
            .market
            .bars(symbol, flotilla_domain::Timeframe::M1, 2)
            .ok()?;
        (bars.len() == 2).then(|| to_price(bars[0].close)).flatten()
    }
}

/// What sending an order gave: the fill with the PnL it realised, or the id of the order
/// the broker rejected.
pub(crate) type Booked = (Option<(Fill, Decimal)>, Option<OrderId>);

/// A bot's capital and open positions as its ticks show them, with what they were read
/// from: the portfolio's version and the bot's budget.
pub struct TickView {
    version: (u64, u64),
    budget: Decimal,
    capital: f64,
    positions: Arc<[PositionView]>,
}

/// A bot's capital and open positions as its tick shows them: converted once, then
/// shared until the portfolio (a fill) or the bot's budget changes.
pub(crate) fn tick_inputs(
    core: &mut Core,
    bot: &flotilla_domain::BotId,
) -> (f64, Arc<[PositionView]>) {
    let budget = core.budgets.get(bot).copied().unwrap_or_default();
    let version = core.portfolio.version();
    if let Some(v) = core.tick_views.get(bot)
        && v.version == version
        && v.budget == budget
    {
        return (v.capital, v.positions.clone());
    }
    let positions: Arc<[PositionView]> = core
        .portfolio
        .bot_positions(bot)
        .filter(|(_, p)| !p.quantity.is_zero())
        .map(|(s, p)| PositionView {
            symbol: s.clone(),
            quantity: to_f64(p.quantity),
            avg_price: to_f64(p.avg_price),
        })
        .collect();
    let view = TickView {
        version,
        budget,
        capital: to_f64(budget),
        positions: positions.clone(),
    };
    let capital = view.capital;
    core.tick_views.insert(bot.clone(), view);
    (capital, positions)
}

/// The bot's position row after `fill`, with realised PnL and fees since the ledger began.
pub(crate) fn position_row(
    core: &mut Core,
    f: &Fill,
    realized: Decimal,
) -> flotilla_domain::Position {
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
    pos
}

/// Risk's decision as the ledger records it; with `detail`, the numbers behind it as JSON
/// (else null).
pub(crate) fn verdict_record(v: &Verdict, detail: bool) -> VerdictRecord {
    let detail = if detail {
        serde_json::to_value(v).unwrap_or_default()
    } else {
        serde_json::Value::Null
    };
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

pub(crate) fn to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

/// A fill as the bot sees it.
pub(crate) fn fill_view(f: &Fill) -> FillView {
    FillView {
        order_id: f.order_id.0,
        symbol: f.symbol.to_string(),
        buy: f.side == flotilla_domain::Side::Buy,
        quantity: to_f64(f.quantity),
        price: to_f64(f.price),
        fee: to_f64(f.fee),
        time: f.time,
        tag: f.tag.clone(),
    }
}
