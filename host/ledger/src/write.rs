//! The write API: one transaction per tick, plus the host's occasional records.

use crate::records::{BotVersionRecord, IntentRecord, OrderStatus, TickId, TickRecord};
use crate::sql::{Dec, action_parts, opt_dec, to_i64};
use crate::{Ledger, LedgerError};
use flotilla_domain::{
    BotId, Decimal, Fill, Intent, Money, OrderId, OrderRequest, OrderState, Position, Symbol,
    Timestamp,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const ENSURE_BOT: &str =
    "INSERT INTO bots (id, first_seen) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING";

const INSERT_TICK: &str = "INSERT INTO ticks (bot, seq, scheduled_at, started_at, lateness_ms, \
     duration_us, outcome, error, n_intents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

const INSERT_INTENT: &str = "INSERT INTO intents (tick_id, bot, symbol, action, quantity, \
     confidence, stop_loss, take_profit, tag, verdict, reason, detail, final_quantity) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

const INSERT_ORDER: &str = "INSERT INTO orders (id, intent_id, bot, symbol, side, quantity, \
     time, tag, status, client_id, state, filled_quantity, exit, order_type, limit_price, \
     time_in_force) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

const INSERT_FILL: &str = "INSERT INTO fills (order_id, bot, symbol, side, quantity, price, \
     fee, time, realized_pnl, tag, trade_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const UPSERT_POSITION: &str = "INSERT INTO positions (bot, symbol, quantity, avg_price, \
     realized_pnl, fees, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (bot, symbol) DO UPDATE SET quantity = excluded.quantity, \
     avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl, \
     fees = excluded.fees, updated_at = excluded.updated_at";

pub(crate) const UPSERT_KV: &str = "INSERT INTO kv (bot, key, value, updated_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (bot, key) DO UPDATE SET value = excluded.value, \
     updated_at = excluded.updated_at";

impl Ledger {
    /// Records one tick with its intents, verdicts, orders, fills, kv writes and positions,
    /// all in one transaction: afterwards either every row is there or none is.
    pub fn record_tick(&mut self, rec: &TickRecord) -> Result<TickId, LedgerError> {
        // Checked before BEGIN so a caller bug costs no lock; the transaction still guards
        // every failure that only the database can see (duplicate ids, bad references).
        validate_tick(rec)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert_tick(&tx, rec)?;
        tx.commit()?;
        Ok(id)
    }

    /// Records a fill that arrived after its order's tick, with the PnL it realised and the
    /// bot's resulting position in the symbol; updates the order's status.
    pub fn record_fill(
        &mut self,
        fill: &Fill,
        realized_pnl: Money,
        position: &Position,
    ) -> Result<(), LedgerError> {
        self.record_fill_with(fill, realized_pnl, position, None, &[])
    }

    /// [`Ledger::record_fill`] with the order's lifecycle state after the fill (default:
    /// filled or partially filled by quantity) and host state to store in the same
    /// transaction, so a venue's fill and everything it changed land together.
    pub fn record_fill_with(
        &mut self,
        fill: &Fill,
        realized_pnl: Money,
        position: &Position,
        state: Option<OrderState>,
        host_state: &[(&str, serde_json::Value)],
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let order_id = to_i64(fill.order_id.0, "order id")?;
        let order: Option<(String, Dec)> = tx
            .prepare_cached("SELECT bot, quantity FROM orders WHERE id = ?1")?
            .query_row([order_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((owner, Dec(ordered))) = order else {
            return Err(LedgerError::UnknownOrder(fill.order_id));
        };
        if owner != fill.bot.as_str() {
            return Err(LedgerError::Invalid(format!(
                "fill of {} is for {} but the order belongs to {owner}",
                fill.order_id, fill.bot
            )));
        }
        insert_fill(&tx, fill, realized_pnl)?;
        let mut filled = Decimal::ZERO;
        {
            let mut stmt = tx.prepare_cached("SELECT quantity FROM fills WHERE order_id = ?1")?;
            let mut rows = stmt.query([order_id])?;
            while let Some(row) = rows.next()? {
                filled += row.get::<_, Dec>(0)?.0;
            }
        }
        let status = if filled >= ordered {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        tx.prepare_cached("UPDATE orders SET status = ?2 WHERE id = ?1")?
            .execute(params![order_id, status])?;
        let detail = serde_json::json!({
            "trade_id": fill.trade_id, "quantity": fill.quantity, "price": fill.price,
        });
        crate::orders::set_state(
            &tx,
            fill.order_id,
            fill.time,
            state.unwrap_or(crate::orders::state_of(status)),
            Some(filled),
            &detail,
        )?;
        for (key, value) in host_state {
            crate::host::upsert_host_state(&tx, fill.time, key, value)?;
        }
        upsert_position(&tx, &fill.bot, &fill.symbol, position, fill.time)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets an order's status, e.g. when the broker rejects or cancels it, with its
    /// lifecycle state and the change in the order's history (`reason` kept with it).
    pub fn set_order_status(
        &mut self,
        id: OrderId,
        status: OrderStatus,
    ) -> Result<(), LedgerError> {
        self.set_order_status_at(id, status, None, None)
    }

    /// Moves an order to lifecycle `state` at `time` (its coarse status follows), with
    /// the venue's or host's `detail` in its history and host state in the same
    /// transaction. Moving a done order is refused.
    pub fn set_order_state(
        &mut self,
        id: OrderId,
        state: OrderState,
        time: Timestamp,
        detail: &serde_json::Value,
        host_state: &[(&str, serde_json::Value)],
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        crate::orders::set_state(&tx, id, time, state, None, detail)?;
        tx.prepare_cached("UPDATE orders SET status = ?2 WHERE id = ?1")?
            .execute(params![
                to_i64(id.0, "order id")?,
                crate::orders::status_of(state)
            ])?;
        for (key, value) in host_state {
            crate::host::upsert_host_state(&tx, time, key, value)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Several [`Ledger::set_order_state`] changes (without host state) in one
    /// transaction: all land or none does.
    pub fn set_order_states(
        &mut self,
        changes: &[(OrderId, OrderState, Timestamp, serde_json::Value)],
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (id, state, time, detail) in changes {
            crate::orders::set_state(&tx, *id, *time, *state, None, detail)?;
            tx.prepare_cached("UPDATE orders SET status = ?2 WHERE id = ?1")?
                .execute(params![
                    to_i64(id.0, "order id")?,
                    crate::orders::status_of(*state)
                ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// [`Ledger::set_order_status`] at `time` (default: the order's own time) with the
    /// venue's or host's `reason`.
    pub fn set_order_status_at(
        &mut self,
        id: OrderId,
        status: OrderStatus,
        time: Option<Timestamp>,
        reason: Option<&str>,
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = to_i64(id.0, "order id")?;
        let created: Option<i64> = tx
            .prepare_cached("SELECT time FROM orders WHERE id = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        let Some(created) = created else {
            return Err(LedgerError::UnknownOrder(id));
        };
        tx.prepare_cached("UPDATE orders SET status = ?2 WHERE id = ?1")?
            .execute(params![key, status])?;
        let detail = match reason {
            Some(r) => serde_json::json!({ "reason": r }),
            None => serde_json::Value::Null,
        };
        crate::orders::set_state(
            &tx,
            id,
            time.unwrap_or(Timestamp(created)),
            crate::orders::state_of(status),
            None,
            &detail,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a bot component load attempt, successful or not.
    pub fn record_bot_version(&mut self, rec: &BotVersionRecord) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_bot(&tx, &rec.bot, rec.loaded_at)?;
        tx.prepare_cached(
            "INSERT INTO bot_versions (bot, version, content_hash, component_path, loaded_at, \
             status, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            rec.bot.as_str(),
            rec.version,
            rec.content_hash,
            rec.component_path,
            rec.loaded_at.0,
            rec.status,
            rec.error,
        ])?;
        tx.commit()?;
        Ok(())
    }

    /// Records an account equity snapshot.
    pub fn record_equity(
        &mut self,
        time: Timestamp,
        cash: Money,
        equity: Money,
    ) -> Result<(), LedgerError> {
        self.insert_equity(time, cash, equity, None)
    }

    /// Records an account equity snapshot with a per-bot breakdown (any JSON).
    pub fn record_equity_with_bots(
        &mut self,
        time: Timestamp,
        cash: Money,
        equity: Money,
        per_bot: &serde_json::Value,
    ) -> Result<(), LedgerError> {
        self.insert_equity(time, cash, equity, Some(serde_json::to_string(per_bot)?))
    }

    fn insert_equity(
        &mut self,
        time: Timestamp,
        cash: Money,
        equity: Money,
        per_bot: Option<String>,
    ) -> Result<(), LedgerError> {
        self.conn
            .prepare_cached(
                "INSERT INTO equity (time, cash, equity, per_bot) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![time.0, Dec(cash), Dec(equity), per_bot])?;
        Ok(())
    }

    /// Records an audit event (reload, quarantine, halt, ...); `bot` is `None` for the fleet.
    pub fn record_event(
        &mut self,
        time: Timestamp,
        bot: Option<&BotId>,
        kind: &str,
        message: &str,
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(bot) = bot {
            ensure_bot(&tx, bot, time)?;
        }
        tx.prepare_cached("INSERT INTO events (time, bot, kind, message) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![time.0, bot.map(BotId::as_str), kind, message])?;
        tx.commit()?;
        Ok(())
    }

    /// The next unused order id: one past the largest recorded or handed out, so ids keep
    /// increasing across restarts and across calls made before the orders are recorded.
    pub fn next_order_id(&mut self) -> Result<OrderId, LedgerError> {
        let max: Option<i64> = self
            .conn
            .prepare_cached("SELECT MAX(id) FROM orders")?
            .query_row([], |r| r.get(0))?;
        // Ids are written from u64 through a checked conversion, so they are never negative.
        let after_recorded = max.map_or(1, |m| m.unsigned_abs() + 1);
        let id = after_recorded.max(self.next_order);
        self.next_order = id + 1;
        Ok(OrderId(id))
    }
}

/// Rejects records whose parts disagree about who or what they belong to.
fn validate_tick(rec: &TickRecord) -> Result<(), LedgerError> {
    let bad = |what: String| {
        Err(LedgerError::Invalid(format!(
            "tick {} of {}: {what}",
            rec.seq, rec.bot
        )))
    };
    for ir in &rec.intents {
        if ir.intent.bot != rec.bot {
            return bad(format!("intent belongs to {}", ir.intent.bot));
        }
        if let Some(order) = &ir.order
            && order.bot != rec.bot
        {
            return bad(format!("order {} belongs to {}", order.id, order.bot));
        }
        if let Some((fill, _)) = &ir.fill {
            if fill.bot != rec.bot {
                return bad(format!("fill of {} belongs to {}", fill.order_id, fill.bot));
            }
            if let Some(order) = &ir.order
                && order.id != fill.order_id
            {
                return bad(format!(
                    "fill of {} attached to order {}",
                    fill.order_id, order.id
                ));
            }
        }
    }
    Ok(())
}

/// Makes sure the bot has its row, which every per-bot table references.
pub(crate) fn ensure_bot(
    conn: &Connection,
    bot: &BotId,
    time: Timestamp,
) -> Result<(), LedgerError> {
    conn.prepare_cached(ENSURE_BOT)?
        .execute(params![bot.as_str(), time.0])?;
    Ok(())
}

fn insert_tick(conn: &Connection, rec: &TickRecord) -> Result<TickId, LedgerError> {
    ensure_bot(conn, &rec.bot, rec.started_at)?;
    let tick_id = conn.prepare_cached(INSERT_TICK)?.insert(params![
        rec.bot.as_str(),
        to_i64(rec.seq, "seq")?,
        rec.scheduled_at.0,
        rec.started_at.0,
        rec.lateness_ms,
        to_i64(rec.duration_us, "duration_us")?,
        rec.outcome,
        rec.error,
        to_i64(rec.intents.len() as u64, "intent count")?,
    ])?;
    for ir in &rec.intents {
        insert_intent(conn, tick_id, &rec.bot, ir)?;
    }
    let mut kv = conn.prepare_cached(UPSERT_KV)?;
    for (key, value) in &rec.kv_writes {
        kv.execute(params![rec.bot.as_str(), key, value, rec.started_at.0])?;
    }
    for (symbol, position) in &rec.positions {
        upsert_position(conn, &rec.bot, symbol, position, rec.started_at)?;
    }
    for (key, value) in &rec.host_state {
        crate::host::upsert_host_state(conn, rec.started_at, key, value)?;
    }
    Ok(TickId(tick_id))
}

fn insert_intent(
    conn: &Connection,
    tick_id: i64,
    bot: &BotId,
    ir: &IntentRecord,
) -> Result<(), LedgerError> {
    let i = &ir.intent;
    let (action, quantity) = action_parts(i.action);
    // A NaN would become NULL anyway; say so explicitly rather than lose the whole tick.
    let confidence = i.confidence.is_finite().then_some(i.confidence);
    let intent_id = conn.prepare_cached(INSERT_INTENT)?.insert(params![
        tick_id,
        bot.as_str(),
        i.symbol.as_str(),
        action,
        Dec(quantity),
        confidence,
        opt_dec(i.stop_loss),
        opt_dec(i.take_profit),
        i.tag,
        ir.verdict.kind,
        ir.verdict.reason,
        serde_json::to_string(&ir.verdict.detail)?,
        opt_dec(ir.verdict.quantity),
    ])?;
    if let Some(order) = &ir.order {
        let status = match &ir.fill {
            Some((fill, _)) if fill.quantity >= order.quantity => OrderStatus::Filled,
            Some(_) => OrderStatus::PartiallyFilled,
            None => OrderStatus::Open,
        };
        if ir.queued {
            insert_created(conn, Some(intent_id), order, i)?;
        } else {
            let fill = ir.fill.as_ref().map(|(f, _)| f);
            insert_order(conn, Some(intent_id), order, i, status, fill)?;
        }
    }
    if let Some((fill, realized)) = &ir.fill {
        insert_fill(conn, fill, *realized)?;
    }
    Ok(())
}

/// Inserts an order an execution service will send: state `created`, nothing sent yet.
fn insert_created(
    conn: &Connection,
    intent_id: Option<i64>,
    o: &OrderRequest,
    i: &Intent,
) -> Result<(), LedgerError> {
    conn.prepare_cached(INSERT_ORDER)?.execute(params![
        to_i64(o.id.0, "order id")?,
        intent_id,
        o.bot.as_str(),
        o.symbol.as_str(),
        o.side.as_str(),
        Dec(o.quantity),
        o.time.0,
        o.tag,
        OrderStatus::Open,
        o.client_id.as_str(),
        OrderState::Created.as_str(),
        Dec(Decimal::ZERO),
        o.exit,
        i.order_type.as_str(),
        opt_dec(i.limit_price),
        i.time_in_force.as_str(),
    ])?;
    let detail = serde_json::json!({ "client_id": o.client_id.as_str() });
    crate::orders::insert_event(conn, o.id, o.time, None, OrderState::Created, &detail)
}

/// Inserts an order with the state it reached in its tick, and its history: created, sent
/// to the (in-process) venue, then filled if it filled at once.
fn insert_order(
    conn: &Connection,
    intent_id: Option<i64>,
    o: &OrderRequest,
    i: &Intent,
    status: OrderStatus,
    fill: Option<&Fill>,
) -> Result<(), LedgerError> {
    let filled = fill.map_or(Decimal::ZERO, |f| f.quantity);
    // An order the in-process venue did not fill at once rests there: accepted.
    let state = match (status, fill) {
        (OrderStatus::Open, None) => OrderState::Accepted,
        _ => crate::orders::state_of(status),
    };
    conn.prepare_cached(INSERT_ORDER)?.execute(params![
        to_i64(o.id.0, "order id")?,
        intent_id,
        o.bot.as_str(),
        o.symbol.as_str(),
        o.side.as_str(),
        Dec(o.quantity),
        o.time.0,
        o.tag,
        status,
        o.client_id.as_str(),
        state.as_str(),
        Dec(filled),
        o.exit,
        i.order_type.as_str(),
        opt_dec(i.limit_price),
        i.time_in_force.as_str(),
    ])?;
    let none = serde_json::Value::Null;
    crate::orders::insert_event(conn, o.id, o.time, None, OrderState::Created, &none)?;
    let sent = serde_json::json!({ "client_id": o.client_id.as_str() });
    crate::orders::insert_event(
        conn,
        o.id,
        o.time,
        Some(OrderState::Created),
        OrderState::Submitted,
        &sent,
    )?;
    if state == OrderState::Accepted {
        let at = Some(OrderState::Submitted);
        crate::orders::insert_event(conn, o.id, o.time, at, OrderState::Accepted, &none)?;
    }
    if let Some(f) = fill {
        let detail = serde_json::json!({
            "trade_id": f.trade_id, "quantity": f.quantity, "price": f.price,
        });
        crate::orders::insert_event(
            conn,
            o.id,
            f.time,
            Some(OrderState::Submitted),
            state,
            &detail,
        )?;
    }
    Ok(())
}

fn insert_fill(conn: &Connection, f: &Fill, realized: Money) -> Result<(), LedgerError> {
    conn.prepare_cached(INSERT_FILL)?.execute(params![
        to_i64(f.order_id.0, "order id")?,
        f.bot.as_str(),
        f.symbol.as_str(),
        f.side.as_str(),
        Dec(f.quantity),
        Dec(f.price),
        Dec(f.fee),
        f.time.0,
        Dec(realized),
        f.tag,
        (!f.trade_id.is_empty()).then_some(f.trade_id.as_str()),
    ])?;
    Ok(())
}

fn upsert_position(
    conn: &Connection,
    bot: &BotId,
    symbol: &Symbol,
    p: &Position,
    time: Timestamp,
) -> Result<(), LedgerError> {
    conn.prepare_cached(UPSERT_POSITION)?.execute(params![
        bot.as_str(),
        symbol.as_str(),
        Dec(p.quantity),
        Dec(p.avg_price),
        Dec(p.realized_pnl),
        Dec(p.fees),
        time.0,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests;
