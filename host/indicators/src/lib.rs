//! Technical indicators with TA-Lib's definitions, alignment and warm-up lengths.
//!
//! Every series function works like its TA-Lib namesake called over the whole input:
//! `output[i]` belongs to `input[lookback + i]`, so the output is `lookback` shorter than
//! the input (empty when the input is not longer than that). [`compute`] serves the host's
//! `indicator` import: a [`Spec`] in, the last `count` values out.
//!
//! Where this crate departs from TA-Lib 0.4, on purpose (each is also noted on the function):
//! - zero tests are exact (`== 0.0`) instead of TA-Lib's absolute `1e-8` epsilon, which
//!   misreads symbols priced around `1e-5` (RSI, STDDEV);
//! - standard deviations use a two-pass sum per window instead of `E[x²] - E[x]²`, which
//!   cancels catastrophically for large prices with small moves;
//! - every period may be 1 (TA-Lib refuses 1 for some functions): the formulas then
//!   degenerate naturally (EMA(1), SMA(1), WMA(1) are the input; STDDEV(1) is 0; RSI(1)
//!   is 100 on a rise and 0 otherwise).

#![warn(missing_docs)]

mod series;

pub use series::{atr, bollinger, ema, macd, roc, rsi, sma, stddev, wma};

use core::fmt;

/// The longest period accepted, as in TA-Lib (which takes 2 or 1 up to 100 000).
pub const MAX_PERIOD: u32 = 100_000;

/// How many times its longest period a recursive indicator is run before the values it
/// returns, so its seed has decayed to nothing that shows (the WIT contract's `extra`).
pub const RECURSIVE_WARMUP: usize = 10;

/// An indicator and its parameters, as in the WIT variant `indicator`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spec {
    /// Simple moving average of closes.
    Sma(u32),
    /// Exponential moving average of closes, seeded with the SMA of the first `period`.
    Ema(u32),
    /// Linearly weighted moving average of closes (newest weight `period`).
    Wma(u32),
    /// Relative strength index with Wilder's smoothing, in [0, 100].
    Rsi(u32),
    /// Average true range with Wilder's smoothing (high, low, close).
    Atr(u32),
    /// Rolling population standard deviation of closes.
    StdDev(u32),
    /// Rate of change in percent: `(close / close[period ago] - 1) * 100`.
    Roc(u32),
    /// MACD line, signal line and histogram.
    Macd {
        /// Fast EMA period.
        fast: u32,
        /// Slow EMA period; must exceed `fast`.
        slow: u32,
        /// Signal EMA period over the MACD line.
        signal: u32,
    },
    /// Bollinger bands: an SMA with bands `deviations` population standard deviations away.
    Bollinger {
        /// Window of the SMA and the standard deviation.
        period: u32,
        /// Band width in standard deviations; finite and not negative.
        deviations: f64,
    },
}

/// Why a [`Spec`] is refused.
#[derive(Clone, Debug, PartialEq)]
pub enum SpecError {
    /// A period outside `1..=MAX_PERIOD`.
    Period {
        /// The indicator's short name.
        indicator: &'static str,
        /// Which period (`period`, `fast`, `slow`, `signal`).
        which: &'static str,
        /// The value given.
        value: u32,
    },
    /// MACD's fast period is not below its slow period.
    FastNotBelowSlow {
        /// The fast period given.
        fast: u32,
        /// The slow period given.
        slow: u32,
    },
    /// Bollinger deviations that are negative, NaN or infinite.
    Deviations(f64),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Period {
                indicator,
                which,
                value,
            } => write!(
                f,
                "{indicator}: {which} must be in 1..={MAX_PERIOD}, got {value}"
            ),
            SpecError::FastNotBelowSlow { fast, slow } => write!(
                f,
                "macd: fast period must be below slow period, got fast {fast}, slow {slow}"
            ),
            SpecError::Deviations(d) => write!(
                f,
                "bollinger: deviations must be finite and not negative, got {d}"
            ),
        }
    }
}

impl std::error::Error for SpecError {}

impl Spec {
    /// The indicator's short name, as used in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Spec::Sma(_) => "sma",
            Spec::Ema(_) => "ema",
            Spec::Wma(_) => "wma",
            Spec::Rsi(_) => "rsi",
            Spec::Atr(_) => "atr",
            Spec::StdDev(_) => "stddev",
            Spec::Roc(_) => "roc",
            Spec::Macd { .. } => "macd",
            Spec::Bollinger { .. } => "bollinger",
        }
    }

    /// Checks periods (`1..=MAX_PERIOD`), MACD's `fast < slow` and finite, non-negative deviations.
    pub fn validate(&self) -> Result<(), SpecError> {
        let indicator = self.name();
        let period = |which: &'static str, value: u32| {
            if (1..=MAX_PERIOD).contains(&value) {
                Ok(())
            } else {
                Err(SpecError::Period {
                    indicator,
                    which,
                    value,
                })
            }
        };
        match *self {
            Spec::Sma(p)
            | Spec::Ema(p)
            | Spec::Wma(p)
            | Spec::Rsi(p)
            | Spec::Atr(p)
            | Spec::StdDev(p)
            | Spec::Roc(p) => period("period", p),
            Spec::Macd { fast, slow, signal } => {
                period("fast", fast)?;
                period("slow", slow)?;
                period("signal", signal)?;
                if fast >= slow {
                    return Err(SpecError::FastNotBelowSlow { fast, slow });
                }
                Ok(())
            }
            Spec::Bollinger {
                period: p,
                deviations,
            } => {
                period("period", p)?;
                if !deviations.is_finite() || deviations < 0.0 {
                    return Err(SpecError::Deviations(deviations));
                }
                Ok(())
            }
        }
    }

    /// TA-Lib's lookback: how many inputs precede the first output.
    ///
    /// SMA, EMA, WMA, STDDEV, BBANDS: `period - 1`; RSI, ATR, ROC: `period` (they work on
    /// changes); MACD: `slow - 1 + signal - 1`. Meaningful for a valid spec.
    pub fn lookback(&self) -> usize {
        let p = |v: u32| v as usize;
        match *self {
            Spec::Sma(n) | Spec::Ema(n) | Spec::Wma(n) | Spec::StdDev(n) => p(n).saturating_sub(1),
            Spec::Bollinger { period, .. } => p(period).saturating_sub(1),
            Spec::Rsi(n) | Spec::Atr(n) | Spec::Roc(n) => p(n),
            Spec::Macd { slow, signal, .. } => {
                p(slow).saturating_sub(1) + p(signal).saturating_sub(1)
            }
        }
    }

    /// Extra inputs a recursive indicator (EMA, RSI, ATR, MACD) runs over before its first
    /// returned value: [`RECURSIVE_WARMUP`] times its longest period; 0 for window indicators.
    pub fn extra(&self) -> usize {
        let longest = match *self {
            Spec::Ema(n) | Spec::Rsi(n) | Spec::Atr(n) => n,
            Spec::Macd { fast, slow, signal } => fast.max(slow).max(signal),
            _ => return 0,
        };
        RECURSIVE_WARMUP * longest as usize
    }

    /// Bars to read for `count` values: `count + lookback + extra`, as the WIT doc says.
    pub fn history(&self, count: usize) -> usize {
        count
            .saturating_add(self.lookback())
            .saturating_add(self.extra())
    }
}

/// The values of one indicator, oldest first, as in the WIT variant `indicator-values`.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Single-line indicators (all but MACD and Bollinger).
    Line(Vec<f64>),
    /// MACD: the three lists are aligned.
    Macd {
        /// Fast EMA minus slow EMA.
        macd: Vec<f64>,
        /// EMA of the MACD line.
        signal: Vec<f64>,
        /// MACD minus signal.
        histogram: Vec<f64>,
    },
    /// Bollinger bands: the three lists are aligned.
    Bands {
        /// Middle plus `deviations` standard deviations.
        upper: Vec<f64>,
        /// The SMA.
        middle: Vec<f64>,
        /// Middle minus `deviations` standard deviations.
        lower: Vec<f64>,
    },
}

impl Values {
    /// How many bars have a value.
    pub fn len(&self) -> usize {
        match self {
            Values::Line(v) => v.len(),
            Values::Macd { macd, .. } => macd.len(),
            Values::Bands { middle, .. } => middle.len(),
        }
    }

    /// True while the indicator is still warming up (no value yet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The last `count` values of `spec` over aligned bars (oldest first), fewer while it
/// warms up and none when there is not enough data.
///
/// Only ATR reads `high` and `low`; if the three slices differ in length their newest
/// ends are aligned. Callers pass [`Spec::history`]`(count)` bars to get what the WIT
/// contract promises; with more, recursive indicators start from an older seed.
pub fn compute(
    spec: &Spec,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    count: usize,
) -> Result<Values, SpecError> {
    spec.validate()?;
    let p = |v: u32| v as usize;
    Ok(match *spec {
        Spec::Sma(n) => Values::Line(series::sma_last(close, p(n), count)),
        Spec::Ema(n) => Values::Line(series::ema_last(close, p(n), count)),
        Spec::Wma(n) => Values::Line(series::wma_last(close, p(n), count)),
        Spec::Rsi(n) => Values::Line(series::rsi_last(close, p(n), count)),
        Spec::StdDev(n) => Values::Line(series::stddev_last(close, p(n), count)),
        Spec::Roc(n) => Values::Line(series::roc_last(close, p(n), count)),
        Spec::Atr(n) => {
            let len = high.len().min(low.len()).min(close.len());
            Values::Line(series::atr_last(
                &high[high.len() - len..],
                &low[low.len() - len..],
                &close[close.len() - len..],
                p(n),
                count,
            ))
        }
        Spec::Macd { fast, slow, signal } => {
            let (macd, signal, histogram) =
                series::macd_last(close, p(fast), p(slow), p(signal), count);
            Values::Macd {
                macd,
                signal,
                histogram,
            }
        }
        Spec::Bollinger { period, deviations } => {
            let (upper, middle, lower) =
                series::bollinger_last(close, p(period), deviations, count);
            Values::Bands {
                upper,
                middle,
                lower,
            }
        }
    })
}

#[cfg(test)]
mod tests;
