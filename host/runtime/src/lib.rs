//! The WebAssembly runtime: the only crate that uses wasmtime. Loads, sandboxes and calls bots.
