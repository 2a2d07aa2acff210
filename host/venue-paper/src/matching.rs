//! Market data in, fills out: bars and ticks match the working orders of their symbol with
//! the shared matching model, and time expires orders.

use crate::book;
use crate::store::{self, Stored};
use crate::{
    INSUFFICIENT_CASH, INSUFFICIENT_POSITION, PaperVenue, VenueError, VenueEvent, VenueEventKind,
};
use flotilla_broker::matching::{Execution, MatchOutcome, Remainder, match_at_price, match_on_bar};
use flotilla_domain::{
    Bar, Money, Order, OrderEvent, Position, Price, Side, Symbol, Timestamp, to_price,
};
use rusqlite::{Connection, TransactionBehavior};

impl PaperVenue {
    /// Matches every working order of `symbol` against the closed `bar`, in the order the
    /// venue received them, with [`match_on_bar`]: market orders fill at the bar's open
    /// slipped, limits when the bar crosses them (at the limit, or at a better open), IOC
    /// and FOK on this bar or never, volume capped by
    /// [`crate::VenueConfig::partial_fill_fraction`].
    ///
    /// Only orders received at or before the bar's start (`bar.time`) take part: a bar
    /// that began before an order existed would fill it at prices from before it. Orders
    /// whose `expires_at` is at or before `bar.time` expire instead. Events are stamped
    /// `bar.time`. In a cash account a fill the cash or position cannot cover is not made;
    /// the order is canceled with reason [`INSUFFICIENT_CASH`] or [`INSUFFICIENT_POSITION`].
    pub fn on_bar(&self, symbol: &Symbol, bar: &Bar) -> Result<Vec<VenueEvent>, VenueError> {
        let costs = &self.config.costs;
        let fraction = self.config.partial_fill_fraction;
        // A working IOC or FOK has seen no usable bar: the model ends them on their first.
        self.match_symbol(symbol, bar.time, to_price(bar.high), |order| {
            match_on_bar(order, bar, true, costs, fraction)
        })
    }

    /// Matches every working order of `symbol` against a live tick at `price` at `now`,
    /// with [`match_at_price`] (no volume limit); otherwise as [`PaperVenue::on_bar`], with
    /// `now` for the bar's time.
    pub fn on_price(
        &self,
        symbol: &Symbol,
        price: f64,
        now: Timestamp,
    ) -> Result<Vec<VenueEvent>, VenueError> {
        let costs = &self.config.costs;
        self.match_symbol(symbol, now, to_price(price), |order| {
            match_at_price(order, price, costs)
        })
    }

    /// Expires every working order, of any symbol, whose `expires_at` is at or before
    /// `now`. Orders without `expires_at` never expire by time (a day order's caller sets
    /// it to the session's end).
    pub fn expire_due(&self, now: Timestamp) -> Result<Vec<VenueEvent>, VenueError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut events = Vec::new();
        for mut s in store::working_orders(&tx, None)? {
            if due(&s, now) {
                events.push(expire_by_time(&tx, &mut s, now)?);
            }
        }
        tx.commit()?;
        Ok(events)
    }

    /// Matches the working orders of `symbol` at `time` with `matcher`, in one transaction.
    /// `top` bounds the prices the data can fill at, for the overflow guard.
    fn match_symbol(
        &self,
        symbol: &Symbol,
        time: Timestamp,
        top: Option<Price>,
        matcher: impl Fn(&Order) -> MatchOutcome,
    ) -> Result<Vec<VenueEvent>, VenueError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let working = store::working_orders(&tx, Some(symbol))?;
        if working.is_empty() {
            return Ok(Vec::new());
        }
        let mut account = store::account(&tx)?;
        let before = account.clone();
        let mut position = store::position(&tx, symbol)?;
        let held = position.clone();
        let mut events = Vec::new();
        for mut s in working {
            if s.order.created_at > time {
                continue;
            }
            if due(&s, time) {
                events.push(expire_by_time(&tx, &mut s, time)?);
                continue;
            }
            let bound = top
                .unwrap_or(Price::ZERO)
                .max(s.order.limit_price.unwrap_or(Price::ZERO));
            if !book::fits(&self.config.costs, s.order.remaining(), bound) {
                // Too large to price in a decimal: it rests rather than crash the venue.
                continue;
            }
            let outcome = matcher(&s.order.to_domain(book::domain_id(s.id)?));
            if let Some(exec) = &outcome.fill {
                if let Some(reason) = self.uncovered(s.order.side, exec, &account, &position) {
                    events.push(end(
                        &tx,
                        &mut s,
                        &OrderEvent::Canceled,
                        time,
                        reason.into(),
                    )?);
                    continue;
                }
                events.push(book::fill(
                    &tx,
                    &mut s,
                    exec,
                    &mut account,
                    &mut position,
                    time,
                )?);
            }
            match outcome.then {
                Remainder::Filled | Remainder::Rest => {}
                Remainder::Expire { reason } => {
                    events.push(end(&tx, &mut s, &OrderEvent::Expired, time, reason)?);
                }
                // Only a malformed stored order gets here; an accepted order cannot be
                // rejected any more, so the venue cancels it.
                Remainder::Reject { reason } => {
                    events.push(end(&tx, &mut s, &OrderEvent::Canceled, time, reason)?);
                }
            }
        }
        if account != before {
            store::save_account(&tx, &account)?;
        }
        if position != held {
            store::save_position(&tx, symbol, &position, time)?;
        }
        tx.commit()?;
        Ok(events)
    }

    /// Why a cash account cannot make `exec` on `side`, if it cannot.
    fn uncovered(
        &self,
        side: Side,
        exec: &Execution,
        account: &store::Account,
        position: &Position,
    ) -> Option<&'static str> {
        if !self.config.cash_account {
            return None;
        }
        match side {
            Side::Buy => book::cash_after(account.cash, side.sign(), exec)
                .is_none_or(|cash| cash < Money::ZERO)
                .then_some(INSUFFICIENT_CASH),
            Side::Sell => (position.quantity < exec.quantity).then_some(INSUFFICIENT_POSITION),
        }
    }
}

/// Whether `s`'s time is up at `now`.
fn due(s: &Stored, now: Timestamp) -> bool {
    s.order.expires_at.is_some_and(|at| now >= at)
}

/// Expires `s` because its `expires_at` has come.
fn expire_by_time(
    conn: &Connection,
    s: &mut Stored,
    now: Timestamp,
) -> Result<VenueEvent, VenueError> {
    let at = s.order.expires_at.unwrap_or(now);
    end(
        conn,
        s,
        &OrderEvent::Expired,
        now,
        format!("expired at {at}"),
    )
}

/// Ends `s` with `event` (canceled or expired) and `reason`.
fn end(
    conn: &Connection,
    s: &mut Stored,
    event: &OrderEvent,
    time: Timestamp,
    reason: String,
) -> Result<VenueEvent, VenueError> {
    let kind = match event {
        OrderEvent::Expired => VenueEventKind::Expired,
        _ => VenueEventKind::Canceled,
    };
    book::transition(conn, s, event, kind, time, Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VenueConfig, VenueOrderRequest};
    use flotilla_domain::{ClientOrderId, OrderState};
    use rust_decimal_macros::dec;

    fn id(s: &str) -> ClientOrderId {
        ClientOrderId::parse(s).unwrap()
    }

    fn bar(time: i64, open: f64, high: f64, low: f64, volume: f64) -> Bar {
        Bar {
            time: Timestamp(time),
            open,
            high,
            low,
            close: open,
            volume,
        }
    }

    fn venue(cash: Price) -> PaperVenue {
        PaperVenue::open_in_memory(VenueConfig::with_cash(cash)).unwrap()
    }

    fn market_buy(v: &PaperVenue, name: &str, qty: Price, at: i64) {
        let req = VenueOrderRequest::market(id(name), "A".into(), Side::Buy, qty);
        assert_eq!(
            v.submit(&req, Timestamp(at)).unwrap().state,
            OrderState::Accepted
        );
    }

    #[test]
    fn a_bar_that_began_before_the_order_does_not_fill_it() {
        let v = venue(dec!(10_000));
        market_buy(&v, "m", dec!(1), 60_000);
        assert!(
            v.on_bar(&"A".into(), &bar(0, 100.0, 101.0, 99.0, 10.0))
                .unwrap()
                .is_empty()
        );
        assert!(
            v.on_price(&"A".into(), 100.0, Timestamp(59_999))
                .unwrap()
                .is_empty()
        );
        let events = v
            .on_bar(&"A".into(), &bar(60_000, 100.0, 101.0, 99.0, 10.0))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].time, Timestamp(60_000));
        // Another symbol's data never touches it.
        assert!(
            v.on_bar(&"B".into(), &bar(60_000, 1.0, 1.0, 1.0, 1.0))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_fill_the_cash_cannot_cover_cancels_the_order() {
        let v = venue(dec!(1000));
        // 10 × 100.02 (2 bps slippage) + fee is more than 1000.
        market_buy(&v, "m", dec!(10), 0);
        market_buy(&v, "n", dec!(9), 0);
        let events = v
            .on_bar(&"A".into(), &bar(0, 100.0, 100.0, 100.0, 100.0))
            .unwrap();
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.client_id.as_str(), e.kind.name()))
            .collect();
        // The later order still fills from the cash the first could not use.
        assert_eq!(kinds, [("m", "canceled"), ("n", "fill")]);
        let m = v.order(&id("m")).unwrap().unwrap();
        assert_eq!(
            (m.state, m.reason.as_deref()),
            (OrderState::Canceled, Some(INSUFFICIENT_CASH))
        );
        assert!(m.fills.is_empty());
        assert!(v.cash().unwrap() >= dec!(0));
        assert_eq!(v.positions().unwrap()[&Symbol::new("A")], dec!(9));
    }

    #[test]
    fn an_order_too_large_to_price_rests_instead_of_overflowing() {
        let v = PaperVenue::open_in_memory(VenueConfig {
            cash_account: false,
            ..VenueConfig::default()
        })
        .unwrap();
        // 10^21 units at 10^9: a notional of 10^30, beyond a decimal (7.9 × 10^28).
        market_buy(&v, "huge", dec!(1_000_000_000_000_000_000_000), 0);
        assert!(
            v.on_bar(&"A".into(), &bar(0, 1e9, 1e9, 1e9, 1e30))
                .unwrap()
                .is_empty()
        );
        assert_eq!(v.open_orders().unwrap().len(), 1);
    }

    #[test]
    fn ticks_fill_whole_and_expiry_comes_first() {
        let v = PaperVenue::open_in_memory(VenueConfig {
            partial_fill_fraction: Some(0.01),
            ..VenueConfig::with_cash(dec!(10_000))
        })
        .unwrap();
        let req = VenueOrderRequest {
            expires_at: Some(Timestamp(100)),
            ..VenueOrderRequest::limit(id("d"), "A".into(), Side::Buy, dec!(5), dec!(99))
        };
        v.submit(&req, Timestamp(0)).unwrap();
        market_buy(&v, "m", dec!(5), 0);
        // A tick has no volume: the fraction does not apply.
        let events = v.on_price(&"A".into(), 100.0, Timestamp(50)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            v.order(&id("m")).unwrap().unwrap().state,
            OrderState::Filled
        );
        // At its expiry the limit expires, though the tick would fill it.
        let events = v.on_price(&"A".into(), 98.0, Timestamp(100)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, VenueEventKind::Expired);
        let d = v.order(&id("d")).unwrap().unwrap();
        assert_eq!(
            (d.state, d.reason.as_deref()),
            (OrderState::Expired, Some("expired at 100ms"))
        );
        assert!(v.expire_due(Timestamp(1_000)).unwrap().is_empty());
    }
}
