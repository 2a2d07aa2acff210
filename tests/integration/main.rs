//! Integration tests: real compiled WASM bots, a real SQLite file, the real binary.
//!
//! The bots are built once by `scripts/build-bots.sh` (the README test command runs it
//! first); the tests never rebuild them.

mod api;
mod backtest;
mod cli;
mod contracts;
mod dev;
mod execution;
mod fleet;
mod indicators;
mod languages;
mod ops;
mod optimize;
mod reload;
mod restart;
mod risk;
mod runs;
mod runtime;
mod sandbox;
mod sdk_bots;
mod support;
mod templates;
mod venues;
