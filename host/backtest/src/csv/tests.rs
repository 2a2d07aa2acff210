//! Loader tests on files written on the fly; the layout fixtures are in `tests/`.

use super::*;
use std::io::Write;

fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    (dir, path)
}

fn load(name: &str, text: &str, opts: LoadOptions) -> Result<LoadedSeries, String> {
    let (_dir, path) = write(name, text);
    let shown = path.display().to_string();
    load_csv(&path, None, &opts).map_err(|e| e.to_string().replace(&shown, "F"))
}

const HEAD: &str = "Date,Open,High,Low,Close,Volume\n";

#[test]
fn symbols_come_from_the_file_name() {
    let sym = |p: &str| symbol_from_path(Path::new(p)).map(|s| s.to_string());
    assert_eq!(sym("data/AAPL.csv").as_deref(), Some("AAPL"));
    assert_eq!(sym("aapl_daily.csv").as_deref(), Some("AAPL"));
    assert_eq!(sym("BTC-USD.csv").as_deref(), Some("BTC-USD"));
    assert_eq!(sym("x/msft.5m.csv").as_deref(), Some("MSFT"));
    assert_eq!(sym("_x.csv"), None);
    assert_eq!(sym(".csv"), None);
}

#[test]
fn an_explicit_symbol_wins() {
    let (_dir, path) = write(
        "_.csv",
        &format!("{HEAD}2024-01-02,1,2,1,2,0\n2024-01-03,2,2,1,1,0\n"),
    );
    let s = load_csv(&path, Some(Symbol::new("SPY")), &LoadOptions::default()).unwrap();
    assert_eq!(s.symbol.as_str(), "SPY");
    let err = load_csv(&path, None, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::NoSymbol { .. }));
}

#[test]
fn header_problems() {
    let no_time = load(
        "X.csv",
        "When,Open,High,Low,Close\n1,1,1,1,1\n",
        LoadOptions::default(),
    );
    assert_eq!(
        no_time.unwrap_err(),
        "F: no time column (expected Date, Datetime, timestamp, time or an unnamed first column)"
    );
    let no_close = load(
        "X.csv",
        "Date,Open,High,Low,Volume\n",
        LoadOptions::default(),
    );
    assert_eq!(no_close.unwrap_err(), "F: no Close column");
    assert_eq!(
        load("X.csv", HEAD, LoadOptions::default()).unwrap_err(),
        "F: no data rows"
    );
    assert_eq!(
        load("X.csv", "", LoadOptions::default()).unwrap_err(),
        "F: no time column (expected Date, Datetime, timestamp, time or an unnamed first column)"
    );
}

#[test]
fn volume_is_optional_and_extra_columns_are_ignored() {
    let text = "date,OPEN,high,Low,close,Adj Close\n2024-01-02,1,2,1,2,9\n2024-01-03,2,3,2,3,9\n";
    let s = load("X.csv", text, LoadOptions::default()).unwrap();
    assert_eq!(s.bars.len(), 2);
    assert_eq!(s.bars[1].volume, 0.0);
    assert_eq!(s.bars[1].close, 3.0);
}

#[test]
fn the_timeframe_is_inferred_from_the_median_spacing() {
    let row = |t: &str| format!("{t},1,2,1,2,0\n");
    let rows = |ts: &[&str]| format!("{HEAD}{}", ts.iter().map(|t| row(t)).collect::<String>());
    // Weekend gap: gaps 1d, 3d, 1d -> median 1d.
    let s = load(
        "X.csv",
        &rows(&["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]),
        LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(s.timeframe, Timeframe::D1);
    assert_eq!(
        s.span(),
        Some((Timestamp(1_704_326_400_000), Timestamp(1_704_844_800_000)))
    );
    let weekly = load(
        "X.csv",
        &rows(&["2024-01-01", "2024-01-08", "2024-01-15"]),
        LoadOptions::default(),
    );
    assert_eq!(
        weekly.unwrap_err(),
        "F: the median spacing between rows is 7d, which is none of 1m, 5m, 15m, 1h, 1d"
    );
    let one = rows(&["2024-01-01"]);
    assert_eq!(
        load("X.csv", &one, LoadOptions::default()).unwrap_err(),
        "F: one row is not enough to infer the timeframe; give one"
    );
    let given = LoadOptions {
        timeframe: Some(Timeframe::D1),
        ..LoadOptions::default()
    };
    assert_eq!(load("X.csv", &one, given).unwrap().bars.len(), 1);
}

#[test]
fn intraday_bars_must_sit_on_their_grid() {
    // Hourly bars at :30 (a US session's 1h bars) are not on the 1h grid.
    let text = format!(
        "{HEAD}2024-01-02 14:30:00,1,2,1,2,0\n2024-01-02 15:30:00,1,2,1,2,0\n2024-01-02 16:30:00,1,2,1,2,0\n"
    );
    let err = load("X.csv", &text, LoadOptions::default()).unwrap_err();
    assert_eq!(
        err,
        "F: 3 bad rows\n  F:2: time 2024-01-02 14:30:00 is not aligned to 1h bars\n  F:3: time 2024-01-02 15:30:00 is not aligned to 1h bars\n  F:4: time 2024-01-02 16:30:00 is not aligned to 1h bars"
    );
    let skip = LoadOptions {
        skip_bad_rows: true,
        ..LoadOptions::default()
    };
    assert_eq!(load("X.csv", &text, skip).unwrap_err(), "F: no data rows");
}

#[test]
fn daily_bars_take_the_date_as_written() {
    let text = format!(
        "{HEAD}2024-01-02 00:00:00-05:00,1,2,1,2,0\n2024-01-03 00:00:00-05:00,1,2,1,2,0\n1704326400,1,2,1,2,0\n2024-01-05 00:00:00-05:00,1,2,1,2,0\n"
    );
    let s = load("X.csv", &text, LoadOptions::default()).unwrap();
    let days: Vec<i64> = s.bars.iter().map(|b| b.time.0).collect();
    assert_eq!(
        days,
        vec![
            1_704_153_600_000,
            1_704_240_000_000,
            1_704_326_400_000,
            1_704_412_800_000
        ]
    );
    // Two rows that stamp to one date are a repeat.
    let twice = format!(
        "{HEAD}2024-01-02 01:00:00+00:00,1,2,1,2,0\n2024-01-02 23:00:00-05:00,1,2,1,2,0\n2024-01-04,1,2,1,2,0\n2024-01-05,1,2,1,2,0\n"
    );
    assert_eq!(
        load("X.csv", &twice, LoadOptions::default()).unwrap_err(),
        "F: 1 bad row\n  F:3: time 2024-01-02 23:00:00-05:00 is not after the previous row (2024-01-02 01:00:00+00:00)"
    );
}

#[test]
fn the_listing_is_capped() {
    let mut text = HEAD.to_string();
    for d in 0..60 {
        text.push_str(&format!("{},1,2,1,x,0\n", 1_704_153_600 + d * 86_400));
    }
    let (_dir, path) = write("X.csv", &text);
    let err = load_csv(&path, None, &LoadOptions::default()).unwrap_err();
    let DataError::BadRows {
        problems, total, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((problems.len(), *total), (MAX_LISTED_PROBLEMS, 60));
    assert!(err.to_string().ends_with("\n  ... and 10 more"), "{err}");
    assert_eq!(
        problems[0].to_string(),
        format!("{}:2: Close is not a number: \"x\"", path.display())
    );
}

#[test]
fn short_rows_and_blank_fields_are_missing_fields() {
    let text =
        format!("{HEAD}2024-01-02,1,2,1,2,0\n2024-01-03,1,2\n2024-01-04, ,2,1,2,0\n,1,2,1,2,0\n");
    let err = load("X.csv", &text, LoadOptions::default()).unwrap_err();
    assert_eq!(
        err,
        "F: 3 bad rows\n  F:3: missing field Low\n  F:4: missing field Open\n  F:5: missing field time"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = load_csv(
        Path::new("/nonexistent/X.csv"),
        None,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/X.csv: cannot read: "),
        "{err}"
    );
}

#[test]
fn windows_line_ends_and_a_byte_order_mark_are_accepted() {
    let text = "\u{feff}Date,Open,High,Low,Close,Volume\r\n2024-01-02,1,2,1,2,5\r\n2024-01-03,2,3,2,3,6\r\n";
    let s = load("X.csv", text, LoadOptions::default()).unwrap();
    assert_eq!((s.bars.len(), s.bars[1].volume), (2, 6.0));
}
