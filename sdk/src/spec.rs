//! What a bot asks the host's `indicator` import for, and what it gets back.

use core::fmt;

/// Longest period the host accepts (TA-Lib's limit).
pub const MAX_PERIOD: u32 = 100_000;

/// An indicator the host computes natively, with TA-Lib's definitions and warm-up.
///
/// Inputs are closes, except ATR (high, low, close). Every period must be at least 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Indicator {
    /// Simple moving average.
    Sma(u32),
    /// Exponential moving average, seeded with the SMA of its first `period` inputs.
    Ema(u32),
    /// Linearly weighted moving average.
    Wma(u32),
    /// Relative strength index with Wilder's smoothing, in [0, 100] (0 when flat).
    Rsi(u32),
    /// Average true range with Wilder's smoothing.
    Atr(u32),
    /// Rolling population standard deviation.
    StdDev(u32),
    /// Rate of change in percent: `(close / close[period ago] - 1) * 100`.
    Roc(u32),
    /// MACD line, signal line and histogram (TA-Lib defaults: 12, 26, 9).
    Macd {
        /// Fast EMA period.
        fast: u32,
        /// Slow EMA period, above `fast`.
        slow: u32,
        /// Signal EMA period.
        signal: u32,
    },
    /// Bollinger bands around an SMA (TA-Lib defaults: 20, 2.0).
    Bollinger {
        /// Window of the SMA and the deviation.
        period: u32,
        /// Band width in population standard deviations.
        deviations: f64,
    },
}

impl Indicator {
    /// The short name the host uses in messages (`sma`, `rsi`, `macd`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Indicator::Sma(_) => "sma",
            Indicator::Ema(_) => "ema",
            Indicator::Wma(_) => "wma",
            Indicator::Rsi(_) => "rsi",
            Indicator::Atr(_) => "atr",
            Indicator::StdDev(_) => "stddev",
            Indicator::Roc(_) => "roc",
            Indicator::Macd { .. } => "macd",
            Indicator::Bollinger { .. } => "bollinger",
        }
    }

    /// Checks what the host checks, with the host's wording: periods in 1..=100000,
    /// MACD fast below slow, deviations finite and not negative.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name();
        let check = |which: &str, v: u32| -> Result<(), String> {
            if v == 0 || v > MAX_PERIOD {
                Err(format!(
                    "{name}: {which} must be in 1..={MAX_PERIOD}, got {v}"
                ))
            } else {
                Ok(())
            }
        };
        match *self {
            Indicator::Macd { fast, slow, signal } => {
                check("fast", fast)?;
                check("slow", slow)?;
                check("signal", signal)?;
                if fast < slow {
                    Ok(())
                } else {
                    Err(format!(
                        "macd: fast period must be below slow period, got fast {fast}, slow {slow}"
                    ))
                }
            }
            Indicator::Bollinger { period, deviations } => {
                check("period", period)?;
                if deviations.is_finite() && deviations >= 0.0 {
                    Ok(())
                } else {
                    Err(format!(
                        "bollinger: deviations must be finite and not negative, got {deviations}"
                    ))
                }
            }
            Indicator::Sma(p)
            | Indicator::Ema(p)
            | Indicator::Wma(p)
            | Indicator::Rsi(p)
            | Indicator::Atr(p)
            | Indicator::StdDev(p)
            | Indicator::Roc(p) => check("period", p),
        }
    }

    /// Bars before the first value (TA-Lib's lookback): `period - 1` for SMA, EMA, WMA,
    /// STDDEV and Bollinger; `period` for RSI, ATR and ROC; `slow + signal - 2` for MACD.
    pub fn lookback(&self) -> u64 {
        let p = |v: u32| u64::from(v);
        match *self {
            Indicator::Sma(n) | Indicator::Ema(n) | Indicator::Wma(n) | Indicator::StdDev(n) => {
                p(n).saturating_sub(1)
            }
            Indicator::Bollinger { period, .. } => p(period).saturating_sub(1),
            Indicator::Rsi(n) | Indicator::Atr(n) | Indicator::Roc(n) => p(n),
            Indicator::Macd { slow, signal, .. } => (p(slow) + p(signal)).saturating_sub(2),
        }
    }

    /// Bars the host reads for `count` values: `count + lookback`, plus 10 x the longest
    /// period for the recursive ones (EMA, RSI, ATR, MACD) so their seed has faded.
    pub fn history(&self, count: u32) -> u64 {
        let extra = match *self {
            Indicator::Ema(n) | Indicator::Rsi(n) | Indicator::Atr(n) => 10 * u64::from(n),
            Indicator::Macd { fast, slow, signal } => 10 * u64::from(fast.max(slow).max(signal)),
            _ => 0,
        };
        u64::from(count) + self.lookback() + extra
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Indicator::Macd { fast, slow, signal } => write!(f, "macd({fast}, {slow}, {signal})"),
            Indicator::Bollinger { period, deviations } => {
                write!(f, "bollinger({period}, {deviations})")
            }
            Indicator::Sma(p)
            | Indicator::Ema(p)
            | Indicator::Wma(p)
            | Indicator::Rsi(p)
            | Indicator::Atr(p)
            | Indicator::StdDev(p)
            | Indicator::Roc(p) => write!(f, "{}({p})", self.name()),
        }
    }
}

impl core::str::FromStr for Indicator {
    type Err = String;

    /// Parses what `Display` writes, any case and spacing: `sma(20)`, `stddev(20)`,
    /// `macd(12, 26, 9)`, `bollinger(20, 2)`. Syntax only: see [`Indicator::validate`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "expected an indicator like rsi(14), macd(12, 26, 9) or bollinger(20, 2), got {s:?}"
            )
        };
        let (name, rest) = s.trim().split_once('(').ok_or_else(bad)?;
        let args: Vec<&str> = rest
            .trim()
            .strip_suffix(')')
            .ok_or_else(bad)?
            .split(',')
            .map(str::trim)
            .collect();
        let int = |i: usize| {
            args.get(i)
                .and_then(|a| a.parse::<u32>().ok())
                .ok_or_else(bad)
        };
        let name = name.trim().to_ascii_lowercase();
        let arity = if name == "macd" {
            3
        } else if name == "bollinger" {
            2
        } else {
            1
        };
        if args.len() != arity {
            return Err(bad());
        }
        let spec = match name.as_str() {
            "sma" => Indicator::Sma(int(0)?),
            "ema" => Indicator::Ema(int(0)?),
            "wma" => Indicator::Wma(int(0)?),
            "rsi" => Indicator::Rsi(int(0)?),
            "atr" => Indicator::Atr(int(0)?),
            "stddev" => Indicator::StdDev(int(0)?),
            "roc" => Indicator::Roc(int(0)?),
            "macd" => Indicator::Macd {
                fast: int(0)?,
                slow: int(1)?,
                signal: int(2)?,
            },
            "bollinger" => Indicator::Bollinger {
                period: int(0)?,
                deviations: args[1].parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        Ok(spec)
    }
}

/// MACD values, oldest first; the i-th value of each list belongs to the same bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MacdSeries {
    /// Fast EMA minus slow EMA.
    pub macd: Vec<f64>,
    /// EMA of the MACD line.
    pub signal: Vec<f64>,
    /// MACD minus signal.
    pub histogram: Vec<f64>,
}

/// Bollinger bands, oldest first; the i-th value of each list belongs to the same bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BandSeries {
    /// Middle plus `deviations` standard deviations.
    pub upper: Vec<f64>,
    /// The SMA.
    pub middle: Vec<f64>,
    /// Middle minus `deviations` standard deviations.
    pub lower: Vec<f64>,
}

/// What the host's `indicator` import answers: oldest first, the last value belongs to
/// the last closed bar; shorter (or empty) while the indicator warms up.
#[derive(Clone, Debug, PartialEq)]
pub enum IndicatorValues {
    /// Single-line indicators (all but MACD and Bollinger).
    Line(Vec<f64>),
    /// MACD.
    Macd(MacdSeries),
    /// Bollinger bands.
    Bands(BandSeries),
}

impl IndicatorValues {
    /// How many bars have a value.
    pub fn len(&self) -> usize {
        match self {
            IndicatorValues::Line(v) => v.len(),
            IndicatorValues::Macd(m) => m.macd.len(),
            IndicatorValues::Bands(b) => b.middle.len(),
        }
    }

    /// True while warming up: no value yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_displays() {
        for spec in [
            Indicator::Sma(20),
            Indicator::StdDev(5),
            Indicator::Macd {
                fast: 12,
                slow: 26,
                signal: 9,
            },
            Indicator::Bollinger {
                period: 20,
                deviations: 2.5,
            },
        ] {
            assert_eq!(spec.to_string().parse::<Indicator>(), Ok(spec));
        }
        assert_eq!(" RSI( 14 ) ".parse::<Indicator>(), Ok(Indicator::Rsi(14)));
        assert_eq!("rsi(0)".parse::<Indicator>(), Ok(Indicator::Rsi(0)));
        for bad in [
            "rsi",
            "rsi(14",
            "rsi(1, 2)",
            "macd(1, 2)",
            "foo(3)",
            "sma(-1)",
        ] {
            assert!(bad.parse::<Indicator>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lookback_and_history_follow_the_contract() {
        assert_eq!(Indicator::Sma(20).history(1), 20);
        assert_eq!(Indicator::Rsi(14).history(1), 1 + 14 + 140);
        let m = Indicator::Macd {
            fast: 12,
            slow: 26,
            signal: 9,
        };
        assert_eq!((m.lookback(), m.history(2)), (33, 2 + 33 + 260));
    }
}
