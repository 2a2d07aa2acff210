//! What the venue reports about orders, in the order it happened.

use flotilla_domain::{ClientOrderId, Money, OrderEvent, Price, Quantity, Timestamp};
use serde::{Deserialize, Serialize};

/// One report about one order. Every event is also stored with a sequence number
/// (`events_since` of the [`crate::venue::Venue`]).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct VenueEvent {
    /// The order it is about.
    pub client_id: ClientOrderId,
    /// What happened.
    pub kind: VenueEventKind,
    /// When, by the venue's inputs (the submit's `now`, the bar's time, the tick's).
    pub time: Timestamp,
}

/// What happened to an order. The reason of a venue-side cancel or expiry is on the order
/// ([`crate::venue::VenueOrder::reason`]).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueEventKind {
    /// The venue took the order.
    Accepted,
    /// An execution.
    Fill {
        /// The venue's trade id, unique and stable.
        trade_id: String,
        /// Units, positive.
        quantity: Quantity,
        /// Price, slippage included.
        price: Price,
        /// Fee charged.
        fee: Money,
        /// The order's filled quantity including this fill.
        cumulative: Quantity,
    },
    /// The order was canceled: by the client, or by the venue (a fill it could not pay for).
    Canceled,
    /// The venue refused the order.
    Rejected {
        /// Why.
        reason: String,
    },
    /// The order's time ran out (a day order's end, an IOC's rest, a FOK it could not fill).
    Expired,
}

impl VenueEventKind {
    /// The snake_case name, as stored and as serde tags it.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Fill { .. } => "fill",
            Self::Canceled => "canceled",
            Self::Rejected { .. } => "rejected",
            Self::Expired => "expired",
        }
    }

    /// The domain event a host books for this report.
    pub fn to_order_event(&self) -> OrderEvent {
        match self {
            Self::Accepted => OrderEvent::Accepted,
            Self::Fill {
                trade_id,
                quantity,
                price,
                fee,
                ..
            } => OrderEvent::Fill {
                trade_id: trade_id.clone(),
                quantity: *quantity,
                price: *price,
                fee: *fee,
            },
            Self::Canceled => OrderEvent::Canceled,
            Self::Rejected { reason } => OrderEvent::Rejected {
                reason: reason.clone(),
            },
            Self::Expired => OrderEvent::Expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn names_agree_with_serde_and_the_domain() {
        let kinds = [
            VenueEventKind::Accepted,
            VenueEventKind::Fill {
                trade_id: "pv-1".into(),
                quantity: dec!(2),
                price: dec!(100.10),
                fee: dec!(0.10),
                cumulative: dec!(2),
            },
            VenueEventKind::Canceled,
            VenueEventKind::Rejected {
                reason: "insufficient cash".into(),
            },
            VenueEventKind::Expired,
        ];
        for k in kinds {
            let json = serde_json::to_value(&k).unwrap();
            let tag = json
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| json.as_object().unwrap().keys().next().unwrap().clone());
            assert_eq!(tag, k.name());
            assert_eq!(k.to_order_event().name(), k.name());
            // Decimals travel as strings, so the scale survives.
            assert_eq!(serde_json::from_value::<VenueEventKind>(json).unwrap(), k);
        }
    }
}
