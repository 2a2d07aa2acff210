//! Performance metrics of an equity curve and a trade list.
//!
//! Conventions follow the common Python libraries (empyrical, quantstats):
//!
//! * **Returns.** The equity curve is first sampled into periods: with a return period
//!   (a timeframe, `1d` by default) the values are the curve's first point followed by the
//!   last point of each UTC period; without one, every point. Then
//!   `r_t = e_t / e_{t-1} − 1`; a period starting at a non-positive equity has no return.
//! * **Sharpe** = `mean(r − rf) / std(r, ddof = 1) × sqrt(ppy)`, with `rf` the risk-free
//!   return per period and `ppy` the periods per year (252 by default).
//! * **Sortino** = `mean(r − target) / dd × sqrt(ppy)`, with the downside deviation
//!   `dd = sqrt(mean(min(0, r − target)²))` taken over *all* periods (empyrical).
//! * **Annual volatility** = `std(r, ddof = 1) × sqrt(ppy)`.
//! * **Total return** = `e_last / e_first − 1`. **CAGR** = `(e_last / e_first)^(1/years) − 1`
//!   with `years` = elapsed time / 365.25 days (−1 if the account went to zero or below).
//! * **Max drawdown** = max over t of `1 − e_t / peak_t` on the full (unsampled) curve, with
//!   `peak_t` the running maximum. Its **duration** runs from the peak before the deepest
//!   trough to the first later point at or above that peak, or to the curve's end if none.
//! * **Calmar** = CAGR / max drawdown.
//! * **Trades.** A win has PnL > 0, a loss PnL < 0 (PnL net of fees; a zero PnL is neither).
//!   Win rate = wins / trades; profit factor = gross win / |gross loss|; expectancy = mean
//!   PnL; average win and average loss (negative) over wins and losses.
//! * **Exposure** = the share of the curve's time span covered by at least one open trade
//!   (the union of the trades' `[entry, exit)` intervals, clipped to the span).
//!
//! A metric that is undefined is `None` (`null` in JSON) rather than 0 or infinity: Sharpe
//! Sortino and volatility with fewer than two returns, Sharpe with a zero standard deviation,
//! Sortino with no downside, CAGR over no elapsed time, Calmar with no drawdown, profit
//! factor with no losing trade, the per-trade averages with no trade (or no win, no loss).
//! A standard or downside deviation below [`ZERO_DEVIATION`] counts as zero, so a flat or
//! constant-growth curve does not produce a ratio of float noise.

#[cfg(test)]
mod tests;

use crate::input::{RunParams, TradeRecord};
use crate::time::ser_opt_time;
use flotilla_domain::{Decimal, Timeframe, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

/// Deviations below this are taken as zero (see the module docs).
pub const ZERO_DEVIATION: f64 = 1e-12;

const YEAR_MS: f64 = 365.25 * 86_400_000.0;

/// How to turn a curve into metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricsOptions {
    /// Return periods per year, for annualising.
    pub periods_per_year: f64,
    /// Risk-free return per period (Sharpe).
    pub risk_free_per_period: f64,
    /// Target return per period (Sortino).
    pub target_per_period: f64,
    /// The period the curve is sampled at; `None` takes every point as a period.
    pub return_period: Option<Timeframe>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            periods_per_year: 252.0,
            risk_free_per_period: 0.0,
            target_per_period: 0.0,
            return_period: Some(Timeframe::D1),
        }
    }
}

impl From<&RunParams> for MetricsOptions {
    fn from(p: &RunParams) -> Self {
        Self {
            periods_per_year: p.periods_per_year,
            risk_free_per_period: p.risk_free_per_period,
            target_per_period: p.target_per_period,
            return_period: p.return_period,
        }
    }
}

/// Every metric of one equity curve and its trades; see the module docs for definitions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// The curve's first time.
    #[serde(serialize_with = "ser_opt_time")]
    pub start: Option<Timestamp>,
    /// The curve's last time.
    #[serde(serialize_with = "ser_opt_time")]
    pub end: Option<Timestamp>,
    /// Equity at the start.
    pub start_equity: Option<f64>,
    /// Equity at the end.
    pub end_equity: Option<f64>,
    /// End equity minus start equity.
    pub net_profit: Option<f64>,
    /// `e_last / e_first − 1`.
    pub total_return: Option<f64>,
    /// Compound annual growth rate.
    pub cagr: Option<f64>,
    /// Annualised standard deviation of the periodic returns.
    pub annual_volatility: Option<f64>,
    /// Annualised Sharpe ratio.
    pub sharpe: Option<f64>,
    /// Annualised Sortino ratio.
    pub sortino: Option<f64>,
    /// CAGR over max drawdown.
    pub calmar: Option<f64>,
    /// Deepest fall from a running peak, as a fraction of the peak.
    pub max_drawdown: Option<f64>,
    /// Milliseconds from the max drawdown's peak to its recovery (or the curve's end).
    pub max_drawdown_duration_ms: Option<i64>,
    /// The max drawdown's peak.
    #[serde(serialize_with = "ser_opt_time")]
    pub max_drawdown_peak: Option<Timestamp>,
    /// The max drawdown's trough.
    #[serde(serialize_with = "ser_opt_time")]
    pub max_drawdown_trough: Option<Timestamp>,
    /// When the curve regained the peak, if it did.
    #[serde(serialize_with = "ser_opt_time")]
    pub max_drawdown_recovery: Option<Timestamp>,
    /// Number of periodic returns the ratios use.
    pub periods: usize,
    /// Number of round-trip trades.
    pub trades: usize,
    /// Trades with PnL > 0.
    pub wins: usize,
    /// Trades with PnL < 0.
    pub losses: usize,
    /// Wins over trades.
    pub win_rate: Option<f64>,
    /// Gross win over |gross loss|.
    pub profit_factor: Option<f64>,
    /// Mean PnL per trade.
    pub expectancy: Option<f64>,
    /// Mean PnL of the wins.
    pub avg_win: Option<f64>,
    /// Mean PnL of the losses (negative).
    pub avg_loss: Option<f64>,
    /// Share of the time span with an open trade.
    pub exposure: Option<f64>,
    /// Sum of the trades' PnL, exact.
    pub trade_pnl: Decimal,
    /// Fees of the trades, exact.
    pub fees: Decimal,
}

impl Metrics {
    /// The same metrics with every float rounded to 10 significant digits, so the report
    /// does not carry last-bit noise that could differ between platforms' maths libraries.
    pub fn rounded(&self) -> Self {
        let r = |x: Option<f64>| x.map(|v| round_sig(v, 10));
        Self {
            start_equity: r(self.start_equity),
            end_equity: r(self.end_equity),
            net_profit: r(self.net_profit),
            total_return: r(self.total_return),
            cagr: r(self.cagr),
            annual_volatility: r(self.annual_volatility),
            sharpe: r(self.sharpe),
            sortino: r(self.sortino),
            calmar: r(self.calmar),
            max_drawdown: r(self.max_drawdown),
            win_rate: r(self.win_rate),
            profit_factor: r(self.profit_factor),
            expectancy: r(self.expectancy),
            avg_win: r(self.avg_win),
            avg_loss: r(self.avg_loss),
            exposure: r(self.exposure),
            ..self.clone()
        }
    }
}

/// `x` rounded to `digits` significant digits (0 stays 0; non-finite values pass through).
pub fn round_sig(x: f64, digits: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return if x == 0.0 { 0.0 } else { x };
    }
    let y: f64 = format!("{:.*e}", digits.max(1) - 1, x).parse().unwrap_or(x);
    if y == 0.0 { 0.0 } else { y }
}

/// Computes every metric of `equity` (time-ordered) and `trades`.
pub fn compute(
    equity: &[(Timestamp, f64)],
    trades: &[TradeRecord],
    opts: &MetricsOptions,
) -> Metrics {
    let returns = simple_returns(&sample_equity(equity, opts.return_period));
    let ppy = opts.periods_per_year;
    let first = equity.first().copied();
    let last = equity.last().copied();
    let total_return = match (first, last) {
        (Some((_, a)), Some((_, b))) if a > 0.0 => Some(b / a - 1.0),
        _ => None,
    };
    let cagr = first.zip(last).and_then(|(a, b)| cagr(a, b));
    let dd = max_drawdown(equity);
    let calmar = match (cagr, &dd) {
        (Some(c), Some(d)) if d.depth > 0.0 => Some(c / d.depth),
        _ => None,
    };
    let stats = trade_stats(trades);
    let exposure = first.zip(last).and_then(|((a, _), (b, _))| {
        exposure(trades.iter().map(|t| (t.entry_time, t.exit_time)), (a, b))
    });
    let dd_times = dd.as_ref().filter(|d| d.depth > 0.0);
    Metrics {
        start: first.map(|p| p.0),
        end: last.map(|p| p.0),
        start_equity: first.map(|p| p.1),
        end_equity: last.map(|p| p.1),
        net_profit: first.zip(last).map(|(a, b)| b.1 - a.1),
        total_return,
        cagr,
        annual_volatility: annual_volatility(&returns, ppy),
        sharpe: sharpe(&returns, opts.risk_free_per_period, ppy),
        sortino: sortino(&returns, opts.target_per_period, ppy),
        calmar,
        max_drawdown: dd.as_ref().map(|d| d.depth),
        max_drawdown_duration_ms: dd.as_ref().map(|d| d.duration_ms),
        max_drawdown_peak: dd_times.map(|d| d.peak),
        max_drawdown_trough: dd_times.map(|d| d.trough),
        max_drawdown_recovery: dd_times.and_then(|d| d.recovery),
        periods: returns.len(),
        trades: stats.trades,
        wins: stats.wins,
        losses: stats.losses,
        win_rate: stats.win_rate,
        profit_factor: stats.profit_factor,
        expectancy: stats.expectancy,
        avg_win: stats.avg_win,
        avg_loss: stats.avg_loss,
        exposure,
        trade_pnl: stats.pnl,
        fees: stats.fees,
    }
}

/// The curve's values at the return period: the first point, then the last point of each
/// period (every point when `period` is `None`).
pub fn sample_equity(equity: &[(Timestamp, f64)], period: Option<Timeframe>) -> Vec<f64> {
    let Some(tf) = period else {
        return equity.iter().map(|p| p.1).collect();
    };
    let mut out = Vec::new();
    for (i, (t, e)) in equity.iter().enumerate() {
        let closes_bucket = equity
            .get(i + 1)
            .is_none_or(|(n, _)| n.floor(tf) != t.floor(tf));
        if i == 0 || closes_bucket {
            out.push(*e);
        }
    }
    out
}

/// `r_t = v_t / v_{t-1} − 1` for each consecutive pair with a positive `v_{t-1}`.
pub fn simple_returns(values: &[f64]) -> Vec<f64> {
    values
        .windows(2)
        .filter(|w| w[0] > 0.0)
        .map(|w| w[1] / w[0] - 1.0)
        .collect()
}

/// The arithmetic mean; `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The sample standard deviation (ddof = 1); `None` for fewer than two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    if xs.len() < 2 {
        return None;
    }
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// Annualised Sharpe ratio of periodic `returns`; see the module docs.
pub fn sharpe(returns: &[f64], risk_free: f64, periods_per_year: f64) -> Option<f64> {
    let sd = std_dev(returns).filter(|s| *s >= ZERO_DEVIATION)?;
    let excess = mean(returns)? - risk_free;
    Some(excess / sd * periods_per_year.sqrt())
}

/// Annualised Sortino ratio of periodic `returns`; see the module docs.
pub fn sortino(returns: &[f64], target: f64, periods_per_year: f64) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    let below: Vec<f64> = returns
        .iter()
        .map(|r| (r - target).min(0.0).powi(2))
        .collect();
    let dd = mean(&below)?.sqrt();
    if dd < ZERO_DEVIATION {
        return None;
    }
    let excess = mean(returns)? - target;
    Some(excess / dd * periods_per_year.sqrt())
}

/// Annualised volatility of periodic `returns`.
pub fn annual_volatility(returns: &[f64], periods_per_year: f64) -> Option<f64> {
    std_dev(returns).map(|s| s * periods_per_year.sqrt())
}

/// Compound annual growth between two (time, equity) points; see the module docs.
pub fn cagr(start: (Timestamp, f64), end: (Timestamp, f64)) -> Option<f64> {
    let years = (end.0.0 - start.0.0) as f64 / YEAR_MS;
    if years <= 0.0 || start.1 <= 0.0 {
        return None;
    }
    if end.1 <= 0.0 {
        return Some(-1.0);
    }
    Some((end.1 / start.1).powf(1.0 / years) - 1.0)
}

/// The deepest drawdown of a curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drawdown {
    /// `1 − trough / peak`; 0 if the curve never falls.
    pub depth: f64,
    /// The peak before the trough (the first point if the curve never falls).
    pub peak: Timestamp,
    /// The trough.
    pub trough: Timestamp,
    /// The first point after the trough at or above the peak.
    pub recovery: Option<Timestamp>,
    /// From the peak to the recovery, or to the curve's last point.
    pub duration_ms: i64,
}

/// The max drawdown of `equity`; `None` for an empty curve. Ties keep the earliest.
pub fn max_drawdown(equity: &[(Timestamp, f64)]) -> Option<Drawdown> {
    let (t0, e0) = *equity.first()?;
    let mut peak = (t0, e0);
    let mut best = (0.0, t0, t0, 0usize, e0); // depth, peak time, trough time, trough index, peak value
    for (i, &(t, e)) in equity.iter().enumerate() {
        if e >= peak.1 {
            peak = (t, e);
        } else if peak.1 > 0.0 {
            let depth = 1.0 - e / peak.1;
            if depth > best.0 {
                best = (depth, peak.0, t, i, peak.1);
            }
        }
    }
    let (depth, peak_t, trough, at, peak_v) = best;
    if depth == 0.0 {
        return Some(Drawdown {
            depth,
            peak: t0,
            trough: t0,
            recovery: None,
            duration_ms: 0,
        });
    }
    let recovery = equity[at..].iter().find(|p| p.1 >= peak_v).map(|p| p.0);
    let end = recovery.unwrap_or(equity[equity.len() - 1].0);
    Some(Drawdown {
        depth,
        peak: peak_t,
        trough,
        recovery,
        duration_ms: end.0 - peak_t.0,
    })
}

/// The drawdown at each point, `1 − e_t / peak_t` (0 at a new peak or with no positive peak).
pub fn drawdown_series(equity: &[(Timestamp, f64)]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&(_, e)| {
            peak = peak.max(e);
            if peak > 0.0 { 1.0 - e / peak } else { 0.0 }
        })
        .collect()
}

/// The share of `span` covered by the union of `intervals` (`[start, end)`, clipped to the
/// span); `None` for an empty span.
pub fn exposure(
    intervals: impl Iterator<Item = (Timestamp, Timestamp)>,
    span: (Timestamp, Timestamp),
) -> Option<f64> {
    let (lo, hi) = (span.0.0, span.1.0);
    if hi <= lo {
        return None;
    }
    let mut iv: Vec<(i64, i64)> = intervals
        .map(|(a, b)| (a.0.max(lo), b.0.min(hi)))
        .filter(|(a, b)| b > a)
        .collect();
    iv.sort_unstable();
    let (mut covered, mut reach) = (0i64, lo);
    for (a, b) in iv {
        let a = a.max(reach);
        if b > a {
            covered += b - a;
            reach = b;
        }
    }
    Some(covered as f64 / (hi - lo) as f64)
}

/// Statistics of a trade list; see the module docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TradeStats {
    /// Number of trades.
    pub trades: usize,
    /// Trades with PnL > 0.
    pub wins: usize,
    /// Trades with PnL < 0.
    pub losses: usize,
    /// Wins over trades.
    pub win_rate: Option<f64>,
    /// Gross win over |gross loss|.
    pub profit_factor: Option<f64>,
    /// Mean PnL.
    pub expectancy: Option<f64>,
    /// Mean PnL of the wins.
    pub avg_win: Option<f64>,
    /// Mean PnL of the losses.
    pub avg_loss: Option<f64>,
    /// Sum of PnL.
    pub pnl: Decimal,
    /// Sum of fees.
    pub fees: Decimal,
}

/// Computes [`TradeStats`]; sums are exact decimals, ratios floats.
pub fn trade_stats(trades: &[TradeRecord]) -> TradeStats {
    let mut s = TradeStats {
        trades: trades.len(),
        ..TradeStats::default()
    };
    let (mut gross_win, mut gross_loss) = (Decimal::ZERO, Decimal::ZERO);
    for t in trades {
        s.pnl += t.pnl;
        s.fees += t.fees;
        if t.pnl > Decimal::ZERO {
            s.wins += 1;
            gross_win += t.pnl;
        } else if t.pnl < Decimal::ZERO {
            s.losses += 1;
            gross_loss += t.pnl;
        }
    }
    let f = |d: Decimal| d.to_f64().unwrap_or(f64::NAN);
    let per = |sum: Decimal, n: usize| (n > 0).then(|| f(sum) / n as f64);
    (s.pnl, s.fees) = (s.pnl.normalize(), s.fees.normalize());
    s.win_rate = (s.trades > 0).then(|| s.wins as f64 / s.trades as f64);
    s.profit_factor = (s.losses > 0).then(|| f(gross_win) / f(-gross_loss));
    s.expectancy = per(s.pnl, s.trades);
    s.avg_win = per(gross_win, s.wins);
    s.avg_loss = per(gross_loss, s.losses);
    s
}
