//! {{name}}: a Flotilla bot. Long while a symbol's close is above its EMA, flat otherwise.
//!
//! Params (text in the registry, all optional): `period` (20) bars of the EMA, computed by
//! the host; `fraction` of capital per symbol (an equal share); `stop_pct` (0.03).

use flotilla_sdk::{Bot, Config, Indicator, Tick, Timeframe};

struct {{type}} {
    period: u32,
    fraction: f64,
    stop_pct: f64,
}

impl Bot for {{type}} {
    const NAME: &'static str = "{{name}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let period: u32 = cfg.get("period", 20)?;
        if period < 2 {
            return Err(format!("param `period`: must be at least 2, got {period}"));
        }
        let share = 1.0 / cfg.symbols().len().max(1) as f64;
        Ok(Self {
            period,
            fraction: cfg.get("fraction", share)?,
            stop_pct: cfg.get("stop_pct", 0.03)?,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        for sym in ctx.symbols() {
            // `None` while the EMA warms up.
            let Some(ema) = ctx.indicator_last(sym, Timeframe::M1, Indicator::Ema(self.period))?
            else {
                continue;
            };
            let price = ctx.last_price(sym)?;
            let long = price > ema;
            if long == (ctx.position_qty(sym) > 0.0) {
                continue; // already where it wants to be
            }
            let units = if long { ctx.units(self.fraction, price) } else { 0.0 };
            let stop = (long && self.stop_pct > 0.0).then(|| price * (1.0 - self.stop_pct));
            ctx.target(sym.as_str(), units)
                .stop_loss_opt(stop)
                .tag("{{name}}");
        }
        Ok(())
    }
}

flotilla_sdk::export_bot!({{type}});
