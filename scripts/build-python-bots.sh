#!/usr/bin/env bash
# Builds every Python bot in bots/python/<name>/app.py into a component with
# componentize-py, written to bots/target/wasm32-wasip2/release/<name>.wasm beside the Rust
# bots. The bots import the Python SDK (sdk/python/flotilla), bundled into each component.
# The pinned componentize-py lives in a venv (bots/python/.venv) that is created or
# refreshed only when bots/python/requirements.txt changed. A bot is rebuilt only when its
# sources, the SDK, the WIT or the requirements are newer than its .wasm, so re-runs are
# quick.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py_dir="$root/bots/python"
sdk="$root/sdk/python"
venv="$py_dir/.venv"
reqs="$py_dir/requirements.txt"
out="$root/bots/target/wasm32-wasip2/release"
stamp="$venv/.flotilla-requirements"

die() {
    echo "build-python-bots: $*" >&2
    exit 1
}

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 ||
    die "$python not found: Python bots need Python >= 3.10 with venv and pip (Debian: apt-get install python3 python3-venv)"

# The venv is current when it holds exactly the requirements it was made from.
if [[ ! -x "$venv/bin/componentize-py" || ! -f "$stamp" ]] || ! cmp -s "$reqs" "$stamp"; then
    echo "build-python-bots: installing $(grep -v '^#' "$reqs" | xargs) into ${venv#"$root"/}" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" ||
        die "could not create a venv with $python (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs" ||
        die "could not install $reqs from PyPI; componentize-py is needed to build the Python bots"
    cp "$reqs" "$stamp"
fi

mkdir -p "$out"
shopt -s nullglob
for app in "$py_dir"/*/app.py; do
    src="$(dirname "$app")"
    name="$(basename "$src")"
    wasm="$out/$name.wasm"
    # Up to date: nothing the component is built from is newer than it.
    if [[ -f "$wasm" ]] && [[ -z "$(find "$src" "$sdk/flotilla" "$root/wit" "$reqs" -newer "$wasm" -not -path '*/__pycache__*' -print -quit)" ]]; then
        continue
    fi
    echo "build-python-bots: componentize-py $name" >&2
    # Build to a temporary file and rename it, so a failed build leaves no half-written
    # component and a running fleet's file watcher sees one complete change.
    PYTHONDONTWRITEBYTECODE=1 "$venv/bin/componentize-py" --wit-path "$root/wit" --world bot \
        componentize --python-path "$src" --python-path "$sdk" app --output "$wasm.tmp" >/dev/null ||
        die "componentize-py failed for $name"
    mv "$wasm.tmp" "$wasm"
done
