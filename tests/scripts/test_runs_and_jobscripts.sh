#!/bin/bash
# The jobscripts and the options files: every jobscripts/*.sbatch passes bash -n, uses
# set -euo pipefail and --signal, and every runs/*.opts it names exists; every runs/*.opts
# is accepted by driftsim (zero steps, N = 64: options after -options_file override the
# file, checked below); and, with stand-ins for srun/sbatch/squeue, single.sbatch checkpoints
# on USR1, submits its follow-up, the follow-up completes the run, and a rank count that
# differs from the allocation stops the job loudly.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
bad() { echo "FAIL: $*"; status=1; }

# 1. Jobscripts.
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

# 3. The Slurm path with stand-ins: srun runs tools/mpiexec-local (with FAKE_RANKS ranks
# when set, to fake an MPI that ignores the allocation), sbatch records its arguments.
mkdir "$tmp/bin"
cat >"$tmp/bin/srun" <<FAKE
#!/bin/bash
n=1
while [[ "\$1" == --* ]]; do case "\$1" in --ntasks=*) n=\${1#--ntasks=} ;; esac; shift; done
exec "$root/tools/mpiexec-local" -n "\${FAKE_RANKS:-\$n}" "\$@"
FAKE
printf '#!/bin/sh\necho "$*" >>"%s"\necho "Submitted batch job 2"\n' "$tmp/sbatch.log" >"$tmp/bin/sbatch"
printf '#!/bin/sh\necho 1:00:00\n' >"$tmp/bin/squeue"
chmod +x "$tmp/bin/"*
export PATH="$tmp/bin:$PATH" SLURM_SUBMIT_DIR=$root SLURM_NTASKS=2 SLURM_JOB_NUM_NODES=1
export DRIFTSIM_STEM=$tmp/single/run
run=(runs/rate_study.opts -drift_n 2048 -ts_max_steps 200 -drift_monitor 1 -drift_output "$tmp/single/run.h5")

SLURM_JOB_ID=1 bash jobscripts/single.sbatch "${run[@]}" >"$tmp/job1.out" 2>&1 &
job=$!
for _ in $(seq 300); do # until the run has taken a few steps
  grep -q '^step *5 ' "$tmp/single/run.log" 2>/dev/null && break
  sleep 0.1
done
kill -USR1 "$job"
wait "$job" || bad "the signalled job failed: $(tail -3 "$tmp/job1.out")"
grep -q 'continue with: -drift_restart' "$tmp/job1.out" || bad "USR1 did not stop the run with a checkpoint"
[ -s "$tmp/single/run.checkpoint.h5" ] || bad "no checkpoint written"
[ ! -e "$tmp/single/run.done" ] || bad "a stopped run was marked complete"
grep -q -- "--dependency=afterany:1 --ntasks=2 .* jobscripts/single.sbatch ${run[*]}" "$tmp/sbatch.log" 2>/dev/null ||
  bad "no follow-up job submitted with the same arguments: $(cat "$tmp/sbatch.log" 2>/dev/null)"

SLURM_JOB_ID=2 DRIFTSIM_SEGMENT=2 bash jobscripts/single.sbatch "${run[@]}" >"$tmp/job2.out" 2>&1 ||
  bad "the follow-up job failed: $(tail -3 "$tmp/job2.out")"
grep -q -- '-drift_restart' "$tmp/job2.out" || bad "the follow-up did not restart from the checkpoint"
[ -e "$tmp/single/run.done" ] || bad "the follow-up did not complete the run"
[ "$(wc -l <"$tmp/sbatch.log")" = 1 ] || bad "the completed follow-up submitted another job"

rm -rf "$tmp/single"
if FAKE_RANKS=1 SLURM_JOB_ID=3 bash jobscripts/single.sbatch "${run[@]}" >"$tmp/job3.out" 2>&1; then
  bad "a job whose driftsim saw 1 rank instead of 2 did not fail"
fi
grep -q 'srun started 2 tasks but driftsim reported ranks=1' "$tmp/job3.out" ||
  bad "no clear rank-mismatch message: $(tail -2 "$tmp/job3.out")"

[ "$status" = 0 ] && echo "test_runs_and_jobscripts: jobscripts, options files and the checkpoint/follow-up cycle are right"
exit "$status"
