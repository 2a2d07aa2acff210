#!/usr/bin/env bash
# Builds {{name}}.wasm, a WebAssembly component for Flotilla, with componentize-py
# (pinned in requirements.txt, installed into .venv on the first build). The Flotilla SDK
# (flotilla/) is bundled from this directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [[ ! -x .venv/bin/componentize-py ]]; then
    "${PYTHON:-python3}" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
PYTHONDONTWRITEBYTECODE=1 .venv/bin/componentize-py --wit-path wit --world bot \
    componentize app --python-path . --output {{name}}.wasm >/dev/null
echo "built $(pwd)/{{name}}.wasm"
