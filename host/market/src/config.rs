//! Simulator configuration: symbols, regimes and the seed, with documented defaults.

use flotilla_domain::{Symbol, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// 2025-01-06 00:00 UTC (a Monday), the default first bar of the simulation.
pub const DEFAULT_START: Timestamp = Timestamp(1_736_121_600_000);

/// Why a [`SimConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The symbol list is empty.
    #[error("the simulator needs at least one symbol")]
    NoSymbols,
    /// The same symbol is listed twice.
    #[error("symbol `{0}` is listed twice")]
    DuplicateSymbol(Symbol),
    /// A symbol's parameters are out of range.
    #[error("symbol `{symbol}`: {reason}")]
    BadSymbol {
        /// The offending symbol.
        symbol: Symbol,
        /// What is wrong.
        reason: &'static str,
    },
    /// The regime list is empty.
    #[error("the simulator needs at least one regime")]
    NoRegimes,
    /// A regime's parameters are out of range.
    #[error("regime `{name}`: {reason}")]
    BadRegime {
        /// The offending regime.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// `substeps_per_minute` is zero.
    #[error("substeps_per_minute must be at least 1")]
    ZeroSubsteps,
}

/// The whole simulator configuration. Every field has a default (see [`Default`]), so a
/// config file may give only the fields it changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every random stream; same seed and config give identical bars. Default 42.
    pub seed: u64,
    /// Start of the first live bar, floored to the minute. Default [`DEFAULT_START`].
    pub start: Timestamp,
    /// Minutes of history to generate before `start`, for the host to pass to
    /// [`crate::Simulator::warm_up`]. Default 1,440 (one day).
    pub warm_up_minutes: u32,
    /// Price path points per 1-minute bar; more gives more realistic highs and lows.
    /// Default 8.
    pub substeps_per_minute: u32,
    /// The simulated instruments. Default [`SymbolConfig::default_set`].
    pub symbols: Vec<SymbolConfig>,
    /// The regimes of the per-symbol Markov chain; the chain starts in the first one.
    /// Default [`RegimeConfig::default_set`].
    pub regimes: Vec<RegimeConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            start: DEFAULT_START,
            warm_up_minutes: 1_440,
            substeps_per_minute: 8,
            symbols: SymbolConfig::default_set(),
            regimes: RegimeConfig::default_set(),
        }
    }
}

impl SimConfig {
    /// Checks every parameter's range and that symbols are unique.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.symbols.is_empty() {
            return Err(ConfigError::NoSymbols);
        }
        let mut seen = HashSet::new();
        for s in &self.symbols {
            if !seen.insert(s.symbol.clone()) {
                return Err(ConfigError::DuplicateSymbol(s.symbol.clone()));
            }
            s.validate()?;
        }
        if self.regimes.is_empty() {
            return Err(ConfigError::NoRegimes);
        }
        for r in &self.regimes {
            r.validate()?;
        }
        if self.substeps_per_minute == 0 {
            return Err(ConfigError::ZeroSubsteps);
        }
        Ok(())
    }
}

/// One simulated instrument.
///
/// Annual figures use a 525,600-minute year: the simulator trades every symbol around the
/// clock, so there are no overnight gaps to annualise around.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    /// The instrument.
    pub symbol: Symbol,
    /// Price of the first generated bar's open (the first warm-up bar if there is a warm-up).
    pub start_price: f64,
    /// Long-run annual drift of the log-price's expectation (GBM `mu`), e.g. 0.08.
    #[serde(default)]
    pub annual_drift: f64,
    /// Long-run annualised volatility (GBM `sigma`), e.g. 0.25; regimes redistribute it
    /// over time but keep its long-run average (see [`RegimeConfig`]).
    pub annual_vol: f64,
    /// Loading on the shared market factor, in [-1, 1]: each sub-step shock is
    /// `loading * market + sqrt(1 - loading^2) * own`, so two symbols' shocks correlate by
    /// the product of their loadings. Default 0.5.
    #[serde(default = "default_loading")]
    pub market_loading: f64,
    /// Typical volume of one 1-minute bar in calm conditions. Default 10,000.
    #[serde(default = "default_base_volume")]
    pub base_volume: f64,
}

fn default_loading() -> f64 {
    0.5
}

fn default_base_volume() -> f64 {
    10_000.0
}

impl SymbolConfig {
    /// A symbol with the default loading and volume.
    pub fn new(symbol: &str, start_price: f64, annual_drift: f64, annual_vol: f64) -> Self {
        Self {
            symbol: Symbol::new(symbol),
            start_price,
            annual_drift,
            annual_vol,
            market_loading: default_loading(),
            base_volume: default_base_volume(),
        }
    }

    /// The default universe: four equity-like symbols that load heavily on the market
    /// factor, and two crypto pairs that load lightly and are far more volatile.
    pub fn default_set() -> Vec<Self> {
        let sym = |name, price, drift, vol, loading, volume| Self {
            market_loading: loading,
            base_volume: volume,
            ..Self::new(name, price, drift, vol)
        };
        vec![
            sym("AAPL", 190.0, 0.08, 0.28, 0.7, 120_000.0),
            sym("MSFT", 420.0, 0.08, 0.25, 0.7, 60_000.0),
            sym("SPY", 520.0, 0.07, 0.16, 0.85, 150_000.0),
            sym("QQQ", 440.0, 0.09, 0.21, 0.85, 100_000.0),
            sym("BTC-USD", 65_000.0, 0.10, 0.60, 0.4, 15.0),
            sym("ETH-USD", 3_200.0, 0.10, 0.75, 0.4, 250.0),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |reason| {
            Err(ConfigError::BadSymbol {
                symbol: self.symbol.clone(),
                reason,
            })
        };
        if self.symbol.as_str().is_empty() {
            return bad("empty symbol name");
        }
        if !(self.start_price.is_finite() && self.start_price > 0.0) {
            return bad("start_price must be finite and > 0");
        }
        if !(self.annual_drift.is_finite() && self.annual_drift.abs() <= 10.0) {
            return bad("annual_drift must be finite and within [-10, 10]");
        }
        if !(self.annual_vol.is_finite() && (0.0..=10.0).contains(&self.annual_vol)) {
            return bad("annual_vol must be within [0, 10]");
        }
        if !(-1.0..=1.0).contains(&self.market_loading) {
            return bad("market_loading must be within [-1, 1]");
        }
        if !(self.base_volume.is_finite() && self.base_volume > 0.0) {
            return bad("base_volume must be finite and > 0");
        }
        Ok(())
    }
}

/// One market regime: a state of the per-symbol Markov chain that shifts drift and scales
/// volatility while it lasts.
///
/// Each minute the chain leaves the current regime with probability `1 / mean_minutes`
/// and enters another regime chosen in proportion to `weight`. The simulator rescales all
/// `vol_scale`s by one constant so that the chain's long-run average variance equals the
/// symbol's `annual_vol`, so regimes change *when* volatility happens, not how much.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeConfig {
    /// A name for logs and tests, e.g. `calm`.
    pub name: String,
    /// Added to the annual drift, in units of the symbol's `annual_vol`, so a trend moves a
    /// volatile symbol further than a quiet one.
    pub drift_shift: f64,
    /// Relative volatility in this regime, before the long-run normalisation.
    pub vol_scale: f64,
    /// Mean time spent in the regime once entered, in minutes (>= 1).
    pub mean_minutes: f64,
    /// Relative chance of entering this regime when another one ends.
    pub weight: f64,
}

impl RegimeConfig {
    /// The default four regimes: calm, trending up, trending down and volatile.
    ///
    /// Trend shifts of 40 vols a year look huge annualised, but a trend lasts two hours on
    /// average, over which it moves the price by about half the noise: visible to a trend
    /// follower, not a free lunch. Up and down are symmetric so the long-run drift is kept.
    pub fn default_set() -> Vec<Self> {
        let r = |name: &str, drift_shift, vol_scale, mean_minutes, weight| Self {
            name: name.to_string(),
            drift_shift,
            vol_scale,
            mean_minutes,
            weight,
        };
        vec![
            r("calm", 0.0, 0.7, 240.0, 0.4),
            r("trending-up", 40.0, 1.0, 120.0, 0.25),
            r("trending-down", -40.0, 1.0, 120.0, 0.25),
            r("volatile", 0.0, 2.0, 60.0, 0.1),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |reason| {
            Err(ConfigError::BadRegime {
                name: self.name.clone(),
                reason,
            })
        };
        if !(self.drift_shift.is_finite() && self.drift_shift.abs() <= 1_000.0) {
            return bad("drift_shift must be finite and within [-1000, 1000]");
        }
        if !(self.vol_scale.is_finite() && self.vol_scale > 0.0 && self.vol_scale <= 100.0) {
            return bad("vol_scale must be within (0, 100]");
        }
        if !(self.mean_minutes.is_finite() && self.mean_minutes >= 1.0) {
            return bad("mean_minutes must be finite and >= 1");
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return bad("weight must be finite and >= 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_has_six_symbols() {
        let c = SimConfig::default();
        c.validate().unwrap();
        assert_eq!(c.symbols.len(), 6);
        assert_eq!(c.start.millis() % 60_000, 0);
    }

    #[test]
    fn partial_toml_fills_defaults_and_unknown_fields_are_rejected() {
        let c: SimConfig = toml::from_str(
            r#"
            seed = 7
            [[symbols]]
            symbol = "XYZ"
            start_price = 10.0
            annual_vol = 0.3
            "#,
        )
        .unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.symbols.len(), 1);
        assert_eq!(c.symbols[0].market_loading, 0.5);
        assert_eq!(c.regimes, RegimeConfig::default_set());
        c.validate().unwrap();

        assert!(toml::from_str::<SimConfig>("sead = 7").is_err());
        let bad_symbol =
            "[[symbols]]\nsymbol = \"X\"\nstart_price = 1.0\nannual_vol = 0.1\nvol = 2";
        assert!(toml::from_str::<SimConfig>(bad_symbol).is_err());
    }

    #[test]
    fn validation_catches_bad_values() {
        let mut c = SimConfig::default();
        c.symbols[1].symbol = c.symbols[0].symbol.clone();
        assert!(matches!(c.validate(), Err(ConfigError::DuplicateSymbol(_))));

        let mut c = SimConfig::default();
        c.symbols[0].start_price = -1.0;
        assert!(matches!(c.validate(), Err(ConfigError::BadSymbol { .. })));

        let mut c = SimConfig::default();
        c.symbols[0].annual_vol = f64::NAN;
        assert!(matches!(c.validate(), Err(ConfigError::BadSymbol { .. })));

        let mut c = SimConfig::default();
        c.regimes[0].mean_minutes = 0.5;
        assert!(matches!(c.validate(), Err(ConfigError::BadRegime { .. })));

        let c = SimConfig {
            substeps_per_minute: 0,
            ..SimConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::ZeroSubsteps));

        let c = SimConfig {
            symbols: vec![],
            ..SimConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::NoSymbols));
    }
}
