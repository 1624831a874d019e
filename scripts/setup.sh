#!/usr/bin/env bash
# Set up everything splitbrain needs on a fresh Debian machine of this kind, idempotently:
# Debian packages (mmdebstrap ...), a virtualenv with the Python deps, and the node image.
# Fast when everything is already there. `--tests` adds what only the tests need (chromium
# for the browser tests, pytest, mypy ...); the main job (scripts/run.sh) goes without.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "setup: error: need Python >= 3.11 as '$PY' (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

extra=""
deps_args=()
if [ "${1:-}" = "--tests" ]; then
  extra="[test]"
  deps_args=(--browser)
fi

scripts/install-deps.sh "${deps_args[@]}"

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating virtualenv .venv"
  "$PY" -m venv .venv
fi
# Reinstall only when the dependency list changed.
stamp=.venv/.splitbrain-deps
want="$(sha256sum pyproject.toml | cut -c1-16)$extra"
have=$(cat "$stamp" 2>/dev/null || true)
# A test install is a superset of the plain one.
if [ "$have" != "$want" ] && [ "$have" != "$want[test]" ]; then
  echo "setup: installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extra"
  echo "$want" > "$stamp"
fi

echo "setup: node image"
.venv/bin/splitbrain image build
