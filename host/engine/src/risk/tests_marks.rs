//! The quiet-mark shortcut of [`RiskEngine::mark_equity`] is only a shortcut: over random
//! limits, equity paths, sessions and manual resumes, an engine that takes it reports the
//! same state changes and keeps the same memory as one that marks every equity in full.

use super::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn config(abs: Option<i64>, daily: Option<u32>, drawdown: Option<u32>) -> RiskConfig {
    RiskConfig {
        daily_loss_limit: abs.map(Decimal::from),
        daily_loss_pct: daily.map(|p| f64::from(p) / 100.0),
        max_drawdown_pct: drawdown.map(|p| f64::from(p) / 100.0),
        ..RiskConfig::permissive()
    }
}

proptest! {
    // Whole-dollar equity near whole-dollar limits: marks land on the trip levels exactly.
    #[test]
    fn quiet_marks_change_nothing_a_full_mark_would(
        abs in proptest::option::of(20i64..400),
        daily in proptest::option::of(1u32..6),
        drawdown in proptest::option::of(1u32..8),
        steps in proptest::collection::vec(
            (0i64..240, -60i64..60, proptest::option::weighted(0.1, any::<bool>())),
            1..400,
        ),
    ) {
        let cfg = config(abs, daily, drawdown);
        let mut fast = RiskEngine::new(cfg.clone());
        let mut full = RiskEngine::new(cfg);
        full.full_marks = true;
        let (mut now, mut equity) = (Timestamp(86_400_000), Decimal::from(10_000));
        for (i, (minutes, dollars, manual)) in steps.into_iter().enumerate() {
            now = Timestamp(now.0 + minutes * 60_000);
            equity = (equity + Decimal::from(dollars)).max(Decimal::ZERO);
            if let Some(halt) = manual {
                let state = if halt { TradingState::Halted } else { TradingState::Active };
                let a = fast.set_state(state, "operator", now);
                let b = full.set_state(state, "operator", now);
                prop_assert_eq!(a, b, "manual step {}", i);
            }
            let a = fast.mark_equity(now, equity);
            let b = full.mark_equity(now, equity);
            prop_assert_eq!(a, b, "step {}: equity {}", i, equity);
            prop_assert_eq!(fast.snapshot(), full.snapshot(), "step {}", i);
        }
    }
}

#[test]
fn a_resume_after_a_recovery_rebases_the_daily_loss_level() {
    let mut e = RiskEngine::new(config(Some(100), None, None));
    let at = |m: i64| Timestamp(86_400_000 + m * 60_000);
    assert!(e.mark_equity(at(1), Decimal::from(10_000)).is_empty());
    let halt = e.mark_equity(at(2), Decimal::from(9_900));
    assert_eq!(halt[0].cause, StateCause::DailyLoss, "{halt:?}");
    // Back above the session's start, then the operator resumes: the session's start is
    // re-based on 10_050, so its daily-loss level rises from 9_900 to 9_950.
    assert!(e.mark_equity(at(3), Decimal::from(10_050)).is_empty());
    e.set_state(TradingState::Active, "resume", at(4));
    let trip = e.mark_equity(at(5), Decimal::from(9_950));
    assert_eq!(trip.len(), 1, "{trip:?}");
    assert_eq!(trip[0].cause, StateCause::DailyLoss);
}
