//! The generated host traits of each contract version, implemented by converting to and
//! from host types around `imports.rs`. Most of the two contracts is the same WIT under
//! different generated types: macros write those parts once for both.

use crate::host::BotState;
use crate::imports::{Level, Watch};
use flotilla_domain::{Bar, Timeframe};
use flotilla_indicators::{Spec, Values};

/// Conversions between host types and the generated `types` in scope, identical in
/// every version.
macro_rules! conversions {
    () => {
        /// A timeframe in host terms.
        pub(crate) fn tf_of(tf: types::Timeframe) -> Timeframe {
            match tf {
                types::Timeframe::M1 => Timeframe::M1,
                types::Timeframe::M5 => Timeframe::M5,
                types::Timeframe::M15 => Timeframe::M15,
                types::Timeframe::H1 => Timeframe::H1,
                types::Timeframe::D1 => Timeframe::D1,
            }
        }

        /// A bar as the contract spells it.
        fn bar_to_wit(b: &Bar) -> types::Bar {
            types::Bar {
                time: b.time.0,
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            }
        }

        /// A watched series in host terms.
        fn watch_of(s: types::Series) -> Watch {
            (s.symbol, tf_of(s.timeframe))
        }

        /// The indicator a guest asked for, in the indicators crate's terms.
        fn spec_of(spec: types::Indicator) -> Spec {
            use types::Indicator as I;
            match spec {
                I::Sma(p) => Spec::Sma(p),
                I::Ema(p) => Spec::Ema(p),
                I::Wma(p) => Spec::Wma(p),
                I::Rsi(p) => Spec::Rsi(p),
                I::Atr(p) => Spec::Atr(p),
                I::Stddev(p) => Spec::StdDev(p),
                I::Roc(p) => Spec::Roc(p),
                I::Macd(m) => Spec::Macd {
                    fast: m.fast,
                    slow: m.slow,
                    signal: m.signal,
                },
                I::Bollinger(b) => Spec::Bollinger {
                    period: b.period,
                    deviations: b.deviations,
                },
            }
        }

        /// Computed values as the WIT variant; the vectors move, nothing is copied.
        fn values_to_wit(values: Values) -> types::IndicatorValues {
            match values {
                Values::Line(v) => types::IndicatorValues::Line(v),
                Values::Macd {
                    macd,
                    signal,
                    histogram,
                } => types::IndicatorValues::Macd(types::MacdValues {
                    macd,
                    signal,
                    histogram,
                }),
                Values::Bands {
                    upper,
                    middle,
                    lower,
                } => types::IndicatorValues::Bands(types::BandValues {
                    upper,
                    middle,
                    lower,
                }),
            }
        }

        fn level_of(level: types::LogLevel) -> Level {
            match level {
                types::LogLevel::Trace => Level::Trace,
                types::LogLevel::Debug => Level::Debug,
                types::LogLevel::Info => Level::Info,
                types::LogLevel::Warn => Level::Warn,
                types::LogLevel::Error => Level::Error,
            }
        }

        impl types::Host for BotState {}
    };
}

/// The `host` functions both versions share, as trait methods. `BotState::f(self, ..)`
/// names the inherent function of `imports.rs`, which takes precedence over the trait's.
macro_rules! market_imports {
    () => {
        fn bars(
            &mut self,
            symbol: String,
            timeframe: types::Timeframe,
            count: u32,
        ) -> Result<Vec<types::Bar>, String> {
            let bars = BotState::bars(self, &symbol, tf_of(timeframe), count)?;
            Ok(bars.iter().map(bar_to_wit).collect())
        }

        fn bar_at(
            &mut self,
            symbol: String,
            timeframe: types::Timeframe,
            back: u32,
        ) -> Result<Option<types::Bar>, String> {
            Ok(BotState::bar_at(self, &symbol, tf_of(timeframe), back)?.map(bar_to_wit))
        }

        fn indicator(
            &mut self,
            symbol: String,
            timeframe: types::Timeframe,
            spec: types::Indicator,
            count: u32,
        ) -> Result<types::IndicatorValues, String> {
            let values =
                BotState::indicator(self, &symbol, tf_of(timeframe), spec_of(spec), count)?;
            Ok(values_to_wit(values))
        }

        fn last_price(&mut self, symbol: String) -> Result<f64, String> {
            BotState::last_price(self, &symbol)
        }

        fn positions(&mut self) -> Vec<types::Position> {
            BotState::positions(self)
                .iter()
                .map(|p| types::Position {
                    symbol: p.symbol.to_string(),
                    quantity: p.quantity,
                    avg_price: p.avg_price,
                })
                .collect()
        }

        fn capital(&mut self) -> f64 {
            BotState::capital(self)
        }

        fn kv_get(&mut self, key: String) -> Option<Vec<u8>> {
            BotState::kv_get(self, &key)
        }

        fn kv_set(&mut self, key: String, value: Vec<u8>) {
            BotState::kv_set(self, key, value)
        }

        fn log(&mut self, level: types::LogLevel, message: String) {
            BotState::log(self, level_of(level), &message)
        }
    };
}

/// The run-of-ticks imports (in `host` in 0.6.0, in `replay` since 0.7.0).
macro_rules! run_imports {
    () => {
        fn next_tick(&mut self, watch: Option<types::Series>) -> Option<types::RunTick> {
            let moved = BotState::next_tick(self, watch.map(watch_of))?;
            Some(types::RunTick {
                ctx: types::TickContext {
                    time: moved.time.0,
                    tick: moved.tick,
                    capital: moved.capital,
                },
                newest: moved.newest.as_ref().map(bar_to_wit),
            })
        }

        fn next_ticks(&mut self, watch: types::Series, max: u32, done: u32) -> Vec<f64> {
            BotState::next_ticks(self, watch_of(watch), max, done)
        }

        fn catch_up(&mut self, n: u32) {
            BotState::catch_up(self, n)
        }
    };
}

/// Contract 0.7.0's imports.
pub(crate) mod v07 {
    use super::*;
    use crate::bindings::v07::flotilla::bot::{host, replay, types};
    use flotilla_domain::{OrderState, Side, TimeInForce};

    conversions!();

    impl host::Host for BotState {
        market_imports!();

        fn working_orders(&mut self) -> Vec<types::WorkingOrder> {
            BotState::working_orders(self)
                .iter()
                .filter_map(|o| {
                    let state = match o.state {
                        OrderState::Created | OrderState::Submitted => types::OrderState::Pending,
                        OrderState::Accepted => types::OrderState::Accepted,
                        OrderState::PartiallyFilled => types::OrderState::PartiallyFilled,
                        OrderState::PendingCancel => types::OrderState::PendingCancel,
                        // Done: not a working order, whatever the host passed in.
                        _ => return None,
                    };
                    Some(types::WorkingOrder {
                        id: o.id.0,
                        symbol: o.symbol.to_string(),
                        side: match o.side {
                            Side::Buy => types::Side::Buy,
                            Side::Sell => types::Side::Sell,
                        },
                        quantity: o.quantity,
                        filled: o.filled,
                        limit_price: o.limit_price,
                        time_in_force: tif_to_wit(o.time_in_force),
                        state,
                        time: o.time.0,
                        tag: o.tag.clone(),
                    })
                })
                .collect()
        }

        fn cancel_order(&mut self, id: u64) -> Result<(), String> {
            BotState::cancel_order(self, id)
        }
    }

    impl replay::Host for BotState {
        run_imports!();
    }

    /// A time in force as 0.7.0 spells it.
    pub(crate) fn tif_to_wit(t: TimeInForce) -> types::TimeInForce {
        match t {
            TimeInForce::Day => types::TimeInForce::Day,
            TimeInForce::Gtc => types::TimeInForce::Gtc,
            TimeInForce::Ioc => types::TimeInForce::Ioc,
            TimeInForce::Fok => types::TimeInForce::Fok,
        }
    }

    /// A time in force in host terms.
    pub(crate) fn tif_of(t: types::TimeInForce) -> TimeInForce {
        match t {
            types::TimeInForce::Day => TimeInForce::Day,
            types::TimeInForce::Gtc => TimeInForce::Gtc,
            types::TimeInForce::Ioc => TimeInForce::Ioc,
            types::TimeInForce::Fok => TimeInForce::Fok,
        }
    }
}

/// Contract 0.6.0's imports: no orders to list or cancel; the runs in `host`.
pub(crate) mod v06 {
    use super::*;
    use crate::bindings::v06::flotilla::bot::{host, types};

    conversions!();

    impl host::Host for BotState {
        market_imports!();
        run_imports!();
    }
}
