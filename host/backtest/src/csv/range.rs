//! The `--from`/`--to` window.

use super::{DataError, LoadedSeries};
use crate::time::parse_time;
use flotilla_domain::Timestamp;
use serde::Serialize;

/// A window of bar start times, `[from, to)`; either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TimeRange {
    /// The first start kept.
    #[serde(serialize_with = "crate::time::ser_opt_time")]
    pub from: Option<Timestamp>,
    /// The first start no longer kept.
    #[serde(serialize_with = "crate::time::ser_opt_time")]
    pub to: Option<Timestamp>,
}

impl TimeRange {
    /// Reads the command line's bounds, both inclusive as a person means them: `from` is
    /// the instant given (a date is its 00:00 UTC); `to` given as a plain date keeps that
    /// whole day, given as a date-time or epoch number keeps bars starting at that instant.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, DataError> {
        let bound = |which: &'static str, text: &str| {
            parse_time(text).ok_or_else(|| DataError::BadBound {
                which,
                text: text.to_string(),
            })
        };
        let from_t = from.map(|t| bound("from", t)).transpose()?.map(|p| p.utc);
        let to_t = match to {
            None => None,
            Some(text) => {
                let p = bound("to", text)?;
                let plain_date = text.trim().len() <= 10 && p.written_date.is_some();
                Some(if plain_date {
                    p.utc.plus_millis(86_400_000)
                } else {
                    p.utc.plus_millis(1)
                })
            }
        };
        let range = Self {
            from: from_t,
            to: to_t,
        };
        if let (Some(f), Some(t), Some(ft), Some(tt)) = (from, to, from_t, to_t)
            && ft >= tt
        {
            return Err(DataError::EmptyRange {
                from: f.to_string(),
                to: t.to_string(),
            });
        }
        Ok(range)
    }

    /// Whether a bar starting at `t` is in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }

    /// Keeps only the bars of `series` that start in the window.
    pub fn apply(&self, series: &mut LoadedSeries) {
        series.bars.retain(|b| self.contains(b.time));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const JAN2: i64 = 1_704_153_600_000;

    #[test]
    fn bounds_are_inclusive_as_written() {
        let r = TimeRange::parse(Some("2024-01-02"), Some("2024-01-03")).unwrap();
        assert_eq!(r.from, Some(Timestamp(JAN2)));
        assert_eq!(r.to, Some(Timestamp(JAN2 + 2 * DAY)));
        assert!(r.contains(Timestamp(JAN2)));
        assert!(r.contains(Timestamp(JAN2 + 2 * DAY - 1)));
        assert!(!r.contains(Timestamp(JAN2 + 2 * DAY)));
        assert!(!r.contains(Timestamp(JAN2 - 1)));
        let r = TimeRange::parse(None, Some("2024-01-02 09:30:00")).unwrap();
        assert!(r.contains(Timestamp(JAN2 + 570 * 60_000)));
        assert!(!r.contains(Timestamp(JAN2 + 571 * 60_000)));
        assert!(TimeRange::default().contains(Timestamp(i64::MIN)));
    }

    #[test]
    fn bad_bounds_are_refused() {
        assert_eq!(
            TimeRange::parse(Some("yesterday"), None)
                .unwrap_err()
                .to_string(),
            "cannot read from bound \"yesterday\" as a date or time"
        );
        assert_eq!(
            TimeRange::parse(Some("2024-02-01"), Some("2024-01-01"))
                .unwrap_err()
                .to_string(),
            "the range is empty: 2024-02-01 is not before 2024-01-01"
        );
        // A single day is a valid range.
        assert!(TimeRange::parse(Some("2024-01-01"), Some("2024-01-01")).is_ok());
    }
}
