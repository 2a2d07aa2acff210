#!/usr/bin/env bash
# Runs the Python and JavaScript SDKs' native test suites and the bundled bots' own: pytest
# on CPython against the Python SDK's mock host, node --test against the JavaScript SDK's.
# No component is built. pytest (pinned in sdk/python/requirements-test.txt) is installed
# into a venv, sdk/python/.venv, created or refreshed only when that file changed; the
# JavaScript suites need nothing beyond Node.js.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/sdk/python/.venv"
reqs="$root/sdk/python/requirements-test.txt"
stamp="$venv/.flotilla-requirements"

die() {
    echo "test-sdks: $*" >&2
    exit 1
}

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 ||
    die "$python not found: the Python SDK's tests need Python >= 3.10 with venv and pip"
command -v node >/dev/null 2>&1 || die "node not found: the JavaScript SDK's tests need Node.js >= 18"

if [[ ! -x "$venv/bin/python" || ! -f "$stamp" ]] || ! cmp -s "$reqs" "$stamp"; then
    echo "test-sdks: installing $(grep -v '^#' "$reqs" | xargs) into ${venv#"$root"/}" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" || die "could not create a venv with $python (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs" ||
        die "could not install $reqs from PyPI"
    cp "$reqs" "$stamp"
fi

export PYTHONDONTWRITEBYTECODE=1
# The SDK's suite, then the bundled bots' (their conftest puts sdk/python on the path).
(cd "$root/sdk/python" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
(cd "$root/bots/python" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
node --test --test-reporter=spec "$root/sdk/js/test/" "$root/bots/js/test/"
