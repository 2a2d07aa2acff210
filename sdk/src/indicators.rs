//! Pure indicator helpers over price slices (oldest first). Each returns the value at the
//! last element, or `None` when there is not enough data or the period is zero.

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

/// Relative strength index with Wilder's smoothing, in [0, 100].
///
/// Needs `period + 1` values; seeded with plain averages of the first `period` changes,
/// then smoothed over the rest of the slice, as Wilder defined it. 100 when there were
/// no losses, 50 when prices never moved.
pub fn rsi(values: &[f64], period: usize) -> Option<f64> {
    if period == 0 || values.len() < period + 1 {
        return None;
    }
    let change = |i: usize| values[i] - values[i - 1];
    let (mut gain, mut loss) = (1..=period).fold((0.0, 0.0), |(g, l), i| {
        let c = change(i);
        (g + c.max(0.0), l + (-c).max(0.0))
    });
    gain /= period as f64;
    loss /= period as f64;
    let n = period as f64;
    for i in period + 1..values.len() {
        let c = change(i);
        gain = (gain * (n - 1.0) + c.max(0.0)) / n;
        loss = (loss * (n - 1.0) + (-c).max(0.0)) / n;
    }
    Some(match (gain > 0.0, loss > 0.0) {
        (_, true) => 100.0 - 100.0 / (1.0 + gain / loss),
        (true, false) => 100.0,
        (false, false) => 50.0,
    })
}

/// Population standard deviation of the last `period` values (as Bollinger used).
pub fn stddev(values: &[f64], period: usize) -> Option<f64> {
    let window = tail(values, period)?;
    let mean = window.iter().sum::<f64>() / period as f64;
    let var = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / period as f64;
    Some(var.sqrt())
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
    let middle = sma(values, period)?;
    let sd = stddev(values, period)?;
    Some(Bands {
        lower: middle - k * sd,
        middle,
        upper: middle + k * sd,
        stddev: sd,
    })
}

/// Rate of change over `lookback` values: `last / values[len - 1 - lookback] - 1`.
pub fn roc(values: &[f64], lookback: usize) -> Option<f64> {
    if lookback == 0 || values.len() < lookback + 1 {
        return None;
    }
    let last = values[values.len() - 1];
    let base = values[values.len() - 1 - lookback];
    (base != 0.0).then(|| last / base - 1.0)
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
    fn rsi_extremes_and_reference() {
        let up: Vec<f64> = (0..20).map(f64::from).collect();
        assert_eq!(rsi(&up, 14), Some(100.0));
        let down: Vec<f64> = (0..20).rev().map(f64::from).collect();
        assert_eq!(rsi(&down, 14), Some(0.0));
        assert_eq!(rsi(&[3.0; 20], 14), Some(50.0));
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
    fn stddev_and_bollinger() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(stddev(&v, 8), Some(2.0));
        let b = bollinger(&v, 8, 2.0).unwrap();
        assert_eq!((b.lower, b.middle, b.upper), (1.0, 5.0, 9.0));
        assert_eq!(bollinger(&v, 9, 2.0), None);
    }

    #[test]
    fn roc_and_confidence() {
        assert!(close(roc(&[100.0, 50.0, 110.0], 2).unwrap(), 0.1));
        assert_eq!(roc(&[0.0, 1.0], 1), None);
        assert_eq!(roc(&[1.0], 1), None);
        assert_eq!(confidence(0.0), 0.5);
        assert_eq!(confidence(f64::NAN), 0.5);
        assert!(confidence(1.0) > 0.8 && confidence(50.0) <= 1.0);
    }
}
