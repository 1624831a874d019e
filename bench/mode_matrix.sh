#!/usr/bin/env bash
# The store's mode matrix (issue 3): each broken mode against the fault that breaks it, and
# the correct modes against every fault, 5 seeds of 60 s each. Runs as campaigns (resumable:
# run it again to finish an interrupted matrix). Usage: bench/mode_matrix.sh [STORE] [SEEDS]
# Two halves run side by side on two clusters; ~35 min on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-store}
seeds=${2:-1,2,3,4,5}
sb=.venv/bin/splitbrain
common=(--store "$store" --seeds "$seeds" --time-limit 60 --nodes 5 --nemesis-interval 5)
broken() {
  # lease: a paused LEADER wakes up inside its wall-clock lease and serves stale reads
  $sb campaign --name matrix-lease --modes lease --nemeses pause \
     --option pause_targets=primaries --cluster mxa "${common[@]}" || true
  # lww: a skewed clock makes acknowledged writes lose to older ones
  $sb campaign --name matrix-lww --modes lww --nemeses clock --cluster mxa "${common[@]}" || true
  # async: a partition gives two primaries; the loser's acknowledged writes vanish
  $sb campaign --name matrix-async --modes async --nemeses partition --cluster mxa \
     "${common[@]}" || true
  # fenced: the same paused leader, but its stale token is refused: never a stale read
  $sb campaign --name matrix-fenced --modes fenced --nemeses pause \
     --option pause_targets=primaries --cluster mxa "${common[@]}" || true
}
correct() {
  $sb campaign --name matrix-raft --modes raft --nemeses partition,pause,kill,clock \
     --cluster mxb "${common[@]}" || true
}
broken > "$store/matrix-broken.log" 2>&1 &
correct > "$store/matrix-correct.log" 2>&1 &
wait
echo "matrix done: $store/campaigns/matrix-*/campaign.html"
