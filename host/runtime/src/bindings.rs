//! Host-side bindings of the one WIT contract in `wit/`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "bot",
});

pub use flotilla::bot::types;
