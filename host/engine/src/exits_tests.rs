//! Unit tests of the exit book: stops, targets, trails, scale-outs and snapshots.

use super::*;
use flotilla_domain::OrderId;
use rust_decimal_macros::dec;

fn bar(t: i64, high: f64, low: f64) -> Bar {
    Bar {
        time: Timestamp(t),
        open: low,
        high,
        low,
        close: high,
        volume: 1.0,
    }
}

fn enter(book: &mut ExitBook, side: Side, qty: Decimal, price: Decimal) -> Position {
    let mut pos = Position::default();
    pos.apply(side, qty, price, Decimal::ZERO);
    let f = Fill {
        order_id: OrderId(1),
        bot: "a".into(),
        symbol: "X".into(),
        side,
        quantity: qty,
        price,
        fee: Decimal::ZERO,
        time: Timestamp(0),
        trade_id: String::new(),
        tag: String::new(),
    };
    book.on_fill(&f, Some(&pos));
    pos
}

#[test]
fn asks_for_an_atr_only_while_an_atr_trail_is_managed() {
    let mut book = ExitBook::new(0);
    let (a, x): (BotId, Symbol) = ("a".into(), "X".into());
    let trail = |distance| ExitPlan {
        trailing: Some(TrailingStop {
            distance,
            activate_at_r: None,
        }),
        ..Default::default()
    };
    book.set_plan(&a, &x, trail(TrailDistance::Atr(2.0)));
    assert!(!book.needs_atr(&x), "armed, not yet managing a position");
    let pos = enter(&mut book, Side::Buy, dec!(10), dec!(100));
    assert!(book.needs_atr(&x));
    assert!(!book.needs_atr(&"Y".into()));
    book.set_plan(&a, &x, trail(TrailDistance::Percent(0.01)));
    assert!(!book.needs_atr(&x), "replaced by a percent trail");
    book.set_plan(&a, &x, trail(TrailDistance::Atr(3.0)));
    assert!(book.needs_atr(&x));
    let mut flat = pos.clone();
    flat.apply(Side::Sell, dec!(10), dec!(101), Decimal::ZERO);
    let f = Fill {
        order_id: OrderId(2),
        bot: a.clone(),
        symbol: x.clone(),
        side: Side::Sell,
        quantity: dec!(10),
        price: dec!(101),
        fee: Decimal::ZERO,
        time: Timestamp(1),
        trade_id: String::new(),
        tag: String::new(),
    };
    book.on_fill(&f, Some(&flat));
    assert!(!book.needs_atr(&x), "position closed");
}

#[test]
fn a_restored_book_fires_the_same_exits_as_the_original() {
    let mut book = ExitBook::new(0);
    let (a, x): (BotId, Symbol) = ("a".into(), "X".into());
    let plan = ExitPlan {
        stop_loss: Some(dec!(95)),
        take_profit: Some(dec!(120)),
        trailing: Some(TrailingStop {
            distance: TrailDistance::Percent(0.02),
            activate_at_r: Some(1.0),
        }),
        scale_outs: vec![ScaleOut {
            at_r: 1.0,
            fraction: 0.5,
        }],
    };
    book.set_plan(&a, &x, plan.clone());
    book.set_plan(&a, &"Y".into(), plan);
    enter(&mut book, Side::Buy, dec!(10), dec!(100));
    // Scale out at 105 (1R) and arm the trail at the best price 108.
    assert_eq!(book.on_bar(&x, &bar(1, 108.0, 101.0), None).len(), 1);
    let snap = book.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    let mut restored = ExitBook::restore(0, serde_json::from_str(&json).unwrap());
    assert_eq!(
        restored.snapshot(),
        snap,
        "armed plan for Y and managed X survive"
    );
    assert_eq!(restored.trail(&a, &x), book.trail(&a, &x));
    assert!(restored.trail(&a, &x).is_some());
    for (i, (h, l)) in [(107.0, 106.5), (106.0, 105.0), (104.0, 100.0)]
        .iter()
        .enumerate()
    {
        let t = 2 + i as i64;
        assert_eq!(
            restored.on_bar(&x, &bar(t, *h, *l), None),
            book.on_bar(&x, &bar(t, *h, *l), None)
        );
    }
}

#[test]
fn stop_and_target_close_everything() {
    let mut book = ExitBook::new(0);
    let (a, x): (BotId, Symbol) = ("a".into(), "X".into());
    book.set_plan(
        &a,
        &x,
        ExitPlan {
            stop_loss: Some(dec!(95)),
            take_profit: Some(dec!(110)),
            ..Default::default()
        },
    );
    enter(&mut book, Side::Buy, dec!(10), dec!(100));
    assert!(book.on_bar(&x, &bar(1, 105.0, 96.0), None).is_empty());
    let out = book.on_bar(&x, &bar(2, 111.0, 94.0), None);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].side, out[0].quantity, out[0].reason, out[0].trigger),
        (Side::Sell, dec!(10), ExitReason::StopLoss, dec!(95))
    );
    assert_eq!(out[0].to_intent().tag, "exit:stop_loss");
    // Not re-issued while the close is in flight; again after a failure.
    assert!(book.on_bar(&x, &bar(3, 100.0, 90.0), None).is_empty());
    book.exit_failed(&a, &x);
    assert_eq!(book.on_bar(&x, &bar(4, 100.0, 90.0), None).len(), 1);
}

#[test]
fn short_take_profit() {
    let mut book = ExitBook::new(0);
    let (a, x): (BotId, Symbol) = ("a".into(), "X".into());
    book.set_plan(
        &a,
        &x,
        ExitPlan {
            stop_loss: Some(dec!(105)),
            take_profit: Some(dec!(90)),
            ..Default::default()
        },
    );
    enter(&mut book, Side::Sell, dec!(4), dec!(100));
    let out = book.on_bar(&x, &bar(1, 101.0, 89.5), None);
    assert_eq!(
        (out[0].side, out[0].quantity, out[0].reason),
        (Side::Buy, dec!(4), ExitReason::TakeProfit)
    );
}

#[test]
fn scaled_exits_then_atr_trail() {
    let mut book = ExitBook::new(0);
    let (a, x): (BotId, Symbol) = ("a".into(), "X".into());
    book.set_plan(&a, &x, ExitPlan::scaled(dec!(90), 1.5));
    enter(&mut book, Side::Buy, dec!(100), dec!(100));
    // 1R = 110: 33 off; the trail arms at 1R: 110 − 1.5 × 2 = 107.
    let out = book.on_bar(&x, &bar(1, 110.0, 101.0), Some(2.0));
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].quantity, out[0].reason),
        (
            dec!(33),
            ExitReason::ScaleOut {
                level: 0,
                at_r: 1.0
            }
        )
    );
    assert_eq!(book.trail(&a, &x), Some(dec!(107)));
    // The fill comes back: 67 left.
    let mut pos = Position::default();
    pos.apply(Side::Buy, dec!(67), dec!(100), Decimal::ZERO);
    let f = Fill {
        order_id: OrderId(2),
        bot: a.clone(),
        symbol: x.clone(),
        side: Side::Sell,
        quantity: dec!(33),
        price: dec!(110),
        fee: Decimal::ZERO,
        time: Timestamp(1),
        trade_id: String::new(),
        tag: String::new(),
    };
    book.on_fill(&f, Some(&pos));
    // 2R = 120: another 33; trail ratchets to 121 − 3 = 118.
    let out = book.on_bar(&x, &bar(2, 121.0, 112.0), Some(2.0));
    assert_eq!(
        (out[0].quantity, out[0].reason),
        (
            dec!(33),
            ExitReason::ScaleOut {
                level: 1,
                at_r: 2.0
            }
        )
    );
    assert_eq!(book.trail(&a, &x), Some(dec!(118)));
    pos.apply(Side::Sell, dec!(33), dec!(120), Decimal::ZERO);
    book.on_fill(
        &Fill {
            quantity: dec!(33),
            ..f.clone()
        },
        Some(&pos),
    );
    // The trail takes the rest.
    let out = book.on_bar(&x, &bar(3, 119.0, 117.5), Some(2.0));
    assert_eq!(
        (out[0].quantity, out[0].reason, out[0].trigger),
        (dec!(34), ExitReason::TrailingStop, dec!(118))
    );
    book.on_fill(
        &Fill {
            quantity: dec!(34),
            ..f
        },
        None,
    );
    assert_eq!(book.managed(), 0);
}
