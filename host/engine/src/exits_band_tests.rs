//! The quiet band is only a shortcut: over random plans and bars, a book that uses it
//! issues exactly the exits, and keeps exactly the state, of a book that checks every bar.
//! And the calm band keeps its promise: once taken, no bar inside it fires an exit, however
//! many come.

use super::*;
use flotilla_domain::OrderId;
use proptest::prelude::*;

/// A managed position's state besides its cached band: symbol, bot, best price, trail,
/// scale-outs done, closing, quantity.
type Row = (Symbol, BotId, Price, Option<Price>, usize, bool, Quantity);

/// What every managed position holds besides its cached band.
fn state(book: &ExitBook) -> Vec<Row> {
    let mut out = Vec::new();
    for (s, bots) in &book.managed {
        for (b, m) in bots {
            let row = (
                s.clone(),
                b.clone(),
                m.best,
                m.trail,
                m.scales_done,
                m.closing,
                m.qty,
            );
            out.push(row);
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn fill(bot: &str, side: Side, quantity: Decimal, price: Decimal, id: u64) -> Fill {
    Fill {
        order_id: OrderId(id),
        bot: bot.into(),
        symbol: "X".into(),
        side,
        quantity,
        price,
        fee: Decimal::ZERO,
        time: Timestamp(0),
        trade_id: String::new(),
        tag: String::new(),
    }
}

/// A plan around an entry at 100: levels as percentages, trails by percent or distance.
fn plan() -> impl Strategy<Value = ExitPlan> {
    let pct = || 0.2f64..6.0;
    (
        proptest::option::of(pct()),
        proptest::option::of(pct()),
        proptest::option::of((
            prop_oneof![
                (0.001f64..0.05).prop_map(TrailDistance::Percent),
                (1u32..500).prop_map(|c| TrailDistance::Absolute(Decimal::new(c.into(), 2))),
            ],
            proptest::option::of(0.5f64..2.0),
        )),
        proptest::collection::vec((0.5f64..3.0, 0.1f64..0.5), 0..3),
    )
        .prop_map(|(stop, take, trail, mut scales)| {
            scales.sort_by(|a, b| a.0.total_cmp(&b.0));
            (stop, take, trail, scales)
        })
        .prop_map(move |(stop, take, trail, scales)| ExitPlan {
            // Signs are applied per side when the plan is armed.
            stop_loss: stop.map(|p| Decimal::try_from(p).unwrap().round_dp(4)),
            take_profit: take.map(|p| Decimal::try_from(p).unwrap().round_dp(4)),
            trailing: trail.map(|(distance, activate_at_r)| TrailingStop {
                distance,
                activate_at_r,
            }),
            scale_outs: scales
                .into_iter()
                .map(|(at_r, fraction)| ScaleOut { at_r, fraction })
                .collect(),
        })
}

/// Moves `pct` levels to prices for a position entered at 100 on `side`.
fn priced(mut plan: ExitPlan, side: Side) -> ExitPlan {
    let hundred = Decimal::ONE_HUNDRED;
    let at = |pct: Decimal, up: bool| {
        let d = hundred * pct / hundred;
        if up { hundred + d } else { hundred - d }
    };
    let long = side == Side::Buy;
    plan.stop_loss = plan.stop_loss.map(|p| at(p, !long));
    plan.take_profit = plan.take_profit.map(|p| at(p, long));
    plan
}

proptest! {
    #[test]
    fn the_quiet_band_changes_no_exit_and_no_state(
        plans in proptest::collection::vec((plan(), any::<bool>()), 1..4),
        // Bar moves in hundredths of a percent, with ranges; some land exactly on levels.
        moves in proptest::collection::vec((-60i64..60, 0i64..40, 0i64..40, any::<bool>()), 1..120),
    ) {
        let mut fast = ExitBook::new(2);
        let mut full = ExitBook::new(2);
        full.no_quiet_band = true;
        let entry = Decimal::ONE_HUNDRED;
        let mut positions = Vec::new();
        for (i, (plan, long)) in plans.into_iter().enumerate() {
            let bot = format!("b{i}");
            let side = if long { Side::Buy } else { Side::Sell };
            let plan = priced(plan, side);
            let mut pos = Position::default();
            pos.apply(side, Decimal::TEN, entry, Decimal::ZERO);
            for book in [&mut fast, &mut full] {
                book.set_plan(&bot.as_str().into(), &"X".into(), plan.clone());
                book.on_fill(&fill(&bot, side, Decimal::TEN, entry, 1), Some(&pos));
            }
            positions.push((bot, pos));
        }
        let mut close = 10_000i64; // in hundredths
        // The calm band taken after an earlier bar, while every bar since stayed inside it.
        let mut calm = fast.calm_band(&"X".into());
        for (t, (step, up, down, fail)) in moves.into_iter().enumerate() {
            close = (close + step).max(1_000);
            let (high, low) = ((close + up) as f64 / 100.0, (close - down) as f64 / 100.0);
            let bar = Bar {
                time: Timestamp(t as i64 * 60_000),
                open: close as f64 / 100.0,
                high,
                low,
                close: close as f64 / 100.0,
                volume: 1.0,
            };
            let held = calm.is_some_and(|band| inside(band, &bar));
            let a = fast.on_bar(&"X".into(), &bar, None);
            let b = full.on_bar(&"X".into(), &bar, None);
            prop_assert_eq!(&a, &b, "bar {}", t);
            prop_assert!(!held || a.is_empty(), "bar {} inside {:?} fired {:?}", t, calm, a);
            // The exits fill at their trigger (or fail and are issued again later).
            for exit in a {
                let Some((_, pos)) = positions.iter_mut().find(|(b, _)| *b == exit.bot.as_str())
                else { continue };
                for book in [&mut fast, &mut full] {
                    if fail {
                        book.exit_failed(&exit.bot, &exit.symbol);
                    }
                }
                if fail {
                    continue;
                }
                pos.apply(exit.side, exit.quantity, exit.trigger, Decimal::ZERO);
                let f = fill(exit.bot.as_str(), exit.side, exit.quantity, exit.trigger, 2);
                let after = Some(&*pos).filter(|p| !p.quantity.is_zero());
                for book in [&mut fast, &mut full] {
                    book.on_fill(&f, after);
                }
            }
            prop_assert_eq!(state(&fast), state(&full), "bar {}", t);
            if !held {
                calm = fast.calm_band(&"X".into());
            }
        }
    }
}
