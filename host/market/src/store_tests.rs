//! Tests of the bar store: rings, resampling, sealing and the shared handle.

use super::*;

const MINUTE: i64 = Timeframe::M1.millis();

fn sym() -> Symbol {
    Symbol::new("TEST")
}

/// A 1m bar at minute `m` with distinct, checkable values.
fn m1(m: i64, o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
    Bar {
        time: Timestamp(m * MINUTE),
        open: o,
        high: h,
        low: l,
        close: c,
        volume: v,
    }
}

fn flat(m: i64, p: f64) -> Bar {
    m1(m, p, p + 1.0, p - 1.0, p, 1.0)
}

fn count(s: &BarStore, tf: Timeframe) -> usize {
    s.bars(&sym(), tf, usize::MAX).unwrap().len()
}

#[test]
fn five_minutes_make_one_5m_bar_and_no_forming_bar_is_served() {
    let mut s = BarStore::new();
    s.add_symbol(&sym());
    let five = [
        m1(0, 10.0, 11.0, 9.5, 10.5, 100.0),
        m1(1, 10.5, 12.5, 10.0, 12.0, 200.0),
        m1(2, 12.0, 12.2, 8.0, 9.0, 300.0),
        m1(3, 9.0, 9.9, 8.5, 9.5, 400.0),
        m1(4, 9.5, 10.0, 9.1, 9.8, 500.0),
    ];
    for (i, b) in five.iter().enumerate() {
        assert_eq!(
            count(&s, Timeframe::M5),
            0,
            "5m bar served after {i} minutes"
        );
        s.push_m1(&sym(), *b).unwrap();
    }
    let got = s.bars(&sym(), Timeframe::M5, 10).unwrap();
    assert_eq!(got, vec![m1(0, 10.0, 12.5, 8.0, 9.8, 1500.0)]);
    assert_eq!(count(&s, Timeframe::M1), 5);
    // 15m, 1h and 1d are still forming.
    for tf in [Timeframe::M15, Timeframe::H1, Timeframe::D1] {
        assert_eq!(count(&s, tf), 0, "{tf} forming bar served");
    }
    // The next minute starts a new forming 5m bar, still not served.
    s.push_m1(&sym(), flat(5, 9.8)).unwrap();
    assert_eq!(count(&s, Timeframe::M5), 1);
}

#[test]
fn higher_timeframes_close_exactly_on_their_last_minute() {
    let mut s = BarStore::new();
    for m in 0..(24 * 60 + 1) {
        s.push_m1(&sym(), flat(m, 100.0 + m as f64)).unwrap();
        let done = m + 1; // minutes completed so far
        assert_eq!(count(&s, Timeframe::M5), (done / 5) as usize);
        assert_eq!(count(&s, Timeframe::M15), (done / 15) as usize);
        assert_eq!(count(&s, Timeframe::H1), (done / 60) as usize);
        assert_eq!(count(&s, Timeframe::D1), (done / 1440) as usize);
    }
    let d = s.bars(&sym(), Timeframe::D1, 1).unwrap()[0];
    assert_eq!(d.time, Timestamp(0));
    assert_eq!((d.open, d.close), (100.0, 100.0 + 1439.0));
    assert_eq!((d.low, d.high), (99.0, 100.0 + 1439.0 + 1.0));
    assert_eq!(d.volume, 1440.0);
    let h = s.bars(&sym(), Timeframe::H1, 2).unwrap();
    assert_eq!(h[0].time, Timestamp(22 * 3_600_000));
    assert_eq!(h[1].time, Timestamp(23 * 3_600_000));
    assert_eq!(h[1].open, 100.0 + 23.0 * 60.0);
}

#[test]
fn a_gap_closes_the_period_when_a_later_minute_arrives() {
    let mut s = BarStore::new();
    for m in 0..3 {
        s.push_m1(&sym(), flat(m, 50.0)).unwrap();
    }
    assert_eq!(count(&s, Timeframe::M5), 0);
    s.push_m1(&sym(), flat(7, 60.0)).unwrap();
    let b = s.bars(&sym(), Timeframe::M5, 5).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].time, b[0].close, b[0].volume),
        (Timestamp(0), 50.0, 3.0)
    );
}

#[test]
fn sealing_closes_elapsed_periods_and_refuses_late_minutes() {
    let mut s = BarStore::new();
    for m in 0..3 {
        s.push_m1(&sym(), flat(m, 50.0)).unwrap();
    }
    s.seal_until(Timestamp(4 * MINUTE + 59_999));
    assert_eq!(count(&s, Timeframe::M5), 0, "period not over yet");
    s.seal_until(Timestamp(5 * MINUTE));
    assert_eq!(count(&s, Timeframe::M5), 1);
    assert_eq!(count(&s, Timeframe::M15), 0);
    let late = s.push_m1(&sym(), flat(4, 50.0));
    assert!(
        matches!(late, Err(StoreError::OutOfOrder { min, .. }) if min == Timestamp(5 * MINUTE))
    );
    s.push_m1(&sym(), flat(5, 51.0)).unwrap();
    // Sealing a symbol with no bars yet also sets its watermark.
    let other = Symbol::new("OTHER");
    s.add_symbol(&other);
    s.seal_until(Timestamp(10 * MINUTE + 30_000));
    assert!(s.push_m1(&other, flat(9, 2.0)).is_err());
    s.push_m1(&other, flat(10, 2.0)).unwrap();
}

#[test]
fn ring_buffers_keep_only_the_last_n_bars() {
    let mut s = BarStore::with_capacity(3);
    for m in 0..50 {
        s.push_m1(&sym(), flat(m, 10.0 + m as f64)).unwrap();
    }
    let b = s.bars(&sym(), Timeframe::M1, 100).unwrap();
    let times: Vec<i64> = b.iter().map(|b| b.time.millis() / MINUTE).collect();
    assert_eq!(times, vec![47, 48, 49]);
    let five: Vec<i64> = s
        .bars(&sym(), Timeframe::M5, 100)
        .unwrap()
        .iter()
        .map(|b| b.time.millis() / MINUTE)
        .collect();
    assert_eq!(five, vec![35, 40, 45]);
    assert_eq!(s.bars(&sym(), Timeframe::M1, 2).unwrap()[1].close, 59.0);
    let series = &s.symbols[&sym()];
    for ring in &series.closed {
        assert!(ring.bars.len() <= 3);
    }
    assert_eq!(BarStore::with_capacity(0).capacity(), 1);
}

#[test]
fn ring_growth_stays_within_capacity() {
    let mut ring = Ring::default();
    for i in 0..1000 {
        ring.push(flat(i, 1.0), 100);
    }
    assert_eq!(ring.bars.len(), 100);
    assert!(
        ring.bars.capacity() < 128,
        "capacity {}",
        ring.bars.capacity()
    );
}

#[test]
fn bad_pushes_are_refused() {
    let mut s = BarStore::new();
    let nan = m1(0, f64::NAN, 1.0, 1.0, 1.0, 1.0);
    assert!(matches!(
        s.push_m1(&sym(), nan),
        Err(StoreError::InvalidBar {
            source: BarError::NonFinite,
            ..
        })
    ));
    let mut off = flat(0, 5.0);
    off.time = Timestamp(1_000);
    assert!(matches!(
        s.push_m1(&sym(), off),
        Err(StoreError::Misaligned { .. })
    ));
    s.push_m1(&sym(), flat(3, 5.0)).unwrap();
    assert!(matches!(
        s.push_m1(&sym(), flat(3, 5.0)),
        Err(StoreError::OutOfOrder { .. })
    ));
    assert!(matches!(
        s.push_m1(&sym(), flat(2, 5.0)),
        Err(StoreError::OutOfOrder { .. })
    ));
    assert_eq!(count(&s, Timeframe::M1), 1);
}

#[test]
fn reads_report_unknown_symbols_and_missing_data() {
    let mut s = BarStore::new();
    let x = Symbol::new("X");
    assert_eq!(
        s.bars(&x, Timeframe::M1, 1),
        Err(MarketError::UnknownSymbol(x.clone()))
    );
    assert_eq!(s.last_price(&x), Err(MarketError::UnknownSymbol(x.clone())));
    s.add_symbol(&x);
    assert!(s.contains(&x));
    assert_eq!(s.bars(&x, Timeframe::M1, 1), Ok(vec![]));
    assert_eq!(s.last_price(&x), Err(MarketError::NoData(x.clone())));
    s.push_m1(&x, m1(2, 3.0, 4.0, 2.0, 3.5, 1.0)).unwrap();
    assert_eq!(s.last_price(&x), Ok((3.5, Timestamp(3 * MINUTE))));
    assert_eq!(s.symbols().collect::<Vec<_>>(), vec![&x]);
}

#[test]
fn bars_into_reuses_the_buffer() {
    let mut s = BarStore::new();
    for m in 0..10 {
        s.push_m1(&sym(), flat(m, 10.0)).unwrap();
    }
    let mut out = vec![flat(99, 1.0)];
    s.bars_into(&sym(), Timeframe::M1, 4, &mut out).unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].time, Timestamp(6 * MINUTE));
    assert_eq!(out[3].time, Timestamp(9 * MINUTE));
}

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn at(ms: i64, p: f64) -> Bar {
    Bar {
        time: Timestamp(ms),
        ..flat(0, p)
    }
}

#[test]
fn daily_bars_feed_the_daily_series_and_no_finer_one() {
    let mut s = BarStore::new();
    for d in 0..3 {
        s.push_bar(&sym(), Timeframe::D1, at(d * DAY, 10.0 + d as f64))
            .unwrap();
    }
    assert_eq!(s.native_timeframe(&sym()), Some(Timeframe::D1));
    let d = s.bars(&sym(), Timeframe::D1, 10).unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!((d[2].time, d[2].close), (Timestamp(2 * DAY), 12.0));
    for tf in [Timeframe::M1, Timeframe::M5, Timeframe::M15, Timeframe::H1] {
        assert_eq!(s.bars(&sym(), tf, 1), Err(MarketError::NoData(sym())));
    }
    // The last price is the last native bar's close, at its close time.
    assert_eq!(s.last_price(&sym()), Ok((12.0, Timestamp(3 * DAY))));
    let late = s.push_bar(&sym(), Timeframe::D1, at(2 * DAY, 10.0));
    assert!(matches!(late, Err(StoreError::OutOfOrder { min, .. }) if min == Timestamp(3 * DAY)));
}

#[test]
fn hourly_bars_aggregate_to_days_by_the_closed_bar_rules() {
    let mut s = BarStore::new();
    s.add_symbol(&sym());
    for h in 0..24 {
        assert_eq!(count(&s, Timeframe::D1), 0, "day served after {h} hours");
        let mut b = at(h * HOUR, 100.0 + h as f64);
        b.volume = 2.0;
        s.push_bar(&sym(), Timeframe::H1, b).unwrap();
    }
    // Rule 1: the day's last hour closes it.
    let d = s.bars(&sym(), Timeframe::D1, 5).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].time, d[0].open, d[0].close),
        (Timestamp(0), 100.0, 123.0)
    );
    assert_eq!((d[0].low, d[0].high, d[0].volume), (99.0, 124.0, 48.0));
    assert_eq!(count(&s, Timeframe::H1), 24);
    assert_eq!(
        s.bars(&sym(), Timeframe::M15, 1),
        Err(MarketError::NoData(sym()))
    );
    // Rule 2: an hour of a later day closes a day whose last hours are missing.
    s.push_bar(&sym(), Timeframe::H1, at(DAY + 3 * HOUR, 5.0))
        .unwrap();
    s.push_bar(&sym(), Timeframe::H1, at(2 * DAY, 6.0)).unwrap();
    let d = s.bars(&sym(), Timeframe::D1, 5).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!((d[1].time, d[1].close), (Timestamp(DAY), 5.0));
    // Rule 3: sealing past the period end closes the forming day.
    s.seal_until(Timestamp(3 * DAY));
    assert_eq!(count(&s, Timeframe::D1), 3);
    assert!(matches!(
        s.push_bar(&sym(), Timeframe::H1, at(3 * DAY - HOUR, 10.0)),
        Err(StoreError::OutOfOrder { .. })
    ));
}

#[test]
fn native_pushes_are_checked() {
    let mut s = BarStore::new();
    let misaligned = s.push_bar(&sym(), Timeframe::D1, at(5 * HOUR, 10.0));
    assert!(matches!(
        misaligned,
        Err(StoreError::Misaligned {
            timeframe: Timeframe::D1,
            ..
        })
    ));
    let mut nan = at(0, 10.0);
    nan.close = f64::NAN;
    assert!(matches!(
        s.push_bar(&sym(), Timeframe::D1, nan),
        Err(StoreError::InvalidBar { .. })
    ));
    s.push_bar(&sym(), Timeframe::D1, at(0, 10.0)).unwrap();
    let err = s.push_m1(&sym(), flat(DAY / MINUTE, 10.0)).unwrap_err();
    assert_eq!(
        err,
        StoreError::TimeframeMismatch {
            symbol: sym(),
            native: Timeframe::D1,
            pushed: Timeframe::M1
        }
    );
    assert_eq!(
        err.to_string(),
        "TEST: bars arrive at 1d; a 1m bar cannot be pushed"
    );
    // A 1m symbol stays 1m.
    let other = Symbol::new("OTHER");
    s.push_m1(&other, flat(0, 2.0)).unwrap();
    assert_eq!(s.native_timeframe(&other), Some(Timeframe::M1));
    assert!(matches!(
        s.push_bar(&other, Timeframe::H1, at(HOUR, 2.0)),
        Err(StoreError::TimeframeMismatch { .. })
    ));
    assert_eq!(
        s.push_m1(&other, flat(0, 2.0)).unwrap_err().to_string(),
        "OTHER: 1m bar at 0ms is out of order; next must start at or after 60000ms"
    );
}

#[test]
fn sealing_before_the_first_daily_bar_still_accepts_the_open_day() {
    let mut s = BarStore::new();
    s.add_symbol(&sym());
    assert_eq!(s.native_timeframe(&sym()), None);
    // Sealed mid-day: the day's bar has not closed yet, so it is still welcome.
    s.seal_until(Timestamp(DAY + 10 * HOUR));
    assert!(s.push_bar(&sym(), Timeframe::D1, at(0, 10.0)).is_err());
    s.push_bar(&sym(), Timeframe::D1, at(DAY, 10.0)).unwrap();
    // Sealing a daily symbol mid-day does not refuse the next day's bar.
    s.seal_until(Timestamp(2 * DAY + HOUR));
    s.push_bar(&sym(), Timeframe::D1, at(2 * DAY, 10.0))
        .unwrap();
    assert_eq!(count(&s, Timeframe::D1), 2);
}

#[test]
fn shared_bars_serve_through_the_trait() {
    let shared = SharedBars::new(BarStore::new());
    let md: Arc<dyn MarketData> = Arc::new(shared.clone());
    shared.write().push_m1(&sym(), flat(0, 7.0)).unwrap();
    assert_eq!(md.last_price(&sym()).unwrap(), (7.0, Timestamp(MINUTE)));
    assert_eq!(md.bars(&sym(), Timeframe::M1, 5).unwrap().len(), 1);
    assert_eq!(shared.read().capacity(), DEFAULT_CAPACITY);
}

/// Minutes with gaps of every size (inside a period, across periods, across days) give,
/// at every timeframe, exactly the bars a plain group-by-period of the pushed minutes gives
/// (the store finds the period without dividing when the minute is in the forming one).
#[test]
fn aggregation_with_gaps_matches_grouping_by_period() {
    let mut s = BarStore::new();
    let mut minutes = Vec::new();
    let (mut m, mut seed) = (0i64, 12345u64);
    while m < 3 * 1_440 {
        let p = 100.0 + (seed % 97) as f64;
        minutes.push(m1(m, p, p + 2.0, p - 1.0, p + 0.5, (seed % 7) as f64));
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Mostly the next minute, sometimes a gap of up to two hours.
        m += match (seed >> 33) % 10 {
            0 => 1 + ((seed >> 40) % 120) as i64,
            _ => 1,
        };
    }
    for b in &minutes {
        s.push_m1(&sym(), *b).unwrap();
    }
    for tf in &Timeframe::ALL[1..] {
        let mut want: Vec<Bar> = Vec::new();
        for b in &minutes {
            let period = b.time.floor(*tf);
            match want.last_mut().filter(|w| w.time == period) {
                Some(w) => {
                    w.high = w.high.max(b.high);
                    w.low = w.low.min(b.low);
                    w.close = b.close;
                    w.volume += b.volume;
                }
                None => want.push(Bar { time: period, ..*b }),
            }
        }
        // The last period is still forming unless its last minute arrived.
        let last = minutes.last().unwrap().time.plus_millis(MINUTE);
        if want
            .last()
            .is_some_and(|w| w.time.plus_millis(tf.millis()) != last)
        {
            want.pop();
        }
        assert_eq!(s.bars(&sym(), *tf, usize::MAX).unwrap(), want, "{tf:?}");
    }
}
