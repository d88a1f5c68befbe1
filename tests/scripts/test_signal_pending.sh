#!/bin/bash
# A signal kept blocked and pending across exec (how the jobscripts start each task, so that
# the time limit's USR1 can neither kill a task still loading driftsim nor be lost): driftsim
# unblocks SIGUSR1, SIGTERM and SIGINT once its handler is installed, so the pending signal
# ends the run before its first step with the checkpoint of step 0 and exit 0, at 1 and
# 2 ranks (each rank blocks and sends itself the signal, through perl, before exec).
set -uo pipefail
source "$(dirname "$0")/faults_lib.sh"
for ranks in 1 2; do
  for signal in USR1 TERM INT; do
    what="SIG$signal pending at exec ($ranks ranks)"
    rm -f "$tmp"/c.h5*
    rc=0
    timeout 60 "$root/tools/mpiexec-local" -n "$ranks" perl -MPOSIX -e \
      'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(&{"SIG" . shift})) or die; kill shift, $$; exec { $ARGV[0] } @ARGV or die' \
      "$signal" "$signal" "$driftsim" -drift_n 256 -ts_max_steps 200 -drift_monitor 0 -drift_diagnostics none \
      -drift_checkpoint "$tmp/c.h5" >"$tmp/log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || { bad "$what: exit $rc: $(grep -v '^PERF' "$tmp/log" | head -2 | cut -c1-200)"; continue; }
    stopped_with_its_checkpoint "$what" 0
  done
done
[ "$status" = 0 ] && echo "test_signal_pending: a signal pending at exec stops the run at step 0 with a checkpoint, at 1 and 2 ranks"
exit $status
