#!/usr/bin/env bash
# Builds every bot to a wasm32-wasip2 component and lists them with sizes: the Rust bots
# in bots/ (cargo), then the Python bots in bots/python/ (componentize-py) and the
# JavaScript bots in bots/js/ (componentize-js). Safe to run from any directory and to
# re-run: cargo only rebuilds what changed, and the guest scripts skip a component whose
# sources and WIT are older than it. A missing guest toolchain fails the build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Installs the pinned toolchain and the wasm32-wasip2 target on a fresh machine; a no-op
# once they are there. rustup picks rust-toolchain.toml up from the current directory.
cd "$root"
rustup toolchain install >/dev/null 2>&1 || rustup toolchain install

# Cargo reads bots/.cargo/config.toml (target = wasm32-wasip2) from the working directory,
# not from --manifest-path, hence the cd.
cd "$root/bots"
cargo build --release --locked --quiet

"$root/scripts/build-python-bots.sh"
"$root/scripts/build-js-bots.sh"

out="$root/bots/target/wasm32-wasip2/release"
shopt -s nullglob
wasms=("$out"/*.wasm)
if ((${#wasms[@]} == 0)); then
    echo "build-bots: no .wasm produced in $out" >&2
    exit 1
fi
for f in "${wasms[@]}"; do
    printf '%8s KB  %s\n' "$(( $(stat -c %s "$f") / 1024 ))" "${f#"$root"/}"
done
