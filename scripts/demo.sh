#!/usr/bin/env bash
# Runs the fleet demo: bundled registry, bundled bots, simulator, paper broker, SQLite
# ledger. Extra arguments go to `flotilla run` (e.g. --speed 7200 --duration 2d).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build-bots.sh"
cargo run --release -p flotilla -- run "$@"
cargo run --release -p flotilla -- status
