//! The backtest report: what it holds, how it is assembled from the driver's results, and
//! its three renderings ([`to_json`], [`to_terminal`], [`to_html`]).
//!
//! # Determinism
//!
//! The JSON of one input is byte-identical from run to run: fields are in declaration
//! order, maps are sorted, trades and refusals are sorted by time (stable for ties), money
//! is an exact decimal string, and every statistic is rounded to 10 significant digits.
//!
//! # Equity curves
//!
//! The fleet's and each bot's curve are kept at no more than
//! [`RunParams::max_curve_points`] points (2,000 by default; 0 keeps all), in the JSON as in
//! the HTML: the first and last points, then for each of equal runs of points the lowest and
//! highest equity, so peaks and troughs survive. Metrics are always computed on the full
//! curves.

mod folds;
mod format;
mod html;
mod montecarlo;
mod terminal;
#[cfg(test)]
mod tests;

pub use folds::{Span, slice_curve, split_folds};
pub use html::to_html;
pub use montecarlo::{MonteCarlo, Percentiles, monte_carlo, monte_carlo_stream, percentile};
pub use terminal::to_terminal;

use crate::input::{EquityPoint, RefusalRecord, RunParams, TradeRecord};
use crate::metrics::{Metrics, MetricsOptions, compute, drawdown_series, round_sig};
use crate::time::ser_time;
use flotilla_domain::{BotId, Decimal, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The version of the report's JSON layout (2: trades carry their exit legs).
pub const REPORT_VERSION: u32 = 2;

/// Everything a backtest reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestReport {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// The run's parameters.
    pub params: RunParams,
    /// The fleet's metrics.
    pub fleet: Metrics,
    /// Each bot's metrics, by bot id.
    pub bots: Vec<BotReport>,
    /// The fleet's equity curve (downsampled, see the module docs).
    pub equity: Vec<CurvePoint>,
    /// Each bot's equity curve (downsampled), by bot id.
    pub bot_equity: Vec<BotCurve>,
    /// Every round trip, by exit time.
    pub trades: Vec<TradeRecord>,
    /// Every risk refusal, by time.
    pub refusals: Vec<RefusalRecord>,
    /// Refusals per reason code.
    pub refusal_counts: BTreeMap<String, usize>,
    /// Walk-forward folds, when requested.
    pub walk_forward: Option<Vec<Fold>>,
    /// Monte Carlo bootstrap, when requested.
    pub monte_carlo: Option<MonteCarloReport>,
}

/// One bot's metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BotReport {
    /// The bot.
    pub bot: BotId,
    /// Its metrics.
    pub metrics: Metrics,
    /// How many of its intents risk refused.
    pub refusals: usize,
}

/// One point of a reported equity curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    /// When.
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    /// Equity.
    pub equity: Decimal,
    /// Cash.
    pub cash: Decimal,
    /// Drawdown from the running peak of the full curve, as a fraction.
    pub drawdown: f64,
}

/// One bot's reported equity curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BotCurve {
    /// The bot.
    pub bot: BotId,
    /// Its points.
    pub points: Vec<CurvePoint>,
}

/// One walk-forward fold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fold {
    /// 1-based.
    pub index: usize,
    /// The fold's window.
    pub span: Span,
    /// The fleet's metrics over the fold.
    pub fleet: Metrics,
    /// Each bot's metrics over the fold.
    pub bots: Vec<BotReport>,
}

/// The Monte Carlo section.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonteCarloReport {
    /// Runs per bootstrap.
    pub runs: usize,
    /// The seed (the fleet uses stream 0 of it, the i-th bot by id stream i).
    pub seed: u64,
    /// The fleet's trades (`None` with no trade).
    pub fleet: Option<MonteCarlo>,
    /// Each bot's trades.
    pub bots: Vec<BotMonteCarlo>,
}

/// One bot's bootstrap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BotMonteCarlo {
    /// The bot.
    pub bot: BotId,
    /// Its outcome (`None` with no trade).
    pub result: Option<MonteCarlo>,
}

/// What the driver hands over to build a report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportInput {
    /// The run's parameters.
    pub params: RunParams,
    /// The fleet's equity, in time order.
    pub fleet_equity: Vec<EquityPoint>,
    /// Each bot's equity (its capital and PnL), in time order.
    pub bot_equity: BTreeMap<BotId, Vec<EquityPoint>>,
    /// Every round trip (e.g. from [`crate::trades::TradeTracker`]).
    pub trades: Vec<TradeRecord>,
    /// Every risk refusal.
    pub refusals: Vec<RefusalRecord>,
}

impl ReportInput {
    /// An input with these parameters and no results yet.
    pub fn new(params: RunParams) -> Self {
        Self {
            params,
            ..Self::default()
        }
    }

    /// Assembles the report: metrics of the fleet and of every bot that has a curve, a
    /// trade or a refusal, curves, folds and bootstraps as requested.
    pub fn build(&self) -> BacktestReport {
        let opts = MetricsOptions::from(&self.params);
        let mut trades = self.trades.clone();
        trades.sort_by_key(|t| (t.exit_time, t.entry_time));
        let mut refusals = self.refusals.clone();
        refusals.sort_by_key(|r| r.time);

        let fleet_curve = to_f64(&self.fleet_equity);
        let bot_ids: BTreeSet<&BotId> = self
            .bot_equity
            .keys()
            .chain(trades.iter().map(|t| &t.bot))
            .chain(refusals.iter().map(|r| &r.bot))
            .collect();
        let bots: Vec<BotData> = bot_ids
            .into_iter()
            .map(|bot| BotData {
                bot: bot.clone(),
                curve: to_f64(self.bot_equity.get(bot).map_or(&[][..], Vec::as_slice)),
                trades: trades.iter().filter(|t| &t.bot == bot).cloned().collect(),
                refusals: refusals
                    .iter()
                    .filter(|r| &r.bot == bot)
                    .map(|r| r.time)
                    .collect(),
            })
            .collect();

        let metrics = |curve: &[(Timestamp, f64)], trades: &[TradeRecord]| {
            compute(curve, trades, &opts).rounded()
        };
        let mut refusal_counts = BTreeMap::new();
        for r in &refusals {
            *refusal_counts.entry(r.reason.clone()).or_insert(0) += 1;
        }
        let max = self.params.max_curve_points;
        BacktestReport {
            version: REPORT_VERSION,
            params: self.params.clone(),
            fleet: metrics(&fleet_curve, &trades),
            bots: bots
                .iter()
                .map(|b| BotReport {
                    bot: b.bot.clone(),
                    metrics: metrics(&b.curve, &b.trades),
                    refusals: b.refusals.len(),
                })
                .collect(),
            equity: curve_points(&self.fleet_equity, &fleet_curve, max),
            bot_equity: bots
                .iter()
                .filter_map(|b| {
                    let points = self.bot_equity.get(&b.bot)?;
                    Some(BotCurve {
                        bot: b.bot.clone(),
                        points: curve_points(points, &b.curve, max),
                    })
                })
                .collect(),
            walk_forward: self
                .params
                .walk_forward
                .map(|k| walk_forward(&fleet_curve, &trades, &bots, k, &opts)),
            monte_carlo: self
                .params
                .monte_carlo
                .map(|n| bootstrap(&fleet_curve, &trades, &bots, n, self.params.seed)),
            trades,
            refusals,
            refusal_counts,
        }
    }
}

/// The report as pretty-printed JSON (two-space indent, trailing newline).
pub fn to_json(report: &BacktestReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        // Only a non-string map key could fail, and the report has none.
        unreachable!("report serialises: {e}")
    });
    s.push('\n');
    s
}

/// A bot's inputs, gathered once.
struct BotData {
    bot: BotId,
    curve: Vec<(Timestamp, f64)>,
    trades: Vec<TradeRecord>,
    /// When its refusals happened.
    refusals: Vec<Timestamp>,
}

fn to_f64(points: &[EquityPoint]) -> Vec<(Timestamp, f64)> {
    let mut v: Vec<(Timestamp, f64)> = points
        .iter()
        .map(|p| (p.time, p.equity.to_f64().unwrap_or(f64::NAN)))
        .collect();
    v.sort_by_key(|p| p.0);
    v
}

fn curve_points(points: &[EquityPoint], curve: &[(Timestamp, f64)], max: usize) -> Vec<CurvePoint> {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.time);
    let dd = drawdown_series(curve);
    let values: Vec<f64> = curve.iter().map(|p| p.1).collect();
    downsample(&values, max)
        .into_iter()
        .map(|i| CurvePoint {
            time: sorted[i].time,
            equity: sorted[i].equity,
            cash: sorted[i].cash,
            drawdown: round_sig(dd[i], 10),
        })
        .collect()
}

/// The indices kept when `values` is cut to at most `max` points (at least 4; 0 keeps
/// all): the first and last, and the lowest and highest of each of equal runs between.
pub fn downsample(values: &[f64], max: usize) -> Vec<usize> {
    let n = values.len();
    if max == 0 || n <= max.max(4) {
        return (0..n).collect();
    }
    let buckets = (max.max(4) - 2) / 2;
    let inner = n - 2;
    let mut keep = vec![0];
    for b in 0..buckets {
        let (lo, hi) = (1 + inner * b / buckets, 1 + inner * (b + 1) / buckets);
        if lo >= hi {
            continue;
        }
        let by = |better: fn(f64, f64) -> bool| {
            (lo..hi).fold(lo, |best, i| {
                if better(values[i], values[best]) {
                    i
                } else {
                    best
                }
            })
        };
        let (min, max) = (by(|a, b| a < b), by(|a, b| a > b));
        keep.push(min.min(max));
        if min != max {
            keep.push(min.max(max));
        }
    }
    keep.push(n - 1);
    keep
}

fn walk_forward(
    fleet: &[(Timestamp, f64)],
    trades: &[TradeRecord],
    bots: &[BotData],
    k: usize,
    opts: &MetricsOptions,
) -> Vec<Fold> {
    let metrics = |c: &[(Timestamp, f64)], t: &[TradeRecord]| compute(c, t, opts).rounded();
    let (Some(first), Some(last)) = (fleet.first(), fleet.last()) else {
        return Vec::new();
    };
    let span = Span {
        from: first.0,
        to: last.0.plus_millis(1),
    };
    let in_fold = |ts: &[TradeRecord], s: Span| -> Vec<TradeRecord> {
        ts.iter()
            .filter(|t| s.contains(t.exit_time))
            .cloned()
            .collect()
    };
    split_folds(span, k)
        .into_iter()
        .enumerate()
        .map(|(i, s)| Fold {
            index: i + 1,
            span: s,
            fleet: metrics(&slice_curve(fleet, s), &in_fold(trades, s)),
            bots: bots
                .iter()
                .map(|b| BotReport {
                    bot: b.bot.clone(),
                    metrics: metrics(&slice_curve(&b.curve, s), &in_fold(&b.trades, s)),
                    refusals: b.refusals.iter().filter(|t| s.contains(**t)).count(),
                })
                .collect(),
        })
        .collect()
}

fn bootstrap(
    fleet: &[(Timestamp, f64)],
    trades: &[TradeRecord],
    bots: &[BotData],
    runs: usize,
    seed: u64,
) -> MonteCarloReport {
    let pnl = |ts: &[TradeRecord]| -> Vec<f64> {
        ts.iter().map(|t| t.pnl.to_f64().unwrap_or(0.0)).collect()
    };
    let start = |c: &[(Timestamp, f64)]| c.first().map_or(0.0, |p| p.1);
    MonteCarloReport {
        runs,
        seed,
        fleet: monte_carlo_stream(&pnl(trades), start(fleet), runs, seed, 0),
        bots: bots
            .iter()
            .zip(1u64..)
            .map(|(b, stream)| BotMonteCarlo {
                bot: b.bot.clone(),
                result: monte_carlo_stream(&pnl(&b.trades), start(&b.curve), runs, seed, stream),
            })
            .collect(),
    }
}
