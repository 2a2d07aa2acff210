#!/usr/bin/env bash
# Runs every test: builds the bots once (wasm32-wasip2), then the host's unit and
# integration tests (release, so the demo and the tests share one build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build-bots.sh"
cargo test --release --manifest-path "$root/sdk/Cargo.toml"
cargo test --release --workspace "$@"
