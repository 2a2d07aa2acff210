//! Write Flotilla trading bots in Rust.
//!
//! A bot is a type implementing [`Bot`], exported with [`export_bot!`] from a `cdylib`
//! crate built for `wasm32-wasip2`. The SDK owns the generated WIT bindings
//! (`flotilla:bot@0.7.0`, world `bot`), keeps the bot's state between calls, converts
//! types and turns calls made before `init` into errors. Bots never see generated code,
//! nor the functions only backtests call (runs and batches of ticks): the SDK implements
//! them for every [`Bot`].
//!
//! ```
//! use flotilla_sdk::{indicators::sma, Bot, Config, Tick, Timeframe};
//!
//! struct Trend { fast: usize, slow: usize, fraction: f64 }
//!
//! impl Bot for Trend {
//!     const NAME: &'static str = "trend";
//!     const VERSION: &'static str = "0.1.0";
//!
//!     fn init(cfg: &Config) -> Result<Self, String> {
//!         Ok(Trend { fast: cfg.get("fast", 10)?, slow: cfg.get("slow", 30)?, fraction: cfg.fraction()? })
//!     }
//!
//!     fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
//!         for sym in ctx.symbols() {
//!             let closes = ctx.closes(sym, Timeframe::M1, self.slow as u32)?;
//!             let (Some(fast), Some(slow)) = (sma(&closes, self.fast), sma(&closes, self.slow)) else { continue };
//!             let qty = if fast > slow { ctx.units(self.fraction, closes[closes.len() - 1]) } else { 0.0 };
//!             ctx.target(sym.as_str(), qty).confidence(0.8).tag("trend");
//!         }
//!         Ok(())
//!     }
//! }
//!
//! flotilla_sdk::export_bot!(Trend);
//! ```
//!
//! Orders: [`Order::limit`] and [`Order::time_in_force`] make an entry a limit order;
//! [`Tick::working_orders`] lists the bot's orders still working, [`Tick::cancel`] asks
//! to cancel one, and [`Bot::on_order`] hears what happens to them.
//!
//! Indicators: [`Tick::indicator`], [`Tick::macd`] and [`Tick::bollinger`] ask the host to
//! compute an [`Indicator`] natively over its bars (TA-Lib's definitions) and return the
//! last few values, so long histories need not cross into the bot; [`indicators`] has the
//! same ones as pure functions over slices.
//!
//! On targets other than wasm32 the [`host`] functions talk to an in-memory mock, and
//! [`testing`] drives a bot against it, so strategy logic unit-tests natively.

#![warn(missing_docs)]

mod config;
pub mod directional;
pub mod host;
pub mod indicators;
mod runner;
mod signal;
mod spec;
pub mod state;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod tick;
mod types;
pub mod window;

pub use config::{Config, Param};
pub use signal::{Signal, Signals};
pub use spec::{BandSeries, Indicator, IndicatorValues, MacdSeries};
pub use tick::{Order, Tick};
pub use types::{
    Action, Bar, Fill, Intent, LogLevel, OrderEvent, OrderState, OrderUpdate, Position, ScaleOut,
    Side, TimeInForce, Timeframe, Timestamp, Trail, Trailing, WorkingOrder,
};

/// The generated bindings; public only because [`export_bot!`] expands in the bot's crate.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "bot",
        pub_export_macro: true,
        // The generated `export!` names its types through this path from the bot crate;
        // `export_bot!` overrides it with `$crate::bindings` so a renamed dependency works.
        default_bindings_module: "flotilla_sdk::bindings",
    });
}

/// Items the macros need; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::runner::Runner;
}

/// A trading strategy. Implement it, then export the type with [`export_bot!`].
///
/// One instance lives per component instance: created by `init`, then called for every
/// tick and fill. Returning `Err` from a callback reports the message to the host; a
/// panic traps the whole instance, so prefer errors.
pub trait Bot: Sized + 'static {
    /// The name the bot reports in `describe`.
    const NAME: &'static str;
    /// The bot's own version (not the contract's).
    const VERSION: &'static str;

    /// Timeframes the bot reads; `describe` runs before `init`, so this cannot depend on params.
    fn timeframes() -> Vec<Timeframe> {
        vec![Timeframe::M1]
    }

    /// Symbols the bot needs; empty means whatever the registry grants.
    fn symbols() -> Vec<String> {
        Vec::new()
    }

    /// Builds the bot from its config; an error (e.g. a bad param) keeps it from running.
    fn init(cfg: &Config) -> Result<Self, String>;

    /// Decides what to trade now, by calling `ctx.buy/sell/target`.
    fn on_tick(&mut self, ctx: &mut Tick<'_>) -> Result<(), String>;

    /// Learns of an execution of one of its orders.
    fn on_fill(&mut self, _fill: &Fill) {}

    /// Learns what happened to one of its orders (accepted, rejected, canceled, expired,
    /// partly or wholly filled); nothing by default.
    fn on_order(&mut self, _update: &OrderUpdate) {}

    /// State to carry over a reload or restart; empty by default.
    fn snapshot(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restores state from an earlier [`Bot::snapshot`]; called after `init`.
    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Exports a [`Bot`] type as the component's `flotilla:bot/strategy` implementation (and
/// `replay-strategy`, which backtests call).
///
/// Use once per bot crate, at the crate root: `flotilla_sdk::export_bot!(MyBot);`.
#[macro_export]
macro_rules! export_bot {
    ($bot:ty) => {
        // The generated `export!` takes an identifier, not a type, hence the alias.
        #[doc(hidden)]
        type __FlotillaExportedBot = $crate::__private::Runner<$bot>;
        $crate::bindings::export!(__FlotillaExportedBot with_types_in $crate::bindings);
    };
}
