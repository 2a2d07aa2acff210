//! The read API behind `flotilla status`; every row serialises for `--json`.

use crate::records::{OrderStatus, TickId, TickOutcome, VerdictKind};
use crate::sql::{
    get_action, get_bot, get_dec, get_json, get_opt_bot, get_opt_dec, get_opt_json, get_side,
    get_symbol, get_ts, get_u64,
};
use crate::{Ledger, LedgerError};
use flotilla_domain::{
    BotId, Decimal, Money, OrderAction, OrderId, Price, Quantity, Side, Symbol, Timestamp,
};
use rusqlite::{OptionalExtension, Params, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One bot's activity, as `flotilla status` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotSummary {
    /// The bot.
    pub bot: BotId,
    /// The version of its latest successful load.
    pub version: Option<String>,
    /// Ticks recorded, whatever their outcome.
    pub ticks: u64,
    /// Ticks that ended in error, timeout or trap.
    pub errors: u64,
    /// Intents the bot sent.
    pub intents: u64,
    /// Intents approved as asked.
    pub approved: u64,
    /// Intents approved with another quantity.
    pub resized: u64,
    /// Intents refused.
    pub refused: u64,
    /// Fills recorded.
    pub trades: u64,
    /// Realised PnL over all symbols, fees excluded (summed over fills).
    pub realized_pnl: Money,
    /// Fees paid over all symbols.
    pub fees: Money,
    /// When the latest tick started.
    pub last_tick_at: Option<Timestamp>,
    /// How the latest tick ended.
    pub last_outcome: Option<TickOutcome>,
}

/// A bot's holding in one symbol, as last recorded (flat holdings included, for their PnL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionRow {
    /// The bot.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Signed units.
    pub quantity: Quantity,
    /// Average entry price of the open quantity.
    pub avg_price: Price,
    /// Realised PnL, fees excluded.
    pub realized_pnl: Money,
    /// Fees paid.
    pub fees: Money,
    /// When the row was last written.
    pub updated_at: Timestamp,
}

/// A refused intent and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefusalRow {
    /// When its tick started.
    pub time: Timestamp,
    /// The bot.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// What the bot asked for.
    pub action: OrderAction,
    /// The reason code.
    pub reason: Option<String>,
    /// The numbers behind the refusal.
    pub detail: serde_json::Value,
}

/// An account equity snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EquityRow {
    /// When it was taken.
    pub time: Timestamp,
    /// Cash.
    pub cash: Money,
    /// Cash plus marked positions.
    pub equity: Money,
    /// Optional per-bot breakdown.
    pub per_bot: Option<serde_json::Value>,
}

/// An audit event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// When it happened.
    pub time: Timestamp,
    /// The bot concerned; `None` for fleet-wide events.
    pub bot: Option<BotId>,
    /// The kind, e.g. `reload`, `quarantine`, `halt`.
    pub kind: String,
    /// Free text.
    pub message: String,
}

/// A recorded tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickRow {
    /// The ledger's id.
    pub id: TickId,
    /// The bot.
    pub bot: BotId,
    /// The tick number within the bot instance's life.
    pub seq: u64,
    /// When it was due.
    pub scheduled_at: Timestamp,
    /// When it started.
    pub started_at: Timestamp,
    /// How late it started, in milliseconds.
    pub lateness_ms: i64,
    /// How long it ran, in microseconds.
    pub duration_us: u64,
    /// How it ended.
    pub outcome: TickOutcome,
    /// The error text, if any.
    pub error: Option<String>,
    /// How many intents the bot sent.
    pub n_intents: u64,
}

/// A recorded intent with its verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentRow {
    /// The ledger's id.
    pub id: i64,
    /// The tick it came from.
    pub tick: TickId,
    /// The bot.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// What the bot asked for.
    pub action: OrderAction,
    /// The bot's confidence; `None` if it sent a non-finite one.
    pub confidence: Option<f64>,
    /// Protective stop price.
    pub stop_loss: Option<Price>,
    /// Profit target price.
    pub take_profit: Option<Price>,
    /// The bot's tag.
    pub tag: String,
    /// Risk's decision.
    pub verdict: VerdictKind,
    /// The reason code.
    pub reason: Option<String>,
    /// The numbers behind the decision.
    pub detail: serde_json::Value,
    /// The quantity that went on.
    pub final_quantity: Option<Quantity>,
    /// The order routed for it, if any.
    pub order_id: Option<OrderId>,
}

/// A recorded order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRow {
    /// The host's order id.
    pub id: OrderId,
    /// The intent it came from, if any.
    pub intent_id: Option<i64>,
    /// The bot.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units.
    pub quantity: Quantity,
    /// When it was sent.
    pub time: Timestamp,
    /// The bot's tag.
    pub tag: String,
    /// Where it stands.
    pub status: OrderStatus,
}

/// A recorded fill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FillRow {
    /// The order that filled.
    pub order_id: OrderId,
    /// The bot.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units filled.
    pub quantity: Quantity,
    /// Execution price.
    pub price: Price,
    /// Fee charged.
    pub fee: Money,
    /// Execution time.
    pub time: Timestamp,
    /// PnL the fill realised, fees excluded.
    pub realized_pnl: Money,
    /// The bot's tag.
    pub tag: String,
    /// The venue's trade id (`None` for fills recorded before the order lifecycle).
    pub trade_id: Option<String>,
}

impl FillRow {
    /// The fill as the book applies it.
    pub fn to_fill(&self) -> flotilla_domain::Fill {
        flotilla_domain::Fill {
            order_id: self.order_id,
            bot: self.bot.clone(),
            symbol: self.symbol.clone(),
            side: self.side,
            quantity: self.quantity,
            price: self.price,
            fee: self.fee,
            time: self.time,
            trade_id: self.trade_id.clone().unwrap_or_default(),
            tag: self.tag.clone(),
        }
    }
}

const TICK_COLS: &str = "id, bot, seq, scheduled_at, started_at, lateness_ms, duration_us, \
     outcome, error, n_intents";
pub(crate) const FILL_COLS: &str =
    "order_id, bot, symbol, side, quantity, price, fee, time, realized_pnl, tag, trade_id";

impl Ledger {
    /// Per-bot counts and PnL for every bot the ledger has seen, by bot id.
    pub fn bot_summaries(&self) -> Result<Vec<BotSummary>, LedgerError> {
        // One read transaction: every count comes from the same snapshot while the host writes.
        let tx = self.conn.unchecked_transaction()?;
        let mut by_bot: BTreeMap<BotId, BotSummary> = BTreeMap::new();
        for bot in self.rows("SELECT id FROM bots", [], |r| get_bot(r, 0))? {
            by_bot.insert(bot.clone(), empty_summary(bot));
        }
        // Error outcomes must match TickOutcome::is_error (checked by a test).
        let ticks = self.rows(
            "SELECT bot, COUNT(*), SUM(outcome IN ('error', 'timeout', 'trap')), MAX(id) \
             FROM ticks GROUP BY bot",
            [],
            |r| {
                Ok((
                    get_bot(r, 0)?,
                    get_u64(r, 1)?,
                    get_u64(r, 2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )?;
        for (bot, n, errors, last_id) in ticks {
            let (at, outcome) = self
                .conn
                .prepare_cached("SELECT started_at, outcome FROM ticks WHERE id = ?1")?
                .query_row([last_id], |r| {
                    Ok((get_ts(r, 0)?, r.get::<_, TickOutcome>(1)?))
                })?;
            let s = summary(&mut by_bot, bot);
            s.ticks = n;
            s.errors = errors;
            s.last_tick_at = Some(at);
            s.last_outcome = Some(outcome);
        }

        let verdicts = self.rows(
            "SELECT bot, verdict, COUNT(*) FROM intents GROUP BY bot, verdict",
            [],
            |r| Ok((get_bot(r, 0)?, r.get::<_, VerdictKind>(1)?, get_u64(r, 2)?)),
        )?;
        for (bot, verdict, n) in verdicts {
            let s = summary(&mut by_bot, bot);
            s.intents += n;
            match verdict {
                VerdictKind::Approved => s.approved += n,
                VerdictKind::Resized => s.resized += n,
                VerdictKind::Refused => s.refused += n,
            }
        }

        let trades = self.rows("SELECT bot, COUNT(*) FROM fills GROUP BY bot", [], |r| {
            Ok((get_bot(r, 0)?, get_u64(r, 1)?))
        })?;
        for (bot, n) in trades {
            summary(&mut by_bot, bot).trades = n;
        }

        // Summed in Rust: SQL SUM would go through floating point. Summed over fills, the
        // record of what happened, so closed and reopened positions all count.
        let pnl = self.rows("SELECT bot, realized_pnl, fee FROM fills", [], |r| {
            Ok((get_bot(r, 0)?, get_dec(r, 1)?, get_dec(r, 2)?))
        })?;
        for (bot, realized, fees) in pnl {
            let s = summary(&mut by_bot, bot);
            s.realized_pnl += realized;
            s.fees += fees;
        }

        let versions = self.rows(
            "SELECT bot, version FROM bot_versions WHERE id IN \
             (SELECT MAX(id) FROM bot_versions WHERE status = 'ok' GROUP BY bot)",
            [],
            |r| Ok((get_bot(r, 0)?, r.get::<_, String>(1)?)),
        )?;
        for (bot, version) in versions {
            summary(&mut by_bot, bot).version = Some(version);
        }
        tx.commit()?;
        Ok(by_bot.into_values().collect())
    }

    /// Every recorded position, by bot and symbol.
    pub fn positions(&self) -> Result<Vec<PositionRow>, LedgerError> {
        self.rows(
            "SELECT bot, symbol, quantity, avg_price, realized_pnl, fees, updated_at \
             FROM positions ORDER BY bot, symbol",
            [],
            |r| {
                Ok(PositionRow {
                    bot: get_bot(r, 0)?,
                    symbol: get_symbol(r, 1)?,
                    quantity: get_dec(r, 2)?,
                    avg_price: get_dec(r, 3)?,
                    realized_pnl: get_dec(r, 4)?,
                    fees: get_dec(r, 5)?,
                    updated_at: get_ts(r, 6)?,
                })
            },
        )
    }

    /// The `limit` most recently recorded refusals, newest first.
    pub fn recent_refusals(&self, limit: usize) -> Result<Vec<RefusalRow>, LedgerError> {
        self.rows(
            "SELECT t.started_at, i.bot, i.symbol, i.action, i.quantity, i.reason, i.detail \
             FROM intents i JOIN ticks t ON t.id = i.tick_id \
             WHERE i.verdict = 'refused' ORDER BY i.id DESC LIMIT ?1",
            [sql_limit(limit)],
            |r| {
                Ok(RefusalRow {
                    time: get_ts(r, 0)?,
                    bot: get_bot(r, 1)?,
                    symbol: get_symbol(r, 2)?,
                    action: get_action(r, 3, 4)?,
                    reason: r.get(5)?,
                    detail: get_json(r, 6)?,
                })
            },
        )
    }

    /// The latest equity snapshot, if any.
    pub fn latest_equity(&self) -> Result<Option<EquityRow>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT time, cash, equity, per_bot FROM equity ORDER BY time DESC, id DESC LIMIT 1",
            )?
            .query_row([], equity_row)
            .optional()?)
    }

    /// Equity snapshots taken at or after `from`, oldest first.
    pub fn equity_since(&self, from: Timestamp) -> Result<Vec<EquityRow>, LedgerError> {
        self.rows(
            "SELECT time, cash, equity, per_bot FROM equity WHERE time >= ?1 ORDER BY time, id",
            [from.0],
            equity_row,
        )
    }

    /// The `limit` most recent audit events, newest first.
    pub fn events(&self, limit: usize) -> Result<Vec<EventRow>, LedgerError> {
        self.rows(
            "SELECT time, bot, kind, message FROM events ORDER BY id DESC LIMIT ?1",
            [sql_limit(limit)],
            |r| {
                Ok(EventRow {
                    time: get_ts(r, 0)?,
                    bot: get_opt_bot(r, 1)?,
                    kind: r.get(2)?,
                    message: r.get(3)?,
                })
            },
        )
    }

    /// One recorded tick.
    pub fn tick(&self, id: TickId) -> Result<Option<TickRow>, LedgerError> {
        let sql = format!("SELECT {TICK_COLS} FROM ticks WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id.0], tick_row)
            .optional()?)
    }

    /// The intents of a tick, in the order the bot sent them.
    pub fn intents_of_tick(&self, id: TickId) -> Result<Vec<IntentRow>, LedgerError> {
        self.rows(
            "SELECT i.id, i.tick_id, i.bot, i.symbol, i.action, i.quantity, i.confidence, \
             i.stop_loss, i.take_profit, i.tag, i.verdict, i.reason, i.detail, \
             i.final_quantity, o.id \
             FROM intents i LEFT JOIN orders o ON o.intent_id = i.id \
             WHERE i.tick_id = ?1 ORDER BY i.id",
            [id.0],
            intent_row,
        )
    }

    /// One recorded order.
    pub fn order(&self, id: OrderId) -> Result<Option<OrderRow>, LedgerError> {
        let id = crate::sql::to_i64(id.0, "order id")?;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, intent_id, bot, symbol, side, quantity, time, tag, status \
                 FROM orders WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(OrderRow {
                    id: OrderId(get_u64(r, 0)?),
                    intent_id: r.get(1)?,
                    bot: get_bot(r, 2)?,
                    symbol: get_symbol(r, 3)?,
                    side: get_side(r, 4)?,
                    quantity: get_dec(r, 5)?,
                    time: get_ts(r, 6)?,
                    tag: r.get(7)?,
                    status: r.get(8)?,
                })
            })
            .optional()?)
    }

    /// The fills of an order, oldest first.
    pub fn fills_of_order(&self, id: OrderId) -> Result<Vec<FillRow>, LedgerError> {
        let id = crate::sql::to_i64(id.0, "order id")?;
        let sql = format!("SELECT {FILL_COLS} FROM fills WHERE order_id = ?1 ORDER BY id");
        self.rows(&sql, [id], fill_row)
    }

    /// Every recorded tick's lateness (started minus scheduled), in milliseconds of
    /// fleet time, in recording order; negative values (never expected) count as 0.
    pub fn lateness_ms(&self) -> Result<Vec<u64>, LedgerError> {
        self.rows("SELECT lateness_ms FROM ticks ORDER BY id", [], |r| {
            Ok(r.get::<_, i64>(0)?.max(0) as u64)
        })
    }

    /// Every fill, in the order it was booked: what a restart replays to rebuild the book.
    pub fn all_fills(&self) -> Result<Vec<FillRow>, LedgerError> {
        let sql = format!("SELECT {FILL_COLS} FROM fills ORDER BY id");
        self.rows(&sql, [], fill_row)
    }

    /// The `limit` most recently recorded fills, newest first.
    pub fn recent_fills(&self, limit: usize) -> Result<Vec<FillRow>, LedgerError> {
        let sql = format!("SELECT {FILL_COLS} FROM fills ORDER BY id DESC LIMIT ?1");
        self.rows(&sql, [sql_limit(limit)], fill_row)
    }

    /// Runs a cached query and collects its rows.
    fn rows<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, f)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn empty_summary(bot: BotId) -> BotSummary {
    BotSummary {
        bot,
        version: None,
        ticks: 0,
        errors: 0,
        intents: 0,
        approved: 0,
        resized: 0,
        refused: 0,
        trades: 0,
        realized_pnl: Decimal::ZERO,
        fees: Decimal::ZERO,
        last_tick_at: None,
        last_outcome: None,
    }
}

/// The summary of `bot`, created if the bots table somehow lacked it.
fn summary(map: &mut BTreeMap<BotId, BotSummary>, bot: BotId) -> &mut BotSummary {
    map.entry(bot.clone()).or_insert_with(|| empty_summary(bot))
}

/// SQLite's LIMIT takes a signed integer; anything larger means "all".
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn equity_row(r: &Row<'_>) -> rusqlite::Result<EquityRow> {
    Ok(EquityRow {
        time: get_ts(r, 0)?,
        cash: get_dec(r, 1)?,
        equity: get_dec(r, 2)?,
        per_bot: get_opt_json(r, 3)?,
    })
}

fn tick_row(r: &Row<'_>) -> rusqlite::Result<TickRow> {
    Ok(TickRow {
        id: TickId(r.get(0)?),
        bot: get_bot(r, 1)?,
        seq: get_u64(r, 2)?,
        scheduled_at: get_ts(r, 3)?,
        started_at: get_ts(r, 4)?,
        lateness_ms: r.get(5)?,
        duration_us: get_u64(r, 6)?,
        outcome: r.get(7)?,
        error: r.get(8)?,
        n_intents: get_u64(r, 9)?,
    })
}

fn intent_row(r: &Row<'_>) -> rusqlite::Result<IntentRow> {
    Ok(IntentRow {
        id: r.get(0)?,
        tick: TickId(r.get(1)?),
        bot: get_bot(r, 2)?,
        symbol: get_symbol(r, 3)?,
        action: get_action(r, 4, 5)?,
        confidence: r.get(6)?,
        stop_loss: get_opt_dec(r, 7)?,
        take_profit: get_opt_dec(r, 8)?,
        tag: r.get(9)?,
        verdict: r.get(10)?,
        reason: r.get(11)?,
        detail: get_json(r, 12)?,
        final_quantity: get_opt_dec(r, 13)?,
        order_id: r
            .get::<_, Option<i64>>(14)?
            .map(|id| OrderId(id.unsigned_abs())),
    })
}

pub(crate) fn fill_row(r: &Row<'_>) -> rusqlite::Result<FillRow> {
    Ok(FillRow {
        order_id: OrderId(get_u64(r, 0)?),
        bot: get_bot(r, 1)?,
        symbol: get_symbol(r, 2)?,
        side: get_side(r, 3)?,
        quantity: get_dec(r, 4)?,
        price: get_dec(r, 5)?,
        fee: get_dec(r, 6)?,
        time: get_ts(r, 7)?,
        realized_pnl: get_dec(r, 8)?,
        tag: r.get(9)?,
        trade_id: r.get(10)?,
    })
}

#[cfg(test)]
mod tests;
