//! Hostile test bot: calls `host.last-price` in a tight loop forever, so the guest spends
//! its time in host calls. The host's timeout must still stop it.
//!
//! Params: `symbol` (first granted).

use core::hint::black_box;
use flotilla_sdk::{Bot, Config, Tick};

struct HostileSpinImports {
    symbol: String,
}

impl Bot for HostileSpinImports {
    const NAME: &'static str = "hostile_spin_imports";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let first = cfg.symbols().first().cloned().unwrap_or_else(|| "X".into());
        Ok(HostileSpinImports {
            symbol: cfg.get("symbol", first)?,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        loop {
            let _ = black_box(ctx.last_price(&self.symbol));
        }
    }
}

flotilla_sdk::export_bot!(HostileSpinImports);
