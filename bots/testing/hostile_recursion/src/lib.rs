//! Hostile test bot: unbounded recursion in `on-tick`, until a stack runs out (a trap).
//!
//! Params: `mode` = native (default: frames live only in wasm locals, so wasmtime's own
//! stack limit trips: "call stack exhausted") | shadow (each frame also puts an array on
//! Rust's shadow stack in linear memory, which overflows first: an out-of-bounds trap).

use core::hint::black_box;
use core::ptr::{read_volatile, write_volatile};
use flotilla_sdk::{Bot, Config, Tick};

/// Never reached; read volatile so the compiler cannot prove the recursion endless.
static LIMIT: u64 = u64::MAX;
/// Written after each call returns, so the call is not a tail call.
static mut SINK: u64 = 0;

/// Recursion with no address-taken locals: no shadow-stack use.
#[inline(never)]
fn dive_native(depth: u64) -> u64 {
    // SAFETY: plain reads/writes of statics; the component is single-threaded.
    if unsafe { read_volatile(&raw const LIMIT) } == depth {
        return 0;
    }
    let below = dive_native(depth + 1);
    unsafe { write_volatile(&raw mut SINK, below) };
    below + 1
}

/// Recursion with a black-boxed array per frame, which must live in linear memory.
#[inline(never)]
fn dive_shadow(depth: u64) -> u64 {
    let frame = black_box([depth; 16]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    dive_shadow(depth + 1).wrapping_add(frame[(depth % 16) as usize])
}

struct HostileRecursion {
    shadow: bool,
}

impl Bot for HostileRecursion {
    const NAME: &'static str = "hostile_recursion";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let shadow = match cfg.get("mode", "native".to_string())?.as_str() {
            "native" => false,
            "shadow" => true,
            other => {
                return Err(format!(
                    "param `mode`: expected native or shadow, got {other:?}"
                ));
            }
        };
        Ok(HostileRecursion { shadow })
    }

    fn on_tick(&mut self, _ctx: &mut Tick) -> Result<(), String> {
        black_box(if self.shadow {
            dive_shadow(0)
        } else {
            dive_native(0)
        });
        Ok(())
    }
}

flotilla_sdk::export_bot!(HostileRecursion);
