//! The paper venue against hand-computed scenarios, each on a real SQLite file.

mod common;

use common::*;
use flotilla_broker::{Broker, PaperBroker};
use flotilla_domain::{OrderId, OrderRequest, OrderState, Side, Symbol, TimeInForce, Timestamp};
use flotilla_venue_paper::{
    CancelOutcome, INSUFFICIENT_CASH, INSUFFICIENT_POSITION, VenueConfig, VenueEventKind,
    VenueOrderRequest,
};
use rust_decimal_macros::dec;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn aapl() -> Symbol {
    Symbol::new("AAPL")
}

fn limit(
    name: &str,
    side: Side,
    qty: rust_decimal::Decimal,
    price: rust_decimal::Decimal,
) -> VenueOrderRequest {
    VenueOrderRequest::limit(id(name), aapl(), side, qty, price)
}

fn market(name: &str, side: Side, qty: rust_decimal::Decimal) -> VenueOrderRequest {
    VenueOrderRequest::market(id(name), aapl(), side, qty)
}

#[test]
fn a_limit_buy_rests_then_fills_at_the_limit_when_a_bar_crosses_it() {
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    let o = v
        .submit(&limit("l1", Side::Buy, dec!(10), dec!(99)), Timestamp(0))
        .unwrap();
    assert_eq!(
        (o.state, o.filled_quantity),
        (OrderState::Accepted, dec!(0))
    );
    // The low stays above the limit: it rests.
    assert!(
        v.on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.5, 1000.0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(v.open_orders().unwrap().len(), 1);
    // The low reaches 98.5 from an open of 100: filled at the limit, no slippage.
    let events = v
        .on_bar(&aapl(), &bar(MINUTE, 100.0, 100.5, 98.5, 1000.0))
        .unwrap();
    assert_eq!(kinds(&events), [("l1".to_string(), "fill")]);
    // 990 × 5 bps = 0.495 → 0.50.
    assert_eq!(
        fill_of(&events[0]),
        (dec!(10), dec!(99), dec!(0.50), dec!(10))
    );
    let o = v.order(&id("l1")).unwrap().unwrap();
    assert_eq!(
        (o.state, o.avg_price, o.fees),
        (OrderState::Filled, dec!(99), dec!(0.50))
    );
    assert_eq!(o.fills[0].trade_id, "pv-1");
    assert_eq!(o.fills[0].time, Timestamp(MINUTE));
    assert_eq!(v.cash().unwrap(), dec!(10_000) - dec!(990) - dec!(0.50));
    assert_eq!(v.positions().unwrap()[&aapl()], dec!(10));
    assert_eq!(v.position_details().unwrap()[&aapl()].avg_price, dec!(99));
    assert!(v.open_orders().unwrap().is_empty());
}

#[test]
fn a_limit_buy_gapped_through_fills_at_the_better_open() {
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    v.submit(&limit("l1", Side::Buy, dec!(10), dec!(99)), Timestamp(0))
        .unwrap();
    let events = v
        .on_bar(&aapl(), &bar(0, 97.0, 98.0, 96.0, 1000.0))
        .unwrap();
    // 970 × 5 bps = 0.485 → 0.48 (half to even).
    assert_eq!(
        fill_of(&events[0]),
        (dec!(10), dec!(97), dec!(0.48), dec!(10))
    );
    // A sell limit mirrors it on the high: 2 of the 10 at the limit 101 from an open of 100.
    v.submit(
        &limit("s1", Side::Sell, dec!(2), dec!(101)),
        Timestamp(MINUTE),
    )
    .unwrap();
    let events = v
        .on_bar(&aapl(), &bar(MINUTE, 100.0, 101.5, 99.0, 1000.0))
        .unwrap();
    assert_eq!(
        fill_of(&events[0]),
        (dec!(2), dec!(101), dec!(0.10), dec!(2))
    );
    assert_eq!(v.positions().unwrap()[&aapl()], dec!(8));
}

#[test]
fn a_resting_order_is_canceled_and_never_fills() {
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    v.submit(&limit("l1", Side::Buy, dec!(10), dec!(90)), Timestamp(0))
        .unwrap();
    assert!(
        v.on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.0, 1000.0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        v.cancel(&id("l1"), Timestamp(MINUTE)).unwrap(),
        CancelOutcome::Canceled
    );
    assert!(
        v.on_bar(&aapl(), &bar(2 * MINUTE, 85.0, 86.0, 80.0, 1000.0))
            .unwrap()
            .is_empty()
    );
    let o = v.order(&id("l1")).unwrap().unwrap();
    assert_eq!((o.state, o.fills.len()), (OrderState::Canceled, 0));
    assert_eq!(
        v.cancel(&id("l1"), Timestamp(3 * MINUTE)).unwrap(),
        CancelOutcome::NotCancelable(OrderState::Canceled)
    );
    assert_eq!(
        v.cancel(&id("never"), Timestamp(0)).unwrap(),
        CancelOutcome::Unknown
    );
    assert_eq!(v.cash().unwrap(), dec!(10_000));
    let all: Vec<_> = v
        .events_since(0)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.kind)
        .collect();
    assert_eq!(all, [VenueEventKind::Accepted, VenueEventKind::Canceled]);
}

#[test]
fn a_day_order_expires_at_its_time_by_bar_or_by_clock() {
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    let end = 5 * MINUTE;
    for name in ["d1", "d2"] {
        let req = VenueOrderRequest {
            time_in_force: TimeInForce::Day,
            expires_at: Some(Timestamp(end)),
            ..limit(name, Side::Buy, dec!(1), dec!(90))
        };
        v.submit(&req, Timestamp(0)).unwrap();
    }
    assert!(v.expire_due(Timestamp(end - 1)).unwrap().is_empty());
    // A bar starting at the expiry crosses both limits, but the expiry comes first.
    let events = v
        .on_bar(&aapl(), &bar(end, 80.0, 81.0, 79.0, 1000.0))
        .unwrap();
    assert_eq!(
        kinds(&events),
        [("d1".into(), "expired"), ("d2".into(), "expired")]
    );
    let d1 = v.order(&id("d1")).unwrap().unwrap();
    assert_eq!((d1.state, d1.fills.len()), (OrderState::Expired, 0));
    // By the clock, for orders of any symbol.
    let req = VenueOrderRequest {
        expires_at: Some(Timestamp(end + MINUTE)),
        ..VenueOrderRequest::limit(id("d3"), "MSFT".into(), Side::Buy, dec!(1), dec!(90))
    };
    v.submit(&req, Timestamp(end)).unwrap();
    let events = v.expire_due(Timestamp(end + MINUTE)).unwrap();
    assert_eq!(kinds(&events), [("d3".into(), "expired")]);
    assert_eq!(
        v.order(&id("d3")).unwrap().unwrap().reason.as_deref(),
        Some("expired at 360000ms")
    );
}

#[test]
fn an_ioc_fills_what_the_volume_allows_and_the_rest_expires() {
    let (_dir, _path, v) = temp_venue(VenueConfig {
        partial_fill_fraction: Some(0.1),
        ..config(dec!(10_000))
    });
    let req = VenueOrderRequest {
        time_in_force: TimeInForce::Ioc,
        ..limit("i1", Side::Buy, dec!(10), dec!(99))
    };
    v.submit(&req, Timestamp(0)).unwrap();
    // 10% of 30 = 3 units at the open 98; 294 × 5 bps = 0.147 → 0.15.
    let events = v.on_bar(&aapl(), &bar(0, 98.0, 99.5, 97.0, 30.0)).unwrap();
    assert_eq!(
        kinds(&events),
        [("i1".into(), "fill"), ("i1".into(), "expired")]
    );
    assert_eq!(
        fill_of(&events[0]),
        (dec!(3), dec!(98), dec!(0.15), dec!(3))
    );
    let o = v.order(&id("i1")).unwrap().unwrap();
    assert_eq!((o.state, o.filled_quantity), (OrderState::Expired, dec!(3)));
    assert_eq!(o.reason.as_deref(), Some("ioc: 7 of 10 unfilled"));
    assert_eq!(v.positions().unwrap()[&aapl()], dec!(3));
}

#[test]
fn a_fok_the_volume_cannot_fill_whole_is_refused() {
    let (_dir, _path, v) = temp_venue(VenueConfig {
        partial_fill_fraction: Some(0.1),
        ..config(dec!(10_000))
    });
    let req = VenueOrderRequest {
        time_in_force: TimeInForce::Fok,
        ..market("f1", Side::Buy, dec!(10))
    };
    v.submit(&req, Timestamp(0)).unwrap();
    let events = v
        .on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.0, 30.0))
        .unwrap();
    assert_eq!(kinds(&events), [("f1".into(), "expired")]);
    let o = v.order(&id("f1")).unwrap().unwrap();
    assert_eq!((o.state, o.filled_quantity), (OrderState::Expired, dec!(0)));
    assert_eq!(o.reason.as_deref(), Some("fok: 3 of 10 available"));
    assert_eq!(v.cash().unwrap(), dec!(10_000));
    assert!(v.positions().unwrap().is_empty());
    // With enough volume a FOK fills whole.
    let req = VenueOrderRequest {
        time_in_force: TimeInForce::Fok,
        ..market("f2", Side::Buy, dec!(10))
    };
    v.submit(&req, Timestamp(MINUTE)).unwrap();
    let events = v
        .on_bar(&aapl(), &bar(MINUTE, 100.0, 101.0, 99.0, 100.0))
        .unwrap();
    assert_eq!(fill_of(&events[0]).0, dec!(10));
}

#[test]
fn market_orders_fill_at_the_next_open_exactly_as_the_paper_broker() {
    for (open, qty) in [
        (100.0, dec!(10)),
        (123.456789, dec!(3.5)),
        (0.3, dec!(1000)),
    ] {
        let (_dir, _path, v) = temp_venue(config(dec!(1_000_000)));
        let mut paper = PaperBroker::new(costs(), dec!(1_000_000));
        for (n, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
            let t = n as i64 * MINUTE;
            let name = format!("m{n}");
            v.submit(&market(&name, side, qty), Timestamp(t)).unwrap();
            let events = v
                .on_bar(&aapl(), &bar(t, open, open * 1.01, open * 0.99, 1e9))
                .unwrap();
            let request = OrderRequest {
                id: OrderId(n as u64),
                client_id: flotilla_domain::ClientOrderId::for_order("t", OrderId(n as u64)),
                exit: false,
                bot: "b".into(),
                symbol: aapl(),
                side,
                quantity: qty,
                time: Timestamp(t),
                tag: String::new(),
            };
            let want = paper.submit(&request, open, Timestamp(t)).unwrap();
            let (q, price, fee, _) = fill_of(&events[0]);
            assert_eq!(
                (q, price, fee),
                (want.quantity, want.price, want.fee),
                "{open} {side:?}"
            );
            // Same text too, so ledgers print the same.
            assert_eq!(price.to_string(), want.price.to_string());
        }
        assert_eq!(v.cash().unwrap(), paper.cash(), "{open}");
    }
    // By hand for the first: 100 + 10 bps = 100.1; 1001 × 5 bps = 0.5005 → 0.50.
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    v.submit(&market("m", Side::Buy, dec!(10)), Timestamp(0))
        .unwrap();
    let events = v
        .on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.0, 1000.0))
        .unwrap();
    assert_eq!(
        fill_of(&events[0]),
        (dec!(10), dec!(100.1), dec!(0.50), dec!(10))
    );
}

#[test]
fn ticks_fill_markets_like_the_paper_broker_and_limits_once_reached() {
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    v.submit(&limit("l", Side::Buy, dec!(5), dec!(99)), Timestamp(0))
        .unwrap();
    assert!(v.on_price(&aapl(), 99.2, Timestamp(1)).unwrap().is_empty());
    let events = v.on_price(&aapl(), 98.7, Timestamp(2)).unwrap();
    // 493.5 × 5 bps = 0.24675 → 0.25.
    assert_eq!(
        fill_of(&events[0]),
        (dec!(5), dec!(98.7), dec!(0.25), dec!(5))
    );
    assert_eq!(events[0].time, Timestamp(2));
    v.submit(&market("m", Side::Sell, dec!(5)), Timestamp(3))
        .unwrap();
    let events = v.on_price(&aapl(), 100.0, Timestamp(3)).unwrap();
    assert_eq!(fill_of(&events[0]).1, dec!(99.9));
}

#[test]
fn a_cash_account_refuses_buys_without_cash_and_sells_without_a_position() {
    let (_dir, _path, v) = temp_venue(config(dec!(1_000)));
    // A limit buy's cost is known: refused at once.
    let o = v
        .submit(&limit("b1", Side::Buy, dec!(10), dec!(100)), Timestamp(0))
        .unwrap();
    assert_eq!(
        (o.state, o.reason.as_deref()),
        (OrderState::Rejected, Some(INSUFFICIENT_CASH))
    );
    // A sell of nothing held, and a short, likewise.
    let o = v
        .submit(&market("s1", Side::Sell, dec!(1)), Timestamp(0))
        .unwrap();
    assert_eq!(
        (o.state, o.reason.as_deref()),
        (OrderState::Rejected, Some(INSUFFICIENT_POSITION))
    );
    // A market buy's price is only known at its fill: refused there, the order canceled.
    let o = v
        .submit(&market("b2", Side::Buy, dec!(10)), Timestamp(0))
        .unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    let events = v
        .on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.0, 1000.0))
        .unwrap();
    assert_eq!(kinds(&events), [("b2".into(), "canceled")]);
    let o = v.order(&id("b2")).unwrap().unwrap();
    assert_eq!(
        (o.state, o.reason.as_deref()),
        (OrderState::Canceled, Some(INSUFFICIENT_CASH))
    );
    assert_eq!(v.cash().unwrap(), dec!(1_000));
    // What the cash covers fills; then a sell of more than held is refused.
    v.submit(&market("b3", Side::Buy, dec!(9)), Timestamp(MINUTE))
        .unwrap();
    v.on_bar(&aapl(), &bar(MINUTE, 100.0, 101.0, 99.0, 1000.0))
        .unwrap();
    assert_eq!(v.positions().unwrap()[&aapl()], dec!(9));
    let o = v
        .submit(&market("s2", Side::Sell, dec!(9.5)), Timestamp(MINUTE))
        .unwrap();
    assert_eq!(o.reason.as_deref(), Some(INSUFFICIENT_POSITION));
    let o = v
        .submit(&market("s3", Side::Sell, dec!(9)), Timestamp(MINUTE))
        .unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    assert!(v.cash().unwrap() >= dec!(0));
    let rejected: Vec<_> = v
        .events_since(0)
        .unwrap()
        .into_iter()
        .filter_map(|(_, e)| match e.kind {
            VenueEventKind::Rejected { reason } => Some((e.client_id.to_string(), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejected,
        [
            ("b1".to_string(), INSUFFICIENT_CASH.to_string()),
            ("s1".to_string(), INSUFFICIENT_POSITION.to_string()),
            ("s2".to_string(), INSUFFICIENT_POSITION.to_string()),
        ]
    );
}

#[test]
fn the_same_client_id_three_times_is_one_order_with_one_set_of_fills() {
    let (_dir, _path, v) = temp_venue(config(dec!(10_000)));
    let req = market("dup", Side::Buy, dec!(10));
    let first = v.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(v.submit(&req, Timestamp(1)).unwrap(), first, "unchanged");
    v.on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.0, 1000.0))
        .unwrap();
    let filled = v.order(&id("dup")).unwrap().unwrap();
    // After the fill a resend still is that order, filled: it does not trade again.
    assert_eq!(v.submit(&req, Timestamp(MINUTE)).unwrap(), filled);
    v.on_bar(&aapl(), &bar(MINUTE, 100.0, 101.0, 99.0, 1000.0))
        .unwrap();
    assert_eq!(v.submissions(&id("dup")).unwrap(), 3);
    assert_eq!(v.duplicate_submissions().unwrap(), 2);
    let o = v.order(&id("dup")).unwrap().unwrap();
    assert_eq!((o.state, o.fills.len()), (OrderState::Filled, 1));
    assert_eq!(v.positions().unwrap()[&aapl()], dec!(10));
    let all: Vec<_> = v
        .events_since(0)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.kind.name())
        .collect();
    assert_eq!(all, ["accepted", "fill"]);
    assert_eq!(v.submissions(&id("other")).unwrap(), 0);
}

#[test]
fn partial_fills_across_bars_rise_to_the_quantity_then_the_order_is_filled() {
    let (_dir, _path, v) = temp_venue(VenueConfig {
        partial_fill_fraction: Some(0.1),
        ..config(dec!(10_000))
    });
    v.submit(&market("p", Side::Buy, dec!(10)), Timestamp(0))
        .unwrap();
    let mut cumulative = Vec::new();
    for (n, open) in [100.0, 101.0, 102.0].into_iter().enumerate() {
        let t = n as i64 * MINUTE;
        let events = v
            .on_bar(&aapl(), &bar(t, open, open + 1.0, open - 1.0, 40.0))
            .unwrap();
        assert_eq!(events.len(), 1);
        cumulative.push(fill_of(&events[0]).3);
        let state = v.order(&id("p")).unwrap().unwrap().state;
        let want = if n < 2 {
            OrderState::PartiallyFilled
        } else {
            OrderState::Filled
        };
        assert_eq!(state, want);
    }
    assert_eq!(cumulative, [dec!(4), dec!(8), dec!(10)]);
    let o = v.order(&id("p")).unwrap().unwrap();
    let ids: Vec<_> = o.fills.iter().map(|f| f.trade_id.as_str()).collect();
    assert_eq!(ids, ["pv-1", "pv-2", "pv-3"]);
    // (4 × 100.1 + 4 × 101.101 + 2 × 102.102) / 10, prices slipped 10 bps.
    assert_eq!(o.avg_price, dec!(100.9008));
    assert!(
        v.on_bar(&aapl(), &bar(3 * MINUTE, 100.0, 101.0, 99.0, 40.0))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_stalled_submit_holds_up_no_other_call() {
    let (_dir, _path, v) = temp_venue(VenueConfig {
        stall: Some(Duration::from_millis(400)),
        ..config(dec!(10_000))
    });
    let v = Arc::new(v);
    let stalled = {
        let v = v.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            v.submit(&market("slow", Side::Buy, dec!(1)), Timestamp(0))
                .unwrap();
            start.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    v.on_price(&aapl(), 100.0, Timestamp(0)).unwrap();
    v.cash().unwrap();
    let quick = start.elapsed();
    let slow = stalled.join().unwrap();
    assert!(slow >= Duration::from_millis(400), "{slow:?}");
    assert!(quick < Duration::from_millis(200), "{quick:?}");
}
