//! What can be wrong with a data file: whole-file errors and per-row problems.

use crate::time::fmt_duration;
use flotilla_domain::{Symbol, Timeframe};
use serde::Serialize;
use std::fmt;

/// How many bad rows a [`DataError::BadRows`] lists; the rest are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 50;

/// One bad row: where it is and what is wrong. Displays as `path:line: what`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct DataProblem {
    /// The file, as it was given.
    pub path: String,
    /// The 1-based line in the file (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for DataProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.kind)
    }
}

/// What is wrong with one row. Field-level messages name the column canonically (`Open`,
/// `High`, `Low`, `Close`, `Volume`, `time`) whatever its case in the file.
#[derive(Clone, PartialEq, Debug, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    /// The row has no value (or an empty one) for a column.
    #[error("missing field {column}")]
    MissingField {
        /// The column.
        column: &'static str,
    },
    /// A value is not a number.
    #[error("{column} is not a number: {text:?}")]
    NotANumber {
        /// The column.
        column: &'static str,
        /// The text found.
        text: String,
    },
    /// A value is NaN.
    #[error("{column} is NaN")]
    NaN {
        /// The column.
        column: &'static str,
    },
    /// A value is infinite.
    #[error("{column} is infinite")]
    Infinite {
        /// The column.
        column: &'static str,
    },
    /// A price is zero or negative.
    #[error("{column} {value} is not positive")]
    NotPositive {
        /// The column.
        column: &'static str,
        /// The price found.
        value: f64,
    },
    /// The volume is negative.
    #[error("Volume {value} is negative")]
    NegativeVolume {
        /// The volume found.
        value: f64,
    },
    /// High below low.
    #[error("high {high} is below low {low}")]
    HighBelowLow {
        /// The bar's high.
        high: f64,
        /// The bar's low.
        low: f64,
    },
    /// Open or close outside [low, high].
    #[error("{column} {value} is outside low {low} and high {high}")]
    OutsideRange {
        /// `open` or `close`.
        column: &'static str,
        /// Its value.
        value: f64,
        /// The bar's low.
        low: f64,
        /// The bar's high.
        high: f64,
    },
    /// The time is in none of the accepted forms.
    #[error("cannot read time {text:?}")]
    BadTime {
        /// The text found.
        text: String,
    },
    /// The time is not after the previous good row's (as written in the file).
    #[error("time {time} is not after the previous row ({previous})")]
    NotAfter {
        /// This row's time, as written.
        time: String,
        /// The previous good row's time, as written.
        previous: String,
    },
    /// An intraday time is not on the grid of the file's timeframe.
    #[error("time {time} is not aligned to {timeframe} bars")]
    Misaligned {
        /// The time, as written.
        time: String,
        /// The file's timeframe.
        timeframe: Timeframe,
    },
    /// The CSV reader could not read the row (e.g. invalid UTF-8).
    #[error("unreadable row: {message}")]
    Unreadable {
        /// The reader's message.
        message: String,
    },
}

/// Why a data file (or a set of them) cannot be used.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {message}")]
    Io {
        /// The file.
        path: String,
        /// The system's message.
        message: String,
    },
    /// No column holds the time.
    #[error(
        "{path}: no time column (expected Date, Datetime, timestamp, time or an unnamed first column)"
    )]
    NoTimeColumn {
        /// The file.
        path: String,
    },
    /// A price column is missing from the header.
    #[error("{path}: no {column} column")]
    MissingColumn {
        /// The file.
        path: String,
        /// The canonical column name.
        column: &'static str,
    },
    /// The file has no usable rows.
    #[error("{path}: no data rows")]
    Empty {
        /// The file.
        path: String,
    },
    /// The file name gives no symbol and none was given.
    #[error("{path}: cannot take a symbol from the file name; give one")]
    NoSymbol {
        /// The file.
        path: String,
    },
    /// A single row cannot show the bar spacing.
    #[error("{path}: one row is not enough to infer the timeframe; give one")]
    TooFewRows {
        /// The file.
        path: String,
    },
    /// The median spacing between rows is no supported timeframe.
    #[error(
        "{path}: the median spacing between rows is {}, which is none of 1m, 5m, 15m, 1h, 1d",
        fmt_duration(*spacing_ms)
    )]
    UnknownSpacing {
        /// The file.
        path: String,
        /// The median spacing.
        spacing_ms: i64,
    },
    /// Some rows are bad and the load was not told to skip them.
    #[error("{}", bad_rows_message(path, problems, *total))]
    BadRows {
        /// The file.
        path: String,
        /// The first [`MAX_LISTED_PROBLEMS`] bad rows, in file order.
        problems: Vec<DataProblem>,
        /// How many rows are bad in all.
        total: usize,
    },
    /// Two files hold the same symbol.
    #[error("symbol {symbol} is in both {first} and {second}")]
    DuplicateSymbol {
        /// The symbol.
        symbol: Symbol,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A `--from`/`--to` bound is not a date or time.
    #[error("cannot read {which} bound {text:?} as a date or time")]
    BadBound {
        /// `from` or `to`.
        which: &'static str,
        /// The text given.
        text: String,
    },
    /// The range ends before it starts.
    #[error("the range is empty: {from} is not before {to}")]
    EmptyRange {
        /// The from bound, as given.
        from: String,
        /// The to bound, as given.
        to: String,
    },
}

fn bad_rows_message(path: &str, problems: &[DataProblem], total: usize) -> String {
    let rows = if total == 1 { "row" } else { "rows" };
    let mut s = format!("{path}: {total} bad {rows}");
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    if total > problems.len() {
        s.push_str(&format!("\n  ... and {} more", total - problems.len()));
    }
    s
}
