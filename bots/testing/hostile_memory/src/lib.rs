//! Hostile test bot: `on-tick` allocates and touches memory without end. The host's
//! memory limit must stop it (a failed grow traps).
//!
//! Params: `chunk_kb` (1024) per allocation.

use core::hint::black_box;
use flotilla_sdk::{Bot, Config, Tick};

struct HostileMemory {
    chunk: usize,
    hoard: Vec<Vec<u8>>,
}

impl Bot for HostileMemory {
    const NAME: &'static str = "hostile_memory";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let kb: usize = cfg.get("chunk_kb", 1024)?;
        Ok(HostileMemory {
            chunk: kb.max(1) * 1024,
            hoard: Vec::new(),
        })
    }

    fn on_tick(&mut self, _ctx: &mut Tick) -> Result<(), String> {
        loop {
            // Filled with non-zero bytes so every page is really written, and kept.
            let block = vec![0xA5u8; self.chunk];
            self.hoard.push(black_box(block));
        }
    }
}

flotilla_sdk::export_bot!(HostileMemory);
