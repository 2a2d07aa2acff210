//! Walk-forward folds: the run's time span cut into consecutive windows, each reported on
//! its own.
//!
//! The folds are slices of one run (capital carries over from fold to fold); each fold's
//! metrics start from the last equity point before the fold, so its return is measured
//! from the equity it inherited. A trade belongs to the fold in which it exits.

use crate::time::ser_time;
use flotilla_domain::Timestamp;
use serde::Serialize;

/// A half-open time window `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    /// First instant in the window.
    #[serde(serialize_with = "ser_time")]
    pub from: Timestamp,
    /// First instant after it.
    #[serde(serialize_with = "ser_time")]
    pub to: Timestamp,
}

impl Span {
    /// Whether `t` is in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }
}

/// Cuts `span` into `k` consecutive windows of equal length (to the millisecond; the last
/// ends exactly at `span.to`). None for `k` = 0 or an empty span.
pub fn split_folds(span: Span, k: usize) -> Vec<Span> {
    let len = i128::from(span.to.0) - i128::from(span.from.0);
    if k == 0 || len <= 0 {
        return Vec::new();
    }
    let at = |i: usize| Timestamp(span.from.0 + (len * i as i128 / k as i128) as i64);
    (0..k)
        .map(|i| Span {
            from: at(i),
            to: at(i + 1),
        })
        .collect()
}

/// The points of a time-ordered curve that a fold's metrics use: the last point before
/// the fold (its starting equity), then the points inside it.
pub fn slice_curve<T: Copy>(curve: &[(Timestamp, T)], span: Span) -> Vec<(Timestamp, T)> {
    let start = curve.partition_point(|p| p.0 < span.from);
    let end = curve.partition_point(|p| p.0 < span.to);
    let base = start.saturating_sub(1);
    if start == end {
        return Vec::new();
    }
    curve[base..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: i64, b: i64) -> Span {
        Span {
            from: Timestamp(a),
            to: Timestamp(b),
        }
    }

    #[test]
    fn folds_tile_the_span() {
        assert_eq!(
            split_folds(span(0, 10), 3),
            vec![span(0, 3), span(3, 6), span(6, 10)]
        );
        assert_eq!(split_folds(span(5, 9), 1), vec![span(5, 9)]);
        assert_eq!(split_folds(span(0, 10), 0), vec![]);
        assert_eq!(split_folds(span(3, 3), 2), vec![]);
        let big = split_folds(span(i64::MIN / 2, i64::MAX / 2), 7);
        assert_eq!(big.len(), 7);
        assert!(big.windows(2).all(|w| w[0].to == w[1].from));
    }

    #[test]
    fn slices_keep_the_inherited_start() {
        let curve: Vec<(Timestamp, f64)> = (0..10).map(|i| (Timestamp(i), i as f64)).collect();
        let s = slice_curve(&curve, span(3, 6));
        assert_eq!(
            s.iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(
            slice_curve(&curve, span(0, 2)).len(),
            2,
            "no point before the first"
        );
        assert!(slice_curve(&curve, span(20, 30)).is_empty());
        assert!(span(3, 6).contains(Timestamp(3)) && !span(3, 6).contains(Timestamp(6)));
    }
}
