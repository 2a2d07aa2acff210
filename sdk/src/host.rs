//! Direct access to the host's imports, usable from any bot callback.
//!
//! On wasm32 these call the `flotilla:bot/host` imports. On other targets (unit tests on
//! the build machine) they talk to a per-thread in-memory mock that
//! [`testing`](crate::testing) fills, so bot logic can be tested natively.

use crate::types::{Bar, LogLevel, Position, Timeframe};

/// The last `count` closed bars of a granted symbol, oldest first.
pub fn bars(symbol: &str, timeframe: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
    imp::bars(symbol, timeframe, count)
}

/// The latest close of a granted symbol.
pub fn last_price(symbol: &str) -> Result<f64, String> {
    imp::last_price(symbol)
}

/// The bot's own open positions.
pub fn positions() -> Vec<Position> {
    imp::positions()
}

/// The capital currently allocated to the bot.
pub fn capital() -> f64 {
    imp::capital()
}

/// A value from the bot's persisted key-value store.
pub fn kv_get(key: &str) -> Option<Vec<u8>> {
    imp::kv_get(key)
}

/// Stores a value in the bot's persisted key-value store.
pub fn kv_set(key: &str, value: &[u8]) {
    imp::kv_set(key, value)
}

/// Writes to the host's log, tagged with the bot id.
pub fn log(level: LogLevel, message: &str) {
    imp::log(level, message)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::flotilla::bot::host as wit;
    use crate::bindings::flotilla::bot::types as wt;
    use crate::types::{Bar, LogLevel, Position, Timeframe};

    pub(super) fn bars(symbol: &str, tf: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
        let bars = wit::bars(symbol, crate::runner::wit_timeframe(tf), count)?;
        // Same repr(C) layout: the collect reuses the allocation.
        Ok(bars
            .into_iter()
            .map(|b: wt::Bar| Bar {
                time: b.time,
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            })
            .collect())
    }

    pub(super) fn last_price(symbol: &str) -> Result<f64, String> {
        wit::last_price(symbol)
    }

    pub(super) fn positions() -> Vec<Position> {
        wit::positions()
            .into_iter()
            .map(|p| Position {
                symbol: p.symbol,
                quantity: p.quantity,
                avg_price: p.avg_price,
            })
            .collect()
    }

    pub(super) fn capital() -> f64 {
        wit::capital()
    }

    pub(super) fn kv_get(key: &str) -> Option<Vec<u8>> {
        wit::kv_get(key)
    }

    pub(super) fn kv_set(key: &str, value: &[u8]) {
        wit::kv_set(key, value)
    }

    pub(super) fn log(level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => wt::LogLevel::Trace,
            LogLevel::Debug => wt::LogLevel::Debug,
            LogLevel::Info => wt::LogLevel::Info,
            LogLevel::Warn => wt::LogLevel::Warn,
            LogLevel::Error => wt::LogLevel::Error,
        };
        wit::log(level, message)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod imp {
    use crate::types::{Bar, LogLevel, Position, Timeframe};
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// The native stand-in for the host; one per thread so parallel tests stay apart.
    #[derive(Default)]
    pub(crate) struct Mock {
        pub bars: HashMap<(String, Timeframe), Vec<Bar>>,
        pub prices: HashMap<String, f64>,
        pub positions: Vec<Position>,
        pub capital: f64,
        pub kv: HashMap<String, Vec<u8>>,
        pub logs: Vec<(LogLevel, String)>,
    }

    thread_local! {
        static MOCK: RefCell<Mock> = RefCell::new(Mock::default());
    }

    /// Runs `f` with the thread's mock host.
    pub(crate) fn with<R>(f: impl FnOnce(&mut Mock) -> R) -> R {
        MOCK.with(|m| f(&mut m.borrow_mut()))
    }

    pub(super) fn bars(symbol: &str, tf: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
        with(|m| match m.bars.get(&(symbol.to_owned(), tf)) {
            Some(all) => Ok(all[all.len().saturating_sub(count as usize)..].to_vec()),
            None => Err(format!("symbol {symbol:?} not granted or no {tf} bars")),
        })
    }

    pub(super) fn last_price(symbol: &str) -> Result<f64, String> {
        with(|m| {
            let last_bar = m
                .bars
                .iter()
                .filter(|((s, _), _)| s == symbol)
                .filter_map(|(_, bars)| bars.last())
                .max_by_key(|b| b.time);
            m.prices
                .get(symbol)
                .copied()
                .or(last_bar.map(|b| b.close))
                .ok_or_else(|| format!("symbol {symbol:?} not granted"))
        })
    }

    pub(super) fn positions() -> Vec<Position> {
        with(|m| m.positions.clone())
    }

    pub(super) fn capital() -> f64 {
        with(|m| m.capital)
    }

    pub(super) fn kv_get(key: &str) -> Option<Vec<u8>> {
        with(|m| m.kv.get(key).cloned())
    }

    pub(super) fn kv_set(key: &str, value: &[u8]) {
        with(|m| m.kv.insert(key.to_owned(), value.to_vec()));
    }

    pub(super) fn log(level: LogLevel, message: &str) {
        with(|m| m.logs.push((level, message.to_owned())));
    }
}
