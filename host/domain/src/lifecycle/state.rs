//! Order types, time in force, order states and the events that move an order between them.

use crate::{Money, Price, Quantity};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a fieldless enum named by snake_case words: `ALL`, `as_str`, `Display`, and
/// `FromStr` failing with `$err`. The names are serde's too (a test checks they agree).
macro_rules! named_enum {
    (
        $(#[$attr:meta])* $name:ident, $what:literal, $(#[$err_doc:meta])* $err:ident,
        { $($(#[$vattr:meta])* $variant:ident => $text:literal,)+ }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vattr])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$(Self::$variant),+];

            /// The snake_case name, as serde writes it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(#[$err_doc])*
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("unknown {} `{}` (expected one of {})", $what, .0, [$($text),+].join(", "))]
        pub struct $err(pub String);

        impl FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $err(s.to_string()))
            }
        }
    };
}

named_enum!(
    /// How an order is priced.
    #[derive(Default)]
    OrderType, "order type",
    /// A name that is no order type.
    UnknownOrderType,
    {
        /// At whatever the market offers.
        #[default]
        Market => "market",
        /// At the limit price or better.
        Limit => "limit",
    }
);

named_enum!(
    /// How long an order stays working.
    #[derive(Default)]
    TimeInForce, "time in force",
    /// A name that is no time in force.
    UnknownTimeInForce,
    {
        /// Until the end of the session (the caller sets `expires_at`).
        #[default]
        Day => "day",
        /// Good till canceled.
        Gtc => "gtc",
        /// Immediate or cancel: what fills at once fills, the rest expires.
        Ioc => "ioc",
        /// Fill or kill: all at once, or nothing.
        Fok => "fok",
    }
);

named_enum!(
    /// Where an order is in its life, as the host tracks it.
    OrderState, "order state",
    /// A name that is no order state.
    UnknownOrderState,
    {
        /// Built by the host, not sent yet.
        Created => "created",
        /// Sent to the venue, not acknowledged yet.
        Submitted => "submitted",
        /// Acknowledged by the venue, nothing filled.
        Accepted => "accepted",
        /// Some of it filled, the rest is working.
        PartiallyFilled => "partially_filled",
        /// All of it filled.
        Filled => "filled",
        /// The host asked the venue to cancel; the venue has not answered.
        PendingCancel => "pending_cancel",
        /// Canceled, by the host's request or by the venue.
        Canceled => "canceled",
        /// Refused, by the host before sending or by the venue.
        Rejected => "rejected",
        /// Its time in force ran out.
        Expired => "expired",
    }
);

/// What the venue or the host reports about an order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// The host sent the order.
    Submitted,
    /// The venue acknowledged the order; from `pending_cancel`, the venue refused the cancel.
    Accepted,
    /// An execution.
    Fill {
        /// The venue's id of the execution; a repeated id is the same execution.
        trade_id: String,
        /// Units, positive.
        quantity: Quantity,
        /// Execution price, positive.
        price: Price,
        /// Fees charged (negative for a rebate).
        fee: Money,
    },
    /// The host asked the venue to cancel.
    CancelRequested,
    /// The order was canceled.
    Canceled,
    /// The order was refused.
    Rejected {
        /// Why, in the refuser's words.
        reason: String,
    },
    /// The order's time in force ran out.
    Expired,
}

impl OrderEvent {
    /// The snake_case name of the event, as serde tags it.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Fill { .. } => "fill",
            Self::CancelRequested => "cancel_requested",
            Self::Canceled => "canceled",
            Self::Rejected { .. } => "rejected",
            Self::Expired => "expired",
        }
    }
}

/// How much of an order has filled: the part of its progress a transition depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FillLevel {
    /// Nothing filled.
    Unfilled,
    /// Some filled, not all.
    Partial,
    /// The cumulative quantity reached the order quantity.
    Full,
}

impl FillLevel {
    /// The level of `filled` units out of an order of `quantity`.
    pub fn of(filled: Quantity, quantity: Quantity) -> Self {
        if filled >= quantity {
            Self::Full
        } else if filled > Quantity::ZERO {
            Self::Partial
        } else {
            Self::Unfilled
        }
    }
}

/// An event the order's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal order transition: {event} on {from}")]
pub struct TransitionError {
    /// The state the order was in.
    pub from: OrderState,
    /// The event's name ([`OrderEvent::name`]).
    pub event: &'static str,
}

impl OrderState {
    /// Filled, canceled, rejected or expired: the order is done and accepts no event.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Rejected | Self::Expired
        )
    }

    /// Not terminal: the order may still trade.
    pub const fn is_working(self) -> bool {
        !self.is_terminal()
    }

    /// The state after `event`, where `filled` is the order's fill level once the event is
    /// booked (after a fill, including it). Every legal transition:
    ///
    /// | from             | event              | to                                          |
    /// |------------------|--------------------|---------------------------------------------|
    /// | created          | submitted          | submitted                                   |
    /// | created          | rejected           | rejected (the host refused before sending)  |
    /// | submitted        | accepted           | accepted                                    |
    /// | submitted        | rejected           | rejected                                    |
    /// | submitted        | fill               | partially_filled, or filled if full (venues often skip the ack) |
    /// | submitted        | canceled, expired  | canceled, expired                           |
    /// | accepted         | fill               | partially_filled, or filled if full         |
    /// | accepted         | cancel_requested   | pending_cancel                              |
    /// | accepted         | canceled, expired  | canceled, expired                           |
    /// | partially_filled | fill               | partially_filled, or filled if full         |
    /// | partially_filled | cancel_requested   | pending_cancel                              |
    /// | partially_filled | canceled, expired  | canceled, expired                           |
    /// | pending_cancel   | fill               | pending_cancel, or filled if full (a fill raced the cancel) |
    /// | pending_cancel   | accepted           | accepted if nothing filled, else partially_filled (the venue refused the cancel) |
    /// | pending_cancel   | canceled, expired  | canceled, expired                           |
    ///
    /// Anything else, and any event on a terminal state, is a [`TransitionError`]. Rejection
    /// is only for orders the venue has not taken yet; a refused cancel is `accepted`. A fill
    /// reported with [`FillLevel::Unfilled`] (a caller's contradiction) counts as partial.
    pub fn next(
        self,
        event: &OrderEvent,
        filled: FillLevel,
    ) -> Result<OrderState, TransitionError> {
        use OrderEvent as E;
        use OrderState as S;
        let full_or = |partial| {
            if filled == FillLevel::Full {
                S::Filled
            } else {
                partial
            }
        };
        Ok(match (self, event) {
            (S::Created, E::Submitted) => S::Submitted,
            (S::Created | S::Submitted, E::Rejected { .. }) => S::Rejected,
            (S::Submitted, E::Accepted) => S::Accepted,
            (S::Submitted | S::Accepted | S::PartiallyFilled, E::Fill { .. }) => {
                full_or(S::PartiallyFilled)
            }
            // A fill racing the cancel does not revive the order: the cancel is still pending.
            (S::PendingCancel, E::Fill { .. }) => full_or(S::PendingCancel),
            (S::PendingCancel, E::Accepted) => match filled {
                FillLevel::Unfilled => S::Accepted,
                FillLevel::Partial | FillLevel::Full => S::PartiallyFilled,
            },
            // Venues take a cancel before they acknowledge the order.
            (S::Submitted | S::Accepted | S::PartiallyFilled, E::CancelRequested) => {
                S::PendingCancel
            }
            (S::Submitted | S::Accepted | S::PartiallyFilled | S::PendingCancel, E::Canceled) => {
                S::Canceled
            }
            (S::Submitted | S::Accepted | S::PartiallyFilled | S::PendingCancel, E::Expired) => {
                S::Expired
            }
            _ => {
                return Err(TransitionError {
                    from: self,
                    event: event.name(),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FillLevel::{Full, Partial, Unfilled};
    use OrderState::*;
    use rust_decimal_macros::dec;

    /// One event of each kind.
    fn events() -> [OrderEvent; 7] {
        [
            OrderEvent::Submitted,
            OrderEvent::Accepted,
            OrderEvent::Fill {
                trade_id: "t1".into(),
                quantity: dec!(1),
                price: dec!(10),
                fee: dec!(0.01),
            },
            OrderEvent::CancelRequested,
            OrderEvent::Canceled,
            OrderEvent::Rejected {
                reason: "no".into(),
            },
            OrderEvent::Expired,
        ]
    }

    const ANY: &[FillLevel] = &[Unfilled, Partial, Full];
    const NOT_FULL: &[FillLevel] = &[Unfilled, Partial];

    /// Every legal transition, written out independently of `next`: (from, event, the fill
    /// levels it applies at, to). Everything not listed is illegal.
    const LEGAL: &[(OrderState, &str, &[FillLevel], OrderState)] = &[
        (Created, "submitted", ANY, Submitted),
        (Created, "rejected", ANY, Rejected),
        (Submitted, "accepted", ANY, Accepted),
        (Submitted, "rejected", ANY, Rejected),
        (Submitted, "fill", NOT_FULL, PartiallyFilled),
        (Submitted, "fill", &[Full], Filled),
        (Submitted, "canceled", ANY, Canceled),
        (Submitted, "cancel_requested", ANY, PendingCancel),
        (Submitted, "expired", ANY, Expired),
        (Accepted, "fill", NOT_FULL, PartiallyFilled),
        (Accepted, "fill", &[Full], Filled),
        (Accepted, "cancel_requested", ANY, PendingCancel),
        (Accepted, "canceled", ANY, Canceled),
        (Accepted, "expired", ANY, Expired),
        (PartiallyFilled, "fill", NOT_FULL, PartiallyFilled),
        (PartiallyFilled, "fill", &[Full], Filled),
        (PartiallyFilled, "cancel_requested", ANY, PendingCancel),
        (PartiallyFilled, "canceled", ANY, Canceled),
        (PartiallyFilled, "expired", ANY, Expired),
        (PendingCancel, "fill", NOT_FULL, PendingCancel),
        (PendingCancel, "fill", &[Full], Filled),
        (PendingCancel, "accepted", &[Unfilled], Accepted),
        (PendingCancel, "accepted", &[Partial, Full], PartiallyFilled),
        (PendingCancel, "canceled", ANY, Canceled),
        (PendingCancel, "expired", ANY, Expired),
    ];

    #[test]
    fn every_state_and_event_follows_the_table() {
        let mut legal_seen = 0;
        for from in OrderState::ALL {
            for event in events() {
                for level in [Unfilled, Partial, Full] {
                    let rows: Vec<_> = LEGAL
                        .iter()
                        .filter(|(f, e, ls, _)| {
                            *f == from && *e == event.name() && ls.contains(&level)
                        })
                        .collect();
                    assert!(
                        rows.len() <= 1,
                        "table rows overlap for {from} {}",
                        event.name()
                    );
                    let want = match rows.first() {
                        Some((_, _, _, to)) => {
                            legal_seen += 1;
                            Ok(*to)
                        }
                        None => Err(TransitionError {
                            from,
                            event: event.name(),
                        }),
                    };
                    assert_eq!(
                        from.next(&event, level),
                        want,
                        "{from} {} {level:?}",
                        event.name()
                    );
                }
            }
        }
        let table_size: usize = LEGAL.iter().map(|(_, _, ls, _)| ls.len()).sum();
        assert_eq!(legal_seen, table_size, "every table row is reachable");
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for s in OrderState::ALL.into_iter().filter(|s| s.is_terminal()) {
            assert!(!s.is_working());
            for e in events() {
                assert!(s.next(&e, Partial).is_err());
            }
        }
        let terminal: Vec<_> = OrderState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, [Filled, Canceled, Rejected, Expired]);
        let err = Canceled.next(&events()[2], Full).unwrap_err();
        assert_eq!(
            err.to_string(),
            "illegal order transition: fill on canceled"
        );
    }

    #[test]
    fn names_agree_with_serde_and_parse_back() {
        fn check<T>(all: &[T], name: fn(&T) -> &'static str)
        where
            T: Serialize + FromStr + PartialEq + fmt::Debug,
            T::Err: fmt::Debug,
        {
            for v in all {
                let json = serde_json::to_string(v).unwrap();
                assert_eq!(json, format!("\"{}\"", name(v)));
                assert_eq!(&name(v).parse::<T>().unwrap(), v);
            }
        }
        check(&OrderType::ALL, |v| v.as_str());
        check(&TimeInForce::ALL, |v| v.as_str());
        check(&OrderState::ALL, |v| v.as_str());
        assert_eq!(PartiallyFilled.as_str(), "partially_filled");
        assert_eq!(PendingCancel.to_string(), "pending_cancel");
        assert_eq!(TimeInForce::default(), TimeInForce::Day);
        for e in events() {
            let json = serde_json::to_value(&e).unwrap();
            let tag = json
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| json.as_object().unwrap().keys().next().unwrap().clone());
            assert_eq!(tag, e.name());
            assert_eq!(serde_json::from_value::<OrderEvent>(json).unwrap(), e);
        }
        let err = "stop".parse::<OrderType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown order type `stop` (expected one of market, limit)"
        );
        assert!("GTC".parse::<TimeInForce>().is_err());
        assert!("done".parse::<OrderState>().is_err());
    }

    #[test]
    fn fill_levels_from_quantities() {
        assert_eq!(FillLevel::of(dec!(0), dec!(10)), Unfilled);
        assert_eq!(FillLevel::of(dec!(0.1), dec!(10)), Partial);
        assert_eq!(FillLevel::of(dec!(10.00), dec!(10)), Full);
    }
}
