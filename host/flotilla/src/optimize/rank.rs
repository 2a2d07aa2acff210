//! What one combination scored, and the order of the table: qualified sets (enough trades)
//! by the objective, best first; a set without a defined objective, with too few trades, or
//! whose run failed, after them. Ties keep the grid's order, so the ranking is a function
//! of the results alone.

use super::params::ParamValue;
use flotilla_backtest::Metrics;
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// What the optimizer maximises (the bot's figure, see `flotilla_backtest::metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Annualised Sharpe ratio.
    #[default]
    Sharpe,
    /// Annualised Sortino ratio.
    Sortino,
    /// CAGR over max drawdown.
    Calmar,
    /// Total return.
    Return,
    /// Gross win over gross loss.
    ProfitFactor,
}

impl Objective {
    /// The objective's value in `m`, when defined.
    pub fn of(self, m: &Figures) -> Option<f64> {
        match self {
            Self::Sharpe => m.sharpe,
            Self::Sortino => m.sortino,
            Self::Calmar => m.calmar,
            Self::Return => m.total_return,
            Self::ProfitFactor => m.profit_factor,
        }
        .filter(|v| v.is_finite())
    }

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sharpe => "sharpe",
            Self::Sortino => "sortino",
            Self::Calmar => "calmar",
            Self::Return => "return",
            Self::ProfitFactor => "profit_factor",
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `--objective`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown objective `{0}` (expected sharpe, sortino, calmar, return or profit_factor)")]
pub struct UnknownObjective(pub String);

impl FromStr for Objective {
    type Err = UnknownObjective;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "sharpe" => Self::Sharpe,
            "sortino" => Self::Sortino,
            "calmar" => Self::Calmar,
            "return" => Self::Return,
            "profit_factor" | "profit-factor" => Self::ProfitFactor,
            _ => return Err(UnknownObjective(s.to_string())),
        })
    }
}

/// The figures of one bot's run that the tables show (all from its backtest report).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Round trips.
    pub trades: usize,
    /// Total return.
    pub total_return: Option<f64>,
    /// Sharpe.
    pub sharpe: Option<f64>,
    /// Sortino.
    pub sortino: Option<f64>,
    /// Calmar.
    pub calmar: Option<f64>,
    /// Max drawdown.
    pub max_drawdown: Option<f64>,
    /// Profit factor.
    pub profit_factor: Option<f64>,
    /// Win rate.
    pub win_rate: Option<f64>,
    /// End equity minus start equity.
    pub net_profit: Option<f64>,
    /// Equity at the end.
    pub end_equity: Option<f64>,
}

impl From<&Metrics> for Figures {
    fn from(m: &Metrics) -> Self {
        Self {
            trades: m.trades,
            total_return: m.total_return,
            sharpe: m.sharpe,
            sortino: m.sortino,
            calmar: m.calmar,
            max_drawdown: m.max_drawdown,
            profit_factor: m.profit_factor,
            win_rate: m.win_rate,
            net_profit: m.net_profit,
            end_equity: m.end_equity,
        }
    }
}

/// One combination's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// 1-based place in the ranking; `None` when it does not qualify.
    pub rank: Option<usize>,
    /// The combination's index in the grid.
    pub index: u64,
    /// The params, in `--param` order.
    #[serde(serialize_with = "super::ser_params")]
    pub params: Vec<(String, ParamValue)>,
    /// The objective's value.
    pub objective: Option<f64>,
    /// The bot's figures (default when the run failed).
    pub figures: Figures,
    /// Bot calls that failed (trap, deadline, bot error).
    pub failures: u64,
    /// Why the run failed (a bot that refused these params in `init`, say).
    pub error: Option<String>,
}

impl Row {
    /// Whether the row can be the best: it ran, has the objective and enough trades.
    pub fn qualifies(&self, min_trades: usize) -> bool {
        self.error.is_none() && self.objective.is_some() && self.figures.trades >= min_trades
    }
}

/// Sorts `rows` best first and numbers the qualified ones.
pub fn rank(rows: &mut [Row], min_trades: usize) {
    let key = |r: &Row| {
        (
            !r.qualifies(min_trades),
            r.error.is_some(),
            r.objective.is_none(),
        )
    };
    rows.sort_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| match (a.objective, b.objective) {
                (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
                _ => Ordering::Equal,
            })
            .then_with(|| a.index.cmp(&b.index))
    });
    let mut n = 0;
    for r in rows.iter_mut() {
        r.rank = r.qualifies(min_trades).then(|| {
            n += 1;
            n
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: u64, objective: Option<f64>, trades: usize, error: bool) -> Row {
        Row {
            rank: None,
            index,
            params: Vec::new(),
            objective,
            figures: Figures {
                trades,
                ..Figures::default()
            },
            failures: 0,
            error: error.then(|| "init refused".to_string()),
        }
    }

    #[test]
    fn qualified_rows_come_first_best_objective_first_ties_in_grid_order() {
        let mut rows = vec![
            row(0, Some(0.5), 10, false),
            row(1, Some(2.0), 1, false), // too few trades
            row(2, None, 10, false),
            row(3, Some(1.0), 10, false),
            row(4, None, 0, true),
            row(5, Some(1.0), 10, false),
        ];
        rank(&mut rows, 5);
        let order: Vec<u64> = rows.iter().map(|r| r.index).collect();
        assert_eq!(order, vec![3, 5, 0, 1, 2, 4]);
        let ranks: Vec<Option<usize>> = rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, vec![Some(1), Some(2), Some(3), None, None, None]);
    }

    #[test]
    fn objectives_parse_and_read_their_metric() {
        let f = Figures {
            sharpe: Some(1.0),
            total_return: Some(0.1),
            profit_factor: Some(f64::INFINITY),
            ..Figures::default()
        };
        assert_eq!("sharpe".parse::<Objective>().unwrap().of(&f), Some(1.0));
        assert_eq!("return".parse::<Objective>().unwrap().of(&f), Some(0.1));
        assert_eq!("profit_factor".parse::<Objective>().unwrap().of(&f), None);
        assert!("sortino".parse::<Objective>().unwrap().of(&f).is_none());
        assert!(
            "sharp"
                .parse::<Objective>()
                .unwrap_err()
                .to_string()
                .contains("`sharp`")
        );
    }
}
