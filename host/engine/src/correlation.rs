//! Rolling correlation of symbol returns and the clusters they form.

use flotilla_domain::{Symbol, Timestamp};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Keeps the last `window` returns of each symbol and answers correlation queries.
#[derive(Clone, Debug)]
pub struct CorrelationTracker {
    window: usize,
    min_samples: usize,
    series: BTreeMap<Symbol, VecDeque<(i64, f64)>>,
    generation: u64,
    clusters: HashMap<Symbol, (u64, f64, Vec<Symbol>)>,
}

impl CorrelationTracker {
    /// A tracker over `window` returns per symbol, needing `min_samples` common points.
    pub fn new(window: usize, min_samples: usize) -> Self {
        Self {
            window: window.max(2),
            min_samples: min_samples.max(2),
            series: BTreeMap::new(),
            generation: 0,
            clusters: HashMap::new(),
        }
    }

    /// Records `symbol`'s return `r` over the bar ending at `t`; non-finite returns are ignored.
    pub fn observe(&mut self, symbol: &Symbol, t: Timestamp, r: f64) {
        if !r.is_finite() {
            return;
        }
        // One lookup per bar; the symbol is cloned into the map only the first time.
        let s = match self.series.get_mut(symbol) {
            Some(s) => s,
            None => self.series.entry(symbol.clone()).or_default(),
        };
        if let Some(last) = s.back_mut() {
            if last.0 == t.0 {
                last.1 = r; // a re-sent bar replaces its return
                self.generation += 1;
                return;
            }
            if last.0 > t.0 {
                return; // out of order: ignored, the window is time-sorted
            }
        }
        s.push_back((t.0, r));
        if s.len() > self.window {
            s.pop_front();
        }
        self.generation += 1;
    }

    /// Changes whenever a return is recorded (cluster caches key on it).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Pearson correlation of the two symbols over their common timestamps, if enough.
    pub fn correlation(&self, a: &Symbol, b: &Symbol) -> Option<f64> {
        pearson(self.series.get(a)?, self.series.get(b)?, self.min_samples)
    }

    /// Symbols (other than `symbol`) whose |correlation| with it is ≥ `threshold`, sorted.
    pub fn cluster(&mut self, symbol: &Symbol, threshold: f64) -> &[Symbol] {
        let generation = self.generation;
        let stale = match self.clusters.get(symbol) {
            Some((g, th, _)) => *g != generation || *th != threshold,
            None => true,
        };
        if stale {
            let members = match self.series.get(symbol) {
                None => Vec::new(),
                Some(mine) => self
                    .series
                    .iter()
                    .filter(|(s, _)| *s != symbol)
                    .filter(|(_, other)| {
                        pearson(mine, other, self.min_samples).is_some_and(|c| c.abs() >= threshold)
                    })
                    .map(|(s, _)| s.clone())
                    .collect(),
            };
            self.clusters
                .insert(symbol.clone(), (generation, threshold, members));
        }
        &self.clusters[symbol].2
    }
}

/// Correlation over points with equal timestamps (both series are time-sorted).
fn pearson(a: &VecDeque<(i64, f64)>, b: &VecDeque<(i64, f64)>, min: usize) -> Option<f64> {
    let (mut i, mut j) = (0, 0);
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0usize, 0.0, 0.0, 0.0, 0.0, 0.0);
    while i < a.len() && j < b.len() {
        let (ta, x) = a[i];
        let (tb, y) = b[j];
        if ta < tb {
            i += 1;
        } else if tb < ta {
            j += 1;
        } else {
            n += 1;
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
            i += 1;
            j += 1;
        }
    }
    if n < min {
        return None;
    }
    let nf = n as f64;
    let cov = sxy - sx * sy / nf;
    let vx = sxx - sx * sx / nf;
    let vy = syy - sy * sy / nf;
    if vx <= 1e-18 || vy <= 1e-18 {
        return None; // a flat series correlates with nothing
    }
    Some((cov / (vx * vy).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlated_symbols_form_a_cluster() {
        let mut t = CorrelationTracker::new(50, 10);
        let (a, b, c): (Symbol, Symbol, Symbol) = ("A".into(), "B".into(), "C".into());
        for k in 0..40 {
            let x = ((k * 7919) % 13) as f64 / 100.0 - 0.06;
            let z = ((k * 104729) % 11) as f64 / 100.0 - 0.05;
            t.observe(&a, Timestamp(k), x);
            t.observe(&b, Timestamp(k), 2.0 * x + 0.001);
            t.observe(&c, Timestamp(k), z);
        }
        assert!(t.correlation(&a, &b).unwrap() > 0.99);
        assert!(t.correlation(&a, &c).unwrap().abs() < 0.8);
        assert_eq!(t.cluster(&a, 0.8), std::slice::from_ref(&b));
        assert!(t.cluster(&c, 0.8).is_empty());
        assert!(t.correlation(&a, &"D".into()).is_none());
    }
}
