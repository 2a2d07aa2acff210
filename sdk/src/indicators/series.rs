//! Whole indicator series aligned like TA-Lib's output: `out[i]` belongs to
//! `values[lookback + i]`, so each series is `lookback` shorter than its input (empty
//! when the input is not longer). Lookbacks: SMA, EMA, WMA, STDDEV, Bollinger
//! `period - 1`; RSI, ATR, ROC `period`; MACD `slow - 1 + signal - 1`.
//!
//! The native test mock answers the host's `indicator` import with these.

use crate::spec::{BandSeries, MacdSeries};

/// Simple moving averages, by a running sum.
pub fn sma(values: &[f64], period: usize) -> Vec<f64> {
    if period == 0 || values.len() < period {
        return Vec::new();
    }
    let n = period as f64;
    let mut sum: f64 = values[..period - 1].iter().sum();
    let mut out = Vec::with_capacity(values.len() + 1 - period);
    for (i, v) in values.iter().enumerate().skip(period - 1) {
        sum += v;
        out.push(sum / n);
        sum -= values[i + 1 - period];
    }
    out
}

/// Exponential moving averages, seeded with the SMA of the first `period` values.
pub fn ema(values: &[f64], period: usize) -> Vec<f64> {
    if period == 0 || values.len() < period {
        return Vec::new();
    }
    let alpha = 2.0 / (period as f64 + 1.0);
    let mut acc = values[..period].iter().sum::<f64>() / period as f64;
    let mut out = Vec::with_capacity(values.len() + 1 - period);
    out.push(acc);
    for v in &values[period..] {
        acc += alpha * (v - acc);
        out.push(acc);
    }
    out
}

/// Linearly weighted moving averages (weights 1 oldest to `period` newest).
pub fn wma(values: &[f64], period: usize) -> Vec<f64> {
    if period == 0 {
        return Vec::new();
    }
    values
        .windows(period)
        .map(|w| super::wma(w, period).unwrap_or_default())
        .collect()
}

/// Rolling population standard deviations, two passes per window.
pub fn stddev(values: &[f64], period: usize) -> Vec<f64> {
    if period == 0 {
        return Vec::new();
    }
    values
        .windows(period)
        .map(|w| super::stddev(w, period).unwrap_or_default())
        .collect()
}

/// Rates of change in percent over `period` values; 0 where the old value is 0.
pub fn roc(values: &[f64], period: usize) -> Vec<f64> {
    if period == 0 {
        return Vec::new();
    }
    values
        .windows(period + 1)
        .map(|w| super::roc(w, period).unwrap_or_default())
        .collect()
}

/// Wilder RSI values, in [0, 100]; 0 where nothing moved (TA-Lib).
pub fn rsi(values: &[f64], period: usize) -> Vec<f64> {
    if period == 0 || values.len() <= period {
        return Vec::new();
    }
    let n = period as f64;
    let changes: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    let gains = changes.iter().map(|c| c.max(0.0));
    let losses = changes.iter().map(|c| (-c).max(0.0));
    wilder(gains, n)
        .zip(wilder(losses, n))
        .map(|(g, l)| super::relative_strength(g, l))
        .collect()
}

/// Wilder's running average: the mean of the first `n` inputs, then
/// `(prev * (n - 1) + x) / n` for each later one.
fn wilder(xs: impl Iterator<Item = f64>, n: f64) -> impl Iterator<Item = f64> {
    let mut seen = 0.0;
    let mut avg = 0.0;
    xs.filter_map(move |x| {
        seen += 1.0;
        if seen < n {
            avg += x;
            None
        } else if seen == n {
            avg = (avg + x) / n;
            Some(avg)
        } else {
            avg = (avg * (n - 1.0) + x) / n;
            Some(avg)
        }
    })
}

/// Average true ranges with Wilder's smoothing; the slices are aligned bars.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let len = high.len().min(low.len()).min(close.len());
    if period == 0 || len <= period {
        return Vec::new();
    }
    let ranges = (1..len).map(|i| {
        let prev = close[i - 1];
        (high[i] - low[i])
            .max((high[i] - prev).abs())
            .max((low[i] - prev).abs())
    });
    wilder(ranges, period as f64).collect()
}

/// MACD line, signal line and histogram, as TA-Lib computes them.
///
/// TA-Lib starts the fast EMA where the slow one starts, at value `slow - 1`, seeded with
/// the mean of the `fast` values ending there; the signal line is an SMA-seeded EMA of
/// the MACD line. Empty unless `0 < fast < slow` and `signal > 0`.
pub fn macd(values: &[f64], fast: usize, slow: usize, signal: usize) -> MacdSeries {
    if fast == 0 || signal == 0 || slow <= fast || values.len() < slow {
        return MacdSeries::default();
    }
    let slow_line = ema(values, slow);
    let fast_line = ema(&values[slow - fast..], fast);
    let line: Vec<f64> = fast_line
        .iter()
        .zip(&slow_line)
        .map(|(f, s)| f - s)
        .collect();
    let signal_line = ema(&line, signal);
    let line = line[line.len() - signal_line.len()..].to_vec();
    let histogram = line.iter().zip(&signal_line).map(|(m, s)| m - s).collect();
    MacdSeries {
        macd: line,
        signal: signal_line,
        histogram,
    }
}

/// Bollinger bands: SMA middle, `deviations` population standard deviations either side.
pub fn bollinger(values: &[f64], period: usize, deviations: f64) -> BandSeries {
    let middle = sma(values, period);
    let sd = stddev(values, period);
    BandSeries {
        upper: middle
            .iter()
            .zip(&sd)
            .map(|(m, s)| m + deviations * s)
            .collect(),
        lower: middle
            .iter()
            .zip(&sd)
            .map(|(m, s)| m - deviations * s)
            .collect(),
        middle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: [f64; 10] = [1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 3.0, 4.0];

    fn near(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn hand_checked_series() {
        // Worked by hand (see host/indicators' tests) and matching TA-Lib 0.8.2.
        near(
            &sma(&C, 3),
            &[2.0, 3.0, 4.0, 13.0 / 3.0, 4.0, 3.0, 8.0 / 3.0, 3.0],
        );
        near(&ema(&C, 3), &[2.0, 3.0, 4.0, 4.0, 3.5, 2.75, 2.875, 3.4375]);
        let wma_want = [7.0, 10.0, 13.0, 13.0, 11.0, 8.0, 8.0, 10.0].map(|v| v / 3.0);
        near(&wma(&C, 3), &wma_want);
        let rsi_want = [
            100.0,
            100.0,
            200.0 / 3.0,
            400.0 / 9.0,
            800.0 / 27.0,
            4300.0 / 81.0,
            16700.0 / 243.0,
        ];
        near(&rsi(&C, 3), &rsi_want);
        near(
            &roc(&C, 2),
            &[200.0, 100.0, 200.0 / 3.0, 0.0, -40.0, -50.0, 0.0, 100.0],
        );
        let m = macd(&C, 2, 3, 2);
        let m9 = 1753.0 / 486.0 - 3.4375;
        let s9 = (m9 + 95.0 / 972.0) * 2.0 / 3.0 - 95.0 / 972.0;
        near(
            &m.macd,
            &[
                0.5,
                0.5,
                1.0 / 6.0,
                -1.0 / 9.0,
                -31.0 / 108.0,
                -35.0 / 648.0,
                m9,
            ],
        );
        near(
            &m.signal,
            &[
                0.5,
                0.5,
                5.0 / 18.0,
                1.0 / 54.0,
                -5.0 / 27.0,
                -95.0 / 972.0,
                s9,
            ],
        );
    }

    #[test]
    fn atr_and_bands_by_hand() {
        let h = [10.0, 11.0, 12.0, 11.0, 13.0, 12.0, 10.0];
        let l = [8.0, 9.0, 10.0, 9.0, 10.0, 11.0, 9.0];
        let c = [9.0, 10.0, 11.0, 9.5, 12.0, 11.5, 9.0];
        near(&atr(&h, &l, &c, 3), &[2.0, 2.5, 2.0, 13.0 / 6.0]);
        near(&atr(&h, &l, &c, 1), &[2.0, 2.0, 2.0, 3.5, 1.0, 2.5]);
        let b = bollinger(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8, 1.5);
        assert_eq!(
            (b.upper, b.middle, b.lower),
            (vec![8.0], vec![5.0], vec![2.0])
        );
    }

    #[test]
    fn warm_up_and_degenerate_periods() {
        assert!(sma(&C, 11).is_empty() && ema(&C, 0).is_empty() && rsi(&C, 10).is_empty());
        assert_eq!(rsi(&C, 9).len(), 1);
        assert_eq!(macd(&C, 2, 3, 2).macd.len(), 10 - 3);
        assert!(macd(&C, 3, 3, 2).macd.is_empty());
        assert_eq!(ema(&C, 1), C.to_vec());
        assert_eq!(stddev(&C, 1), vec![0.0; 10]);
        assert_eq!(rsi(&[5.0; 6], 2), vec![0.0; 4]);
    }
}
