//! Native test support (not on wasm32): a per-thread mock host and a harness that drives a
//! [`Bot`] the way the Flotilla host would, so strategies can be unit-tested with
//! `cargo test --target x86_64-unknown-linux-gnu`.

use crate::host::imp;
use crate::runner::Slot;
use crate::types::{
    Bar, Fill, LogLevel, OrderUpdate, Position, Timeframe, Timestamp, WorkingOrder,
};
use crate::{Bot, Config};

/// Clears the calling thread's mock host.
pub fn reset() {
    imp::with(|m| *m = Default::default());
}

/// Sets the bars the mock host serves for `symbol` at `timeframe` (oldest first).
pub fn set_bars(symbol: &str, timeframe: Timeframe, bars: Vec<Bar>) {
    imp::with(|m| m.bars.insert((symbol.to_owned(), timeframe), bars));
}

/// Sets bars built from closes (open = high = low = close), one `timeframe` apart.
pub fn set_closes(symbol: &str, timeframe: Timeframe, closes: &[f64]) {
    let bars = closes
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar {
            time: i as Timestamp * timeframe.millis(),
            open: c,
            high: c,
            low: c,
            close: c,
            volume: 1.0,
        })
        .collect();
    set_bars(symbol, timeframe, bars);
}

/// Overrides the mock's last price for `symbol` (otherwise the newest bar's close).
pub fn set_price(symbol: &str, price: f64) {
    imp::with(|m| m.prices.insert(symbol.to_owned(), price));
}

/// Sets the positions the mock host reports.
pub fn set_positions(positions: Vec<Position>) {
    imp::with(|m| m.positions = positions);
}

/// Sets the working orders the mock host lists (the host's list as a tick starts).
pub fn set_working_orders(orders: Vec<WorkingOrder>) {
    imp::with(|m| m.working = orders);
}

/// Takes the ids of the working orders the bot asked to cancel so far, in order, each
/// once (the mock refuses other ids, as the host does, and lists the orders unchanged).
pub fn take_cancels() -> Vec<u64> {
    imp::with(|m| core::mem::take(&mut m.cancels))
}

/// Sets what `host::capital()` returns.
pub fn set_capital(capital: f64) {
    imp::with(|m| m.capital = capital);
}

/// Takes the log lines written so far.
pub fn take_logs() -> Vec<(LogLevel, String)> {
    imp::with(|m| core::mem::take(&mut m.logs))
}

/// Drives one bot through init, ticks, fills and snapshots against the mock host.
pub struct Harness<B> {
    slot: Slot<B>,
    ticks: u64,
}

impl<B: Bot> Harness<B> {
    /// Calls `Bot::init` with this id, symbols and params.
    pub fn init(bot_id: &str, symbols: &[&str], params: &[(&str, &str)]) -> Result<Self, String> {
        let config = Config::new(bot_id, symbols.iter().copied(), params.iter().copied());
        Ok(Harness {
            slot: Slot::init(config)?,
            ticks: 0,
        })
    }

    /// Runs the next tick at `time` with `capital`; returns its intents.
    pub fn tick(&mut self, time: Timestamp, capital: f64) -> Result<Vec<crate::Intent>, String> {
        self.ticks += 1;
        self.slot.tick(time, self.ticks, capital)
    }

    /// Reports a fill.
    pub fn fill(&mut self, fill: &Fill) {
        self.slot.bot.on_fill(fill);
    }

    /// Reports an order update.
    pub fn order(&mut self, update: &OrderUpdate) {
        self.slot.bot.on_order(update);
    }

    /// The bot's snapshot.
    pub fn snapshot(&self) -> Vec<u8> {
        self.slot.bot.snapshot()
    }

    /// Restores a snapshot.
    pub fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.slot.bot.restore(state)
    }

    /// The bot itself, for asserting on its state.
    pub fn bot(&self) -> &B {
        &self.slot.bot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Tick};

    struct Follow {
        fraction: f64,
    }

    impl Bot for Follow {
        const NAME: &'static str = "follow";
        const VERSION: &'static str = "0.0.1";
        fn init(cfg: &Config) -> Result<Self, String> {
            Ok(Follow {
                fraction: cfg.fraction()?,
            })
        }
        fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
            for sym in ctx.symbols() {
                let closes = ctx.closes(sym, Timeframe::M1, 2)?;
                if closes.len() == 2 && closes[1] > closes[0] && ctx.position_qty(sym) == 0.0 {
                    let qty = ctx.units(self.fraction, closes[1]);
                    ctx.target(sym.as_str(), qty).tag("up");
                    ctx.info(format!("{sym} up"));
                }
            }
            Ok(())
        }
    }

    #[test]
    fn harness_drives_bot_against_mock_host() {
        reset();
        set_closes("AAA", Timeframe::M1, &[10.0, 11.0]);
        set_closes("BBB", Timeframe::M1, &[10.0, 9.0]);
        let mut h = Harness::<Follow>::init("f", &["AAA", "BBB"], &[]).unwrap();
        let out = h.tick(0, 2_200.0).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].symbol, "AAA");
        assert_eq!(out[0].action, Action::Target(100.0));
        assert_eq!(take_logs(), vec![(LogLevel::Info, "AAA up".to_string())]);
        set_positions(vec![Position {
            symbol: "AAA".into(),
            quantity: 100.0,
            avg_price: 11.0,
        }]);
        assert!(h.tick(1, 2_200.0).unwrap().is_empty());
    }

    /// Logs what the host's `indicator` import answers.
    struct Probe;

    impl Bot for Probe {
        const NAME: &'static str = "probe";
        const VERSION: &'static str = "0.0.1";
        fn init(_: &Config) -> Result<Self, String> {
            Ok(Probe)
        }
        fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
            let sma = ctx.indicator("AAA", Timeframe::M1, crate::Indicator::Sma(3), 2)?;
            let rsi = ctx.indicator_last("AAA", Timeframe::M1, crate::Indicator::Rsi(3))?;
            let bands = ctx.bollinger("AAA", Timeframe::M1, 3, 2.0, 1)?;
            let macd = ctx.macd("AAA", Timeframe::M1, (2, 3, 2), 1)?;
            ctx.info(format!(
                "{sma:?} {rsi:?} {:?} {:?}",
                bands.middle, macd.histogram
            ));
            let err = ctx
                .indicator(
                    "AAA",
                    Timeframe::M1,
                    crate::Indicator::Macd {
                        fast: 2,
                        slow: 3,
                        signal: 2,
                    },
                    1,
                )
                .unwrap_err();
            ctx.info(err);
            Ok(())
        }
    }

    #[test]
    fn the_mock_answers_the_indicator_import() {
        reset();
        set_closes("AAA", Timeframe::M1, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        let mut h = Harness::<Probe>::init("p", &["AAA"], &[]).unwrap();
        h.tick(0, 1.0).unwrap();
        // SMA(3): 3, 4; RSI(3) only rose: 100; MACD(2,3,2) on a straight line: histogram 0.
        assert_eq!(
            take_logs(),
            vec![
                (
                    LogLevel::Info,
                    "[3.0, 4.0] Some(100.0) [4.0] [0.0]".to_string()
                ),
                (
                    LogLevel::Info,
                    "macd(2, 3, 2) has several lines: use Tick::macd or Tick::bollinger"
                        .to_string()
                ),
            ]
        );
        let err = crate::host::indicator("AAA", Timeframe::M1, crate::Indicator::Rsi(0), 1);
        assert_eq!(
            err.unwrap_err(),
            "invalid indicator: rsi: period must be in 1..=100000, got 0"
        );
    }

    /// Cancels every working order older than two minutes; counts what it hears.
    struct Sweeper {
        canceled: u32,
    }

    impl Bot for Sweeper {
        const NAME: &'static str = "sweeper";
        const VERSION: &'static str = "0.0.1";
        fn init(_: &Config) -> Result<Self, String> {
            Ok(Sweeper { canceled: 0 })
        }
        fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
            let stale: Vec<u64> = ctx
                .working_orders()
                .iter()
                .filter(|o| ctx.time() - o.time > 120_000)
                .map(|o| o.id)
                .collect();
            for id in stale {
                ctx.cancel(id)?;
            }
            Ok(())
        }
        fn on_order(&mut self, update: &OrderUpdate) {
            if update.event == crate::OrderEvent::Canceled {
                self.canceled += 1;
            }
        }
    }

    #[test]
    fn the_mock_lists_working_orders_and_records_cancels() {
        use crate::{OrderEvent, OrderState, Side, TimeInForce};
        reset();
        let order = |id: u64, time: Timestamp, state| WorkingOrder {
            id,
            symbol: "AAA".into(),
            side: Side::Buy,
            quantity: 2.0,
            filled: 0.0,
            limit_price: Some(9.0),
            time_in_force: TimeInForce::Gtc,
            state,
            time,
            tag: "entry".into(),
        };
        set_working_orders(vec![
            order(1, 0, OrderState::Accepted),
            order(2, 200_000, OrderState::Accepted),
            order(3, 0, OrderState::PendingCancel),
        ]);
        let mut h = Harness::<Sweeper>::init("s", &["AAA"], &[]).unwrap();
        h.tick(300_000, 1.0).unwrap();
        h.tick(300_000, 1.0).unwrap();
        assert_eq!(take_cancels(), vec![1], "once, and not the pending one");
        assert_eq!(
            crate::host::cancel_order(9).unwrap_err(),
            "order #9 is not one of this bot's working orders"
        );
        h.order(&OrderUpdate {
            order_id: 1,
            symbol: "AAA".into(),
            event: OrderEvent::Canceled,
            time: 300_000,
            tag: "entry".into(),
        });
        assert_eq!(h.bot().canceled, 1);
    }

    #[test]
    fn ungranted_symbol_is_an_error() {
        reset();
        let mut h = Harness::<Follow>::init("f", &["ZZZ"], &[]).unwrap();
        assert!(h.tick(0, 1.0).unwrap_err().contains("ZZZ"));
    }
}
