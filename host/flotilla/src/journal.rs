//! Where the tick path records its decisions: the SQLite ledger, or, in a backtest that
//! keeps no ledger file, an in-memory log of what the report needs.
//!
//! A backtest's in-memory SQLite database was thrown away at the end of the run, yet its
//! writes were a third of a replay's time. The log keeps the facts the report reads (fills
//! and refusals) in recording order, so the report is identical either way; `backtest --ledger`
//! still writes every row to a file for inspection.

use crate::fleet::Core;
use anyhow::Result;
use flotilla_backtest::RefusalRecord;
use flotilla_domain::{BotId, Fill, Money, OrderId, Position, Timestamp};
use flotilla_ledger::{AllocationRow, OrderStatus, TickRecord, VerdictKind};

/// Decisions of a replay kept in memory, in the order the ledger would have stored them.
#[derive(Debug, Default)]
pub struct ReplayLog {
    /// Every fill, oldest first.
    pub fills: Vec<Fill>,
    /// Every risk refusal, oldest first.
    pub refusals: Vec<RefusalRecord>,
    /// Audit events (loads that failed, quarantines) as (kind, message), oldest first:
    /// rare, kept so a replay can say why a bot did not run.
    pub events: Vec<(String, String)>,
    /// The last order id handed out.
    last_order: u64,
}

impl ReplayLog {
    fn tick(&mut self, rec: &TickRecord) {
        for ir in &rec.intents {
            if ir.verdict.kind == VerdictKind::Refused {
                self.refusals.push(RefusalRecord {
                    time: rec.started_at,
                    bot: ir.intent.bot.clone(),
                    symbol: ir.intent.symbol.clone(),
                    reason: ir.verdict.reason.clone().unwrap_or_default(),
                    detail: ir.verdict.detail.clone(),
                });
            }
            if let Some((fill, _)) = &ir.fill {
                self.fills.push(fill.clone());
            }
        }
    }
}

impl Core {
    /// A new order id: from the ledger (unique across restarts) or the replay's counter.
    pub(crate) fn next_order_id(&mut self) -> Result<OrderId> {
        match &mut self.replay_log {
            Some(log) => {
                log.last_order += 1;
                Ok(OrderId(log.last_order))
            }
            None => Ok(self.ledger.next_order_id()?),
        }
    }

    /// Records one tick with everything it decided.
    pub(crate) fn record_tick(&mut self, rec: &TickRecord) -> Result<()> {
        match &mut self.replay_log {
            Some(log) => log.tick(rec),
            None => {
                self.ledger.record_tick(rec)?;
                self.observe_tick(rec);
            }
        }
        Ok(())
    }

    /// Records a fill that arrived after its order's tick (next-open fills).
    pub(crate) fn record_fill(
        &mut self,
        fill: &Fill,
        realized: Money,
        position: &Position,
    ) -> Result<()> {
        match &mut self.replay_log {
            Some(log) => log.fills.push(fill.clone()),
            None => {
                self.ledger.record_fill(fill, realized, position)?;
                self.observe_fill(fill);
            }
        }
        Ok(())
    }

    /// Records an audit event; `bot` is `None` for the fleet.
    pub(crate) fn record_event(
        &mut self,
        time: Timestamp,
        bot: Option<&BotId>,
        kind: &str,
        message: &str,
    ) -> Result<()> {
        // A replay's report lists no events (they are logged, and `--ledger` keeps them).
        match &mut self.replay_log {
            Some(log) => log.events.push((kind.to_string(), message.to_string())),
            None => {
                self.ledger.record_event(time, bot, kind, message)?;
                self.observe_event(time, bot, kind, message);
            }
        }
        Ok(())
    }

    /// Records a capital allocation (a replay's report does not use them: not kept).
    pub(crate) fn record_allocation(&mut self, rows: &[AllocationRow]) -> Result<()> {
        if self.replay_log.is_none() {
            self.ledger.record_allocation(rows)?;
        }
        Ok(())
    }

    /// Moves an order to `state` with `reason` (the log has no order rows to update).
    pub(crate) fn set_order_state(
        &mut self,
        id: OrderId,
        state: flotilla_domain::OrderState,
        time: Timestamp,
        reason: &str,
    ) -> Result<()> {
        if self.replay_log.is_none() {
            let detail = serde_json::json!({ "reason": reason });
            self.ledger.set_order_state(id, state, time, &detail, &[])?;
            let order = self
                .working
                .get(&id)
                .or_else(|| {
                    self.resting
                        .iter()
                        .map(|(w, _)| w)
                        .find(|w| w.order.id == id)
                })
                .map(|w| (w.order.bot.clone(), w.order.symbol.clone()));
            if let Some((bot, symbol)) = order {
                self.observe_order(&bot, id, &symbol, state, time, Some(reason.to_string()));
            }
        }
        Ok(())
    }

    /// Marks an order the broker rejected (the log has no order rows to update).
    pub(crate) fn order_rejected(&mut self, id: OrderId) -> Result<()> {
        if self.replay_log.is_none() {
            self.ledger.set_order_status(id, OrderStatus::Rejected)?;
        }
        Ok(())
    }

    /// The messages of the audit events of `kind` recorded so far, oldest first.
    pub(crate) fn event_messages(&self, kind: &str) -> Vec<String> {
        match &self.replay_log {
            Some(log) => (log.events.iter())
                .filter(|(k, _)| k == kind)
                .map(|(_, m)| m.clone())
                .collect(),
            None => (self
                .ledger
                .events(usize::MAX)
                .unwrap_or_default()
                .into_iter()
                .rev())
            .filter(|e| e.kind == kind)
            .map(|e| e.message)
            .collect(),
        }
    }

    /// The fills and refusals recorded so far, oldest first, from whichever store holds them.
    pub(crate) fn recorded(&self) -> Result<(Vec<Fill>, Vec<RefusalRecord>)> {
        if let Some(log) = &self.replay_log {
            return Ok((log.fills.clone(), log.refusals.clone()));
        }
        let fills: Vec<Fill> = self
            .ledger
            .all_fills()?
            .iter()
            .map(|f| f.to_fill())
            .collect();
        let refusals = self
            .ledger
            .recent_refusals(usize::MAX)?
            .into_iter()
            .rev()
            .map(|r| RefusalRecord {
                time: r.time,
                bot: r.bot,
                symbol: r.symbol,
                reason: r.reason.unwrap_or_default(),
                detail: r.detail,
            })
            .collect();
        Ok((fills, refusals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::{Decimal, Intent, OrderAction, Side, Symbol};
    use flotilla_ledger::{IntentRecord, TickOutcome, VerdictRecord};

    fn intent_record(kind: VerdictKind, fill: Option<Fill>) -> IntentRecord {
        IntentRecord {
            intent: Intent {
                bot: BotId::new("b"),
                symbol: Symbol::new("AAA"),
                action: OrderAction::Buy(Decimal::ONE),
                confidence: 1.0,
                stop_loss: None,
                take_profit: None,
                trailing: None,
                scale_outs: Vec::new(),
                order_type: Default::default(),
                limit_price: None,
                time_in_force: Default::default(),
                tag: "t".into(),
            },
            verdict: VerdictRecord {
                kind,
                reason: (kind == VerdictKind::Refused).then(|| "max_positions".to_string()),
                detail: serde_json::json!({"limit": 1}),
                quantity: None,
            },
            order: None,
            fill: fill.map(|f| (f, Decimal::ZERO)),
            queued: false,
        }
    }

    #[test]
    fn keeps_refusals_and_fills_in_recording_order() {
        let fill = Fill {
            order_id: OrderId(1),
            bot: BotId::new("b"),
            symbol: Symbol::new("AAA"),
            side: Side::Buy,
            quantity: Decimal::ONE,
            price: Decimal::TEN,
            fee: Decimal::ZERO,
            time: Timestamp(5),
            trade_id: String::new(),
            tag: "t".into(),
        };
        let mut log = ReplayLog::default();
        let mut rec = TickRecord::new(BotId::new("b"), Timestamp(4), Timestamp(5), TickOutcome::Ok);
        rec.intents = vec![
            intent_record(VerdictKind::Approved, Some(fill.clone())),
            intent_record(VerdictKind::Refused, None),
        ];
        log.tick(&rec);
        assert_eq!(log.fills, vec![fill]);
        assert_eq!(log.refusals.len(), 1);
        let r = &log.refusals[0];
        assert_eq!((r.time, r.reason.as_str()), (Timestamp(5), "max_positions"));
        assert_eq!(r.detail["limit"], 1);
    }
}
