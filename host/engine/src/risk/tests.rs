//! Scenario tests: inputs → exact verdict and reason, one per gate.

use super::*;
use flotilla_domain::{Fill, OrderAction, OrderId};
use rust_decimal_macros::dec;

pub(crate) fn intent(bot: &str, sym: &str, action: OrderAction) -> Intent {
    Intent {
        bot: bot.into(),
        symbol: sym.into(),
        action,
        confidence: 0.6,
        stop_loss: None,
        take_profit: None,
        trailing: None,
        scale_outs: Vec::new(),
        order_type: Default::default(),
        limit_price: None,
        time_in_force: Default::default(),
        tag: String::new(),
    }
}

pub(crate) fn fill(bot: &str, sym: &str, side: Side, q: Decimal, p: Decimal) -> Fill {
    Fill {
        order_id: OrderId(0),
        bot: bot.into(),
        symbol: sym.into(),
        side,
        quantity: q,
        price: p,
        fee: Decimal::ZERO,
        time: Timestamp(0),
        trade_id: String::new(),
        tag: String::new(),
    }
}

fn eval(
    e: &mut RiskEngine,
    pf: &Portfolio,
    i: &Intent,
    price: Decimal,
    budget: Decimal,
) -> Verdict {
    e.evaluate(i, &RiskInput::new(Timestamp(1_000), price, pf, budget))
}

#[test]
fn plain_buy_within_budget_is_approved() {
    let mut e = RiskEngine::new(RiskConfig::permissive());
    let pf = e.new_portfolio(dec!(100000));
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Buy(dec!(10))),
        dec!(100),
        dec!(5000),
    );
    assert_eq!(
        v,
        Verdict::Approved {
            side: Side::Buy,
            quantity: dec!(10)
        }
    );
}

#[test]
fn zero_delta_is_refused_as_no_change() {
    let mut e = RiskEngine::new(RiskConfig::permissive());
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(3), dec!(100)));
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Target(dec!(3))),
        dec!(100),
        dec!(5000),
    );
    assert_eq!(
        v,
        Verdict::Refused(RefusalReason::NoChange { current: dec!(3) }.into())
    );
    assert_eq!(v.code(), "no_change");
}

#[test]
fn opposite_side_of_another_bots_underlying_is_contradictory() {
    let mut e = RiskEngine::new(RiskConfig::permissive());
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(3), dec!(100)));
    let v = eval(
        &mut e,
        &pf,
        &intent("b", "X", OrderAction::Sell(dec!(1))),
        dec!(100),
        dec!(5000),
    );
    let want = RefusalReason::ContradictoryPosition {
        underlying: "X".into(),
        other_bot: "a".into(),
        side: Side::Sell,
    };
    assert_eq!(v, Verdict::Refused(want.into()));
    assert_eq!(v.refusal().unwrap().code(), "contradictory_position");
    // Same side is fine, and so is the holder itself reversing.
    let v = eval(
        &mut e,
        &pf,
        &intent("b", "X", OrderAction::Buy(dec!(1))),
        dec!(100),
        dec!(5000),
    );
    assert_eq!(v.code(), "approved");
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Target(dec!(-1))),
        dec!(100),
        dec!(5000),
    );
    assert_eq!(
        v,
        Verdict::Approved {
            side: Side::Sell,
            quantity: dec!(4)
        }
    );
}

#[test]
fn contradictory_uses_regex_underlying() {
    let cfg = RiskConfig {
        underlying: crate::UnderlyingRules::from_patterns(&[r"^(KX[A-Z]+-\w+)-[BT][\d.]+$"])
            .unwrap(),
        ..RiskConfig::permissive()
    };
    let mut e = RiskEngine::new(cfg);
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill(
        "a",
        "KXHIGHCHI-26FEB09-B38.5",
        Side::Buy,
        dec!(3),
        dec!(0.4),
    ));
    let i = intent("b", "KXHIGHCHI-26FEB09-B40.5", OrderAction::Sell(dec!(2)));
    let v = eval(&mut e, &pf, &i, dec!(0.3), dec!(5000));
    let want = RefusalReason::ContradictoryPosition {
        underlying: "KXHIGHCHI-26FEB09".into(),
        other_bot: "a".into(),
        side: Side::Sell,
    };
    assert_eq!(v, Verdict::Refused(want.into()));
}

#[test]
fn max_open_positions_global_and_per_bot() {
    let cfg = RiskConfig {
        max_open_positions: 3,
        max_open_positions_per_bot: 2,
        ..RiskConfig::permissive()
    };
    let mut e = RiskEngine::new(cfg);
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(1), dec!(10)));
    pf.apply_fill(&fill("a", "Y", Side::Buy, dec!(1), dec!(10)));
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "Z", OrderAction::Buy(dec!(1))),
        dec!(10),
        dec!(5000),
    );
    let want = RefusalReason::MaxOpenPositions {
        scope: Scope::Bot,
        limit: 2,
        open: 2,
    };
    assert_eq!(v, Verdict::Refused(want.into()));
    // Adding to an open position is not opening.
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Buy(dec!(1))),
        dec!(10),
        dec!(5000),
    );
    assert_eq!(v.code(), "approved");
    pf.apply_fill(&fill("b", "X", Side::Buy, dec!(1), dec!(10)));
    let v = eval(
        &mut e,
        &pf,
        &intent("c", "Z", OrderAction::Buy(dec!(1))),
        dec!(10),
        dec!(5000),
    );
    let want = RefusalReason::MaxOpenPositions {
        scope: Scope::Global,
        limit: 3,
        open: 3,
    };
    assert_eq!(v, Verdict::Refused(want.into()));
}

#[test]
fn per_bot_override_of_open_positions() {
    let mut cfg = RiskConfig {
        max_open_positions_per_bot: 5,
        ..RiskConfig::permissive()
    };
    cfg.bots.insert(
        "a".into(),
        BotRiskOverrides {
            max_open_positions: Some(1),
            ..Default::default()
        },
    );
    let mut e = RiskEngine::new(cfg);
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(1), dec!(10)));
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "Y", OrderAction::Buy(dec!(1))),
        dec!(10),
        dec!(5000),
    );
    assert_eq!(
        v.refusal().unwrap().reason,
        RefusalReason::MaxOpenPositions {
            scope: Scope::Bot,
            limit: 1,
            open: 1
        }
    );
}

#[test]
fn reconfigure_applies_new_overrides_and_keeps_the_trading_state() {
    let mut e = RiskEngine::new(RiskConfig::permissive());
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(1), dec!(10)));
    let buy_y = intent("a", "Y", OrderAction::Buy(dec!(1)));
    assert!(
        eval(&mut e, &pf, &buy_y, dec!(10), dec!(5000))
            .refusal()
            .is_none()
    );
    e.set_state(TradingState::Reducing, "operator", Timestamp(5));

    let mut cfg = RiskConfig::permissive();
    cfg.bots.insert(
        "a".into(),
        BotRiskOverrides {
            max_open_positions: Some(1),
            ..Default::default()
        },
    );
    e.reconfigure(cfg.clone()).unwrap();
    assert_eq!(e.config(), &cfg);
    assert_eq!(
        e.state().state,
        TradingState::Reducing,
        "the state survives"
    );
    e.set_state(TradingState::Active, "operator", Timestamp(6));
    assert_eq!(
        eval(&mut e, &pf, &buy_y, dec!(10), dec!(5000))
            .refusal()
            .unwrap()
            .reason,
        RefusalReason::MaxOpenPositions {
            scope: Scope::Bot,
            limit: 1,
            open: 1
        }
    );

    // Settings that shape the portfolio are refused, and nothing changes.
    let mut bad = RiskConfig::permissive();
    bad.quantity_decimals += 1;
    assert!(matches!(
        e.reconfigure(bad),
        Err(RiskConfigError::NeedsRestart("quantity_decimals"))
    ));
    let invalid = RiskConfig {
        daily_loss_pct: Some(7.0),
        ..RiskConfig::permissive()
    };
    assert!(e.reconfigure(invalid).is_err());
    assert_eq!(e.config(), &cfg);
}

#[test]
fn budget_resizes_then_refuses() {
    let mut e = RiskEngine::new(RiskConfig::permissive());
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "Y", Side::Buy, dec!(10), dec!(30)));
    // Budget 1000, 300 used elsewhere: 700 / 100 = 7 units.
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Buy(dec!(10))),
        dec!(100),
        dec!(1000),
    );
    assert_eq!(
        v,
        Verdict::Resized {
            side: Side::Buy,
            quantity: dec!(7),
            requested: dec!(10),
            reason: ResizeReason::Budget {
                budget: dec!(1000),
                used: dec!(300)
            },
        }
    );
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Buy(dec!(1))),
        dec!(100),
        dec!(300),
    );
    let want = RefusalReason::BudgetExhausted {
        budget: dec!(300),
        used: dec!(300),
        price: dec!(100),
    };
    assert_eq!(v, Verdict::Refused(want.into()));
    // Reducing is never cut by the budget.
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "Y", OrderAction::Sell(dec!(10))),
        dec!(30),
        dec!(0),
    );
    assert_eq!(
        v,
        Verdict::Approved {
            side: Side::Sell,
            quantity: dec!(10)
        }
    );
}

#[test]
fn budget_on_a_flip_keeps_the_reducing_part() {
    let mut e = RiskEngine::new(RiskConfig::permissive());
    let mut pf = e.new_portfolio(dec!(100000));
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(5), dec!(100)));
    // Target -10 = sell 15; budget 300 allows 3 short: sell 8.
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Target(dec!(-10))),
        dec!(100),
        dec!(300),
    );
    assert_eq!(v.order(), Some((Side::Sell, dec!(8))));
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Target(dec!(-10))),
        dec!(100),
        dec!(0),
    );
    assert_eq!(v.order(), Some((Side::Sell, dec!(5))));
}

#[test]
fn fractional_quantities_round_down() {
    let mut e = RiskEngine::new(RiskConfig {
        quantity_decimals: 2,
        ..RiskConfig::permissive()
    });
    let pf = e.new_portfolio(dec!(100000));
    let v = eval(
        &mut e,
        &pf,
        &intent("a", "X", OrderAction::Buy(dec!(1))),
        dec!(3),
        dec!(1),
    );
    assert_eq!(v.order(), Some((Side::Buy, dec!(0.33))));
}

#[test]
fn refusal_serialises_with_its_code() {
    let r: Refusal = RefusalReason::MaxOpenPositions {
        scope: Scope::Bot,
        limit: 2,
        open: 2,
    }
    .into();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["code"], "max_open_positions");
    assert_eq!(json["limit"], 2);
    assert_eq!(r.to_string(), "bot open positions 2 at limit 2");
    let back: Refusal = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}
