#!/bin/bash
# Signals, as the guide's "Checkpoints, restart and signals" says, at 1 and 2 ranks:
# - SIGUSR1, SIGTERM or SIGINT sent to one rank while it is still starting (as soon as its
#   handler is installed, in MPI_Init) ends the run after set-up with the initial state's
#   checkpoint (step 0), exit 0, and the restart from it completes;
# - SIGUSR1 sent to mpiexec (once every rank handles it) is forwarded to every rank: the run
#   stops at the first step boundary after it arrives, with that step's checkpoint, exit 0,
#   and the restart completes (step 0 when it arrives during start-up; a loaded machine's
#   mpiexec forwarded it after step 6 of a 1024-particle run, in a run of the whole suite);
# - SIGTERM sent to mpiexec: Open MPI forwards it, kills the ranks after
#   odls_base_sigkill_timeout (1 s) and exits 1 whatever they do; during start-up no
#   checkpoint is written in that time (the guide says so).
# Each run is bounded by 40 s.
set -uo pipefail
source "$(dirname "$0")/faults_lib.sh"
run=(-drift_n 1024 -ts_max_steps 20 -drift_monitor 0 -drift_diagnostics none -drift_output o.h5 -drift_checkpoint c.h5)

# The pid of driftsim rank $2 of the mpiexec $1 once it handles SIGUSR1 (bit 10 of SigCgt).
rank_pid() {
  local pid
  for _ in $(seq 400); do
    for pid in $(pgrep -P "$1"); do
      if grep -qs "OMPI_COMM_WORLD_RANK=$2" -z "/proc/$pid/environ" 2>/dev/null \
        && (( 0x$(awk '/^SigCgt/ {print $2}' "/proc/$pid/status") >> 9 & 1 )); then
        echo "$pid"
        return
      fi
    done
    sleep 0.01
  done
}

# Starts the run at $1 ranks in $tmp, sends $2 to $3 ("mpiexec" or a rank number); rc, log.
signalled() {
  rm -f "$tmp"/o.* "$tmp"/c.h5*
  (cd "$tmp" && exec timeout 40 "$root/tools/mpiexec-local" -n "$1" "$driftsim" "${run[@]}") >"$tmp/log" 2>&1 &
  local launcher=$! mpiexec="" target
  # timeout's child, mpiexec: polled for (up to 4 s), as a fixed wait missed it under load
  for _ in $(seq 400); do
    mpiexec=$(pgrep -P "$launcher" | head -1)
    [ -n "$mpiexec" ] && break
    sleep 0.01
  done
  if [ "$3" = mpiexec ]; then
    # every rank's handler, not only rank 0's: before main the signal kills (the guide says so)
    for r in $(seq 0 $(($1 - 1))); do rank_pid "$mpiexec" "$r" >/dev/null; done
    target=$mpiexec
  else
    target=$(rank_pid "$mpiexec" "$3")
  fi
  [ -n "$target" ] && kill -"$2" "$target"
  rc=0
  wait "$launcher" || rc=$?
}

for ranks in 1 2; do
  for case in "USR1 0" "TERM 0" "INT 0" "USR1 1" "USR1 mpiexec"; do
    set -- $case
    [ "$2" = 1 ] && [ "$ranks" = 1 ] && continue
    what="SIG$1 to ${2/#[0-9]/rank $2} during start-up ($ranks ranks)"
    signalled "$ranks" "$1" "$2"
    [ "$rc" -eq 0 ] || { bad "$what: exit $rc: $(grep -v "^PERF" "$tmp/log" | head -3 | cut -c1-200)"; continue; }
    # a signal sent to a rank arrives during its start-up; one forwarded by mpiexec may come later
    step=0
    [ "$2" = mpiexec ] && step=
    stopped_with_its_checkpoint "$what" $step
    (cd "$tmp" && timeout 40 "$root/tools/mpiexec-local" -n "$ranks" "$driftsim" "${run[@]}" -drift_restart c.h5) >"$tmp/log" 2>&1 || bad "$what: the restart failed: $(grep -m1 error "$tmp/log")"
    rows=$(output_rows "$tmp/o.h5" 2>&1) || bad "$what: the output after the restart: $rows"
  done
  signalled "$ranks" TERM mpiexec
  [ "$rc" -eq 1 ] || bad "SIGTERM to mpiexec ($ranks ranks): exit $rc, the guide says 1"
done
exit $status
