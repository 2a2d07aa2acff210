//! Time: millisecond timestamps, bar timeframes and the clock trait.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Milliseconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
    /// This time plus `ms` milliseconds.
    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0 + ms)
    }
    /// The start of the bar of `tf` that contains this time.
    pub fn floor(self, tf: Timeframe) -> Self {
        Self(self.0.div_euclid(tf.millis()) * tf.millis())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// The length of one bar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Timeframe {
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// One day (UTC).
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    /// Every timeframe, shortest first.
    pub const ALL: [Timeframe; 5] = [Self::M1, Self::M5, Self::M15, Self::H1, Self::D1];

    /// Length of one bar in milliseconds.
    pub const fn millis(self) -> i64 {
        match self {
            Self::M1 => 60_000,
            Self::M5 => 300_000,
            Self::M15 => 900_000,
            Self::H1 => 3_600_000,
            Self::D1 => 86_400_000,
        }
    }
    /// The short name used in config files: `1m`, `5m`, `15m`, `1h`, `1d`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::H1 => "1h",
            Self::D1 => "1d",
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown timeframe name.
#[derive(Debug, thiserror::Error)]
#[error("unknown timeframe `{0}` (expected one of 1m, 5m, 15m, 1h, 1d)")]
pub struct UnknownTimeframe(pub String);

impl FromStr for Timeframe {
    type Err = UnknownTimeframe;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|tf| tf.as_str() == s)
            .ok_or_else(|| UnknownTimeframe(s.to_string()))
    }
}

/// The source of "now". Live trading uses the wall clock; the demo and backtests use
/// simulated time, so the same code replays deterministically.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_aligns_to_bar_start() {
        assert_eq!(Timestamp(125_000).floor(Timeframe::M1), Timestamp(120_000));
        assert_eq!(Timestamp(-1).floor(Timeframe::M1), Timestamp(-60_000));
    }

    #[test]
    fn timeframe_names_round_trip() {
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>().unwrap(), tf);
        }
        assert!("2m".parse::<Timeframe>().is_err());
    }
}
