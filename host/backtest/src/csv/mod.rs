//! Loading OHLCV bars from CSV files.
//!
//! # Layout
//!
//! A header row names the columns, matched case-insensitively after trimming:
//!
//! * the time: the first column named `Date`, `Datetime`, `timestamp` or `time`, or else an
//!   unnamed first column (pandas' index); forms accepted are in [`crate::time`];
//! * `Open`, `High`, `Low`, `Close`; `Volume` if present (volume 0 otherwise). Other
//!   columns (`Adj Close`, ...) are ignored: prices are taken as written.
//!
//! # Symbol and timeframe
//!
//! The symbol is the one given, else the file name's stem up to its first `_` or `.`,
//! uppercased: `AAPL.csv` and `aapl_daily.csv` are `AAPL`, `BTC-USD.csv` is `BTC-USD`.
//!
//! The timeframe is the one given in [`LoadOptions`], else the median spacing between
//! consecutive good rows, which must be exactly 1m, 5m, 15m, 1h or 1d. Intraday bars must
//! start on their timeframe's UTC grid. Daily bars are stamped with 00:00 UTC of the date
//! as written (so `2024-01-02 00:00:00-05:00` is the bar of 2024-01-02); epoch numbers
//! are floored to their UTC day. Bars are stamped with their start, as everywhere.
//!
//! # Bad rows
//!
//! A row is bad if a field is missing or empty, not a number, NaN or infinite, a price is
//! not positive, the volume is negative, high < low, open or close is outside [low, high],
//! the time is unreadable, not after the previous good row's, or off the timeframe's grid.
//! Each bad row is reported once (its first problem) as `path:line: what`. Unless
//! [`LoadOptions::skip_bad_rows`] is set, any bad row fails the load with
//! [`DataError::BadRows`]; when set, bad rows are left out and listed in
//! [`LoadedSeries::skipped`].

mod error;
mod range;
#[cfg(test)]
mod tests;

pub use error::{DataError, DataProblem, MAX_LISTED_PROBLEMS, ProblemKind};
pub use range::TimeRange;

use crate::time::{ParsedTime, date_start, parse_time};
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use std::path::Path;

/// How to load a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Leave bad rows out (and list them) instead of refusing the file.
    pub skip_bad_rows: bool,
    /// The file's timeframe; `None` infers it from the row spacing.
    pub timeframe: Option<Timeframe>,
}

/// The bars of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSeries {
    /// The file, as it was given.
    pub path: String,
    /// The symbol the bars are for.
    pub symbol: Symbol,
    /// The bars' timeframe.
    pub timeframe: Timeframe,
    /// The good bars, strictly increasing in time, each stamped with its start.
    pub bars: Vec<Bar>,
    /// The bad rows left out (only with [`LoadOptions::skip_bad_rows`]), in file order.
    pub skipped: Vec<DataProblem>,
}

impl LoadedSeries {
    /// The start of the first bar and the close of the last (`None` when empty).
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        let first = self.bars.first()?;
        let last = self.bars.last()?;
        Some((first.time, last.time.plus_millis(self.timeframe.millis())))
    }
}

/// The symbol a file name gives: its stem up to the first `_` or `.`, uppercased.
pub fn symbol_from_path(path: &Path) -> Option<Symbol> {
    let name = path.file_name()?.to_str()?;
    let head = name.split(['_', '.']).next()?.trim();
    (!head.is_empty()).then(|| Symbol::new(head.to_uppercase()))
}

/// Canonical names of the value columns, in the order they are checked.
const VALUE_COLUMNS: [&str; 5] = ["Open", "High", "Low", "Close", "Volume"];
const TIME_NAMES: [&str; 4] = ["date", "datetime", "timestamp", "time"];

/// Where each column sits in a row.
struct Columns {
    time: usize,
    /// Open, High, Low, Close, and Volume if present.
    values: [Option<usize>; 5],
}

/// A row that passed the per-row checks, before timeframe-dependent ones.
struct GoodRow {
    line: u64,
    time: ParsedTime,
    time_text: String,
    bar: Bar,
}

/// Loads the bars of `path`; see the module docs for the layout and the checks.
pub fn load_csv(
    path: &Path,
    symbol: Option<Symbol>,
    opts: &LoadOptions,
) -> Result<LoadedSeries, DataError> {
    let shown = path.display().to_string();
    let symbol = match symbol.or_else(|| symbol_from_path(path)) {
        Some(s) => s,
        None => return Err(DataError::NoSymbol { path: shown }),
    };
    let io = |e: &dyn std::fmt::Display| DataError::Io {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_path(path)
        .map_err(|e| io(&e))?;
    let headers = reader.headers().map_err(|e| io(&e))?.clone();
    let cols = find_columns(&headers, &shown)?;

    let mut problems = Vec::new();
    let mut good: Vec<GoodRow> = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                if let ::csv::ErrorKind::Io(_) = e.kind() {
                    return Err(io(&e));
                }
                problems.push(problem(&shown, line, unreadable(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match read_row(&record, &cols) {
            Err(kind) => problems.push(problem(&shown, line, kind)),
            Ok((time, time_text, bar)) => {
                if let Some(prev) = good.last().filter(|p| time.utc <= p.time.utc) {
                    let kind = ProblemKind::NotAfter {
                        time: time_text,
                        previous: prev.time_text.clone(),
                    };
                    problems.push(problem(&shown, line, kind));
                    continue;
                }
                good.push(GoodRow {
                    line,
                    time,
                    time_text,
                    bar,
                });
            }
        }
    }

    let refuse = |mut problems: Vec<DataProblem>| {
        problems.sort_by_key(|p| p.line);
        let total = problems.len();
        problems.truncate(MAX_LISTED_PROBLEMS);
        DataError::BadRows {
            path: shown.clone(),
            problems,
            total,
        }
    };
    let timeframe = match opts
        .timeframe
        .map_or_else(|| infer_timeframe(&good, &shown), Ok)
    {
        Ok(tf) => tf,
        // Bad rows explain more than a failed inference over what is left.
        Err(_) if !problems.is_empty() && !opts.skip_bad_rows => return Err(refuse(problems)),
        Err(DataError::TooFewRows { .. }) if good.is_empty() => {
            return Err(DataError::Empty { path: shown });
        }
        Err(e) => return Err(e),
    };
    let bars = stamp(good, timeframe, &shown, &mut problems);
    if !problems.is_empty() && !opts.skip_bad_rows {
        return Err(refuse(problems));
    }
    if bars.is_empty() {
        return Err(DataError::Empty { path: shown });
    }
    problems.sort_by_key(|p| p.line);
    Ok(LoadedSeries {
        path: shown,
        symbol,
        timeframe,
        bars,
        skipped: problems,
    })
}

fn problem(path: &str, line: u64, kind: ProblemKind) -> DataProblem {
    DataProblem {
        path: path.to_string(),
        line,
        kind,
    }
}

fn unreadable(e: &::csv::Error) -> ProblemKind {
    let message = match e.kind() {
        ::csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        _ => e.to_string(),
    };
    ProblemKind::Unreadable { message }
}

fn find_columns(headers: &::csv::StringRecord, path: &str) -> Result<Columns, DataError> {
    let names: Vec<String> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    let time = names
        .iter()
        .position(|n| TIME_NAMES.contains(&n.as_str()))
        .or_else(|| names.first().filter(|n| n.is_empty()).map(|_| 0))
        .ok_or_else(|| DataError::NoTimeColumn {
            path: path.to_string(),
        })?;
    let mut values = [None; 5];
    for (slot, column) in values.iter_mut().zip(VALUE_COLUMNS) {
        *slot = names.iter().position(|n| *n == column.to_lowercase());
        if slot.is_none() && column != "Volume" {
            return Err(DataError::MissingColumn {
                path: path.to_string(),
                column,
            });
        }
    }
    Ok(Columns { time, values })
}

/// Reads and checks one row on its own (time order and grid are checked later).
fn read_row(
    record: &::csv::StringRecord,
    cols: &Columns,
) -> Result<(ParsedTime, String, Bar), ProblemKind> {
    let field = |i: usize, column: &'static str| match record.get(i) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ProblemKind::MissingField { column }),
    };
    let time_text = field(cols.time, "time")?;
    let time = parse_time(time_text).ok_or_else(|| ProblemKind::BadTime {
        text: time_text.to_string(),
    })?;
    let mut v = [0.0; 5];
    for ((out, idx), column) in v.iter_mut().zip(cols.values).zip(VALUE_COLUMNS) {
        let Some(idx) = idx else { continue };
        let text = field(idx, column)?;
        let x: f64 = text.parse().map_err(|_| ProblemKind::NotANumber {
            column,
            text: text.to_string(),
        })?;
        if x.is_nan() {
            return Err(ProblemKind::NaN { column });
        }
        if x.is_infinite() {
            return Err(ProblemKind::Infinite { column });
        }
        *out = x;
    }
    let [open, high, low, close, volume] = v;
    for (column, value) in VALUE_COLUMNS.iter().zip([open, high, low, close]) {
        if value <= 0.0 {
            return Err(ProblemKind::NotPositive { column, value });
        }
    }
    if volume < 0.0 {
        return Err(ProblemKind::NegativeVolume { value: volume });
    }
    if high < low {
        return Err(ProblemKind::HighBelowLow { high, low });
    }
    for (column, value) in [("open", open), ("close", close)] {
        if value < low || value > high {
            return Err(ProblemKind::OutsideRange {
                column,
                value,
                low,
                high,
            });
        }
    }
    let bar = Bar {
        time: time.utc,
        open,
        high,
        low,
        close,
        volume,
    };
    Ok((time, time_text.to_string(), bar))
}

/// The timeframe whose length is the median spacing of the rows (lower median).
fn infer_timeframe(rows: &[GoodRow], path: &str) -> Result<Timeframe, DataError> {
    if rows.len() < 2 {
        return Err(DataError::TooFewRows {
            path: path.to_string(),
        });
    }
    let mut gaps: Vec<i64> = rows
        .windows(2)
        .map(|w| w[1].time.utc.0 - w[0].time.utc.0)
        .collect();
    gaps.sort_unstable();
    let spacing = gaps[(gaps.len() - 1) / 2];
    Timeframe::ALL
        .into_iter()
        .find(|tf| tf.millis() == spacing)
        .ok_or(DataError::UnknownSpacing {
            path: path.to_string(),
            spacing_ms: spacing,
        })
}

/// Stamps the rows' bars for `tf` and checks them against its grid.
fn stamp(
    rows: Vec<GoodRow>,
    tf: Timeframe,
    path: &str,
    problems: &mut Vec<DataProblem>,
) -> Vec<Bar> {
    let mut bars: Vec<Bar> = Vec::with_capacity(rows.len());
    let mut prev_text = String::new();
    for row in rows {
        let time = if tf == Timeframe::D1 {
            row.time
                .written_date
                .map_or_else(|| row.time.utc.floor(tf), date_start)
        } else {
            row.time.utc
        };
        if time.floor(tf) != time {
            let kind = ProblemKind::Misaligned {
                time: row.time_text,
                timeframe: tf,
            };
            problems.push(problem(path, row.line, kind));
            continue;
        }
        // Two rows of one date (written with different offsets, say) make one daily bar.
        if bars.last().is_some_and(|b| time <= b.time) {
            let kind = ProblemKind::NotAfter {
                time: row.time_text,
                previous: prev_text.clone(),
            };
            problems.push(problem(path, row.line, kind));
            continue;
        }
        bars.push(Bar { time, ..row.bar });
        prev_text = row.time_text;
    }
    bars
}
