//! Scenario tests for the stage-2 gates: inputs → exact verdict and reason.

use super::tests::{fill, intent};
use super::*;
use crate::risk::config::RateLimit;
use flotilla_domain::{Bar, OrderAction, Timeframe};
use rust_decimal_macros::dec;

const MIN: i64 = 60_000;

fn engine(cfg: RiskConfig) -> (RiskEngine, Portfolio) {
    let e = RiskEngine::new(cfg);
    let pf = e.new_portfolio(dec!(100000));
    (e, pf)
}

fn buy(bot: &str, sym: &str, q: Decimal) -> Intent {
    intent(bot, sym, OrderAction::Buy(q))
}

fn refused(v: &Verdict) -> &RefusalReason {
    &v.refusal()
        .unwrap_or_else(|| panic!("expected refusal, got {v}"))
        .reason
}

#[test]
fn data_sanity_refuses_bad_stale_and_jumping_prices() {
    let (mut e, pf) = engine(RiskConfig {
        data: DataSanityConfig::default(),
        ..RiskConfig::permissive()
    });
    let i = buy("a", "X", dec!(1));
    let v = e.evaluate(
        &i,
        &RiskInput::from_f64(Timestamp(0), f64::NAN, &pf, dec!(1000)),
    );
    assert_eq!(
        refused(&v),
        &RefusalReason::BadPrice {
            price: "NaN".into()
        }
    );
    let v = e.evaluate(&i, &RiskInput::new(Timestamp(0), dec!(-1), &pf, dec!(1000)));
    assert_eq!(refused(&v), &RefusalReason::BadPrice { price: "-1".into() });

    let x: Symbol = "X".into();
    e.observe_price(&x, Timestamp(MIN), dec!(100));
    let v = e.evaluate(
        &i,
        &RiskInput::new(Timestamp(5 * MIN), dec!(100), &pf, dec!(1000)),
    );
    let want = RefusalReason::StalePrice {
        price_time: Timestamp(MIN),
        now: Timestamp(5 * MIN),
        max_age_ms: 180_000,
    };
    assert_eq!(refused(&v), &want);

    e.observe_price(&x, Timestamp(2 * MIN), dec!(140));
    let v = e.evaluate(
        &i,
        &RiskInput::new(Timestamp(2 * MIN), dec!(140), &pf, dec!(1000)),
    );
    let want = RefusalReason::PriceOutOfBand {
        price: dec!(140),
        reference: dec!(100),
        band: 0.25,
    };
    assert_eq!(refused(&v), &want);
    assert_eq!(v.code(), "price_out_of_band");

    e.observe_price(&x, Timestamp(3 * MIN), dec!(150));
    let v = e.evaluate(
        &i,
        &RiskInput::new(Timestamp(3 * MIN), dec!(150), &pf, dec!(1000)),
    );
    assert_eq!(
        v,
        Verdict::Approved {
            side: Side::Buy,
            quantity: dec!(1)
        }
    );

    let bad = Bar {
        time: Timestamp(3 * MIN),
        open: 1.0,
        high: f64::NAN,
        low: 1.0,
        close: 1.0,
        volume: 1.0,
    };
    e.observe_bar(&x, &bad, Timeframe::M1);
    let v = e.evaluate(
        &i,
        &RiskInput::new(Timestamp(4 * MIN), dec!(150), &pf, dec!(1000)),
    );
    assert_eq!(
        refused(&v),
        &RefusalReason::BadBar {
            why: "non-finite value in bar".into()
        }
    );
}

#[test]
fn halted_refuses_bot_orders_and_reducing_allows_only_reductions() {
    let (mut e, mut pf) = engine(RiskConfig::permissive());
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(10), dec!(100)));
    let rec = e.set_state(TradingState::Halted, "operator", Timestamp(5));
    assert_eq!(
        (rec.from, rec.to, rec.cause),
        (
            TradingState::Active,
            TradingState::Halted,
            StateCause::Manual
        )
    );
    let input = RiskInput::new(Timestamp(10), dec!(100), &pf, dec!(100000));
    let v = e.evaluate(&buy("a", "X", dec!(1)), &input);
    let want = RefusalReason::TradingState {
        state: TradingState::Halted,
        scope: Scope::Global,
        why: "operator".into(),
    };
    assert_eq!(refused(&v), &want);
    let v = e.evaluate(&intent("a", "X", OrderAction::Sell(dec!(4))), &input);
    assert_eq!(refused(&v), &want);

    e.set_state(TradingState::Reducing, "wind down", Timestamp(6));
    let v = e.evaluate(&intent("a", "X", OrderAction::Sell(dec!(4))), &input);
    assert_eq!(
        v,
        Verdict::Approved {
            side: Side::Sell,
            quantity: dec!(4)
        }
    );
    let v = e.evaluate(&intent("a", "X", OrderAction::Target(dec!(-5))), &input);
    let want = Verdict::Resized {
        side: Side::Sell,
        quantity: dec!(10),
        requested: dec!(15),
        reason: ResizeReason::TradingState {
            state: TradingState::Reducing,
        },
    };
    assert_eq!(v, want);
    assert_eq!(e.drain_state_changes().len(), 2);

    e.set_state(TradingState::Active, "resume", Timestamp(20));
    e.set_bot_state(
        &"a".into(),
        TradingState::Reducing,
        "crashed",
        Timestamp(20),
    );
    let v = e.evaluate(&buy("a", "Y", dec!(1)), &input);
    let want = RefusalReason::TradingState {
        state: TradingState::Reducing,
        scope: Scope::Bot,
        why: "crashed".into(),
    };
    assert_eq!(refused(&v), &want);
    assert_eq!(
        e.evaluate(&buy("b", "Y", dec!(1)), &input).code(),
        "approved"
    );
}

#[test]
fn daily_loss_halts_until_the_session_reset() {
    let cfg = RiskConfig {
        daily_loss_pct: Some(0.05),
        ..RiskConfig::permissive()
    };
    let (mut e, pf) = engine(cfg);
    let day = 86_400_000;
    assert!(
        e.mark_equity(Timestamp(day + 1000), dec!(100000))
            .is_empty()
    );
    assert!(e.mark_equity(Timestamp(day + 2000), dec!(96000)).is_empty());
    let ch = e.mark_equity(Timestamp(day + 3000), dec!(95000));
    assert_eq!(ch.len(), 1);
    assert_eq!(
        (ch[0].to, ch[0].cause),
        (TradingState::Halted, StateCause::DailyLoss)
    );
    let input = RiskInput::new(Timestamp(day + 4000), dec!(10), &pf, dec!(1000));
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &input).code(),
        "trading_state"
    );
    let ch = e.mark_equity(Timestamp(2 * day), dec!(95000));
    assert_eq!(
        (ch[0].to, ch[0].cause),
        (TradingState::Active, StateCause::SessionReset)
    );
    assert_eq!(e.equity_watch().session_start_equity, dec!(95000));
    let input = RiskInput::new(Timestamp(2 * day + 1), dec!(10), &pf, dec!(1000));
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &input).code(),
        "approved"
    );
}

#[test]
fn daily_loss_absolute_limit_can_enter_reducing() {
    let cfg = RiskConfig {
        daily_loss_limit: Some(dec!(500)),
        daily_loss_state: TradingState::Reducing,
        ..RiskConfig::permissive()
    };
    let (mut e, pf) = engine(cfg);
    let input = RiskInput::new(Timestamp(1), dec!(10), &pf, dec!(1000)).with_equity(dec!(10000));
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &input).code(),
        "approved"
    );
    let input = RiskInput::new(Timestamp(2), dec!(10), &pf, dec!(1000)).with_equity(dec!(9500));
    let v = e.evaluate(&buy("a", "X", dec!(1)), &input);
    let RefusalReason::TradingState { state, scope, why } = refused(&v) else {
        panic!("{v}")
    };
    assert_eq!((*state, *scope), (TradingState::Reducing, Scope::Global));
    assert_eq!(why, "daily loss 500 ≥ limit 500 (start 10000)");
}

#[test]
fn drawdown_halts_and_only_a_manual_resume_lifts_it() {
    let cfg = RiskConfig {
        max_drawdown_pct: Some(0.2),
        ..RiskConfig::permissive()
    };
    let (mut e, _) = engine(cfg);
    e.mark_equity(Timestamp(0), dec!(100000));
    e.mark_equity(Timestamp(1), dec!(120000));
    assert!(e.mark_equity(Timestamp(2), dec!(96001)).is_empty());
    let ch = e.mark_equity(Timestamp(3), dec!(96000));
    assert_eq!(
        (ch[0].to, ch[0].cause),
        (TradingState::Halted, StateCause::Drawdown)
    );
    assert!(
        e.mark_equity(Timestamp(86_400_000 * 3), dec!(96000))
            .is_empty()
    );
    assert_eq!(e.state().state, TradingState::Halted);
    e.set_state(TradingState::Active, "reviewed", Timestamp(86_400_000 * 3));
    assert_eq!(e.equity_watch().peak, dec!(96000));
    assert!(
        e.mark_equity(Timestamp(86_400_000 * 3 + 1), dec!(95000))
            .is_empty()
    );
}

#[test]
fn rate_limit_per_bot_and_global() {
    let cfg = RiskConfig {
        bot_rate_limit: Some(RateLimit {
            max_orders: 2,
            window_ms: MIN,
        }),
        global_rate_limit: Some(RateLimit {
            max_orders: 3,
            window_ms: MIN,
        }),
        ..RiskConfig::permissive()
    };
    let (mut e, pf) = engine(cfg);
    let at = |t| RiskInput::new(Timestamp(t), dec!(10), &pf, dec!(100000));
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &at(0)).code(),
        "approved"
    );
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &at(1)).code(),
        "approved"
    );
    let v = e.evaluate(&buy("a", "X", dec!(1)), &at(2));
    assert_eq!(
        refused(&v),
        &RefusalReason::RateLimited {
            scope: Scope::Bot,
            limit: 2,
            window_ms: MIN
        }
    );
    assert_eq!(
        e.evaluate(&buy("b", "X", dec!(1)), &at(3)).code(),
        "approved"
    );
    let v = e.evaluate(&buy("c", "X", dec!(1)), &at(4));
    assert_eq!(
        refused(&v),
        &RefusalReason::RateLimited {
            scope: Scope::Global,
            limit: 3,
            window_ms: MIN
        }
    );
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &at(MIN + 1)).code(),
        "approved"
    );
}

#[test]
fn reentry_cooldown_after_exit() {
    let cfg = RiskConfig {
        reentry_cooldown_ms: 5 * MIN,
        ..RiskConfig::permissive()
    };
    let (mut e, mut pf) = engine(cfg);
    let f = fill("a", "X", Side::Buy, dec!(2), dec!(10));
    let out = pf.apply_fill_detailed(&f);
    e.on_fill(&f, &out);
    let mut f = fill("a", "X", Side::Sell, dec!(2), dec!(11));
    f.time = Timestamp(MIN);
    let out = pf.apply_fill_detailed(&f);
    e.on_fill(&f, &out);
    let at = |t| RiskInput::new(Timestamp(t), dec!(10), &pf, dec!(100000));
    let v = e.evaluate(&buy("a", "X", dec!(1)), &at(2 * MIN));
    assert_eq!(
        refused(&v),
        &RefusalReason::Cooldown {
            exited_at: Timestamp(MIN),
            until: Timestamp(6 * MIN)
        }
    );
    assert_eq!(
        e.evaluate(&buy("b", "X", dec!(1)), &at(2 * MIN)).code(),
        "approved"
    );
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(1)), &at(6 * MIN)).code(),
        "approved"
    );
}

#[test]
fn losing_streak_halves_size_until_a_win() {
    let (mut e, mut pf) = engine(RiskConfig {
        loss_streak: LossStreakConfig {
            after: 3,
            factor: 0.5,
        },
        ..RiskConfig::permissive()
    });
    let mut trade = |e: &mut RiskEngine, exit: Decimal| {
        for (side, p) in [(Side::Buy, dec!(10)), (Side::Sell, exit)] {
            let f = fill("a", "Y", side, dec!(1), p);
            let out = pf.apply_fill_detailed(&f);
            e.on_fill(&f, &out);
        }
    };
    for _ in 0..3 {
        trade(&mut e, dec!(9));
    }
    let pf2 = e.new_portfolio(dec!(100000));
    let input = RiskInput::new(Timestamp(0), dec!(10), &pf2, dec!(100000));
    let v = e.evaluate(&buy("a", "X", dec!(9)), &input);
    let want = Verdict::Resized {
        side: Side::Buy,
        quantity: dec!(4.5),
        requested: dec!(9),
        reason: ResizeReason::LossStreak {
            losses: 3,
            factor: 0.5,
        },
    };
    assert_eq!(v, want);
    trade(&mut e, dec!(12));
    assert_eq!(
        e.evaluate(&buy("a", "X", dec!(9)), &input).code(),
        "approved"
    );
}

#[test]
fn quarter_kelly_caps_position_and_refuses_without_edge() {
    let kelly = KellyConfig {
        prior_payoff: 1.0,
        ..KellyConfig::default()
    };
    let (mut e, pf) = engine(RiskConfig {
        kelly,
        ..RiskConfig::permissive()
    });
    let mut i = buy("a", "X", dec!(100));
    i.confidence = 0.6; // full kelly 0.2, quarter 0.05 of a 10000 budget = 500 = 5 units
    let v = e.evaluate(
        &i,
        &RiskInput::new(Timestamp(0), dec!(100), &pf, dec!(10000)),
    );
    let Verdict::Resized {
        quantity,
        reason: ResizeReason::Kelly { notional, .. },
        ..
    } = v
    else {
        panic!("{v}")
    };
    assert_eq!((quantity, notional), (dec!(5), dec!(500)));
    i.confidence = 0.5;
    let v = e.evaluate(
        &i,
        &RiskInput::new(Timestamp(0), dec!(100), &pf, dec!(10000)),
    );
    assert_eq!(v.code(), "no_edge");
}

#[test]
fn order_symbol_and_gross_caps_resize() {
    let cfg = RiskConfig {
        max_order_notional: Some(dec!(1000)),
        ..RiskConfig::permissive()
    };
    let (mut e, pf) = engine(cfg);
    let v = e.evaluate(
        &buy("a", "X", dec!(20)),
        &RiskInput::new(Timestamp(0), dec!(100), &pf, dec!(100000)),
    );
    let want = Verdict::Resized {
        side: Side::Buy,
        quantity: dec!(10),
        requested: dec!(20),
        reason: ResizeReason::OrderNotional { limit: dec!(1000) },
    };
    assert_eq!(v, want);

    let (mut e, mut pf) = engine(RiskConfig {
        max_symbol_notional: Some(dec!(1000)),
        ..RiskConfig::permissive()
    });
    pf.apply_fill(&fill("b", "X", Side::Buy, dec!(5), dec!(90)));
    let v = e.evaluate(
        &buy("a", "X", dec!(10)),
        &RiskInput::new(Timestamp(0), dec!(100), &pf, dec!(100000)),
    );
    assert_eq!(v.order(), Some((Side::Buy, dec!(5))));
    assert!(
        matches!(v, Verdict::Resized { reason: ResizeReason::SymbolNotional { used, .. }, .. } if used == dec!(500))
    );

    let (mut e, mut pf) = engine(RiskConfig {
        max_gross_exposure_pct: Some(0.5),
        ..RiskConfig::permissive()
    });
    pf.apply_fill(&fill("b", "Y", Side::Buy, dec!(30), dec!(100)));
    let input = RiskInput::new(Timestamp(0), dec!(100), &pf, dec!(100000)).with_equity(dec!(10000));
    let v = e.evaluate(&buy("a", "X", dec!(50)), &input);
    let want = Verdict::Resized {
        side: Side::Buy,
        quantity: dec!(20),
        requested: dec!(50),
        reason: ResizeReason::GrossExposure {
            limit: dec!(5000),
            used: dec!(3000),
        },
    };
    assert_eq!(v, want);
}

#[test]
fn correlated_cluster_exposure_is_capped() {
    let corr = CorrelationConfig {
        threshold: 0.8,
        window: 50,
        min_samples: 10,
        max_cluster_pct: Some(0.3),
    };
    let (mut e, mut pf) = engine(RiskConfig {
        correlation: corr,
        ..RiskConfig::permissive()
    });
    for k in 0..30i64 {
        let x = ((k * 7919) % 13) as f64 / 100.0 - 0.06;
        e.observe_return(&"A".into(), Timestamp(k), x);
        e.observe_return(&"B".into(), Timestamp(k), 1.5 * x);
    }
    pf.apply_fill(&fill("b", "B", Side::Buy, dec!(100), dec!(20)));
    let input = RiskInput::new(Timestamp(0), dec!(10), &pf, dec!(100000)).with_equity(dec!(10000));
    let v = e.evaluate(&buy("a", "A", dec!(150)), &input);
    let want = Verdict::Resized {
        side: Side::Buy,
        quantity: dec!(100),
        requested: dec!(150),
        reason: ResizeReason::Correlation {
            limit: dec!(3000),
            used: dec!(2000),
            cluster: 2,
        },
    };
    assert_eq!(v, want);
    // An uncorrelated symbol is not capped.
    assert_eq!(
        e.evaluate(&buy("a", "C", dec!(150)), &input).code(),
        "approved"
    );
}

#[test]
fn host_exits_must_reduce_and_pass_when_halted() {
    let (mut e, mut pf) = engine(RiskConfig {
        data: DataSanityConfig::default(),
        ..RiskConfig::permissive()
    });
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(10), dec!(100)));
    e.set_state(TradingState::Halted, "halt", Timestamp(0));
    let x: Symbol = "X".into();
    e.observe_price(&x, Timestamp(MIN), dec!(100));
    e.observe_price(&x, Timestamp(2 * MIN), dec!(50)); // a crash: outside the band
    let input = RiskInput::new(Timestamp(2 * MIN), dec!(50), &pf, dec!(0));
    let exit = intent("a", "X", OrderAction::Sell(dec!(10)));
    assert_eq!(
        e.evaluate_exit(&exit, &input),
        Verdict::Approved {
            side: Side::Sell,
            quantity: dec!(10)
        }
    );
    assert_eq!(e.evaluate(&exit, &input).code(), "price_out_of_band");
    let v = e.evaluate_exit(&intent("a", "X", OrderAction::Buy(dec!(1))), &input);
    assert_eq!(
        refused(&v),
        &RefusalReason::NotReducing { current: dec!(10) }
    );
    let v = e.evaluate_exit(&intent("a", "X", OrderAction::Sell(dec!(15))), &input);
    assert_eq!(v.order(), Some((Side::Sell, dec!(10))));
}

#[test]
fn config_rejects_unknown_keys_and_bad_values() {
    let json = r#"{"max_open_positions": 5, "max_order_notional": 2500.5, "session_reset": {"time": "17:00", "tz": "America/New_York"}}"#;
    let cfg: RiskConfig = serde_json::from_str(json).unwrap();
    assert_eq!(cfg.max_order_notional, Some(dec!(2500.5)));
    assert!(RiskEngine::try_new(cfg).is_ok());
    assert!(serde_json::from_str::<RiskConfig>(r#"{"max_open_positionz": 5}"#).is_err());
    let bad = RiskConfig {
        daily_loss_pct: Some(1.5),
        ..RiskConfig::default()
    };
    assert!(matches!(
        RiskEngine::try_new(bad),
        Err(RiskConfigError::BadValue {
            field: "daily_loss_pct",
            ..
        })
    ));
    let round = serde_json::to_string(&RiskConfig::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<RiskConfig>(&round).unwrap(),
        RiskConfig::default()
    );
}

#[test]
fn memory_snapshot_round_trips_through_json() {
    let cfg = RiskConfig {
        reentry_cooldown_ms: 5 * MIN,
        ..RiskConfig::permissive()
    };
    let (mut e, mut pf) = engine(cfg.clone());
    for (side, t) in [(Side::Buy, 0), (Side::Sell, MIN)] {
        let mut f = fill("a", "X", side, dec!(2), dec!(10));
        f.time = Timestamp(t);
        let out = pf.apply_fill_detailed(&f);
        e.on_fill(&f, &out);
    }
    e.mark_equity(Timestamp(MIN), dec!(100000));
    e.set_bot_state(&"b".into(), TradingState::Halted, "crashed", Timestamp(MIN));
    let json = serde_json::to_string(&e.snapshot()).unwrap();
    let mut restored = RiskEngine::new(cfg);
    restored.restore(serde_json::from_str(&json).unwrap());
    assert_eq!(restored.snapshot(), e.snapshot());
    let input = RiskInput::new(Timestamp(2 * MIN), dec!(10), &pf, dec!(100000));
    assert_eq!(
        restored.evaluate(&buy("a", "X", dec!(1)), &input).code(),
        "cooldown"
    );
    assert_eq!(
        restored.evaluate(&buy("b", "Y", dec!(1)), &input).code(),
        "trading_state"
    );
}

#[test]
fn a_stale_feed_refuses_entries_and_lets_reductions_and_exits_pass() {
    let (mut e, mut pf) = engine(RiskConfig::permissive());
    pf.apply_fill(&fill("a", "X", Side::Buy, dec!(10), dec!(100)));
    let x: Symbol = "X".into();
    e.observe_price(&x, Timestamp(MIN), dec!(100));
    e.set_feed_stale(&x, true);
    assert!(e.feed_stale(&x));
    let input = RiskInput::new(Timestamp(MIN), dec!(100), &pf, dec!(100000));
    let v = e.evaluate(&buy("a", "X", dec!(1)), &input);
    assert_eq!(refused(&v), &RefusalReason::StaleFeed { symbol: x.clone() });
    assert_eq!(v.code(), "stale_feed");
    // Another bot opening the symbol: refused too.
    assert_eq!(
        e.evaluate(&buy("b", "X", dec!(1)), &input).code(),
        "stale_feed"
    );
    // Reducing the held position, by the bot or by a host exit: allowed.
    let sell = intent("a", "X", OrderAction::Sell(dec!(4)));
    assert_eq!(
        e.evaluate(&sell, &input).order(),
        Some((Side::Sell, dec!(4)))
    );
    assert_eq!(
        e.evaluate_exit(&sell, &input).order(),
        Some((Side::Sell, dec!(4)))
    );
    e.set_feed_stale(&x, false);
    assert!(
        e.evaluate(&buy("b", "X", dec!(1)), &input)
            .order()
            .is_some()
    );
}
