#!/usr/bin/env bash
# Builds {{name}}.wasm, a WebAssembly component for Flotilla, with componentize-js
# (pinned in package-lock.json, installed by `npm ci` on the first build). bot.js imports
# the Flotilla SDK (flotilla.js) and the strategy from this directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
# `--disable http fetch-event` drops the wasi:http imports the host does not provide.
npx --no-install componentize-js bot.js --wit wit --world-name bot \
    --disable http fetch-event --out {{name}}.wasm >/dev/null
echo "built $(pwd)/{{name}}.wasm"
