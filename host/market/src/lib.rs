//! Bar store and the embedded market simulator (seeded GBM with regime switches).
//!
//! * [`BarStore`] keeps the closed bars of every symbol at every [`Timeframe`], built from
//!   pushed 1-minute bars; see the [`store`] module for the exact closed-bar rule.
//!   [`SharedBars`] shares one between a writer and many readers as a [`MarketData`].
//! * [`Simulator`] generates 1-minute bars for a configured universe ([`SimConfig`]),
//!   deterministically from a seed; see the [`simulator`] module for the model.
//!
//! [`Timeframe`]: flotilla_domain::Timeframe
//! [`MarketData`]: flotilla_domain::MarketData

#![warn(missing_docs)]

pub mod config;
mod regime;
pub mod simulator;
pub mod store;

pub use config::{ConfigError, DEFAULT_START, RegimeConfig, SimConfig, SymbolConfig};
pub use simulator::{MINUTES_PER_YEAR, SimError, Simulator};
pub use store::{BarStore, DEFAULT_CAPACITY, SharedBars, StoreError};
