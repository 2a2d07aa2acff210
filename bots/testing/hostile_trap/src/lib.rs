//! Hostile test bot: panics, which traps the instance. The host must survive and
//! re-instantiate.
//!
//! Params: `trap_in` = tick (default) | init | fill | snapshot | restore.

use flotilla_sdk::{Bot, Config, Fill, Tick};

struct HostileTrap {
    trap_in: String,
}

impl HostileTrap {
    fn maybe_trap(&self, place: &str) {
        if self.trap_in == place {
            panic!("hostile_trap: deliberate panic in {place}");
        }
    }
}

impl Bot for HostileTrap {
    const NAME: &'static str = "hostile_trap";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let bot = HostileTrap {
            trap_in: cfg.get("trap_in", "tick".to_string())?,
        };
        bot.maybe_trap("init");
        Ok(bot)
    }

    fn on_tick(&mut self, _ctx: &mut Tick) -> Result<(), String> {
        self.maybe_trap("tick");
        Ok(())
    }

    fn on_fill(&mut self, _fill: &Fill) {
        self.maybe_trap("fill");
    }

    fn snapshot(&self) -> Vec<u8> {
        self.maybe_trap("snapshot");
        Vec::new()
    }

    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        self.maybe_trap("restore");
        Ok(())
    }
}

flotilla_sdk::export_bot!(HostileTrap);
