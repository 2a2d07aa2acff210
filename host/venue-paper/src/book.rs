//! Booking changes on stored orders: each through the domain order machine, written with
//! its event in the caller's transaction.

use crate::store::{self, Account, Stored};
use crate::{VenueError, VenueEvent, VenueEventKind, VenueFill};
use flotilla_broker::matching::{Costs, Execution};
use flotilla_domain::{Money, OrderEvent, OrderId, Position, Price, Quantity, Timestamp};
use rusqlite::Connection;

/// Books `event` on `stored` at `time`, with `reason` as the order's reason if given,
/// writes the order and appends `kind`. Returns the event appended.
pub(crate) fn transition(
    conn: &Connection,
    stored: &mut Stored,
    event: &OrderEvent,
    kind: VenueEventKind,
    time: Timestamp,
    reason: Option<String>,
) -> Result<VenueEvent, VenueError> {
    let mut order = stored.order.to_domain(domain_id(stored.id)?);
    order.apply(event).map_err(|e| inconsistent(stored, e))?;
    stored.order.absorb(&order, time);
    if reason.is_some() {
        stored.order.reason = reason;
    }
    store::update_order(conn, stored)?;
    append(conn, stored, kind, time)
}

/// Books `exec` on `stored` at `time`: the next trade id, the order's totals, the cash
/// and the position. Returns the fill event appended.
pub(crate) fn fill(
    conn: &Connection,
    stored: &mut Stored,
    exec: &Execution,
    account: &mut Account,
    position: &mut Position,
    time: Timestamp,
) -> Result<VenueEvent, VenueError> {
    let n = account.next_trade;
    let trade_id = format!("pv-{n}");
    let mut order = stored.order.to_domain(domain_id(stored.id)?);
    order
        .apply(&OrderEvent::Fill {
            trade_id: trade_id.clone(),
            quantity: exec.quantity,
            price: exec.price,
            fee: exec.fee,
        })
        .map_err(|e| inconsistent(stored, e))?;
    let side = stored.order.side;
    let cash = cash_after(account.cash, side.sign(), exec)
        .ok_or_else(|| inconsistent(stored, "cash overflows a decimal"))?;
    account.cash = cash;
    account.next_trade = n + 1;
    position.apply(side, exec.quantity, exec.price, exec.fee);
    stored.order.absorb(&order, time);
    let f = VenueFill {
        trade_id: trade_id.clone(),
        quantity: exec.quantity,
        price: exec.price,
        fee: exec.fee,
        cumulative: order.filled_quantity,
        time,
    };
    store::update_order(conn, stored)?;
    store::insert_fill(conn, n, stored.id, &f)?;
    stored.order.fills.push(f);
    append(
        conn,
        stored,
        VenueEventKind::Fill {
            trade_id,
            quantity: exec.quantity,
            price: exec.price,
            fee: exec.fee,
            cumulative: order.filled_quantity,
        },
        time,
    )
}

/// Cash after a fill of `exec` on the side with `sign`: buys pay notional and fee, sells
/// receive notional less fee. `None` on overflow.
pub(crate) fn cash_after(cash: Money, sign: Money, exec: &Execution) -> Option<Money> {
    let flow = exec.price.checked_mul(exec.quantity)?.checked_mul(sign)?;
    cash.checked_sub(flow)?.checked_sub(exec.fee)
}

/// What `quantity` at `price` costs a buyer with fees; `None` on overflow.
pub(crate) fn cost(costs: &Costs, quantity: Quantity, price: Price) -> Option<Money> {
    let notional = quantity.checked_mul(price)?;
    fits(costs, notional, Price::ONE).then(|| notional + costs.fee(notional))
}

/// Whether the matching model can price `quantity` at up to `price` without overflowing a
/// decimal: its slippage and fee arithmetic multiplies by basis points unchecked.
pub(crate) fn fits(costs: &Costs, quantity: Quantity, price: Price) -> bool {
    let bps = |b: Money| b.abs().max(Money::ONE);
    // The slipped price is below twice the reference for any sane slippage; check the
    // products the model forms, with room for that factor.
    price
        .checked_mul(bps(costs.slippage_bps))
        .and_then(|_| price.checked_mul(Price::TWO))
        .and_then(|p| p.checked_mul(quantity))
        .and_then(|n| n.checked_mul(bps(costs.fee_bps)))
        .is_some()
}

/// Appends `kind` about `stored` at `time`.
fn append(
    conn: &Connection,
    stored: &Stored,
    kind: VenueEventKind,
    time: Timestamp,
) -> Result<VenueEvent, VenueError> {
    let e = VenueEvent {
        client_id: stored.order.client_id.clone(),
        kind,
        time,
    };
    store::insert_event(conn, &e)?;
    Ok(e)
}

/// The domain id of order row `id`.
pub(crate) fn domain_id(id: i64) -> Result<OrderId, VenueError> {
    u64::try_from(id)
        .map(OrderId)
        .map_err(|_| VenueError::Inconsistent(format!("negative order row id {id}")))
}

/// The order machine refused a change the venue made: the file or the venue is wrong.
fn inconsistent(stored: &Stored, why: impl std::fmt::Display) -> VenueError {
    VenueError::Inconsistent(format!("order {}: {why}", stored.order.client_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn cash_moves_like_the_paper_brokers() {
        let exec = Execution {
            quantity: dec!(10),
            price: dec!(100.1),
            fee: dec!(0.50),
        };
        assert_eq!(cash_after(dec!(10000), dec!(1), &exec), Some(dec!(8998.50)));
        assert_eq!(cash_after(dec!(0), dec!(-1), &exec), Some(dec!(1000.50)));
        let huge = Execution {
            quantity: Quantity::MAX,
            ..exec
        };
        assert_eq!(cash_after(dec!(0), dec!(1), &huge), None);
    }

    #[test]
    fn absurd_sizes_do_not_reach_the_unchecked_model() {
        let costs = Costs::default();
        assert!(fits(&costs, dec!(1_000_000), dec!(1_000_000)));
        assert!(!fits(
            &costs,
            dec!(100_000_000_000_000_000_000),
            dec!(1_000_000_000)
        ));
        assert_eq!(cost(&costs, dec!(10), dec!(100)), Some(dec!(1000.10)));
        assert_eq!(
            cost(
                &costs,
                dec!(100_000_000_000_000_000_000),
                dec!(1_000_000_000)
            ),
            None
        );
    }
}
