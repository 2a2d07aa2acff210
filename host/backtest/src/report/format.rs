//! Number and table formatting shared by the terminal and HTML renderings.

use crate::metrics::Metrics;
use crate::time::{fmt_duration, fmt_short};
use flotilla_domain::{Decimal, Timestamp};

/// Shown for an undefined value.
pub const NONE: &str = "-";

/// `x` with `dp` decimals, never `-0.00`.
pub fn fixed(x: f64, dp: usize) -> String {
    let s = format!("{x:.dp$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// A fraction as a percentage with two decimals: `12.34%`.
pub fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| NONE.to_string(), |v| format!("{}%", fixed(v * 100.0, 2)))
}

/// A ratio with two decimals.
pub fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| NONE.to_string(), |v| fixed(v, 2))
}

/// An amount of money with two decimals.
pub fn money(x: Option<f64>) -> String {
    ratio(x)
}

/// An exact amount of money with two decimals.
pub fn money_exact(x: Decimal) -> String {
    x.round_dp(2).to_string()
}

/// A duration in the units of [`fmt_duration`].
pub fn duration(ms: Option<i64>) -> String {
    ms.map_or_else(|| NONE.to_string(), fmt_duration)
}

/// A time in the short table form.
pub fn time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| NONE.to_string(), fmt_short)
}

/// The metric table's rows: a label and one cell per column of `ms`.
pub fn metric_rows(ms: &[&Metrics]) -> Vec<(&'static str, Vec<String>)> {
    type Cell = fn(&Metrics) -> String;
    let rows: [(&str, Cell); 23] = [
        ("start", |m| time(m.start)),
        ("end", |m| time(m.end)),
        ("start equity", |m| money(m.start_equity)),
        ("end equity", |m| money(m.end_equity)),
        ("net profit", |m| money(m.net_profit)),
        ("total return", |m| pct(m.total_return)),
        ("CAGR", |m| pct(m.cagr)),
        ("annual volatility", |m| pct(m.annual_volatility)),
        ("Sharpe", |m| ratio(m.sharpe)),
        ("Sortino", |m| ratio(m.sortino)),
        ("Calmar", |m| ratio(m.calmar)),
        ("max drawdown", |m| pct(m.max_drawdown)),
        ("max DD duration", |m| duration(m.max_drawdown_duration_ms)),
        ("trades", |m| m.trades.to_string()),
        ("win rate", |m| pct(m.win_rate)),
        ("profit factor", |m| ratio(m.profit_factor)),
        ("expectancy", |m| money(m.expectancy)),
        ("avg win", |m| money(m.avg_win)),
        ("avg loss", |m| money(m.avg_loss)),
        ("exposure", |m| pct(m.exposure)),
        ("trade PnL", |m| money_exact(m.trade_pnl)),
        ("fees", |m| money_exact(m.fees)),
        ("return periods", |m| m.periods.to_string()),
    ];
    rows.iter()
        .map(|(label, cell)| (*label, ms.iter().map(|m| cell(m)).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(-1.005, 1), "-1.0");
        assert_eq!(pct(Some(0.12345)), "12.35%");
        assert_eq!(pct(None), "-");
        assert_eq!(ratio(Some(4.582575)), "4.58");
        assert_eq!(money_exact(Decimal::new(123456, 3)), "123.46");
        assert_eq!(duration(Some(2 * 86_400_000)), "2d");
    }
}
