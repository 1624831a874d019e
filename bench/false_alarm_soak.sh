#!/usr/bin/env bash
# The false-alarm soak (issue 12): the store's CORRECT modes (raft, fenced, primary) over every
# workload x every nemesis x several seeds must all come out valid. Any invalid run is a bug in
# the store, a workload or a checker: the campaign's table says which cell, and the run's
# report says why. Runs as one campaign (resumable: run it again to finish an interrupted soak).
#
#   bench/false_alarm_soak.sh [STORE] [SEEDS] [TIME_LIMIT]
#   bench/false_alarm_soak.sh store 1,2,3 30      # 3 x 6 x 6 x 3 = 324 runs, ~4 h on 2 cores
#   bench/false_alarm_soak.sh store 1 20          # one seed: 108 runs, ~55 min
#
# Exit code: the campaign's (0: every run valid; 1: a false alarm; 2: some run unknown).
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-store}
seeds=${2:-1,2,3}
limit=${3:-30}
exec .venv/bin/splitbrain campaign --name "soak-$seeds-$limit" --store "$store" \
  --modes raft,fenced,primary \
  --workloads register,set,lost-update,counter,bank,unique-ids \
  --nemeses none,partition,pause,kill,clock,packet \
  --seeds "$seeds" --time-limit "$limit" --nodes 5 --nemesis-interval 5 --cluster soak
