//! Orders through their lifecycle: the current state in `orders`, every change in
//! `order_events`, and the queries `flotilla orders` and a restart read.

use crate::records::OrderStatus;
use crate::sql::{
    Dec, get_bot, get_dec, get_opt_dec, get_side, get_symbol, get_ts, get_u64, to_i64,
};
use crate::{Ledger, LedgerError};
use flotilla_domain::{
    BotId, ClientOrderId, OrderId, OrderState, Price, Quantity, Side, Symbol, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

/// An order as `flotilla orders` shows it: where it stands and how it got there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    /// The host's order id.
    pub id: OrderId,
    /// The id the venue knows it by (`None` for orders recorded before the lifecycle).
    pub client_id: Option<String>,
    /// The bot.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units ordered.
    pub quantity: Quantity,
    /// Units filled so far.
    pub filled_quantity: Quantity,
    /// `market` or `limit`.
    pub order_type: String,
    /// The limit price of a limit order.
    pub limit_price: Option<Price>,
    /// `day`, `gtc`, `ioc` or `fok`.
    pub time_in_force: String,
    /// The lifecycle state.
    pub state: OrderState,
    /// Why it was rejected, canceled or expired, if it was.
    pub reason: Option<String>,
    /// A host-managed exit rather than the bot's own order.
    pub exit: bool,
    /// When it was created.
    pub time: Timestamp,
    /// The bot's tag.
    pub tag: String,
    /// Every state change, oldest first.
    pub history: Vec<OrderEventRow>,
}

/// One state change of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderEventRow {
    /// When it happened.
    pub time: Timestamp,
    /// The state before (`None` when the order was created).
    pub from: Option<OrderState>,
    /// The state after.
    pub to: OrderState,
    /// What the venue or the host said (JSON).
    pub detail: serde_json::Value,
}

/// Which orders to list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only orders not yet in a terminal state.
    pub working_only: bool,
    /// Only this bot's.
    pub bot: Option<BotId>,
    /// At most this many, newest first (0: all).
    pub limit: usize,
}

/// The lifecycle state a coarse status of the first schema stands for, as the host's
/// synchronous paper path reaches it.
pub(crate) fn state_of(status: OrderStatus) -> OrderState {
    match status {
        OrderStatus::Open => OrderState::Submitted,
        OrderStatus::PartiallyFilled => OrderState::PartiallyFilled,
        OrderStatus::Filled => OrderState::Filled,
        OrderStatus::Rejected => OrderState::Rejected,
        OrderStatus::Cancelled => OrderState::Canceled,
    }
}

/// The coarse status of the first schema that a lifecycle state shows as.
pub(crate) fn status_of(state: OrderState) -> OrderStatus {
    match state {
        OrderState::Created
        | OrderState::Submitted
        | OrderState::Accepted
        | OrderState::PendingCancel => OrderStatus::Open,
        OrderState::PartiallyFilled => OrderStatus::PartiallyFilled,
        OrderState::Filled => OrderStatus::Filled,
        OrderState::Rejected => OrderStatus::Rejected,
        OrderState::Canceled | OrderState::Expired => OrderStatus::Cancelled,
    }
}

/// Appends one state change of order `id`.
pub(crate) fn insert_event(
    conn: &Connection,
    id: OrderId,
    time: Timestamp,
    from: Option<OrderState>,
    to: OrderState,
    detail: &serde_json::Value,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO order_events (order_id, time, from_state, to_state, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        to_i64(id.0, "order id")?,
        time.0,
        from.map(OrderState::as_str),
        to.as_str(),
        detail.to_string(),
    ])?;
    Ok(())
}

/// Moves order `id` to `to` (with its filled quantity and reason when given) and appends
/// the change; refuses a transition out of a terminal state.
pub(crate) fn set_state(
    conn: &Connection,
    id: OrderId,
    time: Timestamp,
    to: OrderState,
    filled: Option<Quantity>,
    detail: &serde_json::Value,
) -> Result<(), LedgerError> {
    let key = to_i64(id.0, "order id")?;
    let from: Option<String> = conn
        .prepare_cached("SELECT state FROM orders WHERE id = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    let Some(from) = from else {
        return Err(LedgerError::UnknownOrder(id));
    };
    let from: OrderState = from
        .parse()
        .map_err(|e| LedgerError::Invalid(format!("order {id}: {e}")))?;
    if from.is_terminal() && from != to {
        return Err(LedgerError::Invalid(format!(
            "order {id} is {from}; it cannot become {to}"
        )));
    }
    let reason = detail.get("reason").and_then(|r| r.as_str());
    conn.prepare_cached(
        "UPDATE orders SET state = ?2, filled_quantity = COALESCE(?3, filled_quantity), \
         reason = COALESCE(?4, reason) WHERE id = ?1",
    )?
    .execute(params![key, to.as_str(), filled.map(Dec), reason])?;
    if from != to {
        insert_event(conn, id, time, Some(from), to, detail)?;
    }
    Ok(())
}

impl Ledger {
    /// The namespace of this ledger's client order ids, made once from `seed` and kept,
    /// so ids stay unique across restarts and distinct from another ledger's.
    pub fn client_id_namespace(&mut self, seed: u64) -> Result<String, LedgerError> {
        if let Some(v) = self.load_host_state("client_id_namespace")?
            && let Some(ns) = v.as_str()
        {
            return Ok(ns.to_string());
        }
        let ns = ClientOrderId::namespace_from_seed(seed);
        self.save_host_state(Timestamp(0), "client_id_namespace", &serde_json::json!(ns))?;
        Ok(ns)
    }

    /// Orders with their history, newest first.
    pub fn orders(&self, filter: &OrderFilter) -> Result<Vec<OrderView>, LedgerError> {
        let limit = if filter.limit == 0 {
            i64::MAX
        } else {
            filter.limit as i64
        };
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders \
             WHERE (?1 = 0 OR state NOT IN ('filled', 'canceled', 'rejected', 'expired')) \
             AND (?2 IS NULL OR bot = ?2) ORDER BY id DESC LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                filter.working_only,
                filter.bot.as_ref().map(BotId::as_str),
                limit
            ],
            order_view,
        )?;
        let mut out: Vec<OrderView> = rows.collect::<Result<_, _>>()?;
        for o in &mut out {
            o.history = self.order_history(o.id)?;
        }
        Ok(out)
    }

    /// One order's state changes, oldest first.
    pub fn order_history(&self, id: OrderId) -> Result<Vec<OrderEventRow>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT time, from_state, to_state, detail FROM order_events \
             WHERE order_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([to_i64(id.0, "order id")?], |r| {
            let parse = |i: usize, s: String| {
                s.parse::<OrderState>().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        i,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            };
            let from: Option<String> = r.get(1)?;
            let detail: String = r.get(3)?;
            Ok(OrderEventRow {
                time: get_ts(r, 0)?,
                from: from.map(|f| parse(1, f)).transpose()?,
                to: parse(2, r.get(2)?)?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

pub(crate) const ORDER_COLS: &str = "id, client_id, bot, symbol, side, quantity, filled_quantity, \
     order_type, limit_price, time_in_force, state, reason, exit, time, tag";

pub(crate) fn order_view(r: &Row<'_>) -> rusqlite::Result<OrderView> {
    let state: String = r.get(10)?;
    Ok(OrderView {
        id: OrderId(get_u64(r, 0)?),
        client_id: r.get(1)?,
        bot: get_bot(r, 2)?,
        symbol: get_symbol(r, 3)?,
        side: get_side(r, 4)?,
        quantity: get_dec(r, 5)?,
        filled_quantity: get_dec(r, 6)?,
        order_type: r.get(7)?,
        limit_price: get_opt_dec(r, 8)?,
        time_in_force: r.get(9)?,
        state: state.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, Box::new(e))
        })?,
        reason: r.get(11)?,
        exit: r.get(12)?,
        time: get_ts(r, 13)?,
        tag: r.get(14)?,
        history: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{filled, position, temp_ledger as open_ledger, tick};
    use OrderState::*;
    use rust_decimal_macros::dec;

    fn states(ledger: &Ledger, id: u64) -> Vec<(Option<OrderState>, OrderState)> {
        ledger
            .order_history(OrderId(id))
            .unwrap()
            .into_iter()
            .map(|e| (e.from, e.to))
            .collect()
    }

    #[test]
    fn every_order_keeps_its_client_id_state_and_history() {
        let (_dir, _path, mut ledger) = open_ledger();
        let mut rec = tick("b", 1, 0);
        let mut resting = filled(
            "b",
            "X",
            Side::Buy,
            dec!(4),
            dec!(10),
            dec!(0),
            2,
            0,
            dec!(0),
        );
        resting.fill = None;
        rec.intents = vec![
            filled(
                "b",
                "X",
                Side::Buy,
                dec!(1),
                dec!(10),
                dec!(0),
                1,
                0,
                dec!(0),
            ),
            resting,
        ];
        ledger.record_tick(&rec).unwrap();
        assert_eq!(
            states(&ledger, 1),
            vec![
                (None, Created),
                (Some(Created), Submitted),
                (Some(Submitted), Filled)
            ]
        );
        // Not filled in its tick: it rests at the in-process venue.
        assert_eq!(
            states(&ledger, 2),
            vec![
                (None, Created),
                (Some(Created), Submitted),
                (Some(Submitted), Accepted)
            ]
        );

        // Two partial fills, then nothing can move it back.
        let mut fill = filled(
            "b",
            "X",
            Side::Buy,
            dec!(1.5),
            dec!(10),
            dec!(0),
            2,
            100,
            dec!(0),
        )
        .fill
        .unwrap()
        .0;
        fill.trade_id = "T1".into();
        let pos = position(dec!(2.5), dec!(10), dec!(0), dec!(0));
        ledger.record_fill(&fill, dec!(0), &pos).unwrap();
        // The same trade id again is refused by the ledger: a fill is booked once.
        assert!(ledger.record_fill(&fill, dec!(0), &pos).is_err());
        fill.trade_id = "T2".into();
        fill.quantity = dec!(2.5);
        let pos = position(dec!(5), dec!(10), dec!(0), dec!(0));
        ledger.record_fill(&fill, dec!(0), &pos).unwrap();
        assert_eq!(
            states(&ledger, 2)[3..],
            [
                (Some(Accepted), PartiallyFilled),
                (Some(PartiallyFilled), Filled)
            ]
        );
        let history = ledger.order_history(OrderId(2)).unwrap();
        assert_eq!(history[3].detail["trade_id"], "T1");

        let all = ledger.orders(&OrderFilter::default()).unwrap();
        assert_eq!(all.iter().map(|o| o.id.0).collect::<Vec<_>>(), vec![2, 1]);
        let o = &all[0];
        assert_eq!((o.state, o.filled_quantity), (Filled, dec!(4)));
        let cid = o.client_id.as_deref().unwrap();
        assert!(ClientOrderId::parse(cid).is_ok(), "{cid}");
        assert_eq!(o.history.len(), 5);
        let working = OrderFilter {
            working_only: true,
            ..OrderFilter::default()
        };
        assert!(ledger.orders(&working).unwrap().is_empty());
    }

    #[test]
    fn a_rejection_keeps_its_reason_and_working_orders_filter() {
        let (_dir, _path, mut ledger) = open_ledger();
        let mut rec = tick("b", 1, 0);
        let mut a = filled(
            "b",
            "X",
            Side::Buy,
            dec!(4),
            dec!(10),
            dec!(0),
            1,
            0,
            dec!(0),
        );
        a.fill = None;
        let mut b = filled(
            "b",
            "Y",
            Side::Sell,
            dec!(2),
            dec!(10),
            dec!(0),
            2,
            0,
            dec!(0),
        );
        b.fill = None;
        rec.intents = vec![a, b];
        ledger.record_tick(&rec).unwrap();
        ledger
            .set_order_status_at(
                OrderId(1),
                OrderStatus::Rejected,
                Some(Timestamp(50)),
                Some("insufficient cash"),
            )
            .unwrap();
        let working = OrderFilter {
            working_only: true,
            bot: Some(BotId::new("b")),
            limit: 10,
        };
        let open = ledger.orders(&working).unwrap();
        assert_eq!(open.iter().map(|o| o.id.0).collect::<Vec<_>>(), vec![2]);
        let rejected = &ledger.orders(&OrderFilter::default()).unwrap()[1];
        assert_eq!(rejected.state, Rejected);
        assert_eq!(rejected.reason.as_deref(), Some("insufficient cash"));
        let last = rejected.history.last().unwrap();
        assert_eq!(
            (last.time, last.from, last.to),
            (Timestamp(50), Some(Accepted), Rejected)
        );
        let other = OrderFilter {
            bot: Some(BotId::new("nobody")),
            ..OrderFilter::default()
        };
        assert!(ledger.orders(&other).unwrap().is_empty());
    }

    #[test]
    fn the_client_id_namespace_is_made_once() {
        let (_dir, path, mut ledger) = open_ledger();
        let ns = ledger.client_id_namespace(7).unwrap();
        assert_eq!(ledger.client_id_namespace(8).unwrap(), ns);
        drop(ledger);
        let mut again = Ledger::open(&path).unwrap();
        assert_eq!(again.client_id_namespace(9).unwrap(), ns);
    }
}
