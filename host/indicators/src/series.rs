//! The indicator series. Each `*_last` function yields only the last `keep` outputs of
//! the full TA-Lib series: recursive indicators still run over every input, but nothing
//! is stored before the part that is returned, so the host's per-tick call allocates just
//! what it hands to the guest. The public functions return the whole series.

/// Where the kept part of `total` outputs starts, and how long it is.
fn kept(total: usize, keep: usize) -> (usize, usize) {
    let len = keep.min(total);
    (total - len, len)
}

/// Applies `f` to each `period`-long window whose output is among the last `keep`.
fn windows_last(values: &[f64], period: usize, keep: usize, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    if period == 0 || values.len() < period {
        return Vec::new();
    }
    let (skip, len) = kept(values.len() - period + 1, keep);
    (skip..skip + len)
        .map(|i| f(&values[i..i + period]))
        .collect()
}

fn mean(window: &[f64]) -> f64 {
    window.iter().sum::<f64>() / window.len() as f64
}

/// Population standard deviation around `mean`, by a second pass over the window: stable
/// where `E[x²] - E[x]²` (TA-Lib's) loses everything to cancellation at large prices.
fn deviation(window: &[f64], mean: f64) -> f64 {
    let var = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / window.len() as f64;
    var.sqrt()
}

/// Simple moving average (TA-Lib SMA; lookback `period - 1`).
pub fn sma(values: &[f64], period: usize) -> Vec<f64> {
    sma_last(values, period, usize::MAX)
}

pub(crate) fn sma_last(values: &[f64], period: usize, keep: usize) -> Vec<f64> {
    windows_last(values, period, keep, mean)
}

/// Linearly weighted moving average, weights 1 (oldest) to `period` (newest) (TA-Lib
/// WMA; lookback `period - 1`).
pub fn wma(values: &[f64], period: usize) -> Vec<f64> {
    wma_last(values, period, usize::MAX)
}

pub(crate) fn wma_last(values: &[f64], period: usize, keep: usize) -> Vec<f64> {
    let divider = (period * (period + 1)) as f64 / 2.0;
    windows_last(values, period, keep, |w| {
        w.iter()
            .enumerate()
            .map(|(i, v)| (i + 1) as f64 * v)
            .sum::<f64>()
            / divider
    })
}

/// Rolling population standard deviation (TA-Lib STDDEV with `nbdev` 1; lookback
/// `period - 1`). Two-pass per window, so a flat window gives 0 without TA-Lib's clamp.
pub fn stddev(values: &[f64], period: usize) -> Vec<f64> {
    stddev_last(values, period, usize::MAX)
}

pub(crate) fn stddev_last(values: &[f64], period: usize, keep: usize) -> Vec<f64> {
    windows_last(values, period, keep, |w| deviation(w, mean(w)))
}

/// Rate of change in percent, `(v / v[period ago] - 1) * 100` (TA-Lib ROC; lookback
/// `period`). Like TA-Lib, 0 where the old value is 0 rather than an infinity.
pub fn roc(values: &[f64], period: usize) -> Vec<f64> {
    roc_last(values, period, usize::MAX)
}

pub(crate) fn roc_last(values: &[f64], period: usize, keep: usize) -> Vec<f64> {
    if period == 0 || values.len() <= period {
        return Vec::new();
    }
    let (skip, len) = kept(values.len() - period, keep);
    (skip..skip + len)
        .map(|i| {
            let (old, new) = (values[i], values[i + period]);
            if old != 0.0 {
                (new / old - 1.0) * 100.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Bollinger bands `(upper, middle, lower)`: SMA middle, bands `deviations` population
/// standard deviations of the same window away (TA-Lib BBANDS with an SMA; lookback
/// `period - 1`).
pub fn bollinger(values: &[f64], period: usize, deviations: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    bollinger_last(values, period, deviations, usize::MAX)
}

pub(crate) fn bollinger_last(
    values: &[f64],
    period: usize,
    deviations: f64,
    keep: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let middle = sma_last(values, period, keep);
    let start = values.len() + 1 - period.min(values.len()) - middle.len();
    let (mut upper, mut lower) = (
        Vec::with_capacity(middle.len()),
        Vec::with_capacity(middle.len()),
    );
    for (j, &m) in middle.iter().enumerate() {
        let i = start + j;
        let width = deviations * deviation(&values[i..i + period], m);
        upper.push(m + width);
        lower.push(m - width);
    }
    (upper, middle, lower)
}

/// An exponential moving average in progress, TA-Lib style: `k = 2 / (period + 1)`,
/// updated as `(x - prev) * k + prev`.
struct Ema {
    k: f64,
    value: f64,
}

impl Ema {
    /// Seeded with the mean of `seed`, whose length is the period.
    fn seeded(seed: &[f64]) -> Self {
        Ema {
            k: 2.0 / (seed.len() as f64 + 1.0),
            value: mean(seed),
        }
    }

    fn update(&mut self, x: f64) -> f64 {
        self.value = (x - self.value) * self.k + self.value;
        self.value
    }
}

/// Exponential moving average seeded with the SMA of the first `period` inputs (TA-Lib
/// EMA, classic compatibility; lookback `period - 1`).
pub fn ema(values: &[f64], period: usize) -> Vec<f64> {
    ema_last(values, period, usize::MAX)
}

pub(crate) fn ema_last(values: &[f64], period: usize, keep: usize) -> Vec<f64> {
    if period == 0 || values.len() < period {
        return Vec::new();
    }
    let (skip, len) = kept(values.len() - period + 1, keep);
    let mut out = Vec::with_capacity(len);
    let mut ema = Ema::seeded(&values[..period]);
    if skip == 0 {
        out.push(ema.value);
    }
    for (j, &x) in values[period..].iter().enumerate() {
        let v = ema.update(x);
        if j + 1 >= skip {
            out.push(v);
        }
    }
    out
}

/// Wilder's smoothing step, in TA-Lib's order of operations.
fn wilder(prev: f64, x: f64, period: f64) -> f64 {
    (prev * (period - 1.0) + x) / period
}

/// `100 * gain / (gain + loss)`, TA-Lib's form of `100 - 100 / (1 + rs)`; 0 when nothing
/// moved, as TA-Lib answers (it tests `|gain + loss| < 1e-8`; this tests exact zero).
fn rsi_of(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total != 0.0 {
        100.0 * (gain / total)
    } else {
        0.0
    }
}

/// Relative strength index with Wilder's smoothing (TA-Lib RSI; lookback `period`):
/// the seed averages are plain means of the first `period` changes. 100 when there were
/// only gains; 0 when there were only losses and, as in TA-Lib, when nothing moved.
pub fn rsi(values: &[f64], period: usize) -> Vec<f64> {
    rsi_last(values, period, usize::MAX)
}

pub(crate) fn rsi_last(values: &[f64], period: usize, keep: usize) -> Vec<f64> {
    if period == 0 || values.len() <= period {
        return Vec::new();
    }
    let (skip, len) = kept(values.len() - period, keep);
    let mut out = Vec::with_capacity(len);
    let n = period as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for w in values[..=period].windows(2) {
        let change = w[1] - w[0];
        if change < 0.0 {
            loss -= change;
        } else {
            gain += change;
        }
    }
    gain /= n;
    loss /= n;
    if skip == 0 {
        out.push(rsi_of(gain, loss));
    }
    for (j, w) in values[period..].windows(2).enumerate() {
        let change = w[1] - w[0];
        let (up, down) = if change < 0.0 {
            (0.0, -change)
        } else {
            (change, 0.0)
        };
        gain = wilder(gain, up, n);
        loss = wilder(loss, down, n);
        if j + 1 >= skip {
            out.push(rsi_of(gain, loss));
        }
    }
    out
}

/// True range of bar `i` (`i >= 1`): the widest of high - low and the gaps from the
/// previous close.
fn true_range(high: &[f64], low: &[f64], close: &[f64], i: usize) -> f64 {
    let prev = close[i - 1];
    (high[i] - low[i])
        .max((high[i] - prev).abs())
        .max((low[i] - prev).abs())
}

/// Average true range with Wilder's smoothing (TA-Lib ATR; lookback `period`): the first
/// value, at bar `period`, is the mean true range of bars `1..=period`. The slices are
/// aligned bars and must have the same length.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    atr_last(high, low, close, period, usize::MAX)
}

pub(crate) fn atr_last(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    keep: usize,
) -> Vec<f64> {
    let len = close.len();
    assert!(
        high.len() == len && low.len() == len,
        "atr: high, low and close must be aligned"
    );
    if period == 0 || len <= period {
        return Vec::new();
    }
    let (skip, kept_len) = kept(len - period, keep);
    let mut out = Vec::with_capacity(kept_len);
    let n = period as f64;
    let mut value = (1..=period)
        .map(|i| true_range(high, low, close, i))
        .sum::<f64>()
        / n;
    if skip == 0 {
        out.push(value);
    }
    for i in period + 1..len {
        value = wilder(value, true_range(high, low, close, i), n);
        if i - period >= skip {
            out.push(value);
        }
    }
    out
}

/// MACD `(macd, signal, histogram)` as TA-Lib computes it (lookback `slow - 1 + signal - 1`).
///
/// TA-Lib starts both EMAs at bar `slow - 1`: the slow one seeded with the mean of the
/// first `slow` inputs, the fast one with the mean of the `fast` inputs ending at that
/// same bar (not the first `fast`). The signal line is an EMA of the MACD line seeded
/// with the mean of its first `signal` values; histogram = macd - signal. `fast < slow`.
pub fn macd(
    values: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    macd_last(values, fast, slow, signal, usize::MAX)
}

pub(crate) fn macd_last(
    values: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
    keep: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let empty = || (Vec::new(), Vec::new(), Vec::new());
    if fast == 0 || signal == 0 || slow <= fast {
        return empty();
    }
    let lookback = slow - 1 + signal - 1;
    if values.len() <= lookback {
        return empty();
    }
    let (skip, len) = kept(values.len() - lookback, keep);
    let (mut macd, mut sig, mut hist) = (
        Vec::with_capacity(len),
        Vec::with_capacity(len),
        Vec::with_capacity(len),
    );
    let mut slow_ema = Ema::seeded(&values[..slow]);
    let mut fast_ema = Ema::seeded(&values[slow - fast..slow]);
    // The signal EMA's seed is the mean of the first `signal` MACD values: sum them first.
    let mut seed_sum = 0.0;
    let mut signal_ema = Ema {
        k: 2.0 / (signal as f64 + 1.0),
        value: 0.0,
    };
    for (i, &x) in values.iter().enumerate().skip(slow - 1) {
        let line = if i == slow - 1 {
            fast_ema.value - slow_ema.value
        } else {
            fast_ema.update(x) - slow_ema.update(x)
        };
        let nth = i + 1 - slow; // index into the MACD line
        let s = if nth + 1 < signal {
            seed_sum += line;
            continue;
        } else if nth + 1 == signal {
            signal_ema.value = (seed_sum + line) / signal as f64;
            signal_ema.value
        } else {
            signal_ema.update(line)
        };
        if i - lookback >= skip {
            macd.push(line);
            sig.push(s);
            hist.push(line - s);
        }
    }
    (macd, sig, hist)
}
