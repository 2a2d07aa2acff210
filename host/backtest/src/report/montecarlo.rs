//! Monte Carlo bootstrap of the trade sequence.
//!
//! Each run draws as many trades as there were, with replacement, uniformly from the
//! trade list (seeded ChaCha8, so runs are reproducible), and replays their PnL from the
//! starting equity. The percentiles of the runs' final return (`end / start − 1`) and max
//! drawdown (`1 − e / peak`, the start counting as a peak) show how much of the result is
//! the order and luck of the trades.

use crate::metrics::round_sig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The 5th, 25th, 50th, 75th and 95th percentiles of a sample (linear interpolation
/// between closest ranks, as numpy's default).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    /// 5th percentile.
    pub p5: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Percentiles {
    /// The percentiles of `values` (sorted here), rounded to 10 significant digits.
    pub fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        let p = |q: f64| round_sig(percentile(values, q), 10);
        Self {
            p5: p(5.0),
            p25: p(25.0),
            p50: p(50.0),
            p75: p(75.0),
            p95: p(95.0),
        }
    }

    /// The five values in order, for tables.
    pub fn values(&self) -> [f64; 5] {
        [self.p5, self.p25, self.p50, self.p75, self.p95]
    }
}

/// The `q`-th percentile (0–100) of sorted `values`, interpolating linearly between the
/// closest ranks; NaN for no values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The outcome of a bootstrap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonteCarlo {
    /// Runs made.
    pub runs: usize,
    /// Trades drawn per run (the number of trades).
    pub trades: usize,
    /// Percentiles of the final return.
    pub final_return: Percentiles,
    /// Percentiles of the max drawdown.
    pub max_drawdown: Percentiles,
    /// Share of runs that ended below the starting equity.
    pub prob_loss: f64,
}

/// Bootstraps `trades_pnl` `runs` times from `start_equity`; see the module docs. `None`
/// with no trades, no runs or a non-positive start.
pub fn monte_carlo(
    trades_pnl: &[f64],
    start_equity: f64,
    runs: usize,
    seed: u64,
) -> Option<MonteCarlo> {
    monte_carlo_stream(trades_pnl, start_equity, runs, seed, 0)
}

/// Like [`monte_carlo`], on ChaCha8 stream `stream` of the seed, so several bootstraps of
/// one run (the fleet's, each bot's) are independent yet all follow from one seed.
pub fn monte_carlo_stream(
    trades_pnl: &[f64],
    start_equity: f64,
    runs: usize,
    seed: u64,
    stream: u64,
) -> Option<MonteCarlo> {
    if trades_pnl.is_empty() || runs == 0 || start_equity <= 0.0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let n = trades_pnl.len();
    let mut finals = Vec::with_capacity(runs);
    let mut drawdowns = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (mut equity, mut peak, mut dd) = (start_equity, start_equity, 0.0f64);
        for _ in 0..n {
            // u64 keeps the draw identical on 32- and 64-bit targets.
            let pick = rng.random_range(0..n as u64) as usize;
            equity += trades_pnl[pick];
            peak = peak.max(equity);
            dd = dd.max(1.0 - equity / peak);
        }
        finals.push(equity / start_equity - 1.0);
        drawdowns.push(dd);
    }
    let losses = finals.iter().filter(|r| **r < 0.0).count();
    Some(MonteCarlo {
        runs,
        trades: n,
        final_return: Percentiles::of(&mut finals),
        max_drawdown: Percentiles::of(&mut drawdowns),
        prob_loss: round_sig(losses as f64 / runs as f64, 10),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // np.percentile([1, 2, 3, 4, 5], [5, 25, 50, 75, 95]) = 1.2, 2, 3, 4, 4.8
        let mut v = vec![5.0, 1.0, 4.0, 2.0, 3.0];
        let p = Percentiles::of(&mut v);
        assert_eq!(p.values(), [1.2, 2.0, 3.0, 4.0, 4.8]);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn bootstrap_is_seeded_and_sane() {
        let pnl = [10.0, -5.0, 20.0, -15.0, 5.0];
        let a = monte_carlo(&pnl, 100.0, 500, 7).unwrap();
        assert_eq!(a, monte_carlo(&pnl, 100.0, 500, 7).unwrap());
        assert_ne!(a, monte_carlo(&pnl, 100.0, 500, 8).unwrap());
        assert_ne!(a, monte_carlo_stream(&pnl, 100.0, 500, 7, 1).unwrap());
        assert_eq!((a.runs, a.trades), (500, 5));
        let r = a.final_return.values();
        assert!(r.windows(2).all(|w| w[0] <= w[1]), "{r:?}");
        // Five draws from [-15, 20]: the return lies in [-0.75, 1.0].
        assert!(r[0] >= -0.75 && r[4] <= 1.0, "{r:?}");
        // The mean trade is +3, so the median run gains.
        assert!(a.final_return.p50 > 0.0);
        assert!(a.max_drawdown.p5 >= 0.0 && a.prob_loss > 0.0 && a.prob_loss < 1.0);
    }

    #[test]
    fn identical_trades_give_one_outcome() {
        // All draws are +10: final return 3 x 10 / 100 = 0.3 in every run, no drawdown.
        let a = monte_carlo(&[10.0; 3], 100.0, 50, 1).unwrap();
        assert_eq!(a.final_return.values(), [0.3; 5]);
        assert_eq!(a.max_drawdown.values(), [0.0; 5]);
        assert_eq!(a.prob_loss, 0.0);
    }

    #[test]
    fn nothing_to_bootstrap() {
        assert_eq!(monte_carlo(&[], 100.0, 10, 1), None);
        assert_eq!(monte_carlo(&[1.0], 100.0, 0, 1), None);
        assert_eq!(monte_carlo(&[1.0], 0.0, 10, 1), None);
    }
}
