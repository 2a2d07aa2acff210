//! The Flotilla host: registry, scheduler and the wiring of runtime, risk, broker and
//! ledger. The `flotilla` binary is a thin CLI over this library.

pub mod backtest;
pub mod clock;
pub mod commands;
pub mod connect;
pub mod control;
pub mod dev;
pub mod execution;
pub mod fake;
pub mod fleet;
mod journal;
pub mod live;
pub mod new;
mod observe;
pub mod optimize;
pub mod port;
pub mod reload;
mod replay;
pub mod report;
pub mod scheduler;
pub mod serve;
pub mod shared;
pub mod slot;
mod source;
pub mod summary;
pub mod supervise;
pub mod tick;
pub mod watch;

pub use fleet::{Fleet, FleetOptions};
