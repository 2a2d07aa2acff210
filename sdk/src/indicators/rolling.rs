//! The mean and standard deviation of a moving window, updated in constant time.

/// The mean and population standard deviation of a window of `period` values that the
/// caller keeps (such as [`Closes`](crate::window::Closes)' window), in O(1) per step
/// instead of a pass over the window ([`sma`](super::sma), [`sma_stddev`](super::sma_stddev)):
/// for a bot that sees one new value per tick.
///
/// Running sums, taken around a reference value (the mean at the last recount) so the
/// variance does not come from subtracting two large, nearly equal numbers; every `period`
/// steps they are counted again from the window, so rounding does not build up. Results
/// agree with the pass over the window to about 1e-12 relative, not to the last bit.
#[derive(Clone, Debug)]
pub struct Rolling {
    period: usize,
    /// The reference the sums are taken around.
    base: f64,
    /// Sum of `value - base` over the window.
    sum: f64,
    /// Sum of `(value - base)^2` over the window.
    sum_sq: f64,
    /// Steps since the sums were last counted from the window.
    steps: usize,
    /// Whether the sums describe a full window.
    full: bool,
}

impl Rolling {
    /// Sums over a window of `period` values (at least 1), empty until [`Rolling::reset`].
    pub fn new(period: usize) -> Self {
        Self {
            period: period.max(1),
            base: 0.0,
            sum: 0.0,
            sum_sq: 0.0,
            steps: 0,
            full: false,
        }
    }

    /// The window's length.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Counts the sums from the last `period` values of `values` (oldest first); fewer
    /// leave them empty.
    pub fn reset(&mut self, values: &[f64]) {
        self.steps = 0;
        self.full = values.len() >= self.period;
        if !self.full {
            return;
        }
        let window = &values[values.len() - self.period..];
        self.base = window.iter().sum::<f64>() / self.period as f64;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for v in window {
            let d = v - self.base;
            sum += d;
            sum_sq += d * d;
        }
        (self.sum, self.sum_sq) = (sum, sum_sq);
    }

    /// The window moved on by one: `values` ends with the value that joined, and `leaving`
    /// is the one that dropped out. Starts again from `values` when the sums were empty or
    /// `period` steps old.
    pub fn roll(&mut self, values: &[f64], leaving: f64) {
        let Some(&joining) = values.last() else {
            return;
        };
        self.steps += 1;
        if !self.full || self.steps >= self.period {
            return self.reset(values);
        }
        let (a, b) = (joining - self.base, leaving - self.base);
        self.sum += a - b;
        self.sum_sq += a * a - b * b;
    }

    /// Whether the sums describe a full window.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// The mean of the window, once full.
    pub fn mean(&self) -> Option<f64> {
        self.full.then(|| self.base + self.sum / self.period as f64)
    }

    /// The population standard deviation of the window, once full.
    pub fn stddev(&self) -> Option<f64> {
        let n = self.period as f64;
        let m = self.sum / n;
        // Rounding can leave a hair below zero for a flat window.
        self.full.then(|| (self.sum_sq / n - m * m).max(0.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::{sma, sma_stddev};

    /// A deterministic random walk around `level`.
    fn walk(n: usize, level: f64) -> Vec<f64> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut p = level;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p += ((x % 2001) as f64 - 1000.0) / 1000.0 * level * 1e-3;
                p
            })
            .collect()
    }

    #[test]
    fn agrees_with_a_pass_over_the_window_at_every_step() {
        for (level, period) in [(100.0, 30), (65_000.0, 10), (0.012, 7), (250.0, 1)] {
            let values = walk(20_000, level);
            let mut r = Rolling::new(period);
            for i in 0..values.len() {
                let seen = &values[..=i];
                match i.checked_sub(period) {
                    Some(out) => r.roll(seen, values[out]),
                    None => r.reset(seen),
                }
                assert_eq!(r.is_full(), i + 1 >= period, "full at {i}");
                let (Some(mean), Some(sd)) = (r.mean(), r.stddev()) else {
                    continue;
                };
                let (m, s) = sma_stddev(seen, period).unwrap();
                assert_eq!(sma(seen, period), Some(m));
                assert!(
                    (mean - m).abs() <= 1e-12 * m.abs(),
                    "mean at {i}: {mean} {m}"
                );
                assert!((sd - s).abs() <= 1e-9 * m.abs(), "sd at {i}: {sd} {s}");
            }
        }
    }

    #[test]
    fn a_flat_window_has_no_deviation_and_reset_takes_the_tail() {
        let mut r = Rolling::new(3);
        r.reset(&[100.37; 3]);
        for _ in 0..10 {
            r.roll(&[100.37; 3], 100.37);
        }
        assert_eq!((r.mean(), r.stddev()), (Some(100.37), Some(0.0)));
        r.reset(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(r.mean(), Some(4.0));
        assert_eq!(r.stddev(), Some((2.0f64 / 3.0).sqrt()));
        r.reset(&[1.0]);
        assert_eq!((r.is_full(), r.mean(), r.stddev()), (false, None, None));
        // An empty window rolls nothing; a roll on empty sums starts them from the values.
        r.roll(&[], 1.0);
        r.roll(&[1.0, 2.0, 3.0], 0.0);
        assert_eq!(r.mean(), Some(2.0));
        assert_eq!(Rolling::new(0).period(), 1);
    }
}
