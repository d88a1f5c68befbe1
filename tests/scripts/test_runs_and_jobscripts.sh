#!/bin/bash
# The jobscripts and the options files: every jobscripts/*.sbatch passes bash -n, uses
# set -euo pipefail and --signal, and every runs/*.opts it names exists; every runs/*.opts
# is accepted by driftsim (zero steps, N = 64: options after -options_file override the
# file, checked below). The jobscripts' runs under Slurm (stop, follow-up, restart, rank
# check) are tested against a real Slurm by test_slurm.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
bad() { echo "FAIL: $*"; status=1; }

# 1. Jobscripts.
bash -n jobscripts/common.sh || bad "jobscripts/common.sh does not pass bash -n"
for job in jobscripts/*.sbatch; do
  bash -n "$job" || bad "$job does not pass bash -n"
  grep -q '^set -euo pipefail' "$job" || bad "$job lacks set -euo pipefail"
  grep -q '^#SBATCH --signal=' "$job" || bad "$job passes no --signal"
  for opts in $(grep -oE 'runs/[A-Za-z0-9_.-]+\.opts' "$job" | sort -u); do
    [ -f "$opts" ] || bad "$job names $opts, which does not exist"
  done
done

# 2. Options files, each for zero steps at N = 64 into a temporary output (the inputs of
# runs/official_multitemperature.opts made first, as its comment says).
tools/official-inputs out/official_inputs.h5 >/dev/null || bad "tools/official-inputs failed"
for opts in runs/*.opts; do
  name=$(basename "$opts" .opts)
  head -1 "$opts" | grep -q '^#' || bad "$opts does not start with a comment"
  if ! tools/mpiexec-local -n 2 bin/driftsim -options_file "$opts" -drift_n 64 -ts_max_steps 0 \
    -drift_monitor 0 -drift_output "$tmp/$name.h5" >"$tmp/$name.out" 2>&1; then
    bad "driftsim refuses $opts: $(grep -m1 'error' "$tmp/$name.out" || tail -2 "$tmp/$name.out")"
  elif ! grep -q '^PERF_SUMMARY ranks=2 n=64 ' "$tmp/$name.out"; then
    bad "$opts: -drift_n 64 after -options_file did not override the file"
  fi
done
# demo.opts sets -drift_n 2048 and -ts_max_steps 200: the command line must win (n=64 above,
# and no step taken here).
grep -q 'rhs_evals=1 ' "$tmp/demo.out" || bad "-ts_max_steps 0 after -options_file did not win"

[ "$status" = 0 ] && echo "test_runs_and_jobscripts: jobscripts and options files are right"
exit "$status"
