//! Orders as the venue sees them: the request a client sends and the venue's record.

use flotilla_domain::{
    BotId, ClientOrderId, Money, Order, OrderId, OrderState, OrderType, Price, Quantity, Side,
    Symbol, TimeInForce, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A new order as a client sends it to the venue.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct VenueOrderRequest {
    /// The client's id of the order; the venue keys orders by it.
    pub client_id: ClientOrderId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units, positive.
    pub quantity: Quantity,
    /// Market or limit.
    pub order_type: OrderType,
    /// The limit price: positive for a limit order, `None` for a market order.
    pub limit_price: Option<Price>,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// When it stops working (a day order's session end); `None` never by time.
    pub expires_at: Option<Timestamp>,
}

impl VenueOrderRequest {
    /// A good-till-canceled market order.
    pub fn market(
        client_id: ClientOrderId,
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
    ) -> Self {
        Self {
            client_id,
            symbol,
            side,
            quantity,
            order_type: OrderType::Market,
            limit_price: None,
            time_in_force: TimeInForce::Gtc,
            expires_at: None,
        }
    }

    /// A good-till-canceled limit order at `limit`.
    pub fn limit(
        client_id: ClientOrderId,
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        limit: Price,
    ) -> Self {
        Self {
            order_type: OrderType::Limit,
            limit_price: Some(limit),
            ..Self::market(client_id, symbol, side, quantity)
        }
    }
}

/// One execution of an order at the venue.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct VenueFill {
    /// The venue's trade id, `pv-{n}`: unique in the venue's file, never reused.
    pub trade_id: String,
    /// Units, positive.
    pub quantity: Quantity,
    /// Price, slippage included.
    pub price: Price,
    /// Fee charged.
    pub fee: Money,
    /// The order's filled quantity including this fill.
    pub cumulative: Quantity,
    /// When it executed (the bar's time, or the tick's).
    pub time: Timestamp,
}

/// The venue's record of an order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct VenueOrder {
    /// The client's id of the order.
    pub client_id: ClientOrderId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units ordered.
    pub quantity: Quantity,
    /// Market or limit.
    pub order_type: OrderType,
    /// The limit price of a limit order.
    pub limit_price: Option<Price>,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// When it stops working, if by time.
    pub expires_at: Option<Timestamp>,
    /// Accepted, partially filled, or a terminal state.
    pub state: OrderState,
    /// Units filled so far.
    pub filled_quantity: Quantity,
    /// Volume-weighted price of its fills; 0 when none.
    pub avg_price: Price,
    /// Fees of its fills.
    pub fees: Money,
    /// Its fills, oldest first.
    pub fills: Vec<VenueFill>,
    /// Why the venue rejected, canceled or expired it, when the venue ended it.
    pub reason: Option<String>,
    /// When the venue received it.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What [`crate::venue::Venue::cancel`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CancelOutcome {
    /// The order was working and is now canceled (at once: the paper venue is synchronous).
    Canceled,
    /// The venue accepted the request; the order is canceled once its `canceled` event
    /// arrives (a remote venue: Alpaca's 204), or it may still fill meanwhile.
    Requested,
    /// The order is already done, in this state.
    NotCancelable(OrderState),
    /// The venue never saw this client id.
    Unknown,
}

/// The bot of the domain orders the venue matches with: the venue does not know bots.
const VENUE_BOT: &str = "paper-venue";

impl VenueOrder {
    /// A new record of `req`, received at `now`, in `state` and nothing filled.
    pub fn new(req: &VenueOrderRequest, state: OrderState, now: Timestamp) -> Self {
        Self {
            client_id: req.client_id.clone(),
            symbol: req.symbol.clone(),
            side: req.side,
            quantity: req.quantity,
            order_type: req.order_type,
            limit_price: req.limit_price,
            time_in_force: req.time_in_force,
            expires_at: req.expires_at,
            state,
            filled_quantity: Quantity::ZERO,
            avg_price: Price::ZERO,
            fees: Money::ZERO,
            fills: Vec::new(),
            reason: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Units still to fill.
    pub fn remaining(&self) -> Quantity {
        self.quantity - self.filled_quantity
    }

    /// Whether it may still trade.
    pub fn is_working(&self) -> bool {
        self.state.is_working()
    }

    /// Whether `req` asks for this very order (a resend), field by field.
    pub fn is_request(&self, req: &VenueOrderRequest) -> bool {
        self.client_id == req.client_id
            && self.symbol == req.symbol
            && self.side == req.side
            && self.quantity == req.quantity
            && self.order_type == req.order_type
            && self.limit_price == req.limit_price
            && self.time_in_force == req.time_in_force
            && self.expires_at == req.expires_at
    }

    /// The domain order for matching and for its state machine, numbered `id`. Trade ids
    /// are left out: the venue makes each one once, so there is no repeat to detect.
    pub fn to_domain(&self, id: OrderId) -> Order {
        Order {
            id,
            client_id: self.client_id.clone(),
            bot: BotId::new(VENUE_BOT),
            symbol: self.symbol.clone(),
            side: self.side,
            quantity: self.quantity,
            order_type: self.order_type,
            limit_price: self.limit_price,
            time_in_force: self.time_in_force,
            created_at: self.created_at,
            expires_at: self.expires_at,
            state: self.state,
            filled_quantity: self.filled_quantity,
            avg_fill_price: self.avg_price,
            fees: self.fees,
            trade_ids: BTreeSet::new(),
            reject_reason: self.reason.clone(),
            tag: String::new(),
            exit: false,
        }
    }

    /// Takes the progress of `order` (booked through the domain machine) as of `now`.
    pub fn absorb(&mut self, order: &Order, now: Timestamp) {
        self.state = order.state;
        self.filled_quantity = order.filled_quantity;
        self.avg_price = order.avg_fill_price;
        self.fees = order.fees;
        if order.reject_reason.is_some() {
            self.reason.clone_from(&order.reject_reason);
        }
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::{FillLevel, OrderEvent};
    use rust_decimal_macros::dec;

    fn request() -> VenueOrderRequest {
        VenueOrderRequest::limit(
            ClientOrderId::parse("c-1").unwrap(),
            "AAPL".into(),
            Side::Buy,
            dec!(10),
            dec!(99.5),
        )
    }

    #[test]
    fn a_resend_is_recognised_field_by_field() {
        let req = request();
        let o = VenueOrder::new(&req, OrderState::Accepted, Timestamp(5));
        assert!(o.is_request(&req));
        // 10.0 is 10: the same quantity spelled with another scale.
        assert!(o.is_request(&VenueOrderRequest {
            quantity: dec!(10.0),
            ..req.clone()
        }));
        for other in [
            VenueOrderRequest {
                quantity: dec!(11),
                ..req.clone()
            },
            VenueOrderRequest {
                side: Side::Sell,
                ..req.clone()
            },
            VenueOrderRequest {
                expires_at: Some(Timestamp(9)),
                ..req.clone()
            },
            VenueOrderRequest {
                time_in_force: TimeInForce::Ioc,
                ..req.clone()
            },
        ] {
            assert!(!o.is_request(&other), "{other:?}");
        }
    }

    #[test]
    fn the_domain_order_round_trips_progress() {
        let mut o = VenueOrder::new(&request(), OrderState::Accepted, Timestamp(5));
        let mut d = o.to_domain(OrderId(3));
        assert_eq!((d.state, d.remaining()), (OrderState::Accepted, dec!(10)));
        d.apply(&OrderEvent::Fill {
            trade_id: "pv-1".into(),
            quantity: dec!(4),
            price: dec!(99),
            fee: dec!(0.04),
        })
        .unwrap();
        o.absorb(&d, Timestamp(7));
        assert_eq!(o.state, OrderState::PartiallyFilled);
        assert_eq!(
            (o.filled_quantity, o.avg_price, o.fees),
            (dec!(4), dec!(99), dec!(0.04))
        );
        assert_eq!((o.remaining(), o.updated_at), (dec!(6), Timestamp(7)));
        assert_eq!(o.to_domain(OrderId(3)).fill_level(), FillLevel::Partial);
    }
}
