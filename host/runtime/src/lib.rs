//! The WebAssembly runtime: the only crate that uses wasmtime.
//!
//! It loads bot components (with an on-disk compilation cache), checks which contract
//! version they speak (0.7.0, or 0.6.0 for bots built before it: both are linked), and
//! runs each bot in its own sandboxed `Store`: no WASI capabilities, a memory cap, an
//! epoch deadline per call, and host imports that only serve the symbols the registry
//! granted. Calls are synchronous; the host drives them from blocking threads and wraps
//! them in its own timeout.

mod adapters;
mod bindings;
mod cache;
mod error;
mod guest;
mod host;
mod imports;
mod instance;
mod intents;
mod runtime;
mod views;

pub use error::{CallError, RuntimeError};
pub use guest::Contract;
pub use host::{HostIo, NextTick, TickSource, Ticks};
pub use imports::MAX_BARS_PER_CALL;
pub use instance::{BotInstance, Description, RunOutput, SandboxLimits, TickOutput};
pub use intents::{
    BoundaryLimits, IntentRejection, MAX_SCALE_OUTS, RawAction, RawIntent, RawTrail, RawTrailing,
    validate_intents,
};
pub use runtime::{CONTRACT, CONTRACT_0_6, CONTRACT_0_7, LoadedComponent, Runtime, RuntimeConfig};
pub use views::{FillView, OrderUpdateKind, OrderUpdateView, PositionView, WorkingOrderView};
