//! Property tests of the order lifecycle: random orders under random event sequences.

use flotilla_domain::{
    Applied, ClientOrderId, Decimal, Order, OrderEvent, OrderId, OrderSpec, OrderState, OrderType,
    Side, TimeInForce, Timestamp,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn arb_order() -> impl Strategy<Value = Order> {
    (
        1i64..=200,
        0u32..=1,
        prop::bool::ANY,
        prop::option::of(9_000i64..=11_000),
        prop::sample::select(TimeInForce::ALL.to_vec()),
        0u64..1000,
    )
        .prop_map(|(units, scale, buy, limit_cents, tif, id)| {
            let limit_price = limit_cents.map(|c| Decimal::new(c, 2));
            Order::new(OrderSpec {
                id: OrderId(id),
                client_id: ClientOrderId::for_order("prop", OrderId(id)),
                bot: "b".into(),
                symbol: "X".into(),
                side: if buy { Side::Buy } else { Side::Sell },
                quantity: Decimal::new(units, scale),
                order_type: if limit_price.is_some() {
                    OrderType::Limit
                } else {
                    OrderType::Market
                },
                limit_price,
                time_in_force: tif,
                created_at: Timestamp(0),
                expires_at: None,
                tag: String::new(),
                exit: false,
            })
            .expect("a consistent spec")
        })
}

/// One step of a sequence: an event, or a fill of whatever remains (plus `extra`, to
/// try overfills), which random quantities would rarely hit exactly.
#[derive(Clone, Debug)]
enum Step {
    Event(OrderEvent),
    FillRest {
        trade: u8,
        price_cents: i64,
        extra: i64,
    },
}

impl Step {
    fn event(&self, order: &Order) -> OrderEvent {
        match self {
            Step::Event(e) => e.clone(),
            Step::FillRest {
                trade,
                price_cents,
                extra,
            } => OrderEvent::Fill {
                trade_id: format!("t{trade}"),
                quantity: order.remaining() + Decimal::new(*extra, 2),
                price: Decimal::new(*price_cents, 2),
                fee: Decimal::new(1, 2),
            },
        }
    }
}

fn arb_step() -> impl Strategy<Value = Step> {
    let fill = (0u8..8, 0i64..=120, 0u32..=2, 0i64..=11_000, -5i64..=100).prop_map(
        |(id, q, q_scale, p_cents, fee_cents)| OrderEvent::Fill {
            // A small pool of ids, so fills repeat earlier ones.
            trade_id: format!("t{id}"),
            quantity: Decimal::new(q, q_scale),
            price: Decimal::new(p_cents, 2),
            fee: Decimal::new(fee_cents, 2),
        },
    );
    let fill_rest = (
        0u8..8,
        9_000i64..=11_000,
        prop::sample::select(vec![0i64, 0, 0, 1]),
    )
        .prop_map(|(trade, price_cents, extra)| Step::FillRest {
            trade,
            price_cents,
            extra,
        });
    prop_oneof![
        8 => fill.prop_map(Step::Event),
        2 => fill_rest,
        2 => Just(Step::Event(OrderEvent::Submitted)),
        2 => Just(Step::Event(OrderEvent::Accepted)),
        1 => Just(Step::Event(OrderEvent::CancelRequested)),
        1 => Just(Step::Event(OrderEvent::Canceled)),
        1 => "[a-z ]{0,12}".prop_map(|reason| Step::Event(OrderEvent::Rejected { reason })),
        1 => Just(Step::Event(OrderEvent::Expired)),
    ]
}

/// A fill as booked: quantity, price, fee.
type Booked = (Decimal, Decimal, Decimal);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn event_sequences_keep_the_order_consistent(
        mut order in arb_order(),
        head_start in prop::bool::ANY,
        steps in prop::collection::vec(arb_step(), 0..40),
    ) {
        let quantity = order.quantity;
        let mut booked: BTreeMap<String, Booked> = BTreeMap::new();
        // Half the orders start at the venue, so the later states are reached often.
        let head = if head_start {
            vec![Step::Event(OrderEvent::Submitted), Step::Event(OrderEvent::Accepted)]
        } else {
            Vec::new()
        };
        for step in head.iter().chain(&steps) {
            let event = &step.event(&order);
            let before = order.clone();
            let before_json = serde_json::to_string(&before).unwrap();
            let result = order.apply(event);
            match &result {
                Err(_) => {
                    prop_assert_eq!(&order, &before);
                    prop_assert_eq!(serde_json::to_string(&order).unwrap(), before_json.clone());
                }
                Ok(Applied::DuplicateFill) => {
                    let OrderEvent::Fill { trade_id, .. } = event else {
                        panic!("only fills are duplicates: {event:?}");
                    };
                    prop_assert!(before.trade_ids.contains(trade_id));
                    prop_assert_eq!(serde_json::to_string(&order).unwrap(), before_json.clone());
                }
                Ok(Applied::Changed { from, to }) => {
                    prop_assert_eq!(*from, before.state);
                    prop_assert_eq!(*to, order.state);
                    prop_assert_eq!(before.state.next(event, order.fill_level()), Ok(*to));
                    if let OrderEvent::Fill { trade_id, quantity, price, fee } = event {
                        prop_assert!(!before.trade_ids.contains(trade_id));
                        booked.insert(trade_id.clone(), (*quantity, *price, *fee));
                    }
                    if let OrderEvent::Rejected { reason } = event {
                        prop_assert_eq!(order.reject_reason.as_ref(), Some(reason));
                    }
                }
            }
            if before.state.is_terminal() {
                prop_assert_eq!(order.state, before.state);
                prop_assert!(result.is_err() || result == Ok(Applied::DuplicateFill));
            }

            let filled: Decimal = booked.values().map(|b| b.0).sum();
            let fees: Decimal = booked.values().map(|b| b.2).sum();
            prop_assert!(order.filled_quantity <= quantity);
            prop_assert_eq!(order.filled_quantity, filled);
            prop_assert_eq!(order.fees, fees);
            prop_assert_eq!(order.remaining(), quantity - filled);
            prop_assert_eq!(order.trade_ids.iter().collect::<Vec<_>>(), booked.keys().collect::<Vec<_>>());
            prop_assert_eq!(order.state == OrderState::Filled, filled == quantity);
            match (booked.values().map(|b| b.1).min(), booked.values().map(|b| b.1).max()) {
                (Some(lo), Some(hi)) => {
                    prop_assert!(lo <= order.avg_fill_price && order.avg_fill_price <= hi,
                        "avg {} outside [{}, {}]", order.avg_fill_price, lo, hi);
                    // And it is the volume-weighted price, to far below a ledger cent.
                    let notional: Decimal = booked.values().map(|b| b.0 * b.1).sum();
                    let exact = notional / filled;
                    prop_assert!((order.avg_fill_price - exact).abs() < Decimal::new(1, 18));
                }
                _ => prop_assert_eq!(order.avg_fill_price, Decimal::ZERO),
            }
        }
    }

    #[test]
    fn client_ids_are_valid_and_decode_for_any_id(ns in "\\PC{0,20}", id in any::<u64>()) {
        let c = ClientOrderId::for_order(&ns, OrderId(id));
        prop_assert!(c.as_str().len() <= 32);
        prop_assert_eq!(ClientOrderId::parse(c.as_str()), Ok(c.clone()));
        prop_assert_eq!(c.order_id(&ns), Some(OrderId(id)));
        if id > 0 {
            prop_assert_ne!(&c, &ClientOrderId::for_order(&ns, OrderId(id - 1)));
        }
    }
}
