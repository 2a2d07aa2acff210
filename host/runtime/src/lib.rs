//! The WebAssembly runtime: the only crate that uses wasmtime.
//!
//! It loads bot components (with an on-disk compilation cache), checks that they speak
//! the contract version this host knows, and runs each bot in its own sandboxed `Store`:
//! no WASI capabilities, a memory cap, an epoch deadline per call, and host imports that
//! only serve the symbols the registry granted. Calls are synchronous; the host drives
//! them from blocking threads and wraps them in its own timeout.

mod bindings;
mod cache;
mod error;
mod host;
mod instance;
mod intents;
mod runtime;

pub use error::{CallError, RuntimeError};
pub use host::{HostIo, NextTick, PositionView, TickSource, Ticks};
pub use instance::{BotInstance, Description, FillView, RunOutput, SandboxLimits, TickOutput};
pub use intents::{
    BoundaryLimits, IntentRejection, MAX_SCALE_OUTS, RawAction, RawIntent, RawTrail, RawTrailing,
    validate_intents,
};
pub use runtime::{CONTRACT, LoadedComponent, Runtime, RuntimeConfig};
