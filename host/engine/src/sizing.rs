//! Sizing: fractional Kelly from a bot's confidence and its observed payoff ratio.

use crate::portfolio::ClosedTrade;
use serde::{Deserialize, Serialize};

/// A bot's trade record as sizing and the loss-streak gate see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TradeStats {
    /// Winning trades (pnl > 0).
    pub wins: u32,
    /// Losing trades (pnl ≤ 0).
    pub losses: u32,
    /// Sum of winning returns.
    pub sum_win: f64,
    /// Sum of |losing returns|.
    pub sum_loss: f64,
    /// Losing trades in a row, reset by a win.
    pub consecutive_losses: u32,
}

impl TradeStats {
    /// Records a closed trade.
    pub fn record(&mut self, trade: &ClosedTrade) {
        self.record_return(
            trade.pnl.is_sign_positive() && !trade.pnl.is_zero(),
            trade.ret,
        );
    }

    /// Records a trade outcome by its return.
    pub fn record_return(&mut self, won: bool, ret: f64) {
        let ret = if ret.is_finite() { ret } else { 0.0 };
        if won {
            self.wins += 1;
            self.sum_win += ret.abs();
            self.consecutive_losses = 0;
        } else {
            self.losses += 1;
            self.sum_loss += ret.abs();
            self.consecutive_losses += 1;
        }
    }

    /// Avg win / avg loss, shrunk towards `prior` with the weight of `prior_trades` trades.
    pub fn payoff_ratio(&self, prior: f64, prior_trades: f64) -> f64 {
        let n = f64::from(self.wins + self.losses);
        // The prior's scale is the bot's own mean |return| so that it only shapes the ratio.
        let scale = if n > 0.0 {
            (self.sum_win + self.sum_loss) / n
        } else {
            1.0
        };
        let scale = if scale > 0.0 { scale } else { 1.0 };
        let avg_win =
            (self.sum_win + prior_trades * prior * scale) / (f64::from(self.wins) + prior_trades);
        let avg_loss =
            (self.sum_loss + prior_trades * scale) / (f64::from(self.losses) + prior_trades);
        if avg_loss > 0.0 {
            avg_win / avg_loss
        } else {
            prior
        }
    }
}

/// Full Kelly fraction for win probability `p` and payoff ratio `b`: `p − (1 − p) / b`.
pub fn kelly(p: f64, b: f64) -> f64 {
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if !(b.is_finite() && b > 0.0) {
        return -1.0;
    }
    p - (1.0 - p) / b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kelly_matches_the_formula() {
        assert!((kelly(0.6, 1.0) - 0.2).abs() < 1e-12);
        assert!((kelly(0.5, 2.0) - 0.25).abs() < 1e-12);
        assert!(kelly(0.5, 1.0).abs() < 1e-12);
        assert!(kelly(f64::NAN, 1.0) < 0.0);
        assert!(kelly(0.9, 0.0) < 0.0);
    }

    #[test]
    fn payoff_ratio_moves_from_prior_to_observed() {
        let mut s = TradeStats::default();
        assert!((s.payoff_ratio(1.5, 10.0) - 1.5).abs() < 1e-12);
        for _ in 0..1000 {
            s.record_return(true, 0.03);
            s.record_return(false, -0.01);
        }
        assert!((s.payoff_ratio(1.5, 10.0) - 3.0).abs() < 0.05);
        assert_eq!(s.consecutive_losses, 1);
        s.record_return(true, 0.01);
        assert_eq!(s.consecutive_losses, 0);
    }
}
