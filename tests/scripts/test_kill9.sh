#!/bin/bash
# kill -9 of the whole run (mpiexec and its ranks, one session) at a random moment,
# $KILL9_TRIALS (10) times at 2 ranks, a small run with a checkpoint and a snapshot every
# step, 0 to 0.5 s after its first checkpoint: the output always opens and its complete rows (attribute complete_rows) read back,
# the checkpoint (once one was written) is valid, and -drift_restart from it completes.
# Bounded: each run 20 s at most.
set -uo pipefail
source "$(dirname "$0")/faults_lib.sh"
run=(-drift_n 256 -ts_max_steps 100000 -drift_monitor 0 -drift_diagnostics none -drift_output o.h5 -drift_output_every 1 -drift_checkpoint c.h5 -drift_checkpoint_every 1)

for trial in $(seq "${KILL9_TRIALS:-10}"); do
  rm -f "$tmp"/o.* "$tmp"/c.h5*
  (cd "$tmp" && exec setsid "$root/tools/mpiexec-local" -n 2 "$driftsim" "${run[@]}") >"$tmp/log" 2>&1 &
  launcher=$!
  # The kill lands at a random moment of the stepping: 0 to 0.5 s after the first
  # checkpoint appears (a snapshot, two flushes and a checkpoint every step).
  for _ in $(seq 200); do [ -e "$tmp/c.h5" ] && break; sleep 0.1; done
  sleep "$(/usr/bin/python3 -c 'import random; print(round(random.uniform(0, 0.5), 3))')"
  # Open MPI puts every rank in a process group of its own, but all stay in the session
  # setsid made: kill the whole session at once, and wait until none of it is left.
  pkill -9 -s "$launcher"
  wait "$launcher" 2>/dev/null
  for _ in $(seq 100); do pgrep -s "$launcher" >/dev/null || break; sleep 0.1; done
  pgrep -s "$launcher" >/dev/null && bad "trial $trial: processes of the run outlived kill -9"
  what="trial $trial"
  if [ ! -e "$tmp/c.h5" ]; then
    echo "$what: killed before the first checkpoint"
    continue
  fi
  rows=$(output_rows "$tmp/o.h5" 2>&1) || bad "$what: the output does not open or its rows disagree: $rows"
  step=$(checkpoint_step "$tmp/c.h5" 2>&1) || { bad "$what: the checkpoint is not valid: $step"; continue; }
  (cd "$tmp" && timeout 20 "$root/tools/mpiexec-local" -n 2 "$driftsim" "${run[@]}" -ts_max_steps $((step + 1)) -drift_restart c.h5) >"$tmp/log" 2>&1 \
    || bad "$what: the restart from step $step failed: $(grep -m1 error "$tmp/log")"
  rows=$(output_rows "$tmp/o.h5" 2>&1) || bad "$what: the output after the restart: $rows"
  echo "$what: checkpoint of step $step, restart completed, $rows snapshots"
done
exit $status
