//! Market data as the host sees it: bars and a read-only view over them.

use crate::{Symbol, Timeframe, Timestamp};
use serde::{Deserialize, Serialize};

/// One closed OHLCV bar. Prices are `f64` here because bars feed indicators; the host
/// converts to [`crate::Price`] at the point a price enters the ledger (a fill).
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
pub struct Bar {
    /// Start of the bar.
    pub time: Timestamp,
    /// First traded price.
    pub open: f64,
    /// Highest traded price.
    pub high: f64,
    /// Lowest traded price.
    pub low: f64,
    /// Last traded price.
    pub close: f64,
    /// Traded volume.
    pub volume: f64,
}

/// Why a bar is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarError {
    /// A price or the volume is NaN or infinite.
    #[error("non-finite value in bar")]
    NonFinite,
    /// A price is zero or negative.
    #[error("non-positive price in bar")]
    NonPositive,
    /// High below low, or open/close outside [low, high].
    #[error("inconsistent bar: high {high} low {low}")]
    Inconsistent {
        /// The bar's high.
        high: f64,
        /// The bar's low.
        low: f64,
    },
}

impl Bar {
    /// Checks that the bar is finite, positive and internally consistent.
    pub fn validate(&self) -> Result<(), BarError> {
        let vals = [self.open, self.high, self.low, self.close, self.volume];
        if vals.iter().any(|v| !v.is_finite()) {
            return Err(BarError::NonFinite);
        }
        if [self.open, self.high, self.low, self.close]
            .iter()
            .any(|v| *v <= 0.0)
        {
            return Err(BarError::NonPositive);
        }
        let inside = |v: f64| v >= self.low && v <= self.high;
        if self.high < self.low || !inside(self.open) || !inside(self.close) {
            return Err(BarError::Inconsistent {
                high: self.high,
                low: self.low,
            });
        }
        Ok(())
    }
}

/// Why market data could not be served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MarketError {
    /// The market has no such symbol.
    #[error("unknown symbol `{0}`")]
    UnknownSymbol(Symbol),
    /// No bar of the symbol has closed yet.
    #[error("no price yet for `{0}`")]
    NoData(Symbol),
}

/// Read access to closed bars, as served to bots and to the risk engine.
pub trait MarketData: Send + Sync {
    /// The last `count` closed bars of `symbol` at `tf`, oldest first, closed at or before `now`.
    fn bars(&self, symbol: &Symbol, tf: Timeframe, count: usize) -> Result<Vec<Bar>, MarketError>;
    /// Like [`MarketData::bars`], into `out` (cleared first), so a caller on the tick path
    /// can reuse one buffer. The default allocates; stores override it.
    fn bars_into(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        count: usize,
        out: &mut Vec<Bar>,
    ) -> Result<(), MarketError> {
        out.clear();
        out.extend(self.bars(symbol, tf, count)?);
        Ok(())
    }
    /// The close of the most recent 1-minute bar of `symbol`, with the bar's close time.
    fn last_price(&self, symbol: &Symbol) -> Result<(f64, Timestamp), MarketError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(o: f64, h: f64, l: f64, c: f64) -> Bar {
        Bar {
            time: Timestamp(0),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 1.0,
        }
    }

    #[test]
    fn validate_rejects_bad_bars() {
        assert!(bar(10.0, 11.0, 9.0, 10.5).validate().is_ok());
        assert_eq!(
            bar(f64::NAN, 11.0, 9.0, 10.0).validate(),
            Err(BarError::NonFinite)
        );
        assert_eq!(
            bar(0.0, 11.0, 0.0, 10.0).validate(),
            Err(BarError::NonPositive)
        );
        assert!(matches!(
            bar(10.0, 9.0, 11.0, 10.0).validate(),
            Err(BarError::Inconsistent { .. })
        ));
    }
}
