#!/usr/bin/env bash
# The dashboard's real-browser test: installs what it needs on a fresh machine (Debian's
# chromium, playwright-core from the lockfile), builds the bots and the release binary if
# needed, then runs the test (tests/browser), which starts a real fleet and drives the page.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ ! -x /usr/bin/chromium ]]; then
  sudo=""
  if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# scripts/test.sh has just built the bots and, for its integration tests, the binary
# (with the test build's features: a plain `cargo build` here would rebuild wasmtime).
if [[ "${FLOTILLA_BUILT:-}" != 1 ]]; then
  "$root/scripts/build-bots.sh"
  cargo build --release -p flotilla
fi

cd "$root/tests/browser"
npm ci --no-audit --no-fund
node --test --test-concurrency=1 sse.test.mjs dashboard.test.mjs
