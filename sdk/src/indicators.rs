//! Pure indicator helpers over price slices (oldest first), with TA-Lib's definitions.
//!
//! The functions here return the value at the last element, or `None` when there is not
//! enough data or a period is zero; [`series`] has the whole TA-Lib-aligned series. The
//! host computes the same indicators natively ([`Tick::indicator`](crate::Tick::indicator)),
//! which saves copying long histories into the bot; these are for bots that already hold
//! the data, and they answer the import in the native test mock.
//!
//! Conventions (TA-Lib's): population standard deviation; EMA seeded with the SMA of its
//! first `period` inputs; Wilder's smoothing for RSI and ATR; RSI 0 when nothing moved;
//! ROC in percent, 0 when the old price is 0.

mod rolling;
pub mod series;

pub use rolling::Rolling;

/// Simple moving average of the last `period` values.
pub fn sma(values: &[f64], period: usize) -> Option<f64> {
    let window = tail(values, period)?;
    Some(window.iter().sum::<f64>() / period as f64)
}

/// Exponential moving average (alpha = 2 / (period + 1)), seeded with the SMA of the
/// first `period` values and run over the whole slice: more history, less seed bias.
pub fn ema(values: &[f64], period: usize) -> Option<f64> {
    if period == 0 || values.len() < period {
        return None;
    }
    let alpha = 2.0 / (period as f64 + 1.0);
    let seed = values[..period].iter().sum::<f64>() / period as f64;
    Some(
        values[period..]
            .iter()
            .fold(seed, |acc, v| acc + alpha * (v - acc)),
    )
}

/// Linearly weighted moving average of the last `period` values (newest weight `period`).
pub fn wma(values: &[f64], period: usize) -> Option<f64> {
    let window = tail(values, period)?;
    let weighted: f64 = (1..).zip(window).map(|(w, v)| w as f64 * v).sum();
    Some(weighted * 2.0 / (period * (period + 1)) as f64)
}

/// Relative strength index with Wilder's smoothing, in [0, 100].
///
/// Needs `period + 1` values; seeded with plain averages of the first `period` changes,
/// then smoothed over the rest of the slice, as Wilder defined it. 100 when there were
/// only gains; 0 when there were only losses and, as TA-Lib answers, when nothing moved.
pub fn rsi(values: &[f64], period: usize) -> Option<f64> {
    if period == 0 || values.len() < period + 1 {
        return None;
    }
    let n = period as f64;
    let split = |c: f64| if c > 0.0 { (c, 0.0) } else { (0.0, -c) };
    let (mut gain, mut loss) = values[..=period]
        .windows(2)
        .map(|w| split(w[1] - w[0]))
        .fold((0.0, 0.0), |(g, l), (up, down)| (g + up, l + down));
    gain /= n;
    loss /= n;
    for w in values[period..].windows(2) {
        let (up, down) = split(w[1] - w[0]);
        gain = (gain * (n - 1.0) + up) / n;
        loss = (loss * (n - 1.0) + down) / n;
    }
    Some(relative_strength(gain, loss))
}

/// `100 * gain / (gain + loss)`, which is `100 - 100 / (1 + gain / loss)`; 0 when both are 0.
pub(crate) fn relative_strength(gain: f64, loss: f64) -> f64 {
    if gain + loss == 0.0 {
        0.0
    } else {
        100.0 * (gain / (gain + loss))
    }
}

/// Average true range with Wilder's smoothing over aligned highs, lows and closes.
///
/// Needs `period + 1` bars (true range uses the previous close): the first ATR is the
/// mean true range of bars `1..=period`, then Wilder's smoothing to the last bar.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Option<f64> {
    series::atr(high, low, close, period).pop()
}

/// Population standard deviation of the last `period` values (as Bollinger used).
pub fn stddev(values: &[f64], period: usize) -> Option<f64> {
    Some(sma_stddev(values, period)?.1)
}

/// [`sma`] and [`stddev`] of the last `period` values in one pass fewer: the same
/// arithmetic, so the same bits, as calling both.
pub fn sma_stddev(values: &[f64], period: usize) -> Option<(f64, f64)> {
    let window = tail(values, period)?;
    let mean = window.iter().sum::<f64>() / period as f64;
    let var = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / period as f64;
    Some((mean, var.sqrt()))
}

/// Bollinger bands: an SMA with bands `k` standard deviations either side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bands {
    /// Middle minus k standard deviations.
    pub lower: f64,
    /// The simple moving average.
    pub middle: f64,
    /// Middle plus k standard deviations.
    pub upper: f64,
    /// The standard deviation used.
    pub stddev: f64,
}

/// Bollinger bands over the last `period` values.
pub fn bollinger(values: &[f64], period: usize, k: f64) -> Option<Bands> {
    let (middle, sd) = sma_stddev(values, period)?;
    Some(Bands {
        lower: middle - k * sd,
        middle,
        upper: middle + k * sd,
        stddev: sd,
    })
}

/// Rate of change in percent over `period` values: `(last / values[len-1-period] - 1) * 100`;
/// 0 when that old value is 0 (TA-Lib's answer rather than an infinity).
pub fn roc(values: &[f64], period: usize) -> Option<f64> {
    if period == 0 || values.len() < period + 1 {
        return None;
    }
    let last = values[values.len() - 1];
    let base = values[values.len() - 1 - period];
    Some(if base == 0.0 {
        0.0
    } else {
        (last / base - 1.0) * 100.0
    })
}

/// The last MACD values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Macd {
    /// Fast EMA minus slow EMA.
    pub macd: f64,
    /// EMA of the MACD line.
    pub signal: f64,
    /// MACD minus signal.
    pub histogram: f64,
}

/// MACD at the last value, as TA-Lib computes it (see [`series::macd`]); needs
/// `slow + signal - 1` values and `fast < slow`.
pub fn macd(values: &[f64], fast: usize, slow: usize, signal: usize) -> Option<Macd> {
    let s = series::macd(values, fast, slow, signal);
    Some(Macd {
        macd: *s.macd.last()?,
        signal: *s.signal.last()?,
        histogram: *s.histogram.last()?,
    })
}

/// Maps a non-negative signal strength to a confidence in [0.5, 1): weak signals still
/// trade at half size, strong ones approach full size.
pub fn confidence(strength: f64) -> f64 {
    if strength.is_finite() && strength > 0.0 {
        0.5 + 0.5 * (1.0 - (-strength).exp())
    } else {
        0.5
    }
}

fn tail(values: &[f64], period: usize) -> Option<&[f64]> {
    (period > 0 && values.len() >= period).then(|| &values[values.len() - period..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn sma_uses_last_window() {
        assert_eq!(sma(&[1.0, 2.0, 3.0, 4.0], 2), Some(3.5));
        assert_eq!(sma(&[1.0, 2.0, 3.0], 3), Some(2.0));
        assert_eq!(sma(&[1.0], 2), None);
        assert_eq!(sma(&[1.0], 0), None);
    }

    #[test]
    fn ema_seeds_with_sma() {
        // alpha = 0.5; seed = 2.0; then 2 + 0.5*(6-2) = 4.
        assert_eq!(ema(&[1.0, 2.0, 3.0, 6.0], 3), Some(4.0));
        assert_eq!(ema(&[5.0, 5.0, 5.0], 3), Some(5.0));
        assert_eq!(ema(&[1.0, 2.0], 3), None);
    }

    #[test]
    fn wma_weights_the_newest_most() {
        // (1*1 + 2*2 + 3*6) / 6 = 23/6.
        assert!(close(wma(&[9.0, 1.0, 2.0, 6.0], 3).unwrap(), 23.0 / 6.0));
        assert_eq!(wma(&[4.0], 1), Some(4.0));
        assert_eq!(wma(&[4.0], 2), None);
    }

    #[test]
    fn rsi_extremes_and_reference() {
        let up: Vec<f64> = (0..20).map(f64::from).collect();
        assert_eq!(rsi(&up, 14), Some(100.0));
        let down: Vec<f64> = (0..20).rev().map(f64::from).collect();
        assert_eq!(rsi(&down, 14), Some(0.0));
        // TA-Lib: nothing moved is 0, not 50.
        assert_eq!(rsi(&[3.0; 20], 14), Some(0.0));
        assert_eq!(rsi(&up[..14], 14), None);
        // Hand-computed: changes +1,-1,+2 (period 2): seed gain 0.5, loss 0.5;
        // then gain (0.5+2)/2 = 1.25, loss 0.25 -> rs 5 -> 83.333..
        let v = rsi(&[10.0, 11.0, 10.0, 12.0], 2).unwrap();
        assert!(close(v, 100.0 - 100.0 / 6.0), "{v}");
    }

    #[test]
    fn rsi_matches_wilder_textbook_example() {
        // The StockCharts RSI sample closes. Gains sum 3.34, losses 1.40 over 14 changes,
        // so RSI = 100 - 100 / (1 + 3.34 / 1.40) = 70.464 (their table shows 70.53 from
        // rounded averages).
        let closes = [
            44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03,
            45.61, 46.28, 46.28,
        ];
        let v = rsi(&closes, 14).unwrap();
        assert!((v - 70.464).abs() < 0.001, "{v}");
    }

    #[test]
    fn atr_by_hand() {
        // True ranges from bar 1: 2, 2, 2, 3.5 (a gap up from 9.5 to a high of 13).
        // ATR(3) = mean(2, 2, 2) = 2 at bar 3, then (2 * 2 + 3.5) / 3 = 2.5.
        let h = [10.0, 11.0, 12.0, 11.0, 13.0];
        let l = [8.0, 9.0, 10.0, 9.0, 10.0];
        let c = [9.0, 10.0, 11.0, 9.5, 12.0];
        assert_eq!(atr(&h[..4], &l[..4], &c[..4], 3), Some(2.0));
        assert!(close(atr(&h, &l, &c, 3).unwrap(), 2.5));
        assert_eq!(atr(&h[..3], &l[..3], &c[..3], 3), None);
    }

    #[test]
    fn stddev_and_bollinger() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(stddev(&v, 8), Some(2.0));
        let b = bollinger(&v, 8, 2.0).unwrap();
        assert_eq!((b.lower, b.middle, b.upper), (1.0, 5.0, 9.0));
        assert_eq!(bollinger(&v, 9, 2.0), None);
        // Irregular values: the fused helper must give the very bits of the two calls.
        let w: Vec<f64> = (0..50)
            .map(|i| 100.0 + (i as f64 * 0.7).sin() * 3.3)
            .collect();
        for p in [1, 7, 30, 50] {
            let (m, sd) = sma_stddev(&w, p).unwrap();
            assert_eq!(m.to_bits(), sma(&w, p).unwrap().to_bits());
            assert_eq!(sd.to_bits(), stddev(&w, p).unwrap().to_bits());
        }
        assert_eq!(sma_stddev(&w, 51), None);
    }

    #[test]
    fn roc_macd_and_confidence() {
        assert!(close(roc(&[100.0, 50.0, 110.0], 2).unwrap(), 10.0));
        assert_eq!(roc(&[0.0, 1.0], 1), Some(0.0));
        assert_eq!(roc(&[1.0], 1), None);
        // MACD(2, 3, 2) over 1..5: both EMAs start at the third value (fast seeded with
        // mean(2, 3) = 2.5, slow with 2) and stay 0.5 apart on a straight line.
        let m = macd(&[1.0, 2.0, 3.0, 4.0, 5.0], 2, 3, 2).unwrap();
        assert_eq!((m.macd, m.signal, m.histogram), (0.5, 0.5, 0.0));
        assert_eq!(macd(&[1.0, 2.0, 3.0], 2, 3, 2), None);
        assert_eq!(confidence(0.0), 0.5);
        assert_eq!(confidence(f64::NAN), 0.5);
        assert!(confidence(1.0) > 0.8 && confidence(50.0) <= 1.0);
    }
}
