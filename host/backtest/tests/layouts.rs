//! The CSV layouts of `tests/fixtures/backtest/`, loaded as the command line would, and the
//! bad-data fixture with its exact messages.

use flotilla_backtest::{DataError, LoadOptions, TimeRange, load_csv, merge};
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use flotilla_market::BarStore;
use std::path::Path;

/// Fixture paths relative to the package, as a user would type them: messages quote them.
const DIR: &str = "../../tests/fixtures/backtest";

/// 2024-01-02T00:00:00Z.
const JAN2: i64 = 1_704_153_600_000;
const HOUR: i64 = 3_600_000;

fn load(name: &str) -> flotilla_backtest::LoadedSeries {
    load_csv(&Path::new(DIR).join(name), None, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn first_last(s: &flotilla_backtest::LoadedSeries) -> (Bar, Bar) {
    (s.bars[0], s.bars[s.bars.len() - 1])
}

#[test]
fn yahoo_daily() {
    // Date,Open,High,Low,Close,Adj Close,Volume with a weekend gap.
    let s = load("AAPL.csv");
    assert_eq!(
        (s.symbol.as_str(), s.timeframe, s.bars.len()),
        ("AAPL", Timeframe::D1, 6)
    );
    let (first, last) = first_last(&s);
    assert_eq!(
        first,
        Bar {
            time: Timestamp(JAN2),
            open: 187.15,
            high: 188.44,
            low: 183.89,
            close: 185.64,
            volume: 82_488_700.0,
        }
    );
    assert_eq!(last.time, Timestamp(JAN2 + 7 * 24 * HOUR));
    assert!(s.skipped.is_empty());
    assert_eq!(s.path, format!("{DIR}/AAPL.csv"));
}

#[test]
fn intraday_datetime_with_offset() {
    // Datetime,... in New York time (-05:00): 09:30 is 14:30 UTC.
    let s = load("msft_5m.csv");
    assert_eq!(
        (s.symbol.as_str(), s.timeframe, s.bars.len()),
        ("MSFT", Timeframe::M5, 5)
    );
    let (first, last) = first_last(&s);
    assert_eq!(first.time, Timestamp(JAN2 + 14 * HOUR + 30 * 60_000));
    assert_eq!(last.time, Timestamp(JAN2 + 14 * HOUR + 50 * 60_000));
    assert_eq!((first.open, last.close), (373.86, 373.70));
}

#[test]
fn lower_case_epoch_seconds() {
    // timestamp,open,... with 10-digit epoch seconds; the symbol keeps its dash.
    let s = load("BTC-USD_1h.csv");
    assert_eq!(
        (s.symbol.as_str(), s.timeframe, s.bars.len()),
        ("BTC-USD", Timeframe::H1, 4)
    );
    assert_eq!(s.bars[0].time, Timestamp(1_704_067_200_000));
    assert_eq!(s.bars[3].time, Timestamp(1_704_067_200_000 + 3 * HOUR));
    assert_eq!(s.bars[1].volume, 1196.37);
}

#[test]
fn epoch_milliseconds_with_a_gap() {
    // time,open,... with 13-digit epoch ms; a missing minute does not change the timeframe.
    let s = load("eurusd_1m.csv");
    assert_eq!(
        (s.symbol.as_str(), s.timeframe, s.bars.len()),
        ("EURUSD", Timeframe::M1, 4)
    );
    assert_eq!(s.bars[0].time, Timestamp(JAN2 + 9 * HOUR));
    assert_eq!(s.bars[3].time, Timestamp(JAN2 + 9 * HOUR + 4 * 60_000));
    assert_eq!(s.bars[2].low, 1.09402);
}

#[test]
fn pandas_unnamed_index() {
    // ,Open,High,... with the index as the first, unnamed column.
    let s = load("spy_15m.csv");
    assert_eq!(
        (s.symbol.as_str(), s.timeframe, s.bars.len()),
        ("SPY", Timeframe::M15, 3)
    );
    assert_eq!(s.bars[2].time, Timestamp(JAN2 + 15 * HOUR));
    assert_eq!(s.bars[2].close, 471.02);
}

#[test]
fn bad_rows_are_refused_with_every_line_named() {
    let path = format!("{DIR}/bad_rows.csv");
    let err = load_csv(Path::new(&path), None, &LoadOptions::default()).unwrap_err();
    let want = [
        "4: time 2024-01-03 is not after the previous row (2024-01-03)",
        "5: missing field Close",
        "6: Open is NaN",
        "7: high 99.5 is below low 100.2",
        "8: Open is not a number: \"abc\"",
        "9: Open 0 is not positive",
        "10: cannot read time \"01/11/2024\"",
        "11: close 106 is outside low 103 and high 105",
        "12: Volume -5 is negative",
        "13: Volume is infinite",
    ];
    let mut expected = format!("{path}: 10 bad rows");
    for w in want {
        expected.push_str(&format!("\n  {path}:{w}"));
    }
    assert_eq!(err.to_string(), expected);
    let DataError::BadRows {
        problems, total, ..
    } = err
    else {
        panic!("not BadRows")
    };
    assert_eq!((problems.len(), total), (10, 10));
    assert_eq!(
        problems[3].to_string(),
        format!("{path}:7: high 99.5 is below low 100.2")
    );
}

#[test]
fn bad_rows_can_be_skipped() {
    let opts = LoadOptions {
        skip_bad_rows: true,
        ..LoadOptions::default()
    };
    let s = load_csv(&Path::new(DIR).join("bad_rows.csv"), None, &opts).unwrap();
    assert_eq!((s.symbol.as_str(), s.timeframe), ("BAD", Timeframe::D1));
    let days: Vec<i64> = s
        .bars
        .iter()
        .map(|b| (b.time.0 - JAN2) / (24 * HOUR))
        .collect();
    assert_eq!(days, vec![0, 1, 16, 17]);
    let lines: Vec<u64> = s.skipped.iter().map(|p| p.line).collect();
    assert_eq!(lines, (4..=13).collect::<Vec<_>>());
}

#[test]
fn loaded_data_merges_and_feeds_the_bar_store() {
    let mut all = vec![load("msft_5m.csv"), load("AAPL.csv"), load("spy_15m.csv")];
    let range = TimeRange::parse(Some("2024-01-02"), Some("2024-01-04")).unwrap();
    for s in &mut all {
        range.apply(s);
    }
    assert_eq!(all[1].bars.len(), 3, "AAPL Jan 2, 3, 4");
    let mut store = BarStore::new();
    let mut last = Timestamp(i64::MIN);
    let mut order = Vec::new();
    for e in merge(&all).unwrap() {
        assert!(e.close_time >= last);
        last = e.close_time;
        order.push(e.symbol.to_string());
        store.push_bar(&e.symbol, e.timeframe, e.bar).unwrap();
        store.seal_until(e.close_time);
    }
    // 14:35 MSFT, 14:40 MSFT, 14:45 MSFT and SPY (MSFT first by name), ...
    assert_eq!(order[..5], ["MSFT", "MSFT", "MSFT", "SPY", "MSFT"]);
    assert_eq!(order.iter().filter(|s| *s == "AAPL").count(), 3);
    let (msft, spy, aapl) = (Symbol::new("MSFT"), Symbol::new("SPY"), Symbol::new("AAPL"));
    // Sealing at each close made MSFT's 14:00 hour a closed 1h bar, built from its 5m bars.
    let h = store.bars(&msft, Timeframe::H1, 5).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].open, h[0].high, h[0].low, h[0].close),
        (373.86, 376.0, 372.9, 373.7)
    );
    assert_eq!(store.bars(&spy, Timeframe::M15, 9).unwrap().len(), 3);
    assert!(store.bars(&spy, Timeframe::M5, 1).is_err());
    assert_eq!(store.bars(&aapl, Timeframe::D1, 9).unwrap().len(), 3);
    assert_eq!(
        store.last_price(&aapl).unwrap(),
        (181.91, Timestamp(JAN2 + 3 * 24 * HOUR))
    );
}
