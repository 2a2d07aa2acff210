//! Hostile test bot: `on-tick` never returns. The host must interrupt it (epoch/fuel).

use core::hint::black_box;
use flotilla_sdk::{Bot, Config, Tick};

struct HostileLoop;

impl Bot for HostileLoop {
    const NAME: &'static str = "hostile_loop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(_cfg: &Config) -> Result<Self, String> {
        Ok(HostileLoop)
    }

    fn on_tick(&mut self, _ctx: &mut Tick) -> Result<(), String> {
        // black_box makes every iteration observable, so the loop cannot be optimised out.
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }
}

flotilla_sdk::export_bot!(HostileLoop);
