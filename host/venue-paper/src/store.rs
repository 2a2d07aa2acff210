//! Reads and writes of the venue's tables. Decimals travel as TEXT in their exact
//! `Decimal` spelling, times as INTEGER milliseconds. Every function takes the connection
//! (or the open transaction) it runs in; the callers decide the transaction.

use crate::{VenueError, VenueEvent, VenueEventKind, VenueFill, VenueOrder};
use flotilla_domain::{ClientOrderId, Decimal, Money, Position, Quantity, Side, Symbol, Timestamp};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A `Decimal` as a SQLite TEXT value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dec(pub Decimal);

impl ToSql for Dec {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.to_string()))
    }
}

impl FromSql for Dec {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        // TEXT only: anything else means something already rounded the amount.
        Decimal::from_str_exact(value.as_str()?)
            .map(Dec)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Reads a TEXT decimal column.
fn dec(row: &Row<'_>, idx: usize) -> rusqlite::Result<Decimal> {
    Ok(row.get::<_, Dec>(idx)?.0)
}

/// Reads a TEXT column through `FromStr` (the domain's names and ids).
fn parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    row.get_ref(idx)?.as_str()?.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A stored side name that is neither `buy` nor `sell`.
#[derive(Debug, thiserror::Error)]
#[error("unknown side `{0}`")]
struct UnknownSide(String);

/// Reads a `buy`/`sell` column.
fn side(row: &Row<'_>, idx: usize) -> rusqlite::Result<Side> {
    match row.get_ref(idx)?.as_str()? {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            Box::new(UnknownSide(other.to_string())),
        )),
    }
}

/// Reads a non-negative INTEGER column (the schema's CHECKs keep it so).
fn count(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// Converts a count for binding; SQLite integers are signed 64-bit.
fn to_i64(v: u64) -> Result<i64, VenueError> {
    i64::try_from(v).map_err(|_| VenueError::Inconsistent(format!("counter {v} exceeds i64")))
}

/// The account row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Account {
    /// The cash the file was created with.
    pub starting_cash: Money,
    /// Cash now.
    pub cash: Money,
    /// The n of the next trade id, `pv-{n}`.
    pub next_trade: u64,
    /// Submissions of client ids the venue already knew.
    pub duplicate_submissions: u64,
}

/// Reads the account.
pub(crate) fn account(conn: &Connection) -> Result<Account, VenueError> {
    Ok(conn
        .prepare_cached(
            "SELECT starting_cash, cash, next_trade, duplicate_submissions FROM account",
        )?
        .query_row([], |r| {
            Ok(Account {
                starting_cash: dec(r, 0)?,
                cash: dec(r, 1)?,
                next_trade: count(r, 2)?,
                duplicate_submissions: count(r, 3)?,
            })
        })?)
}

/// Writes the account's changing fields.
pub(crate) fn save_account(conn: &Connection, a: &Account) -> Result<(), VenueError> {
    conn.prepare_cached(
        "UPDATE account SET cash = ?1, next_trade = ?2, duplicate_submissions = ?3",
    )?
    .execute(params![
        Dec(a.cash),
        to_i64(a.next_trade)?,
        to_i64(a.duplicate_submissions)?
    ])?;
    Ok(())
}

/// An order with its row id (the domain order's id while matching).
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    /// The row id.
    pub id: i64,
    /// The record; its fills are loaded only where the caller asks for them.
    pub order: VenueOrder,
}

const ORDER_COLUMNS: &str = "id, client_id, symbol, side, quantity, order_type, limit_price, \
     time_in_force, expires_at, state, filled_quantity, avg_price, fees, reason, created_at, \
     updated_at";

/// The working states, as the partial index `orders_working` names them.
const WORKING: &str = "state IN ('accepted', 'partially_filled')";

fn order_row(r: &Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: r.get(0)?,
        order: VenueOrder {
            client_id: parsed(r, 1)?,
            symbol: Symbol::new(r.get_ref(2)?.as_str()?),
            side: side(r, 3)?,
            quantity: dec(r, 4)?,
            order_type: parsed(r, 5)?,
            limit_price: r.get::<_, Option<Dec>>(6)?.map(|d| d.0),
            time_in_force: parsed(r, 7)?,
            expires_at: r.get::<_, Option<i64>>(8)?.map(Timestamp),
            state: parsed(r, 9)?,
            filled_quantity: dec(r, 10)?,
            avg_price: dec(r, 11)?,
            fees: dec(r, 12)?,
            fills: Vec::new(),
            reason: r.get(13)?,
            created_at: Timestamp(r.get(14)?),
            updated_at: Timestamp(r.get(15)?),
        },
    })
}

/// The order with this client id, without its fills.
pub(crate) fn find_order(
    conn: &Connection,
    client_id: &ClientOrderId,
) -> Result<Option<Stored>, VenueError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE client_id = ?1"
        ))?
        .query_row([client_id.as_str()], order_row)
        .optional()?)
}

/// Working orders, of `symbol` or of every symbol, oldest first, without their fills.
pub(crate) fn working_orders(
    conn: &Connection,
    symbol: Option<&Symbol>,
) -> Result<Vec<Stored>, VenueError> {
    let rows = match symbol {
        Some(s) => conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE symbol = ?1 AND {WORKING} ORDER BY id"
            ))?
            .query_map([s.as_str()], order_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        None => conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE {WORKING} ORDER BY id"
            ))?
            .query_map([], order_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    Ok(rows)
}

/// The fills of order row `id`, oldest first.
pub(crate) fn fills(conn: &Connection, id: i64) -> Result<Vec<VenueFill>, VenueError> {
    Ok(conn
        .prepare_cached(
            "SELECT trade_id, quantity, price, fee, cumulative, time FROM fills \
             WHERE order_id = ?1 ORDER BY id",
        )?
        .query_map([id], |r| {
            Ok(VenueFill {
                trade_id: r.get(0)?,
                quantity: dec(r, 1)?,
                price: dec(r, 2)?,
                fee: dec(r, 3)?,
                cumulative: dec(r, 4)?,
                time: Timestamp(r.get(5)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Loads the fills of `stored` into its record.
pub(crate) fn with_fills(conn: &Connection, mut stored: Stored) -> Result<VenueOrder, VenueError> {
    stored.order.fills = fills(conn, stored.id)?;
    Ok(stored.order)
}

/// Inserts a new order, submitted once; returns its row id.
pub(crate) fn insert_order(conn: &Connection, o: &VenueOrder) -> Result<i64, VenueError> {
    conn.prepare_cached(
        "INSERT INTO orders (client_id, symbol, side, quantity, order_type, limit_price, \
         time_in_force, expires_at, state, filled_quantity, avg_price, fees, reason, \
         submissions, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?15)",
    )?
    .execute(params![
        o.client_id.as_str(),
        o.symbol.as_str(),
        o.side.as_str(),
        Dec(o.quantity),
        o.order_type.as_str(),
        o.limit_price.map(Dec),
        o.time_in_force.as_str(),
        o.expires_at.map(|t| t.0),
        o.state.as_str(),
        Dec(o.filled_quantity),
        Dec(o.avg_price),
        Dec(o.fees),
        o.reason,
        o.created_at.0,
        o.updated_at.0,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Writes the progress of an order: state, fill totals, reason, update time.
pub(crate) fn update_order(conn: &Connection, s: &Stored) -> Result<(), VenueError> {
    let o = &s.order;
    conn.prepare_cached(
        "UPDATE orders SET state = ?2, filled_quantity = ?3, avg_price = ?4, fees = ?5, \
         reason = ?6, updated_at = ?7 WHERE id = ?1",
    )?
    .execute(params![
        s.id,
        o.state.as_str(),
        Dec(o.filled_quantity),
        Dec(o.avg_price),
        Dec(o.fees),
        o.reason,
        o.updated_at.0,
    ])?;
    Ok(())
}

/// Counts one more submission of order row `id`.
pub(crate) fn count_submission(conn: &Connection, id: i64) -> Result<(), VenueError> {
    conn.prepare_cached("UPDATE orders SET submissions = submissions + 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// How often `client_id` was submitted; 0 if never.
pub(crate) fn submissions(conn: &Connection, client_id: &ClientOrderId) -> Result<u32, VenueError> {
    Ok(conn
        .prepare_cached("SELECT submissions FROM orders WHERE client_id = ?1")?
        .query_row([client_id.as_str()], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Inserts fill number `n` of order row `order_id`.
pub(crate) fn insert_fill(
    conn: &Connection,
    n: u64,
    order_id: i64,
    f: &VenueFill,
) -> Result<(), VenueError> {
    conn.prepare_cached(
        "INSERT INTO fills (id, trade_id, order_id, quantity, price, fee, cumulative, time) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        to_i64(n)?,
        f.trade_id,
        order_id,
        Dec(f.quantity),
        Dec(f.price),
        Dec(f.fee),
        Dec(f.cumulative),
        f.time.0,
    ])?;
    Ok(())
}

/// Appends `e` to the events table (a fill's row must be there already); returns its
/// sequence number.
pub(crate) fn insert_event(conn: &Connection, e: &VenueEvent) -> Result<u64, VenueError> {
    let (trade_id, reason) = match &e.kind {
        VenueEventKind::Fill { trade_id, .. } => (Some(trade_id.as_str()), None),
        VenueEventKind::Rejected { reason } => (None, Some(reason.as_str())),
        _ => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO events (client_id, time, kind, trade_id, reason) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        e.client_id.as_str(),
        e.time.0,
        e.kind.name(),
        trade_id,
        reason
    ])?;
    u64::try_from(conn.last_insert_rowid())
        .map_err(|_| VenueError::Inconsistent("negative event sequence".into()))
}

/// A stored event kind that is none of the five.
#[derive(Debug, thiserror::Error)]
#[error("unknown event kind `{0}` or a fill without its trade")]
struct BadEvent(String);

/// Events after sequence number `seq`, in order.
pub(crate) fn events_since(
    conn: &Connection,
    seq: u64,
) -> Result<Vec<(u64, VenueEvent)>, VenueError> {
    let after = i64::try_from(seq).unwrap_or(i64::MAX);
    Ok(conn
        .prepare_cached(
            "SELECT e.seq, e.client_id, e.time, e.kind, e.reason, f.trade_id, f.quantity, \
             f.price, f.fee, f.cumulative FROM events e \
             LEFT JOIN fills f ON f.trade_id = e.trade_id WHERE e.seq > ?1 ORDER BY e.seq",
        )?
        .query_map([after], |r| {
            let kind = match (r.get_ref(3)?.as_str()?, r.get::<_, Option<String>>(5)?) {
                ("accepted", _) => VenueEventKind::Accepted,
                ("canceled", _) => VenueEventKind::Canceled,
                ("expired", _) => VenueEventKind::Expired,
                ("rejected", _) => VenueEventKind::Rejected {
                    reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                },
                ("fill", Some(trade_id)) => VenueEventKind::Fill {
                    trade_id,
                    quantity: dec(r, 6)?,
                    price: dec(r, 7)?,
                    fee: dec(r, 8)?,
                    cumulative: dec(r, 9)?,
                },
                (other, _) => {
                    return Err(rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Text,
                        Box::new(BadEvent(other.to_string())),
                    ));
                }
            };
            Ok((
                count(r, 0)?,
                VenueEvent {
                    client_id: parsed(r, 1)?,
                    kind,
                    time: Timestamp(r.get(2)?),
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The sequence number of the newest event; 0 when there is none.
pub(crate) fn last_event_seq(conn: &Connection) -> Result<u64, VenueError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")?
        .query_row([], |r| count(r, 0))?)
}

fn position_row(r: &Row<'_>) -> rusqlite::Result<(Symbol, Position)> {
    Ok((
        Symbol::new(r.get_ref(0)?.as_str()?),
        Position {
            quantity: dec(r, 1)?,
            avg_price: dec(r, 2)?,
            realized_pnl: dec(r, 3)?,
            fees: dec(r, 4)?,
        },
    ))
}

const POSITION_COLUMNS: &str = "symbol, quantity, avg_price, realized_pnl, fees";

/// The holding in `symbol`; flat if there is none.
pub(crate) fn position(conn: &Connection, symbol: &Symbol) -> Result<Position, VenueError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {POSITION_COLUMNS} FROM positions WHERE symbol = ?1"
        ))?
        .query_row([symbol.as_str()], position_row)
        .optional()?
        .map(|(_, p)| p)
        .unwrap_or_default())
}

/// Every holding that is not flat.
pub(crate) fn positions(conn: &Connection) -> Result<BTreeMap<Symbol, Position>, VenueError> {
    let rows = conn
        .prepare_cached(&format!("SELECT {POSITION_COLUMNS} FROM positions"))?
        .query_map([], position_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, p)| !p.quantity.is_zero())
        .collect())
}

/// Writes the holding in `symbol` as of `now`.
pub(crate) fn save_position(
    conn: &Connection,
    symbol: &Symbol,
    p: &Position,
    now: Timestamp,
) -> Result<(), VenueError> {
    conn.prepare_cached(
        "INSERT INTO positions (symbol, quantity, avg_price, realized_pnl, fees, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (symbol) DO UPDATE SET \
         quantity = excluded.quantity, avg_price = excluded.avg_price, \
         realized_pnl = excluded.realized_pnl, fees = excluded.fees, \
         updated_at = excluded.updated_at",
    )?
    .execute(params![
        symbol.as_str(),
        Dec(p.quantity),
        Dec(p.avg_price),
        Dec(p.realized_pnl),
        Dec(p.fees),
        now.0
    ])?;
    Ok(())
}

/// Units of `symbol` that working sell orders may still sell.
pub(crate) fn committed_sells(conn: &Connection, symbol: &Symbol) -> Result<Quantity, VenueError> {
    Ok(working_orders(conn, Some(symbol))?
        .iter()
        .filter(|s| s.order.side == Side::Sell)
        .map(|s| s.order.remaining())
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::{OrderState, OrderType, TimeInForce};
    use rust_decimal_macros::dec;

    /// Whether a stored order can be in `state` (the venue skips `created`, `submitted`
    /// and `pending_cancel`: it answers at once).
    fn storable(state: OrderState) -> bool {
        !matches!(
            state,
            OrderState::Created | OrderState::Submitted | OrderState::PendingCancel
        )
    }

    fn conn() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut c, "100").unwrap();
        c
    }

    fn order(id: &str, state: OrderState) -> VenueOrder {
        VenueOrder {
            client_id: ClientOrderId::parse(id).unwrap(),
            symbol: "AAPL".into(),
            side: Side::Sell,
            quantity: dec!(10.50),
            order_type: OrderType::Limit,
            limit_price: Some(dec!(99.000001)),
            time_in_force: TimeInForce::Day,
            expires_at: Some(Timestamp(9)),
            state,
            filled_quantity: dec!(0.00),
            avg_price: dec!(0),
            fees: dec!(0),
            fills: Vec::new(),
            reason: None,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        }
    }

    #[test]
    fn orders_read_back_exactly_scale_included() {
        let c = conn();
        for s in OrderState::ALL.into_iter().filter(|s| storable(*s)) {
            let o = order(&format!("c-{s}"), s);
            let id = insert_order(&c, &o).unwrap();
            let back = find_order(&c, &o.client_id).unwrap().unwrap();
            assert_eq!((back.id, &back.order), (id, &o));
            assert_eq!(back.order.quantity.to_string(), "10.50");
        }
        let working: Vec<_> = working_orders(&c, Some(&"AAPL".into()))
            .unwrap()
            .into_iter()
            .map(|s| s.order.state)
            .collect();
        assert_eq!(working, [OrderState::Accepted, OrderState::PartiallyFilled]);
        assert!(working_orders(&c, Some(&"MSFT".into())).unwrap().is_empty());
        assert_eq!(committed_sells(&c, &"AAPL".into()).unwrap(), dec!(21));
        let unknown = ClientOrderId::parse("nope").unwrap();
        assert!(find_order(&c, &unknown).unwrap().is_none());
        assert_eq!(submissions(&c, &unknown).unwrap(), 0);
    }

    #[test]
    fn the_state_column_refuses_states_the_venue_never_stores() {
        let c = conn();
        for s in OrderState::ALL.into_iter().filter(|s| !storable(*s)) {
            assert!(insert_order(&c, &order("c-x", s)).is_err(), "{s}");
        }
    }

    #[test]
    fn positions_skip_flat_rows_and_a_bad_amount_is_an_error() {
        let c = conn();
        let p = Position {
            quantity: dec!(3),
            avg_price: dec!(10.5),
            realized_pnl: dec!(0),
            fees: dec!(0.01),
        };
        save_position(&c, &"A".into(), &p, Timestamp(1)).unwrap();
        save_position(&c, &"B".into(), &Position::default(), Timestamp(1)).unwrap();
        assert_eq!(position(&c, &"A".into()).unwrap(), p);
        assert_eq!(position(&c, &"Z".into()).unwrap(), Position::default());
        assert_eq!(
            positions(&c)
                .unwrap()
                .keys()
                .map(Symbol::as_str)
                .collect::<Vec<_>>(),
            ["A"]
        );
        // An amount that is no exact decimal is an error, never a guess.
        c.execute(
            "UPDATE positions SET quantity = '1e3' WHERE symbol = 'A'",
            [],
        )
        .unwrap();
        assert!(position(&c, &"A".into()).is_err());
    }
}
