#!/usr/bin/env bash
# Builds every JavaScript bot in bots/js/<name>/bot.js into a component with the pinned
# componentize-js (bots/js/package-lock.json), written to
# bots/target/wasm32-wasip2/release/<name>.wasm beside the Rust bots. Each bot imports the
# JavaScript SDK as ./flotilla.js, a link to sdk/js/flotilla.js; componentize-js reads only
# the entry's own directory, so the bot is copied with the link resolved and built there. `npm ci` runs only
# when node_modules is missing or older than the lockfile; a bot is rebuilt only when its
# sources, the WIT or the lockfile are newer than its .wasm, so re-runs are quick.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
js_dir="$root/bots/js"
lock="$js_dir/package-lock.json"
out="$root/bots/target/wasm32-wasip2/release"
sdk="$root/sdk/js/flotilla.js"

die() {
    echo "build-js-bots: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    die "node and npm not found: JavaScript bots need Node.js >= 18 with npm (Debian: apt-get install nodejs npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 18)) || die "Node.js $(node --version) is too old: componentize-js needs >= 18"

cd "$js_dir"
# npm writes node_modules/.package-lock.json on every install: older than the lockfile
# means the lockfile changed since. (`npm ci` refuses a lockfile missing optional
# packages; see the jco override in bots/js/package.json and bots/README.md.)
if [[ ! -f node_modules/.package-lock.json || "$lock" -nt node_modules/.package-lock.json ]]; then
    echo "build-js-bots: npm ci in ${js_dir#"$root"/}" >&2
    npm ci --no-audit --no-fund --loglevel=error >/dev/null ||
        die "npm ci failed: @bytecodealliance/componentize-js is needed to build the JavaScript bots"
fi

mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
shopt -s nullglob
for entry in "$js_dir"/*/bot.js; do
    src="$(dirname "$entry")"
    name="$(basename "$src")"
    [[ "$name" == node_modules ]] && continue
    wasm="$out/$name.wasm"
    # Up to date: nothing the component is built from is newer than it.
    if [[ -f "$wasm" ]] && [[ -z "$(find "$src" "$sdk" "$root/wit" "$lock" -newer "$wasm" -print -quit)" ]]; then
        continue
    fi
    echo "build-js-bots: componentize-js $name" >&2
    # `-d http fetch-event` drops the wasi:http imports the host does not provide; no
    # --aot, which would download a tool from outside the package registries. Built to a
    # temporary file and renamed, so a failure leaves no half-written component.
    cp -RL "$src" "$stage/$name"
    npx --no-install componentize-js "$stage/$name/bot.js" --wit "$root/wit" --world-name bot \
        --disable http fetch-event --out "$wasm.tmp" >/dev/null ||
        die "componentize-js failed for $name"
    mv "$wasm.tmp" "$wasm"
done
