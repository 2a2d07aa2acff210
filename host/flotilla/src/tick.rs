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
            self.advance_market_with(now, &mut Vec::new(), false)?;
        }
        let mut slot = handle.slot();
        if let Some(until) = slot.quarantined_until().filter(|u| now < *u) {
            return self.record_quarantined(handle, scheduled, now, until);
        }
        let (capital, positions, notices, updates, working) = {
            let mut core = self.core();
            let notices = core.fill_notices.remove(&handle.id).unwrap_or_default();
            let updates = core.order_notices.remove(&handle.id).unwrap_or_default();
            let working = core.working_views(&handle.id);
            if let Some(since) = core.notice_since.remove(&handle.id)
                && let Some(e) = self.execution()
            {
                let mut l = e.latency.lock().unwrap_or_else(|p| p.into_inner());
                l.fill_to_bot_us.push(since.elapsed().as_micros() as u64);
            }
            let (capital, positions) = tick_inputs(&mut core, &handle.id);
            (capital, positions, notices, updates, working)
        };
        // What happened to its orders since its last tick reaches the bot now: order
        // updates (contract 0.7.0), then fills.
        for u in &updates {
            slot.on_order(u);
        }
        for f in &notices {
            slot.on_fill(&fill_view(f));
        }
        // A run right after a quarantine would record its recovery late: one tick only.
        let source = source.filter(|_| slot.quarantined_until().is_none());
        let started = Instant::now();
        let run = slot.run(&self.runtime, now, capital, positions, working, source);
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
                for id in &out.cancels {
                    self.request_cancel(&mut core, *id, now)?;
                }
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
        if !fills.is_empty() || rec.intents.iter().any(|i| i.queued) {
            // In the tick's own transaction: the fills, the orders and the state they
            // changed (an entry's armed exit plan among it) land together.
            rec.host_state = self.changed_host_state(&mut core, true)?;
        }
        let quiet =
            rec.intents.is_empty() && rec.outcome == TickOutcome::Ok && rec.kv_writes.is_empty();
        if self.record_quiet_ticks || !quiet {
            core.record_tick(&rec)?;
        }
        // Persisted above: now the venue may hear of them.
        self.flush_outbox(&mut core);
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
        let executes = self.executes() || core.resting.iter().any(|(w, _)| w.reserves());
        // Working orders hold their place: risk sees each position at its worst end and
        // a target measured from where the working orders take it (see `against_working`).
        let working = if executes {
            let reservations = core.reservations();
            let held = flotilla_engine::net_position(
                &core.portfolio,
                &reservations,
                &intent.bot,
                &intent.symbol,
            );
            let (asked, book) =
                flotilla_engine::against_working(&intent, &core.portfolio, &reservations);
            Some((asked, book, held))
        } else {
            None
        };
        let (verdict, held) = {
            let Core {
                portfolio,
                risk,
                equity,
                ..
            } = &mut *core;
            let (asked, book, held) = match &working {
                Some((asked, book, held)) => (asked, book, *held),
                None => (
                    &intent,
                    &*portfolio,
                    portfolio.quantity(&intent.bot, &intent.symbol),
                ),
            };
            let mut input = RiskInput::new(now, price_dec, book, budget).with_equity(*equity);
            if let Some((_, t)) = last {
                input = input.with_price_time(t);
            }
            if let Some(r) = reference {
                input = input.with_reference_price(r);
            }
            let verdict = if exit {
                risk.evaluate_exit(asked, &input)
            } else {
                risk.evaluate(asked, &input)
            };
            (verdict, held)
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
            queued: false,
        };
        let Some((side, quantity)) = verdict.order() else {
            if exit {
                core.exits.exit_failed(&intent.bot, &intent.symbol);
            }
            return Ok((record, None, None));
        };
        if !exit && let Some(plan) = ExitPlan::from_intent(&intent) {
            let after = held + side.sign() * quantity;
            let opens = held.is_zero() || held.is_sign_positive() != after.is_sign_positive();
            if executes && opens {
                // Entering while the old position's close may still be working: the plan
                // waits for this entry's fill, and the old one keeps guarding until then.
                core.exits.arm(&intent.bot, &intent.symbol, plan);
            } else {
                core.exits.set_plan(&intent.bot, &intent.symbol, plan);
            }
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
        let limit = intent.order_type == flotilla_domain::OrderType::Limit;
        // A market order fills at the next price whatever its time in force says.
        let expires_at = (limit && intent.time_in_force == flotilla_domain::TimeInForce::Day)
            .then(|| self.session_end(&intent.symbol, now));
        let next_open = self.fill_mode == FillMode::NextOpen && !exit;
        if !self.executes() && (limit || next_open) {
            // A replay's order waits for the next bar: one case of the matching model the
            // paper venue uses (a market order at the open, a limit when a bar crosses it).
            let spec = order_spec(&order, &intent, now, expires_at);
            match flotilla_domain::Order::new(spec) {
                Ok(mut o) => {
                    let _ = o.apply(&flotilla_domain::OrderEvent::Submitted);
                    let _ = o.apply(&flotilla_domain::OrderEvent::Accepted);
                    let reference = intent.limit_price.unwrap_or(price_dec);
                    core.resting.push((
                        crate::execution::Working {
                            order: o,
                            reference,
                            queued: None,
                            refusal: None,
                        },
                        true,
                    ));
                    record.order = Some(order);
                }
                Err(e) => {
                    let msg = format!("{}: {e}", order.id);
                    core.record_event(now, Some(&order.bot), "order_invalid", &msg)?;
                }
            }
            return Ok((record, None, None));
        }
        if self.executes() {
            // Recorded as created with this tick; the service sends it once that commits.
            // The venue's filters round it first; one they refuse is booked rejected with
            // the filter named, and never sent.
            let mut spec = order_spec(&order, &intent, now, expires_at);
            let refusal = self.prepare_spec(&mut spec);
            let mut order = order;
            order.quantity = spec.quantity;
            match flotilla_domain::Order::new(spec) {
                Ok(o) => {
                    let reference = o.limit_price.unwrap_or(price_dec);
                    core.queue_order(o, reference, refusal);
                    record.order = Some(order);
                    record.queued = true;
                }
                Err(e) => {
                    // Risk approved what the order model refuses (e.g. a limit without a
                    // price): nothing is sent; the refusal is audited.
                    let msg = format!("{}: {e}", order.id);
                    core.record_event(now, Some(&order.bot), "order_invalid", &msg)?;
                    if exit {
                        core.exits.exit_failed(&intent.bot, &intent.symbol);
                    }
                }
            }
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

    /// When a day order in `symbol` placed at `now` expires: the symbol's session close
    /// from the registry (`[fleet.market.session_close]`), else 00:00 UTC (24/7 markets).
    pub(crate) fn session_end(
        &self,
        symbol: &flotilla_domain::Symbol,
        now: Timestamp,
    ) -> Timestamp {
        let midnight = Timestamp(now.0 - now.0.rem_euclid(86_400_000) + 86_400_000);
        match self.spec.market.session_close.get(symbol) {
            Some(close) => flotilla_engine::risk::SessionClock::new(close)
                .map(|c| c.next_reset(now))
                .unwrap_or(midnight),
            None => midnight,
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

/// The lifecycle order for `order`, priced and timed as `intent` asked.
fn order_spec(
    order: &OrderRequest,
    intent: &flotilla_domain::Intent,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> flotilla_domain::OrderSpec {
    flotilla_domain::OrderSpec {
        id: order.id,
        client_id: order.client_id.clone(),
        bot: order.bot.clone(),
        symbol: order.symbol.clone(),
        side: order.side,
        quantity: order.quantity,
        order_type: intent.order_type,
        limit_price: intent.limit_price,
        time_in_force: intent.time_in_force,
        created_at: now,
        expires_at,
        tag: order.tag.clone(),
        exit: order.exit,
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

impl Core {
    /// Books a fill that came back from a venue or the matching model: the portfolio,
    /// risk, the exit book and the allocator. Returns the PnL it realised and the bot's
    /// position row after it (the caller records both).
    pub(crate) fn book_fill(&mut self, fill: &Fill) -> (Decimal, flotilla_domain::Position) {
        let outcome = self.portfolio.apply_fill_detailed(fill);
        self.risk.on_fill(fill, &outcome);
        let pos = self.portfolio.position(&fill.bot, &fill.symbol).cloned();
        self.exits.on_fill(fill, pos.as_ref());
        if let Some(trade) = &outcome.closed_trade {
            self.allocator.observe_trade(trade);
        }
        let row = position_row(self, fill, outcome.realized);
        (outcome.realized, row)
    }
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
