#!/usr/bin/env bash
# Detection with the options a user types first (issue 12): each broken mode of the store
# against the fault that breaks it, N seeds of 60 s, with DEFAULT nemesis options (no
# targets given). The campaign table reads "caught k/N"; the goal is k >= 19 of 20.
#
#   bench/detection_rate.sh [STORE] [N] [MODE:NEMESIS ...]
#   bench/detection_rate.sh store 20 lease:pause            # ~25 min
#   bench/detection_rate.sh store 20 lease:pause lww:clock async:partition
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-store}
n=${2:-20}
shift 2 || true
cells=("$@")
[ ${#cells[@]} -eq 0 ] && cells=(lease:pause lww:clock async:partition)
for cell in "${cells[@]}"; do
  mode=${cell%%:*}; nemesis=${cell#*:}
  .venv/bin/splitbrain campaign --name "detect-$mode-$nemesis-$n" --store "$store" \
    --modes "$mode" --nemeses "$nemesis" --test-count "$n" --time-limit 60 --nodes 5 \
    --cluster detect || true
done
exit 0  # broken modes exit 1 by design; read "caught k/N" in the tables above
