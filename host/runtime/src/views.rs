//! What the host shows a bot of its account: positions, fills, working orders and order
//! updates, in host types. The runtime converts them to whichever contract the bot speaks.

use flotilla_domain::{
    Order, OrderEvent, OrderId, OrderState, Side, Symbol, TimeInForce, Timestamp,
};
use rust_decimal::prelude::ToPrimitive;

/// A bot's position as the bot sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionView {
    /// The instrument.
    pub symbol: Symbol,
    /// Signed units.
    pub quantity: f64,
    /// Average entry price.
    pub avg_price: f64,
}

/// A fill as reported to a bot.
#[derive(Clone, Debug, PartialEq)]
pub struct FillView {
    /// Host order id.
    pub order_id: u64,
    /// Instrument.
    pub symbol: String,
    /// True for a buy.
    pub buy: bool,
    /// Units.
    pub quantity: f64,
    /// Price.
    pub price: f64,
    /// Fee.
    pub fee: f64,
    /// Time.
    pub time: Timestamp,
    /// The intent's tag.
    pub tag: String,
}

/// One of the bot's own orders that can still trade, as `working-orders` lists it
/// (contract 0.7.0; a 0.6.0 bot cannot ask).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkingOrderView {
    /// The host's order id; `cancel-order` takes it.
    pub id: OrderId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units ordered, positive.
    pub quantity: f64,
    /// Units filled so far.
    pub filled: f64,
    /// The limit price; `None` for a market order.
    pub limit_price: Option<f64>,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// A working state (created and submitted both read as `pending` to the bot); a
    /// terminal one is left out of the list.
    pub state: OrderState,
    /// When the host created it.
    pub time: Timestamp,
    /// The intent's tag.
    pub tag: String,
}

impl WorkingOrderView {
    /// The bot's view of `order`; `None` once it cannot trade any more, and for exits the
    /// host placed (the bot neither sees nor cancels those).
    pub fn of(order: &Order) -> Option<Self> {
        (order.state.is_working() && !order.exit).then(|| Self {
            id: order.id,
            symbol: order.symbol.clone(),
            side: order.side,
            quantity: f64_of(order.quantity),
            filled: f64_of(order.filled_quantity),
            limit_price: order.limit_price.map(f64_of),
            time_in_force: order.time_in_force,
            state: order.state,
            time: order.created_at,
            tag: order.tag.clone(),
        })
    }
}

/// What happened to one of a bot's orders, as `on-order` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderUpdateView {
    /// The host's order id.
    pub order_id: OrderId,
    /// The instrument.
    pub symbol: Symbol,
    /// What happened.
    pub event: OrderUpdateKind,
    /// When.
    pub time: Timestamp,
    /// The intent's tag.
    pub tag: String,
}

/// The event of an [`OrderUpdateView`].
#[derive(Clone, Debug, PartialEq)]
pub enum OrderUpdateKind {
    /// The venue acknowledged the order.
    Accepted,
    /// The host or the venue refused it.
    Rejected(String),
    /// Canceled, at the bot's request or by the venue.
    Canceled,
    /// Its time in force ran out.
    Expired,
    /// Part of it filled.
    PartialFill {
        /// Units filled so far, this fill included.
        cumulative: f64,
    },
    /// All of it filled.
    Filled,
}

impl OrderUpdateView {
    /// What the bot hears of `event`, booked on `order` (the order as it is after the
    /// event) at `time`. `None` for what a bot is not told (the host's own `submitted` and
    /// `cancel_requested`) and for exits the host placed.
    pub fn of(order: &Order, event: &OrderEvent, time: Timestamp) -> Option<Self> {
        if order.exit {
            return None;
        }
        let event = match event {
            OrderEvent::Submitted | OrderEvent::CancelRequested => return None,
            OrderEvent::Accepted => OrderUpdateKind::Accepted,
            OrderEvent::Rejected { reason } => OrderUpdateKind::Rejected(reason.clone()),
            OrderEvent::Canceled => OrderUpdateKind::Canceled,
            OrderEvent::Expired => OrderUpdateKind::Expired,
            OrderEvent::Fill { .. } if order.state == OrderState::Filled => OrderUpdateKind::Filled,
            OrderEvent::Fill { .. } => OrderUpdateKind::PartialFill {
                cumulative: f64_of(order.filled_quantity),
            },
        };
        Some(Self {
            order_id: order.id,
            symbol: order.symbol.clone(),
            event,
            time,
            tag: order.tag.clone(),
        })
    }
}

fn f64_of(d: flotilla_domain::Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::{ClientOrderId, OrderSpec, OrderType};
    use rust_decimal_macros::dec;

    fn order(exit: bool) -> Order {
        Order::new(OrderSpec {
            id: OrderId(7),
            client_id: ClientOrderId::for_order("t", OrderId(7)),
            bot: "b".into(),
            symbol: "AAA".into(),
            side: Side::Buy,
            quantity: dec!(10),
            order_type: OrderType::Limit,
            limit_price: Some(dec!(99.5)),
            time_in_force: TimeInForce::Gtc,
            created_at: Timestamp(60_000),
            expires_at: None,
            tag: "entry".into(),
            exit,
        })
        .unwrap()
    }

    fn fill(id: &str, qty: flotilla_domain::Decimal) -> OrderEvent {
        OrderEvent::Fill {
            trade_id: id.into(),
            quantity: qty,
            price: dec!(99),
            fee: dec!(0),
        }
    }

    #[test]
    fn a_working_order_is_listed_until_it_is_done_and_exits_never_are() {
        let mut o = order(false);
        o.apply(&OrderEvent::Submitted).unwrap();
        o.apply(&fill("t1", dec!(4))).unwrap();
        let v = WorkingOrderView::of(&o).unwrap();
        assert_eq!((v.id, v.quantity, v.filled), (OrderId(7), 10.0, 4.0));
        assert_eq!(
            (v.limit_price, v.time_in_force),
            (Some(99.5), TimeInForce::Gtc)
        );
        assert_eq!(
            (v.state, v.time),
            (OrderState::PartiallyFilled, Timestamp(60_000))
        );
        o.apply(&fill("t2", dec!(6))).unwrap();
        assert_eq!(WorkingOrderView::of(&o), None, "filled: no longer working");
        assert_eq!(WorkingOrderView::of(&order(true)), None, "a host exit");
    }

    #[test]
    fn order_events_become_the_updates_a_bot_hears() {
        let mut o = order(false);
        let heard = |o: &mut Order, e: OrderEvent| {
            o.apply(&e).unwrap();
            OrderUpdateView::of(o, &e, Timestamp(1)).map(|u| u.event)
        };
        assert_eq!(heard(&mut o, OrderEvent::Submitted), None);
        assert_eq!(
            heard(&mut o, OrderEvent::Accepted),
            Some(OrderUpdateKind::Accepted)
        );
        assert_eq!(
            heard(&mut o, fill("t1", dec!(3))),
            Some(OrderUpdateKind::PartialFill { cumulative: 3.0 })
        );
        assert_eq!(heard(&mut o, OrderEvent::CancelRequested), None);
        assert_eq!(
            heard(&mut o, fill("t2", dec!(7))),
            Some(OrderUpdateKind::Filled),
            "a fill that raced the cancel"
        );
        let mut r = order(false);
        let reason = OrderEvent::Rejected {
            reason: "no funds".into(),
        };
        assert_eq!(
            heard(&mut r, reason),
            Some(OrderUpdateKind::Rejected("no funds".into()))
        );
        let mut x = order(true);
        x.apply(&OrderEvent::Submitted).unwrap();
        assert_eq!(
            OrderUpdateView::of(&x, &OrderEvent::Canceled, Timestamp(1)),
            None
        );
    }
}
