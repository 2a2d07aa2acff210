//! Orders in and out: submit (idempotent by client id) and cancel.

use crate::book;
use crate::store::{self, Stored};
use crate::{
    CancelOutcome, INSUFFICIENT_CASH, INSUFFICIENT_POSITION, PaperVenue, VenueError, VenueEvent,
    VenueEventKind, VenueOrder, VenueOrderRequest,
};
use flotilla_domain::{
    FillLevel, Money, Order, OrderError, OrderEvent, OrderId, OrderSpec, OrderState, Side,
    Timestamp,
};
use rusqlite::{Connection, TransactionBehavior};

impl PaperVenue {
    /// Submits `req` at `now` and answers with the venue's record of it.
    ///
    /// Idempotent by client id: a client id the venue already knows returns that order
    /// unchanged (never a second order) and counts the attempt, in
    /// [`PaperVenue::submissions`] and [`PaperVenue::duplicate_submissions`]. If the
    /// resend's fields differ from the known order's, the attempt is counted and the
    /// answer is [`VenueError::ClientIdReused`].
    ///
    /// A new order is accepted, or stored as rejected with a reason: invalid (the domain's
    /// [`Order::new`] rules, or an empty symbol), or in a cash account a sell beyond the
    /// position less what working sells already commit ([`INSUFFICIENT_POSITION`]), or a
    /// limit buy whose cost at the limit, with fees, exceeds the cash less what working
    /// limit buys reserve ([`INSUFFICIENT_CASH`]). Market buys have no price yet: they are
    /// checked when they fill.
    ///
    /// With [`crate::VenueConfig::stall`] set (tests only), sleeps that long first.
    pub fn submit(
        &self,
        req: &VenueOrderRequest,
        now: Timestamp,
    ) -> Result<VenueOrder, VenueError> {
        if let Some(stall) = self.config.stall {
            std::thread::sleep(stall);
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(known) = store::find_order(&tx, &req.client_id)? {
            store::count_submission(&tx, known.id)?;
            let mut account = store::account(&tx)?;
            account.duplicate_submissions += 1;
            store::save_account(&tx, &account)?;
            let same = known.order.is_request(req);
            let order = store::with_fills(&tx, known)?;
            tx.commit()?;
            return if same {
                Ok(order)
            } else {
                Err(VenueError::ClientIdReused(req.client_id.clone()))
            };
        }
        let refusal = match invalid(req, now) {
            Some(why) => Some(why),
            None => self.refusal(&tx, req)?.map(str::to_string),
        };
        let (event, kind) = match refusal {
            Some(reason) => (
                OrderEvent::Rejected {
                    reason: reason.clone(),
                },
                VenueEventKind::Rejected { reason },
            ),
            None => (OrderEvent::Accepted, VenueEventKind::Accepted),
        };
        // The venue answers at once: submitted, then accepted or rejected.
        let state = OrderState::Submitted
            .next(&event, FillLevel::Unfilled)
            .map_err(|e| VenueError::Inconsistent(e.to_string()))?;
        let mut order = VenueOrder::new(req, state, now);
        if let VenueEventKind::Rejected { reason } = &kind {
            order.reason = Some(reason.clone());
        }
        store::insert_order(&tx, &order)?;
        store::insert_event(
            &tx,
            &VenueEvent {
                client_id: req.client_id.clone(),
                kind,
                time: now,
            },
        )?;
        tx.commit()?;
        Ok(order)
    }

    /// Cancels the order with this client id at `now`: [`CancelOutcome::Canceled`] for a
    /// working order (canceled at once), [`CancelOutcome::NotCancelable`] with the state of
    /// a done one, [`CancelOutcome::Unknown`] for an id the venue never saw.
    pub fn cancel(
        &self,
        client_id: &flotilla_domain::ClientOrderId,
        now: Timestamp,
    ) -> Result<CancelOutcome, VenueError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(mut stored) = store::find_order(&tx, client_id)? else {
            return Ok(CancelOutcome::Unknown);
        };
        if !stored.order.is_working() {
            return Ok(CancelOutcome::NotCancelable(stored.order.state));
        }
        book::transition(
            &tx,
            &mut stored,
            &OrderEvent::Canceled,
            VenueEventKind::Canceled,
            now,
            None,
        )?;
        tx.commit()?;
        Ok(CancelOutcome::Canceled)
    }

    /// Why a cash account refuses `req` at submission, if it does.
    fn refusal(
        &self,
        conn: &Connection,
        req: &VenueOrderRequest,
    ) -> Result<Option<&'static str>, VenueError> {
        if !self.config.cash_account {
            return Ok(None);
        }
        let costs = &self.config.costs;
        match (req.side, req.limit_price) {
            (Side::Sell, _) => {
                let held = store::position(conn, &req.symbol)?.quantity;
                let committed = store::committed_sells(conn, &req.symbol)?;
                Ok((committed + req.quantity > held).then_some(INSUFFICIENT_POSITION))
            }
            (Side::Buy, Some(limit)) => {
                let reserved: Option<Money> = store::working_orders(conn, None)?
                    .iter()
                    .filter(|s| s.order.side == Side::Buy)
                    .filter_map(|s: &Stored| Some((s.order.remaining(), s.order.limit_price?)))
                    .try_fold(Money::ZERO, |sum, (q, p)| {
                        sum.checked_add(book::cost(costs, q, p)?)
                    });
                let cash = store::account(conn)?.cash;
                let covered = reserved
                    .and_then(|r| cash.checked_sub(r))
                    .zip(book::cost(costs, req.quantity, limit))
                    .is_some_and(|(available, need)| need <= available);
                Ok((!covered).then_some(INSUFFICIENT_CASH))
            }
            (Side::Buy, None) => Ok(None),
        }
    }
}

/// Why `req` is no valid order, if it is not.
fn invalid(req: &VenueOrderRequest, now: Timestamp) -> Option<String> {
    if req.symbol.as_str().is_empty() {
        return Some("symbol is empty".into());
    }
    let spec = OrderSpec {
        id: OrderId(0),
        client_id: req.client_id.clone(),
        bot: "paper-venue".into(),
        symbol: req.symbol.clone(),
        side: req.side,
        quantity: req.quantity,
        order_type: req.order_type,
        limit_price: req.limit_price,
        time_in_force: req.time_in_force,
        created_at: now,
        expires_at: req.expires_at,
        tag: String::new(),
        exit: false,
    };
    match Order::new(spec) {
        Ok(_) => None,
        Err(OrderError::Invalid(why)) => Some(why),
        Err(e) => Some(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VenueConfig;
    use flotilla_domain::{ClientOrderId, OrderType};
    use rust_decimal_macros::dec;

    fn id(s: &str) -> ClientOrderId {
        ClientOrderId::parse(s).unwrap()
    }

    fn venue() -> PaperVenue {
        PaperVenue::open_in_memory(VenueConfig::with_cash(dec!(1000))).unwrap()
    }

    #[test]
    fn invalid_orders_are_stored_as_rejected_with_the_reason() {
        let v = venue();
        let bad = [
            VenueOrderRequest::market(id("q0"), "A".into(), Side::Buy, dec!(0)),
            VenueOrderRequest::limit(id("l0"), "A".into(), Side::Buy, dec!(1), dec!(0)),
            VenueOrderRequest {
                order_type: OrderType::Limit,
                ..VenueOrderRequest::market(id("nl"), "A".into(), Side::Buy, dec!(1))
            },
            VenueOrderRequest::market(id("sy"), "".into(), Side::Buy, dec!(1)),
            VenueOrderRequest {
                expires_at: Some(Timestamp(99)),
                ..VenueOrderRequest::market(id("ex"), "A".into(), Side::Buy, dec!(1))
            },
        ];
        for req in &bad {
            let o = v.submit(req, Timestamp(100)).unwrap();
            assert_eq!(o.state, OrderState::Rejected, "{req:?}");
            assert!(o.reason.is_some());
            assert_eq!(v.order(&req.client_id).unwrap().unwrap(), o);
        }
        assert_eq!(
            v.order(&id("q0")).unwrap().unwrap().reason.as_deref(),
            Some("quantity 0 must be positive")
        );
        assert!(v.open_orders().unwrap().is_empty());
        let kinds: Vec<_> = v
            .events_since(0)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.kind.name())
            .collect();
        assert_eq!(kinds, ["rejected"; 5]);
    }

    #[test]
    fn a_resend_with_other_fields_is_an_error_and_changes_nothing() {
        let v = venue();
        let req = VenueOrderRequest::limit(id("c1"), "A".into(), Side::Buy, dec!(1), dec!(10));
        let first = v.submit(&req, Timestamp(1)).unwrap();
        let other = VenueOrderRequest {
            quantity: dec!(2),
            ..req.clone()
        };
        assert!(matches!(
            v.submit(&other, Timestamp(2)),
            Err(VenueError::ClientIdReused(c)) if c == req.client_id
        ));
        assert_eq!(v.order(&req.client_id).unwrap().unwrap(), first);
        assert_eq!(v.submissions(&req.client_id).unwrap(), 2);
        assert_eq!(v.duplicate_submissions().unwrap(), 1);
    }

    #[test]
    fn working_orders_reserve_cash_and_position() {
        let v = venue();
        // 9 × 100 + 0.09 fee fits 1000; a second one does not fit what is left.
        let a = VenueOrderRequest::limit(id("a"), "A".into(), Side::Buy, dec!(9), dec!(100));
        assert_eq!(
            v.submit(&a, Timestamp(1)).unwrap().state,
            OrderState::Accepted
        );
        let b = VenueOrderRequest::limit(id("b"), "B".into(), Side::Buy, dec!(1), dec!(100));
        let b = v.submit(&b, Timestamp(1)).unwrap();
        assert_eq!(
            (b.state, b.reason.as_deref()),
            (OrderState::Rejected, Some(INSUFFICIENT_CASH))
        );
        // Canceling the first frees its reservation.
        assert_eq!(
            v.cancel(&id("a"), Timestamp(2)).unwrap(),
            CancelOutcome::Canceled
        );
        let c = VenueOrderRequest::limit(id("c"), "B".into(), Side::Buy, dec!(1), dec!(100));
        assert_eq!(
            v.submit(&c, Timestamp(3)).unwrap().state,
            OrderState::Accepted
        );
        let s = VenueOrderRequest::market(id("s"), "A".into(), Side::Sell, dec!(1));
        let s = v.submit(&s, Timestamp(3)).unwrap();
        assert_eq!(s.reason.as_deref(), Some(INSUFFICIENT_POSITION));
        // A margin account takes both.
        let m = PaperVenue::open_in_memory(VenueConfig {
            cash_account: false,
            ..VenueConfig::with_cash(dec!(0))
        })
        .unwrap();
        let short = VenueOrderRequest::market(id("s"), "A".into(), Side::Sell, dec!(5));
        assert_eq!(
            m.submit(&short, Timestamp(1)).unwrap().state,
            OrderState::Accepted
        );
        let big = VenueOrderRequest::limit(id("b"), "A".into(), Side::Buy, dec!(5), dec!(100));
        assert_eq!(
            m.submit(&big, Timestamp(1)).unwrap().state,
            OrderState::Accepted
        );
    }

    #[test]
    fn cancel_answers_for_done_and_unknown_orders() {
        let v = venue();
        let req = VenueOrderRequest::limit(id("c1"), "A".into(), Side::Buy, dec!(1), dec!(10));
        v.submit(&req, Timestamp(1)).unwrap();
        assert_eq!(
            v.cancel(&id("c1"), Timestamp(2)).unwrap(),
            CancelOutcome::Canceled
        );
        assert_eq!(
            v.cancel(&id("c1"), Timestamp(3)).unwrap(),
            CancelOutcome::NotCancelable(OrderState::Canceled)
        );
        assert_eq!(
            v.cancel(&id("zz"), Timestamp(3)).unwrap(),
            CancelOutcome::Unknown
        );
        let o = v.order(&id("c1")).unwrap().unwrap();
        assert_eq!(
            (o.state, o.updated_at),
            (OrderState::Canceled, Timestamp(2))
        );
        let events = v.events_since(0).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1],
            (
                2,
                VenueEvent {
                    client_id: id("c1"),
                    kind: VenueEventKind::Canceled,
                    time: Timestamp(2)
                }
            )
        );
    }
}
