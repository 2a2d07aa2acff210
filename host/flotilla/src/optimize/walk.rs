//! Walk-forward optimization: the data's span is cut into K+1 equal windows; for each of
//! the K folds the grid runs on the in-sample window (the window before the fold's, or with
//! `--anchored` everything from the start), and the best set is then backtested alone on
//! the out-of-sample window that follows. Each out-of-sample run is a plain backtest over
//! that window (`flotilla backtest --from --to` gives the same figures): the bot starts
//! flat and warms up inside it.
//!
//! A set "holds" out of sample when its out-of-sample objective is positive and at least
//! [`MIN_EFFICIENCY`] of its in-sample one (the walk-forward efficiency); the others are
//! flagged.

use super::rank::{Figures, rank};
use super::{ParamValue, Plan, Progress, figures_of};
use crate::shared::SharedReplay;
use anyhow::Result;
use flotilla_backtest::report::{Span, split_folds};
use flotilla_backtest::time::fmt_time;
use flotilla_domain::Timestamp;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::sync::Arc;

/// The out-of-sample objective a set must keep, as a share of its in-sample one.
pub const MIN_EFFICIENCY: f64 = 0.5;

/// Points kept of each fold's out-of-sample equity curve.
const CURVE_POINTS: usize = 200;

/// The walk-forward section of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WalkForward {
    /// Folds asked for.
    pub folds_requested: usize,
    /// Whether in-sample windows start at the data's start.
    pub anchored: bool,
    /// The folds, in time order.
    pub folds: Vec<WalkFold>,
    /// Folds whose set held out of sample.
    pub holding: usize,
    /// The out-of-sample returns compounded, fold after fold.
    pub out_of_sample_return: Option<f64>,
    /// Out-of-sample round trips in all.
    pub out_of_sample_trades: usize,
}

/// One fold: the best in-sample set and how it did on the next window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WalkFold {
    /// 1-based.
    pub index: usize,
    /// Where the set was picked.
    pub in_sample: Span,
    /// Where it was tested.
    pub out_of_sample: Span,
    /// The best in-sample set (empty if none qualified).
    #[serde(serialize_with = "super::ser_params")]
    pub params: Vec<(String, ParamValue)>,
    /// Its in-sample figures.
    pub in_sample_figures: Option<Figures>,
    /// Its out-of-sample figures.
    pub out_of_sample_figures: Option<Figures>,
    /// In-sample objective.
    pub in_sample_objective: Option<f64>,
    /// Out-of-sample objective.
    pub out_of_sample_objective: Option<f64>,
    /// Out-of-sample objective over in-sample objective (in-sample positive only).
    pub efficiency: Option<f64>,
    /// Whether the set held out of sample (see the module docs).
    pub holds: bool,
    /// Why a figure is missing (no set qualified, a failed run).
    pub note: Option<String>,
    /// The out-of-sample equity of the bot (downsampled), as (time, equity).
    pub equity: Vec<(String, f64)>,
}

/// Runs the `k` folds of `plan` over `shared`'s bars.
pub fn run(
    plan: &Plan,
    shared: &Arc<SharedReplay>,
    k: usize,
    anchored: bool,
    progress: &Progress,
) -> Result<WalkForward> {
    anyhow::ensure!(k >= 1, "--walk-forward needs at least 1 fold");
    let events = shared.events();
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        anyhow::bail!("no bars to replay");
    };
    let span = Span {
        from: Timestamp(first.bar.time.0),
        to: last.close_time,
    };
    let windows = split_folds(span, k + 1);
    anyhow::ensure!(
        windows.len() == k + 1,
        "the data's span is too short for {k} folds"
    );
    let mut oos_plan = plan.clone();
    oos_plan.run.max_curve_points = CURVE_POINTS;
    let mut folds = Vec::with_capacity(k);
    for i in 1..=k {
        let in_sample = Span {
            from: if anchored {
                windows[0].from
            } else {
                windows[i - 1].from
            },
            to: windows[i - 1].to,
        };
        let out_of_sample = windows[i];
        let fold = run_fold(plan, &oos_plan, shared, in_sample, out_of_sample, progress);
        folds.push(WalkFold { index: i, ..fold });
    }
    let oos: Vec<&Figures> = folds
        .iter()
        .filter_map(|f| f.out_of_sample_figures.as_ref())
        .collect();
    let out_of_sample_return = (!oos.is_empty()).then(|| {
        oos.iter()
            .map(|f| 1.0 + f.total_return.unwrap_or(0.0))
            .product::<f64>()
            - 1.0
    });
    Ok(WalkForward {
        folds_requested: k,
        anchored,
        holding: folds.iter().filter(|f| f.holds).count(),
        out_of_sample_return: out_of_sample_return
            .map(|r| flotilla_backtest::metrics::round_sig(r, 10)),
        out_of_sample_trades: oos.iter().map(|f| f.trades).sum(),
        folds,
    })
}

fn run_fold(
    plan: &Plan,
    oos_plan: &Plan,
    shared: &Arc<SharedReplay>,
    in_sample: Span,
    out_of_sample: Span,
    progress: &Progress,
) -> WalkFold {
    let mut fold = WalkFold {
        index: 0,
        in_sample,
        out_of_sample,
        params: Vec::new(),
        in_sample_figures: None,
        out_of_sample_figures: None,
        in_sample_objective: None,
        out_of_sample_objective: None,
        efficiency: None,
        holds: false,
        note: None,
        equity: Vec::new(),
    };
    let skip = |n: usize| (0..n).for_each(|_| progress.step());
    let is_data = match shared.window(in_sample.from, in_sample.to) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            skip(plan.indices.len() + 1);
            fold.note = Some(format!("in sample: {e:#}"));
            return fold;
        }
    };
    let mut rows = plan.run_all(&is_data, progress);
    rank(&mut rows, plan.min_trades);
    let Some(best) = rows.into_iter().next().filter(|r| r.rank.is_some()) else {
        skip(1);
        fold.note = Some("no parameter set qualified in sample".into());
        return fold;
    };
    fold.params = best.params.clone();
    fold.in_sample_objective = best.objective;
    fold.in_sample_figures = Some(best.figures);
    let outcome = shared
        .window(out_of_sample.from, out_of_sample.to)
        .and_then(|s| oos_plan.report(&Arc::new(s), &best.params));
    progress.step();
    let out = match outcome {
        Ok(out) => out,
        Err(e) => {
            fold.note = Some(format!("out of sample: {e:#}"));
            return fold;
        }
    };
    let figures = figures_of(&out.report, &plan.bot);
    fold.out_of_sample_objective = plan.objective.of(&figures);
    fold.out_of_sample_figures = Some(figures);
    fold.equity = (out.report.bot_equity.iter())
        .find(|c| c.bot.as_str() == plan.bot)
        .map(|c| {
            (c.points.iter())
                .map(|p| (fmt_time(p.time), p.equity.to_f64().unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default();
    if let (Some(is), Some(oos)) = (fold.in_sample_objective, fold.out_of_sample_objective) {
        fold.efficiency = (is > 0.0).then(|| flotilla_backtest::metrics::round_sig(oos / is, 10));
        fold.holds = is > 0.0 && oos > 0.0 && oos >= MIN_EFFICIENCY * is;
    }
    fold
}
