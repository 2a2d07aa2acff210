#!/usr/bin/env bash
# Runs every test: builds the bots once (wasm32-wasip2), then the host's unit and
# integration tests (release, so the demo and the tests share one build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build-bots.sh"
# The Python and JavaScript SDKs' native suites (pytest, node --test) and their bots'.
"$root/scripts/test-sdks.sh"
cargo test --release --manifest-path "$root/sdk/Cargo.toml"
# The Rust bots' own unit tests, run natively against the SDK's mock host. Cargo reads
# bots/.cargo/config.toml (target = wasm32-wasip2) from the working directory, hence the
# subshell and the explicit host target.
host="$(rustc -vV | sed -n 's/^host: //p')"
(cd "$root/bots" && cargo test --release --locked --target "$host")
cargo test --release --workspace "$@"
FLOTILLA_BUILT=1 "$root/scripts/test-browser.sh"
