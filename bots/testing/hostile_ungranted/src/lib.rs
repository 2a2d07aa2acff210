//! Hostile test bot: reads bars and the price of a symbol it was not granted, logs what
//! the host answered (warn when refused, error if served), then trades that symbol.
//!
//! Params: `symbol` ("NOT_GRANTED").

use flotilla_sdk::{Bot, Config, Tick, Timeframe};

struct HostileUngranted {
    symbol: String,
}

impl Bot for HostileUngranted {
    const NAME: &'static str = "hostile_ungranted";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        Ok(HostileUngranted {
            symbol: cfg.get("symbol", "NOT_GRANTED".to_string())?,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        let sym = self.symbol.as_str();
        match ctx.bars(sym, Timeframe::M1, 10) {
            Err(e) => ctx.warn(format!("host refused bars for {sym}: {e}")),
            Ok(bars) => ctx.error(format!(
                "host served {} bars of ungranted {sym}",
                bars.len()
            )),
        }
        match ctx.last_price(sym) {
            Err(e) => ctx.warn(format!("host refused last-price for {sym}: {e}")),
            Ok(p) => ctx.error(format!("host served last-price {p} of ungranted {sym}")),
        }
        ctx.buy(sym, 1.0).tag("ungranted");
        Ok(())
    }
}

flotilla_sdk::export_bot!(HostileUngranted);
