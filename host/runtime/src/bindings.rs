//! Host-side bindings of the contract versions this host runs: the current one in `wit/`
//! and the frozen 0.6.0 in `wit/0.6.0/`, so bots built for 0.6.0 keep running unchanged.

/// `flotilla:bot@0.7.0`: limit orders, working orders, cancels and order updates; the
/// backtest-only functions in their own interfaces (`replay`, `replay-strategy`).
pub mod v07 {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "bot",
    });
}

/// `flotilla:bot@0.6.0`, frozen: market intents only, runs of ticks in `host`/`strategy`.
pub mod v06 {
    wasmtime::component::bindgen!({
        path: "../../wit/0.6.0",
        world: "bot",
    });
}
