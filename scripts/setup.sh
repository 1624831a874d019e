#!/usr/bin/env bash
# Set up everything splitbrain needs on a fresh Debian machine of this kind, idempotently:
# Debian packages (mmdebstrap ...), a virtualenv with the Python deps, and the node image.
# Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "setup: error: need Python >= 3.11 as '$PY' (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

scripts/install-deps.sh

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating virtualenv .venv"
  "$PY" -m venv .venv
fi
# Reinstall only when the dependency list changed.
stamp=.venv/.splitbrain-deps
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi

echo "setup: node image"
.venv/bin/splitbrain image build
