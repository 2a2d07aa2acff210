//! An order as the host tracks it from creation to a terminal state, booking each event once.

use super::{
    ClientOrderId, FillLevel, OrderEvent, OrderState, OrderType, TimeInForce, TransitionError,
};
use crate::{BotId, Money, OrderId, Price, Quantity, Side, Symbol, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a new order is made of: everything but its progress.
#[derive(Clone, PartialEq, Debug)]
pub struct OrderSpec {
    /// The ledger's order id.
    pub id: OrderId,
    /// The id sent to the venue.
    pub client_id: ClientOrderId,
    /// The bot the order is for.
    pub bot: BotId,
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
    /// When the host created it.
    pub created_at: Timestamp,
    /// When it stops working, if the caller expires it by time (a day order).
    pub expires_at: Option<Timestamp>,
    /// The bot's tag.
    pub tag: String,
    /// Whether the host placed it to exit a position (a stop, a target, a scale-out).
    pub exit: bool,
}

/// An order as the host tracks it. Change it through [`Order::apply`], which keeps the
/// fields consistent with the events booked.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Order {
    /// The ledger's order id.
    pub id: OrderId,
    /// The id sent to the venue.
    pub client_id: ClientOrderId,
    /// The bot the order is for.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units ordered, positive.
    pub quantity: Quantity,
    /// Market or limit.
    pub order_type: OrderType,
    /// The limit price of a limit order.
    pub limit_price: Option<Price>,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// When the host created it.
    pub created_at: Timestamp,
    /// When it stops working, if the caller expires it by time.
    pub expires_at: Option<Timestamp>,
    /// Where it is in its life.
    pub state: OrderState,
    /// Units filled so far.
    pub filled_quantity: Quantity,
    /// Volume-weighted price of its fills; 0 when none.
    pub avg_fill_price: Price,
    /// Fees of its fills.
    pub fees: Money,
    /// The venue's ids of the fills booked, so a repeated report is booked once.
    pub trade_ids: BTreeSet<String>,
    /// Why it was rejected, if it was.
    pub reject_reason: Option<String>,
    /// The bot's tag.
    pub tag: String,
    /// Whether the host placed it to exit a position.
    pub exit: bool,
}

/// What [`Order::apply`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Applied {
    /// The event was booked; `from` and `to` may be equal (a second partial fill).
    Changed {
        /// The state before.
        from: OrderState,
        /// The state after.
        to: OrderState,
    },
    /// A fill whose trade id was already booked: nothing changed.
    DuplicateFill,
}

/// Why an order could not be built or an event not booked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// The order's fields contradict each other or are out of range.
    #[error("invalid order: {0}")]
    Invalid(String),
    /// The event is not allowed in the order's state.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The fill would take the filled quantity past the order quantity.
    #[error("overfill: {fill} more on {filled} filled of {quantity}")]
    Overfill {
        /// The order quantity.
        quantity: Quantity,
        /// Filled before this fill.
        filled: Quantity,
        /// This fill's quantity.
        fill: Quantity,
    },
    /// A fill's quantity or price is zero or negative.
    #[error("fill quantity {quantity} and price {price} must be positive")]
    NonPositiveFill {
        /// The fill's quantity.
        quantity: Quantity,
        /// The fill's price.
        price: Price,
    },
    /// A fill with an empty trade id, which could not be told from another one.
    #[error("fill without a trade id")]
    MissingTradeId,
    /// The order's totals would overflow a decimal.
    #[error("fill amounts overflow the order's totals")]
    Overflow,
}

impl Order {
    /// A new order in state `created`, if `spec` is consistent: positive quantity, a
    /// positive limit price exactly for limit orders, expiry not before creation. Market
    /// orders take any time in force.
    pub fn new(spec: OrderSpec) -> Result<Order, OrderError> {
        let invalid = |why: String| Err(OrderError::Invalid(why));
        if spec.quantity <= Quantity::ZERO {
            return invalid(format!("quantity {} must be positive", spec.quantity));
        }
        match (spec.order_type, spec.limit_price) {
            (OrderType::Limit, None) => return invalid("a limit order needs a limit price".into()),
            (OrderType::Limit, Some(p)) if p <= Price::ZERO => {
                return invalid(format!("limit price {p} must be positive"));
            }
            (OrderType::Market, Some(p)) => {
                return invalid(format!("a market order has no limit price (got {p})"));
            }
            _ => {}
        }
        if let Some(at) = spec.expires_at.filter(|at| *at < spec.created_at) {
            return invalid(format!(
                "expires at {at}, before its creation at {}",
                spec.created_at
            ));
        }
        Ok(Order {
            id: spec.id,
            client_id: spec.client_id,
            bot: spec.bot,
            symbol: spec.symbol,
            side: spec.side,
            quantity: spec.quantity,
            order_type: spec.order_type,
            limit_price: spec.limit_price,
            time_in_force: spec.time_in_force,
            created_at: spec.created_at,
            expires_at: spec.expires_at,
            state: OrderState::Created,
            filled_quantity: Quantity::ZERO,
            avg_fill_price: Price::ZERO,
            fees: Money::ZERO,
            trade_ids: BTreeSet::new(),
            reject_reason: None,
            tag: spec.tag,
            exit: spec.exit,
        })
    }

    /// Books `event`. A fill whose trade id is already booked is [`Applied::DuplicateFill`]
    /// in any state (a late repeat is harmless); on an error the order is unchanged.
    pub fn apply(&mut self, event: &OrderEvent) -> Result<Applied, OrderError> {
        let from = self.state;
        let OrderEvent::Fill {
            trade_id,
            quantity,
            price,
            fee,
        } = event
        else {
            let to = from.next(event, self.fill_level())?;
            if let OrderEvent::Rejected { reason } = event {
                self.reject_reason = Some(reason.clone());
            }
            self.state = to;
            return Ok(Applied::Changed { from, to });
        };
        if self.trade_ids.contains(trade_id) {
            return Ok(Applied::DuplicateFill);
        }
        if trade_id.is_empty() {
            return Err(OrderError::MissingTradeId);
        }
        if *quantity <= Quantity::ZERO || *price <= Price::ZERO {
            return Err(OrderError::NonPositiveFill {
                quantity: *quantity,
                price: *price,
            });
        }
        let filled = self
            .filled_quantity
            .checked_add(*quantity)
            .ok_or(OrderError::Overflow)?;
        // The state first: a fill on a done order is an illegal transition, whatever its size.
        let to = from.next(event, FillLevel::of(filled, self.quantity))?;
        if filled > self.quantity {
            return Err(OrderError::Overfill {
                quantity: self.quantity,
                filled: self.filled_quantity,
                fill: *quantity,
            });
        }
        // Everything computed before anything is written, so an overflow changes nothing.
        let avg = self
            .avg_fill_price
            .checked_mul(self.filled_quantity)
            .and_then(|n| n.checked_add(price.checked_mul(*quantity)?))
            .and_then(|n| n.checked_div(filled))
            .ok_or(OrderError::Overflow)?;
        let fees = self.fees.checked_add(*fee).ok_or(OrderError::Overflow)?;
        self.filled_quantity = filled;
        self.avg_fill_price = avg;
        self.fees = fees;
        self.trade_ids.insert(trade_id.clone());
        self.state = to;
        Ok(Applied::Changed { from, to })
    }

    /// Units still to fill.
    pub fn remaining(&self) -> Quantity {
        self.quantity - self.filled_quantity
    }

    /// How much has filled, as [`OrderState::next`] takes it.
    pub fn fill_level(&self) -> FillLevel {
        FillLevel::of(self.filled_quantity, self.quantity)
    }

    /// Whether the order may still trade (its state is not terminal).
    pub fn is_working(&self) -> bool {
        self.state.is_working()
    }

    /// Money the order may still commit: the remaining units at the limit price, or at
    /// `mark` for a market order; zero once the order is done.
    pub fn notional_reserved(&self, mark: Price) -> Money {
        if !self.is_working() {
            return Money::ZERO;
        }
        self.remaining() * self.limit_price.unwrap_or(mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn spec(order_type: OrderType, limit_price: Option<Price>) -> OrderSpec {
        OrderSpec {
            id: OrderId(7),
            client_id: ClientOrderId::for_order("test", OrderId(7)),
            bot: "sma".into(),
            symbol: "AAPL".into(),
            side: Side::Buy,
            quantity: dec!(10),
            order_type,
            limit_price,
            time_in_force: TimeInForce::Gtc,
            created_at: Timestamp(1_000),
            expires_at: None,
            tag: "t".into(),
            exit: false,
        }
    }

    fn fill(id: &str, quantity: Quantity, price: Price, fee: Money) -> OrderEvent {
        OrderEvent::Fill {
            trade_id: id.into(),
            quantity,
            price,
            fee,
        }
    }

    fn accepted_limit() -> Order {
        let mut o = Order::new(spec(OrderType::Limit, Some(dec!(101)))).unwrap();
        o.apply(&OrderEvent::Submitted).unwrap();
        o.apply(&OrderEvent::Accepted).unwrap();
        o
    }

    #[test]
    fn two_partial_fills_average_and_fill_the_order() {
        let mut o = accepted_limit();
        assert_eq!(o.notional_reserved(dec!(50)), dec!(1010));
        assert_eq!(
            o.apply(&fill("a", dec!(4), dec!(100.00), dec!(0.40))),
            Ok(Applied::Changed {
                from: OrderState::Accepted,
                to: OrderState::PartiallyFilled
            })
        );
        assert_eq!((o.remaining(), o.avg_fill_price), (dec!(6), dec!(100)));
        assert_eq!(o.notional_reserved(dec!(50)), dec!(606));
        assert_eq!(
            o.apply(&fill("b", dec!(6), dec!(101.00), dec!(0.61))),
            Ok(Applied::Changed {
                from: OrderState::PartiallyFilled,
                to: OrderState::Filled
            })
        );
        // (4 × 100 + 6 × 101) / 10 = 1006 / 10.
        assert_eq!(o.avg_fill_price, dec!(100.60));
        assert_eq!(o.fees, dec!(1.01));
        assert_eq!(o.filled_quantity, dec!(10));
        assert_eq!(o.state, OrderState::Filled);
        assert!(!o.is_working());
        assert_eq!(o.notional_reserved(dec!(50)), dec!(0));
        assert_eq!(o.trade_ids.iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_duplicate_trade_id_is_ignored_even_when_done() {
        let mut o = accepted_limit();
        o.apply(&fill("a", dec!(4), dec!(100), dec!(0.40))).unwrap();
        let before = o.clone();
        // Same id, other numbers: still the same execution, reported again.
        assert_eq!(
            o.apply(&fill("a", dec!(5), dec!(99), dec!(9))),
            Ok(Applied::DuplicateFill)
        );
        assert_eq!(o, before);
        o.apply(&OrderEvent::Canceled).unwrap();
        let before = o.clone();
        assert_eq!(
            o.apply(&fill("a", dec!(4), dec!(100), dec!(0.40))),
            Ok(Applied::DuplicateFill)
        );
        assert_eq!(o, before);
        // A new fill on a canceled order is an error, not a duplicate.
        assert!(matches!(
            o.apply(&fill("z", dec!(1), dec!(100), dec!(0))),
            Err(OrderError::Transition(TransitionError {
                from: OrderState::Canceled,
                event: "fill"
            }))
        ));
        assert_eq!(o, before);
    }

    #[test]
    fn an_overfill_is_refused_and_changes_nothing() {
        let mut o = accepted_limit();
        o.apply(&fill("a", dec!(7), dec!(100), dec!(0))).unwrap();
        let before = o.clone();
        assert_eq!(
            o.apply(&fill("b", dec!(3.5), dec!(100), dec!(0))),
            Err(OrderError::Overfill {
                quantity: dec!(10),
                filled: dec!(7),
                fill: dec!(3.5)
            })
        );
        assert_eq!(o, before);
        let err = o
            .apply(&fill("b", dec!(3.5), dec!(100), dec!(0)))
            .unwrap_err();
        assert_eq!(err.to_string(), "overfill: 3.5 more on 7 filled of 10");
        for bad in [
            fill("b", dec!(0), dec!(100), dec!(0)),
            fill("b", dec!(1), dec!(-1), dec!(0)),
            fill("", dec!(1), dec!(100), dec!(0)),
        ] {
            assert!(o.apply(&bad).is_err());
            assert_eq!(o, before);
        }
    }

    #[test]
    fn a_fill_racing_a_cancel_and_a_refused_cancel() {
        let mut o = accepted_limit();
        o.apply(&OrderEvent::CancelRequested).unwrap();
        o.apply(&fill("a", dec!(2), dec!(100), dec!(0))).unwrap();
        assert_eq!(o.state, OrderState::PendingCancel);
        o.apply(&OrderEvent::Accepted).unwrap();
        assert_eq!(o.state, OrderState::PartiallyFilled);
        o.apply(&OrderEvent::CancelRequested).unwrap();
        o.apply(&fill("b", dec!(8), dec!(100), dec!(0))).unwrap();
        assert_eq!(o.state, OrderState::Filled);

        let mut o = accepted_limit();
        o.apply(&OrderEvent::CancelRequested).unwrap();
        o.apply(&OrderEvent::Accepted).unwrap();
        assert_eq!(o.state, OrderState::Accepted);
    }

    #[test]
    fn a_rejection_keeps_its_reason() {
        let mut o = Order::new(spec(OrderType::Market, None)).unwrap();
        assert_eq!(o.notional_reserved(dec!(50)), dec!(500));
        o.apply(&OrderEvent::Submitted).unwrap();
        o.apply(&OrderEvent::Rejected {
            reason: "insufficient buying power".into(),
        })
        .unwrap();
        assert_eq!(o.state, OrderState::Rejected);
        assert_eq!(
            o.reject_reason.as_deref(),
            Some("insufficient buying power")
        );
    }

    #[test]
    fn new_refuses_inconsistent_orders() {
        let bad = [
            OrderSpec {
                quantity: dec!(0),
                ..spec(OrderType::Market, None)
            },
            spec(OrderType::Limit, None),
            spec(OrderType::Limit, Some(dec!(0))),
            spec(OrderType::Market, Some(dec!(10))),
            OrderSpec {
                expires_at: Some(Timestamp(999)),
                ..spec(OrderType::Market, None)
            },
        ];
        for s in bad {
            assert!(matches!(Order::new(s), Err(OrderError::Invalid(_))));
        }
        for tif in TimeInForce::ALL {
            let s = OrderSpec {
                time_in_force: tif,
                expires_at: Some(Timestamp(1_000)),
                ..spec(OrderType::Market, None)
            };
            assert_eq!(Order::new(s).unwrap().state, OrderState::Created);
        }
    }

    #[test]
    fn serde_round_trips() {
        let mut o = accepted_limit();
        o.apply(&fill("a", dec!(4), dec!(100.5), dec!(0.40)))
            .unwrap();
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"state\":\"partially_filled\""), "{json}");
        assert!(json.contains("\"order_type\":\"limit\""), "{json}");
        assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), o);
    }
}
