//! The host's own duties between bot ticks, once per simulated minute: new bars feed the
//! risk engine and the exit book (stops fire even for a bot that is slow, quarantined or
//! reloading), equity is marked (daily loss, drawdown and session resets move the trading
//! state), and capital is reallocated on its schedule.

use crate::fleet::{Core, Fleet, NewBar, to_price};
use crate::tick::position_row;
use anyhow::Result;
use flotilla_domain::{Bar, BotId, Decimal, Symbol, Timeframe, Timestamp};
use flotilla_engine::{ExitOrder, StateChange, TradingState};
use flotilla_ledger::{AllocationRow, TickOutcome, TickRecord};

/// The ATR that ATR trailing stops use: Wilder's over 14 bars, as a bot's `atr(14)`.
const ATR: flotilla_indicators::Spec = flotilla_indicators::Spec::Atr(14);

impl Fleet {
    /// Advances the market to `now` and runs the host's duties; `snapshot` also records an
    /// equity snapshot in the ledger.
    pub fn on_minute(&self, now: Timestamp, snapshot: bool) -> Result<()> {
        let mut pushed = Vec::new();
        self.advance_market(now, &mut pushed)?;
        self.host_duties(now, &pushed, snapshot)
    }

    /// The host's duties at `now` after the bars in `new_bars` arrived (when empty, the
    /// latest 1-minute bar of every symbol): waiting orders, risk's bar feed, exits, equity.
    pub fn host_duties(&self, now: Timestamp, new_bars: &[NewBar], snapshot: bool) -> Result<()> {
        let mut core = self.core();
        let latest;
        let new_bars = if new_bars.is_empty() {
            latest = self.latest_minute_bars(&core);
            &latest[..]
        } else {
            new_bars
        };
        for NewBar {
            symbol,
            bar,
            timeframe: tf,
        } in new_bars
        {
            let tf = *tf;
            let mark = to_price(bar.close);
            if let Some(mark) = mark {
                // Symbols repeat every bar: update in place, insert (and clone) once.
                match core.marks.get_mut(symbol) {
                    Some(m) => *m = mark,
                    None => {
                        core.marks.insert(symbol.clone(), mark);
                    }
                }
            }
            if !core.resting.is_empty() {
                self.match_resting(&mut core, symbol, bar)?;
            }
            match core.last_bar.get_mut(symbol) {
                Some(t) => *t = bar.time,
                None => {
                    core.last_bar.insert(symbol.clone(), bar.time);
                }
            }
            match mark {
                Some(close) => core.risk.observe_bar_at(symbol, bar, tf, close),
                None => core.risk.observe_bar(symbol, bar, tf),
            }
            // Only ATR trails read it; computing it costs a copy of recent bars.
            let atr = core.exits.needs_atr(symbol).then(|| {
                let history =
                    flotilla_domain::MarketData::bars(&self.market, symbol, tf, ATR.history(1))
                        .unwrap_or_default();
                atr(&history)
            });
            let exits = core.exits.on_bar(symbol, bar, atr.flatten());
            for exit in exits {
                self.execute_exit(&mut core, exit, now)?;
            }
        }
        if self.executes() {
            // Working orders match against the bars on the service's thread; the exits
            // these bars fired were recorded above and go out after them.
            let bars = new_bars.iter().map(|b| (b.symbol.clone(), b.bar)).collect();
            self.send_bars(bars, now);
            self.flush_outbox(&mut core);
        }
        let equity = {
            let Core {
                portfolio, marks, ..
            } = &*core;
            portfolio.equity(|s| self.cached_mark(marks, s))
        };
        core.equity = equity;
        let before = core.risk.equity_watch().clone();
        let changes = core.risk.mark_equity(now, equity);
        if core.telemetry.is_some()
            && before.session.is_some()
            && core.risk.equity_watch().session != before.session
        {
            // The session reset: the day's summary, for the record and the alerts.
            let change = before.last - before.session_start_equity;
            let pct = if before.session_start_equity.is_zero() {
                Decimal::ZERO
            } else {
                change / before.session_start_equity * Decimal::from(100)
            };
            let msg = format!(
                "session ended: equity {} -> {} ({:+}, {:+}%), state {}",
                before.session_start_equity.round_dp(2),
                before.last.round_dp(2),
                change.round_dp(2),
                pct.round_dp(2),
                core.risk.state().state.as_str()
            );
            core.record_event(now, None, "session_reset", &msg)?;
        }
        record_state_changes(&mut core, &changes)?;
        if snapshot {
            let cash = core.portfolio.cash();
            if core.telemetry.is_some() {
                // A watched run keeps each bot's P&L with the snapshot (per-bot curves).
                let per_bot = self.bot_pnl(&core);
                core.ledger
                    .record_equity_with_bots(now, cash, equity, &per_bot)?;
            } else {
                core.ledger.record_equity(now, cash, equity)?;
            }
        }
        if let Some(t) = &core.telemetry {
            use rust_decimal::prelude::ToPrimitive;
            let exposure: Decimal = core
                .portfolio
                .positions()
                .filter_map(|(_, s, p)| Some(p.quantity.abs() * self.cached_mark(&core.marks, s)?))
                .sum();
            t.metrics.equity.set(equity.to_f64().unwrap_or(f64::NAN));
            t.metrics
                .cash
                .set(core.portfolio.cash().to_f64().unwrap_or(f64::NAN));
            t.metrics
                .exposure
                .set(exposure.to_f64().unwrap_or(f64::NAN));
        }
        if now >= core.next_rebalance {
            self.rebalance_locked(&mut core, now)?;
        } else if !self.replaying {
            // Trails and best prices move with bars, the equity peak with marks: a restart
            // must find them as they are now (the allocator moves only with fills and
            // rebalances, which write it).
            for (key, value) in self.changed_host_state(&mut core, false)? {
                core.ledger.save_host_state(now, key, &value)?;
            }
        }
        Ok(())
    }

    /// The newest 1-minute bar of each simulated symbol not seen before.
    fn latest_minute_bars(&self, core: &Core) -> Vec<NewBar> {
        let mut out = Vec::new();
        for symbol in &self.spec.market.symbols {
            let Ok(bars) =
                flotilla_domain::MarketData::bars(&self.market, symbol, Timeframe::M1, 1)
            else {
                continue;
            };
            let Some(last) = bars.last().copied() else {
                continue;
            };
            if core.last_bar.get(symbol).is_some_and(|t| *t >= last.time) {
                continue;
            }
            out.push(NewBar {
                symbol: symbol.clone(),
                bar: last,
                timeframe: Timeframe::M1,
            });
        }
        out
    }

    /// Matches a replay's waiting orders of `symbol` against `bar` with the matching model
    /// the paper venue uses: a market order at the open (slipped against it), a limit at
    /// the limit (or the better open of a bar that gapped through it), ioc and fok on
    /// their first bar only, day orders expiring at the session's end.
    fn match_resting(&self, core: &mut Core, symbol: &Symbol, bar: &Bar) -> Result<()> {
        use flotilla_broker::matching::{Remainder, match_on_bar};
        use flotilla_domain::{OrderEvent, OrderState};
        let mut keep = Vec::new();
        for (mut w, first) in std::mem::take(&mut core.resting) {
            if &w.order.symbol != symbol || w.order.created_at > bar.time {
                keep.push((w, first));
                continue;
            }
            let id = w.order.id;
            if w.order.expires_at.is_some_and(|t| bar.time >= t) {
                let _ = w.order.apply(&OrderEvent::Expired);
                core.notify(&w.order, &OrderEvent::Expired, bar.time);
                core.set_order_state(
                    id,
                    OrderState::Expired,
                    bar.time,
                    "day order at session end",
                )?;
                continue;
            }
            let out = match_on_bar(&w.order, bar, first, &self.costs, None);
            if let Some(x) = &out.fill {
                let trade_id = format!("bt-{}-{}", id.0, w.order.trade_ids.len() + 1);
                let event = OrderEvent::Fill {
                    trade_id: trade_id.clone(),
                    quantity: x.quantity,
                    price: x.price,
                    fee: x.fee,
                };
                w.order.apply(&event)?;
                core.notify(&w.order, &event, bar.time);
                let fill = flotilla_domain::Fill {
                    order_id: id,
                    bot: w.order.bot.clone(),
                    symbol: w.order.symbol.clone(),
                    side: w.order.side,
                    quantity: x.quantity,
                    price: x.price,
                    fee: x.fee,
                    time: bar.time,
                    trade_id,
                    tag: w.order.tag.clone(),
                };
                let (realized, row) = core.book_fill(&fill);
                core.record_fill(&fill, realized, &row)?;
                core.fill_notices
                    .entry(fill.bot.clone())
                    .or_default()
                    .push(fill);
            }
            match out.then {
                Remainder::Rest => keep.push((w, false)),
                Remainder::Filled => {}
                Remainder::Expire { reason } | Remainder::Reject { reason } => {
                    let _ = w.order.apply(&OrderEvent::Expired);
                    core.notify(&w.order, &OrderEvent::Expired, bar.time);
                    core.set_order_state(id, OrderState::Expired, bar.time, &reason)?;
                }
            }
        }
        keep.extend(std::mem::take(&mut core.resting));
        core.resting = keep;
        Ok(())
    }

    /// Sends one host-managed exit through risk and the broker, and records it as a tick
    /// of its bot (sequence 0: the host acted, not the bot).
    pub(crate) fn execute_exit(
        &self,
        core: &mut Core,
        exit: ExitOrder,
        now: Timestamp,
    ) -> Result<()> {
        let intent = exit.to_intent();
        let (ir, fill, rejected) = self.route(core, intent, now, true)?;
        let ir_queued = ir.queued;
        let mut positions = Vec::new();
        if let Some(f) = &fill {
            let realized = ir.fill.as_ref().map(|(_, r)| *r).unwrap_or_default();
            positions.push((f.symbol.clone(), position_row(core, f, realized)));
        }
        let msg = format!(
            "{} {} {} {} at trigger {}: {}",
            exit.reason.code(),
            exit.side.as_str(),
            exit.quantity,
            exit.symbol,
            exit.trigger,
            if fill.is_some() {
                "filled"
            } else if ir_queued {
                "sent"
            } else {
                "not filled; retried next bar"
            }
        );
        tracing::debug!(bot = %exit.bot, "host exit: {msg}");
        let mut rec = TickRecord::new(exit.bot.clone(), now, now, TickOutcome::Ok);
        rec.intents = vec![ir];
        rec.positions = positions;
        if fill.is_some() || ir_queued {
            rec.host_state = self.changed_host_state(core, true)?;
        }
        core.record_tick(&rec)?;
        if let Some(id) = rejected {
            core.order_rejected(id)?;
        }
        core.record_event(now, Some(&exit.bot), "exit", &msg)?;
        Ok(())
    }

    /// Each bot's P&L at the last marks (realised, less fees, plus unrealised), by id.
    pub(crate) fn bot_pnl(&self, core: &Core) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for h in self.handles() {
            let pnl = core
                .portfolio
                .bot_equity(&h.id, Decimal::ZERO, |s| self.cached_mark(&core.marks, s));
            out.insert(
                h.id.as_str().to_string(),
                serde_json::json!(pnl.to_string()),
            );
        }
        serde_json::Value::Object(out)
    }

    /// Reallocates capital now (Thompson sampling over the bots' trade outcomes).
    pub fn rebalance_now(&self, now: Timestamp) -> Result<()> {
        let mut core = self.core();
        self.rebalance_locked(&mut core, now)
    }

    fn rebalance_locked(&self, core: &mut Core, now: Timestamp) -> Result<()> {
        let ids: Vec<BotId> = self.handles().iter().map(|h| h.id.clone()).collect();
        let capital = if core.equity.is_zero() {
            self.spec.starting_cash
        } else {
            core.equity
        };
        let fleet_halted = core.risk.state().state != TradingState::Active;
        let allocation = {
            let Core {
                allocator, risk, ..
            } = &mut *core;
            allocator.rebalance(
                &ids,
                |b| fleet_halted || risk.bot_state(b) != TradingState::Active,
                capital,
            )
        };
        core.budgets = allocation
            .bots
            .iter()
            .map(|b| (b.bot.clone(), b.budget))
            .collect();
        let rows: Vec<AllocationRow> = allocation
            .bots
            .iter()
            .map(|b| AllocationRow {
                sequence: allocation.sequence,
                time: now,
                bot: b.bot.clone(),
                weight: b.weight,
                p_best: b.p_best,
                budget: b.budget,
                why: serde_json::to_value(b.why)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                posterior: serde_json::to_value(&b.posterior).unwrap_or_default(),
            })
            .collect();
        core.record_allocation(&rows)?;
        core.next_rebalance = now.plus_millis(self.spec.rebalance_every.as_millis() as i64);
        self.persist_host_state(core, now)
    }

    /// Writes the host state that changed since it was last written (on shutdown).
    pub fn save_host_state(&self, now: Timestamp) -> Result<()> {
        let mut core = self.core();
        self.persist_host_state(&mut core, now)
    }

    /// Saves the risk engine's memory, the allocator's posteriors and the exit book in the
    /// ledger, those that changed since they were last written.
    pub(crate) fn persist_host_state(&self, core: &mut Core, now: Timestamp) -> Result<()> {
        for (key, value) in self.changed_host_state(core, true)? {
            core.ledger.save_host_state(now, key, &value)?;
        }
        Ok(())
    }

    /// The host state that changed since it was last written (the caller writes it):
    /// risk memory, exit book and, with `allocator`, the allocator's posteriors. None in a
    /// replay, which starts fresh every time.
    pub(crate) fn changed_host_state(
        &self,
        core: &mut Core,
        allocator: bool,
    ) -> Result<Vec<(&'static str, serde_json::Value)>> {
        if self.replaying {
            return Ok(Vec::new());
        }
        let mut values = vec![
            ("risk_memory", serde_json::to_value(core.risk.snapshot())?),
            ("exits", serde_json::to_value(core.exits.snapshot())?),
        ];
        if allocator {
            values.push(("allocator", serde_json::to_value(core.allocator.state())?));
        }
        let mut changed = Vec::new();
        for (key, value) in values {
            let text = value.to_string();
            if core.persisted.get(key) != Some(&text) {
                core.persisted.insert(key, text);
                changed.push((key, value));
            }
        }
        Ok(changed)
    }

    /// Sets the fleet's trading state by hand (the CLI's halt, resume and reduce); audited.
    pub fn set_trading_state(
        &self,
        state: TradingState,
        reason: &str,
        now: Timestamp,
    ) -> Result<String> {
        let mut core = self.core();
        let change = core
            .risk
            .set_state(state, &format!("manual: {reason}"), now);
        record_state_changes(&mut core, std::slice::from_ref(&change))?;
        self.persist_host_state(&mut core, now)?;
        Ok(format!(
            "trading state {:?} -> {:?}\n",
            change.from, change.to
        ))
    }
}

fn record_state_changes(core: &mut Core, changes: &[StateChange]) -> Result<()> {
    for c in changes {
        let msg = format!("{:?} -> {:?} ({:?}): {}", c.from, c.to, c.cause, c.reason);
        tracing::warn!(bot = ?c.bot, "trading state: {msg}");
        core.record_event(c.at, c.bot.as_ref(), "trading_state", &msg)?;
        if c.bot.is_none()
            && let Some(t) = &core.telemetry
        {
            t.metrics.trading_state.set(state_code(c.to));
        }
        core.publish(
            c.at,
            c.bot.as_ref(),
            flotilla_telemetry::EventData::TradingState {
                from: c.from.as_str().into(),
                to: c.to.as_str().into(),
                reason: c.reason.clone(),
            },
        );
    }
    Ok(())
}

/// The `flotilla_trading_state` gauge's value.
fn state_code(s: TradingState) -> i64 {
    match s {
        TradingState::Active => 0,
        TradingState::Reducing => 1,
        TradingState::Halted => 2,
    }
}

/// [`ATR`]'s latest value over `bars`, exactly what the `indicator` import answers for
/// `atr(14)` with count 1 (the same input length); `None` while it warms up.
fn atr(bars: &[Bar]) -> Option<f64> {
    let high: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let low: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    match flotilla_indicators::compute(&ATR, &high, &low, &close, 1) {
        Ok(flotilla_indicators::Values::Line(v)) => v.last().copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(i: i64, low: f64, high: f64, close: f64) -> Bar {
        Bar {
            time: Timestamp(i * 60_000),
            open: close,
            high,
            low,
            close,
            volume: 1.0,
        }
    }

    #[test]
    fn the_trailing_atr_is_wilders_and_waits_for_its_warm_up() {
        // True ranges of 2, then one of 16: Wilder's smoothing moves 1/14 of the way,
        // (13 x 2 + 16) / 14 = 3.
        let mut bars: Vec<Bar> = (0..15).map(|i| bar(i, 99.0, 101.0, 100.0)).collect();
        assert_eq!(atr(&bars[..14]), None, "14 bars give no ATR(14)");
        assert_eq!(atr(&bars), Some(2.0));
        bars.push(bar(15, 92.0, 108.0, 100.0));
        assert!((atr(&bars).unwrap() - 3.0).abs() < 1e-12);
        // 14 quiet bars later Wilder's ATR still remembers the wide bar; a mean would not.
        for i in 16..30 {
            bars.push(bar(i, 99.0, 101.0, 100.0));
        }
        let expected = (0..14).fold(3.0, |a: f64, _| (a * 13.0 + 2.0) / 14.0);
        assert!((atr(&bars).unwrap() - expected).abs() < 1e-9);
        assert!(expected > 2.3);
    }
}
