//! A scheduled store (a replay's whole history given up front) reads exactly like a store
//! fed by pushes and seals at the same steps.

use super::*;
use proptest::prelude::*;

/// One symbol's bars at its native timeframe, from gaps counted in native periods.
fn series(tf: Timeframe, gaps: &[u8], seed: u64) -> Vec<Bar> {
    let mut t = Timestamp(0);
    let mut x = seed;
    gaps.iter()
        .map(|g| {
            t = t.plus_millis(i64::from(*g) * tf.millis());
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let p = 100.0 + (x >> 40) as f64 / 1e5;
            let bar = Bar {
                time: t,
                open: p,
                high: p + 1.0,
                low: p - 1.0,
                close: p + 0.5,
                volume: (x % 13) as f64,
            };
            t = t.plus_millis(tf.millis());
            bar
        })
        .collect()
}

fn native() -> impl Strategy<Value = Timeframe> {
    prop_oneof![
        Just(Timeframe::M1),
        Just(Timeframe::M5),
        Just(Timeframe::H1),
        Just(Timeframe::D1)
    ]
}

/// Gaps of mostly 0 (the next period), sometimes a few periods.
fn gaps() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![8 => Just(0u8), 2 => 1u8..90], 1..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scheduled_reads_match_pushed_and_sealed_reads(
        (tf_a, tf_b) in (native(), native()),
        (gaps_a, gaps_b) in (gaps(), gaps()),
        extra_steps in prop::collection::vec(0i64..40 * 86_400_000, 0..60),
        capacity in 1usize..40,
    ) {
        let (a, b) = (Symbol::new("AAA"), Symbol::new("BBB"));
        // Merged by close time, ties by symbol, as a replay orders them.
        let mut events: Vec<(Timestamp, &Symbol, Timeframe, Bar)> = series(tf_a, &gaps_a, 1)
            .into_iter()
            .map(|bar| (bar.time.plus_millis(tf_a.millis()), &a, tf_a, bar))
            .chain(
                series(tf_b, &gaps_b, 2)
                    .into_iter()
                    .map(|bar| (bar.time.plus_millis(tf_b.millis()), &b, tf_b, bar)),
            )
            .collect();
        events.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
        // Steps at every close, plus times in between (other bots' ticks).
        let mut steps: Vec<Timestamp> = events.iter().map(|e| e.0).collect();
        steps.extend(extra_steps.iter().map(|ms| Timestamp(*ms)));
        steps.sort();
        steps.dedup();

        // Scheduled symbols are known from the start: no data yet, not unknown.
        let mut pushed = BarStore::with_capacity(capacity);
        pushed.add_symbol(&a);
        pushed.add_symbol(&b);
        let mut scheduled = BarStore::with_capacity(capacity);
        scheduled.schedule(events.iter().copied()).unwrap();
        let mut next = 0;
        for now in steps {
            while let Some(e) = events.get(next).filter(|e| e.0 <= now) {
                pushed.push_bar(e.1, e.2, e.3).unwrap();
                next += 1;
            }
            pushed.seal_until(now);
            // What the schedule says each series' newest bar will be at `now`, read ahead.
            let ahead: Vec<Option<Bar>> = [&a, &b]
                .into_iter()
                .flat_map(|s| Timeframe::ALL.map(|tf| (s, tf)))
                .map(|(s, tf)| {
                    let up = scheduled.upcoming(s, tf).expect("scheduled");
                    up.take_while(|(at, _)| *at <= now)
                        .last()
                        .map(|(_, bar)| bar)
                        .or(scheduled.newest(s, tf))
                })
                .collect();
            scheduled.seal_until(now);
            let newest: Vec<Option<Bar>> = [&a, &b]
                .into_iter()
                .flat_map(|s| Timeframe::ALL.map(|tf| (s, tf)))
                .map(|(s, tf)| scheduled.newest(s, tf))
                .collect();
            prop_assert_eq!(&ahead, &newest, "read ahead at {}", now);
            for s in [&a, &b] {
                if pushed.native_timeframe(s).is_none() {
                    // Before its first bar: nothing to read (the schedule already knows
                    // the native timeframe, so a finer one is "no data" there).
                    prop_assert_eq!(scheduled.last_price(s), Err(MarketError::NoData(s.clone())));
                    for tf in Timeframe::ALL {
                        let read = scheduled.bars(s, tf, usize::MAX);
                        prop_assert!(read == Ok(vec![]) || read == Err(MarketError::NoData(s.clone())));
                    }
                    continue;
                }
                prop_assert_eq!(pushed.last_price(s), scheduled.last_price(s), "{} at {}", s, now);
                for tf in Timeframe::ALL {
                    prop_assert_eq!(
                        pushed.bars(s, tf, usize::MAX),
                        scheduled.bars(s, tf, usize::MAX),
                        "{} {:?} at {}", s, tf, now
                    );
                    let last = pushed.bars(s, tf, 1).ok().and_then(|b| b.last().copied());
                    prop_assert_eq!(last, scheduled.newest(s, tf));
                }
            }
        }
    }
}

#[test]
fn a_scheduled_symbol_refuses_pushes_and_bad_schedules_are_refused() {
    let s = Symbol::new("AAA");
    let bar = |m: i64| Bar {
        time: Timestamp(m * 60_000),
        open: 1.0,
        high: 2.0,
        low: 0.5,
        close: 1.5,
        volume: 1.0,
    };
    let mut store = BarStore::new();
    store
        .schedule([(Timestamp(60_000), &s, Timeframe::M1, bar(0))])
        .unwrap();
    assert_eq!(
        store.push_m1(&s, bar(1)),
        Err(StoreError::Scheduled {
            symbol: s.clone(),
            timeframe: Timeframe::M1
        })
    );
    assert!(
        store.bars(&s, Timeframe::M1, 5).unwrap().is_empty(),
        "not yet closed"
    );
    store.seal_until(Timestamp(60_000));
    assert_eq!(store.bars(&s, Timeframe::M1, 5).unwrap(), vec![bar(0)]);

    let mut fed = BarStore::new();
    fed.push_m1(&s, bar(0)).unwrap();
    let err = fed
        .schedule([(Timestamp(120_000), &s, Timeframe::M1, bar(1))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "AAA: has bars already; a schedule must come before any"
    );

    let err = BarStore::new()
        .schedule([(Timestamp(30_000), &s, Timeframe::M1, bar(0))])
        .unwrap_err();
    assert!(err.to_string().contains("scheduled to close at"), "{err}");
    // The push rules hold: a bar out of order is refused as a push would be.
    let err = BarStore::new()
        .schedule([
            (Timestamp(120_000), &s, Timeframe::M1, bar(1)),
            (Timestamp(60_000), &s, Timeframe::M1, bar(0)),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfOrder { .. }), "{err}");
}
