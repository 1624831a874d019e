#!/usr/bin/env bash
# The main job: set up, then a default test against the built-in store, ending with the
# path of its report. Extra arguments go to `splitbrain run` (e.g. --time-limit 60).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/splitbrain run --nodes 5 --time-limit 30 --nemesis partition "$@"
