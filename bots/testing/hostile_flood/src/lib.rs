//! Hostile test bot: floods the host from one tick. The host must cap what it accepts.
//!
//! Params: `mode` = intents (default: `count` buy intents) | bigstring (one intent whose
//! tag is `size` bytes); `count` (1000000), `size` (10000000), `symbol` (first granted).

use flotilla_sdk::{Bot, Config, Tick};

struct HostileFlood {
    big_string: bool,
    count: u64,
    size: usize,
    symbol: String,
}

impl Bot for HostileFlood {
    const NAME: &'static str = "hostile_flood";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let big_string = match cfg.get("mode", "intents".to_string())?.as_str() {
            "intents" => false,
            "bigstring" => true,
            other => {
                return Err(format!(
                    "param `mode`: expected intents or bigstring, got {other:?}"
                ));
            }
        };
        let first = cfg.symbols().first().cloned().unwrap_or_else(|| "X".into());
        Ok(HostileFlood {
            big_string,
            count: cfg.get("count", 1_000_000)?,
            size: cfg.get("size", 10_000_000)?,
            symbol: cfg.get("symbol", first)?,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        if self.big_string {
            ctx.buy(self.symbol.as_str(), 1.0)
                .tag("x".repeat(self.size));
        } else {
            for _ in 0..self.count {
                ctx.buy(self.symbol.as_str(), 1.0);
            }
        }
        Ok(())
    }
}

flotilla_sdk::export_bot!(HostileFlood);
