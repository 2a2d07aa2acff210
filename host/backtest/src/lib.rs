//! The pure half of `flotilla backtest`: loading OHLCV data from CSV files, merging it into
//! one time-ordered stream, turning fills into round-trip trades, computing performance
//! metrics, and rendering the report as JSON, a terminal table and a self-contained HTML
//! page. No bots run here: the driver that runs them over the data lives in the `flotilla`
//! crate and feeds this one its equity curves, fills and risk refusals.
//!
//! Determinism: everything here is a pure function of its inputs (and the Monte Carlo
//! seed); the JSON report of the same inputs is byte-identical.

#![warn(missing_docs)]

pub mod csv;
pub mod input;
pub mod merge;
pub mod metrics;
pub mod report;
pub mod time;
pub mod trades;

pub use csv::{
    DataError, DataProblem, LoadOptions, LoadedSeries, ProblemKind, TimeRange, load_csv,
    symbol_from_path,
};
pub use input::{
    DataFile, EquityPoint, ExitLeg, FillMode, RefusalRecord, RunParams, TradeRecord,
    UnknownFillMode,
};
pub use merge::{BarEvent, Merged, merge};
pub use metrics::{Metrics, MetricsOptions};
pub use report::{BacktestReport, ReportInput, to_html, to_json, to_terminal};
pub use trades::{TrackedFill, TradeTracker};
