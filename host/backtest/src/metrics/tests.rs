//! Metric tests against hand-computed values; the arithmetic is in the comments.

use super::*;
use flotilla_domain::Side;
use rust_decimal_macros::dec;

const DAY: i64 = 86_400_000;

fn daily(values: &[f64]) -> Vec<(Timestamp, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (Timestamp(i as i64 * DAY), *v))
        .collect()
}

fn close(a: Option<f64>, b: f64) {
    let a = a.unwrap_or_else(|| panic!("expected {b}, got None"));
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

fn trade(pnl: Decimal, entry: i64, exit: i64) -> TradeRecord {
    TradeRecord {
        bot: "b".into(),
        symbol: "X".into(),
        side: Side::Buy,
        entry_time: Timestamp(entry),
        entry_price: dec!(1),
        exit_time: Timestamp(exit),
        exit_price: dec!(1),
        quantity: dec!(1),
        pnl,
        fees: dec!(1),
        exit_reason: String::new(),
        exits: Vec::new(),
    }
}

#[test]
fn ratios_of_a_small_series() {
    // Equity 100, 110, 99, 108.9: returns +0.1, -0.1, +0.1.
    // mean = 0.1/3; deviations 0.2/3, -0.4/3, 0.2/3; squares sum 0.24/9 = 0.02667;
    // / (n - 1 = 2) = 0.01333 -> std = 0.1 * sqrt(4/3) = 0.115470.
    // Sharpe = (0.1/3) / (0.1 sqrt(4/3)) * sqrt(252) = sqrt(252/12) = sqrt(21).
    // Volatility = 0.1 sqrt(4/3) sqrt(252) = 0.1 sqrt(336).
    // Downside: min(0, r) = 0, -0.1, 0 -> mean of squares 0.01/3 -> dd = 0.1/sqrt(3);
    // Sortino = (0.1/3) / (0.1/sqrt(3)) * sqrt(252) = sqrt(252/3) = sqrt(84).
    // Drawdown: peak 110 (day 1), trough 99 (day 2): 1 - 99/110 = 0.1, not recovered
    // by the end (day 3): duration 2 days.
    let eq = daily(&[100.0, 110.0, 99.0, 108.9]);
    let m = compute(&eq, &[], &MetricsOptions::default());
    assert_eq!(m.periods, 3);
    close(m.total_return, 0.089);
    close(m.net_profit, 8.9);
    close(m.sharpe, 21f64.sqrt());
    close(m.annual_volatility, 0.1 * 336f64.sqrt());
    close(m.sortino, 84f64.sqrt());
    close(m.max_drawdown, 0.1);
    assert_eq!(m.max_drawdown_duration_ms, Some(2 * DAY));
    assert_eq!(m.max_drawdown_peak, Some(Timestamp(DAY)));
    assert_eq!(m.max_drawdown_trough, Some(Timestamp(2 * DAY)));
    assert_eq!(m.max_drawdown_recovery, None);
    // CAGR over 3 days: 1.089^(365.25/3) - 1; Calmar = that / 0.1.
    let c = 1.089f64.powf(365.25 / 3.0) - 1.0;
    close(m.cagr, c);
    close(m.calmar, c / 0.1);
    assert_eq!(
        (m.start, m.end),
        (Some(Timestamp(0)), Some(Timestamp(3 * DAY)))
    );
}

#[test]
fn periods_per_year_and_risk_free_are_parameters() {
    let r = [0.1, -0.1, 0.1];
    // sqrt(365/12) with 365 periods a year.
    close(sharpe(&r, 0.0, 365.0), (365.0f64 / 12.0).sqrt());
    // rf = 0.01: mean excess 0.1/3 - 0.01 = 0.07/3; / 0.1 sqrt(4/3) * sqrt(252).
    close(
        sharpe(&r, 0.01, 252.0),
        (0.07 / 3.0) / (0.1 * (4.0f64 / 3.0).sqrt()) * 252f64.sqrt(),
    );
    // target 0.05: r - t = 0.05, -0.15, 0.05; mean 0.05/3 - ... = -0.05/3;
    // downside squares 0, 0.0225, 0 -> dd = sqrt(0.0075); Sortino = (-0.05/3)/dd*sqrt(252).
    close(
        sortino(&r, 0.05, 252.0),
        (-0.05 / 3.0) / 0.0075f64.sqrt() * 252f64.sqrt(),
    );
}

#[test]
fn cagr_over_two_years() {
    // 100 -> 121 over 2 x 365.25 days: sqrt(1.21) - 1 = 0.1.
    let end = Timestamp(2 * 36_525 * DAY / 100);
    close(cagr((Timestamp(0), 100.0), (end, 121.0)), 0.1);
    assert_eq!(cagr((Timestamp(0), 100.0), (end, -5.0)), Some(-1.0));
    assert_eq!(cagr((Timestamp(0), 100.0), (Timestamp(0), 121.0)), None);
    assert_eq!(cagr((Timestamp(0), 0.0), (end, 121.0)), None);
}

#[test]
fn drawdown_recovers_and_keeps_the_deepest() {
    // 100, 120, 90, 130, 125: peak 120 (day 1) -> 90 (day 2) = 25%, back above 120 on
    // day 3 (duration 2 days); the later 130 -> 125 (3.8%) is shallower.
    let dd = max_drawdown(&daily(&[100.0, 120.0, 90.0, 130.0, 125.0])).unwrap();
    assert_eq!(
        dd,
        Drawdown {
            depth: 0.25,
            peak: Timestamp(DAY),
            trough: Timestamp(2 * DAY),
            recovery: Some(Timestamp(3 * DAY)),
            duration_ms: 2 * DAY,
        }
    );
    let series = drawdown_series(&daily(&[100.0, 120.0, 90.0, 130.0, 125.0]));
    assert_eq!(series[..4], [0.0, 0.0, 0.25, 0.0]);
    close(Some(series[4]), 1.0 - 125.0 / 130.0);
    // Recovery at exactly the peak counts.
    let dd = max_drawdown(&daily(&[100.0, 80.0, 100.0])).unwrap();
    assert_eq!(
        (dd.recovery, dd.duration_ms),
        (Some(Timestamp(2 * DAY)), 2 * DAY)
    );
    assert_eq!(max_drawdown(&[]), None);
}

#[test]
fn flat_equity() {
    // Returns 0, 0: std 0 -> no Sharpe; no downside -> no Sortino; volatility 0; no
    // drawdown -> no Calmar; CAGR of 1^x - 1 = 0.
    let m = compute(
        &daily(&[100.0, 100.0, 100.0]),
        &[],
        &MetricsOptions::default(),
    );
    assert_eq!(m.periods, 2);
    assert_eq!((m.sharpe, m.sortino, m.calmar), (None, None, None));
    assert_eq!(m.annual_volatility, Some(0.0));
    assert_eq!(
        (m.total_return, m.cagr, m.max_drawdown),
        (Some(0.0), Some(0.0), Some(0.0))
    );
    assert_eq!(m.max_drawdown_duration_ms, Some(0));
    assert_eq!(m.max_drawdown_peak, None);
    // Constant growth has a float-noise std: still no Sharpe.
    let grow = daily(&[100.0, 101.0, 102.01, 103.0301]);
    assert_eq!(compute(&grow, &[], &MetricsOptions::default()).sharpe, None);
}

#[test]
fn single_point_and_empty_curves() {
    let m = compute(&daily(&[100.0]), &[], &MetricsOptions::default());
    assert_eq!(
        (m.periods, m.total_return, m.max_drawdown),
        (0, Some(0.0), Some(0.0))
    );
    assert_eq!(
        (m.cagr, m.sharpe, m.sortino, m.annual_volatility),
        (None, None, None, None)
    );
    assert_eq!(m.exposure, None, "a single instant has no span");
    let m = compute(&[], &[], &MetricsOptions::default());
    assert_eq!(m, Metrics::default());
    // Two points: one return -> no ratio.
    let m = compute(&daily(&[100.0, 90.0]), &[], &MetricsOptions::default());
    assert_eq!((m.periods, m.sharpe, m.sortino), (1, None, None));
}

#[test]
fn intraday_curves_are_sampled_daily() {
    let h = DAY / 24;
    let eq = [
        (Timestamp(9 * h), 100.0),
        (Timestamp(16 * h), 101.0),
        (Timestamp(DAY + 10 * h), 99.0),
        (Timestamp(DAY + 16 * h), 102.0),
        (Timestamp(2 * DAY + 12 * h), 103.0),
    ];
    // First point, then each day's last: 100, 101, 102, 103.
    assert_eq!(
        sample_equity(&eq, Some(Timeframe::D1)),
        vec![100.0, 101.0, 102.0, 103.0]
    );
    assert_eq!(sample_equity(&eq, None).len(), 5);
    assert_eq!(sample_equity(&eq[..1], Some(Timeframe::D1)), vec![100.0]);
    // The drawdown still sees the intraday dip: 1 - 99/101.
    let m = compute(&eq, &[], &MetricsOptions::default());
    assert_eq!(m.periods, 3);
    close(m.max_drawdown, 1.0 - 99.0 / 101.0);
    // Returns skip a period that starts at zero equity.
    assert_eq!(simple_returns(&[100.0, 0.0, 50.0, 100.0]), vec![-1.0, 1.0]);
}

#[test]
fn trade_statistics() {
    // PnL +10, -5, +20, 0, -15: 2 wins (30), 2 losses (-20), one scratch.
    // Win rate 2/5; profit factor 30/20; expectancy 10/5; averages 15 and -10.
    let ts: Vec<_> = [dec!(10), dec!(-5), dec!(20), dec!(0), dec!(-15)]
        .into_iter()
        .map(|p| trade(p, 0, DAY))
        .collect();
    let s = trade_stats(&ts);
    assert_eq!((s.trades, s.wins, s.losses), (5, 2, 2));
    assert_eq!(
        (
            s.win_rate,
            s.profit_factor,
            s.expectancy,
            s.avg_win,
            s.avg_loss
        ),
        (Some(0.4), Some(1.5), Some(2.0), Some(15.0), Some(-10.0))
    );
    assert_eq!((s.pnl, s.fees), (dec!(10), dec!(5)));
}

#[test]
fn all_wins_and_no_trades() {
    let s = trade_stats(&[trade(dec!(5), 0, 1), trade(dec!(15), 1, 2)]);
    assert_eq!(
        (s.win_rate, s.expectancy, s.avg_win),
        (Some(1.0), Some(10.0), Some(10.0))
    );
    assert_eq!((s.profit_factor, s.avg_loss), (None, None));
    let none = trade_stats(&[]);
    assert_eq!(none, TradeStats::default());
    let m = compute(&daily(&[100.0, 101.0]), &[], &MetricsOptions::default());
    assert_eq!((m.trades, m.win_rate, m.exposure), (0, None, Some(0.0)));
}

#[test]
fn exposure_is_the_union_of_open_time() {
    let span = (Timestamp(0), Timestamp(10 * DAY));
    let iv = |pairs: &[(i64, i64)]| {
        pairs
            .iter()
            .map(|(a, b)| (Timestamp(a * DAY), Timestamp(b * DAY)))
            .collect::<Vec<_>>()
    };
    // [1,3) u [2,5) u [7,8) = 4 + 1 = 5 of 10 days.
    let e = exposure(iv(&[(2, 5), (1, 3), (7, 8)]).into_iter(), span);
    assert_eq!(e, Some(0.5));
    // A trade from before the span counts from its start: + [0,1).
    let e = exposure(iv(&[(1, 3), (2, 5), (7, 8), (-2, 1)]).into_iter(), span);
    assert_eq!(e, Some(0.6));
    assert_eq!(exposure(iv(&[(0, 99)]).into_iter(), span), Some(1.0));
    assert_eq!(
        exposure(iv(&[]).into_iter(), (Timestamp(5), Timestamp(5))),
        None
    );
}

#[test]
fn rounding_is_to_significant_digits() {
    assert_eq!(round_sig(1.0 / 3.0, 10), 0.3333333333);
    assert_eq!(round_sig(-123456.789012345, 10), -123456.789);
    assert_eq!(round_sig(0.0, 10), 0.0);
    assert_eq!(round_sig(-1e-300 * 1e-300, 10).to_string(), "0");
    let m = Metrics {
        sharpe: Some(2.0 / 3.0),
        ..Metrics::default()
    };
    assert_eq!(m.rounded().sharpe, Some(0.6666666667));
}
