#!/usr/bin/env bash
# Builds {{name}}.wasm, a WebAssembly component for Flotilla, with cargo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# rust-toolchain.toml names the toolchain and the wasm32-wasip2 target; make sure both exist.
command -v rustup >/dev/null 2>&1 && rustup toolchain install >/dev/null 2>&1 || true
cargo build --release --target wasm32-wasip2
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{name}}.wasm" {{name}}.wasm
echo "built $(pwd)/{{name}}.wasm"
