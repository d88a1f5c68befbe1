#!/bin/bash
# run-tests: early
# The jobscripts against a real Slurm: a private single-node cluster on this machine
# (munged, slurmctld and slurmd of Debian's slurm-wlm, started by hand in a scratch
# directory, MpiDefault=none, this host's CPUs and memory), every jobscript submitted with
# sbatch as the user guide says, from a scratch "driftsim directory" (links to bin,
# jobscripts, runs and tools):
# - plugin_choice: the scripts choose pmix when SLURM_MPI_TYPE is unset; a Slurm that offers
#   no pmix stops the job at once with the fix; SLURM_MPI_TYPE=none stops it at the rank
#   check with the guide's hint, not Open MPI's text; tasks that each run alone are refused;
# - single_stop: single.sbatch stopped by USR1 to the batch shell (what --signal=B:USR1@300
#   sends before the time limit); its follow-up depends on it, has the same arguments,
#   restarts and completes the run, whose snapshots equal those of one uninterrupted srun
#   run; without --ntasks the job runs on the 1 task Slurm gives;
# - early_usr1: a USR1 during the rank check (no run, a follow-up), then as soon as Slurm
#   has created the run's job step, and 0.5 s later (driftsim still starting): a checkpoint,
#   exit 0 and a follow-up each time, no task killed; the last follow-up completes the run;
# - array_sweep: n_sweep.sbatch as a 2-task array; the task holding the array's job id is
#   stopped first and its follow-up runs while the other task still runs; the other is
#   stopped by scancel --signal=USR1 to its tasks; both complete; tools/analyze;
# - scaling: strong_scaling.sbatch and weak_scaling.sbatch without --ntasks (one whole node:
#   1 and 2 ranks), then tools/analyze (perf.md);
# - srun_signals: USR1 to srun stops with a checkpoint (exit 0); one INT prints the tasks'
#   state and the run goes on; two INT within a second or a TERM make srun kill the tasks;
#   TERM or USR1 to one task stops the run with a checkpoint (exit 0).
# TEST_SLURM_CASES="early_usr1 ..." runs some cases only. Skipped, saying so, without
# slurmctld, slurmd and munged (.ci/run installs slurm-wlm and munge) or when not root.
# Every wait is bounded; the jobs are cancelled and the daemons stopped on any exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
for program in slurmctld slurmd munged; do
  if ! command -v "$program" >/dev/null; then
    echo "test_slurm: SKIP: $program is missing (apt-get install slurm-wlm munge)"
    exit 0
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "test_slurm: SKIP: starting slurmd needs root"
  exit 0
fi
tmp=$(mktemp -d)
chmod 755 "$tmp" # munged wants its socket reachable by all
status=0
bad() { echo "FAIL: $*"; status=1; }
started=$SECONDS
daemons=() # started with setsid: a signal to this test's process group (timeout) leaves them to cleanup
direct=""

# On every exit: cancel the jobs and wait (bounded) for them to end, stop the daemons this
# test started, by their pids, end by pid whatever is left of the cluster (a slurmstepd
# whose slurmd is gone, a task: every process whose environment names this test's
# slurm.conf, except this shell), and remove the scratch directory.
no_jobs() { [ -z "$(squeue -h 2>/dev/null)" ]; }
# gone PID: the process has ended.
gone() { ! kill -0 "$1" 2>/dev/null; }
cleanup() {
  local pid env
  if [ -n "$direct" ]; then kill -TERM "$direct" 2>/dev/null; fi
  if [ -e "$tmp/slurm.conf" ] && scontrol ping >/dev/null 2>&1; then
    scancel --user=root 2>/dev/null
    until_true 30 no_jobs
  fi
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${daemons[@]}"; do
    until_true 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null
  done
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}
    pid=${pid%/environ}
    [ "$pid" = $$ ] && continue
    if grep -qzx "SLURM_CONF=$tmp/slurm.conf" "$env" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# until SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (0) or SECONDS pass (1).
until_true() {
  local end=$((SECONDS + $1))
  shift
  while ! "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# ---- the cluster -------------------------------------------------------------------------
for v in $(env | grep -oE '^(SLURM|SBATCH|SRUN|SALLOC)_[A-Za-z0-9_]*'); do unset "$v"; done
export SLURM_CONF=$tmp/slurm.conf
# Ranks that wait yield the CPU: on a loaded 2-core machine, busy-polling ranks make every
# step of a 2-rank run wait for time slices.
export OMPI_MCA_mpi_yield_when_idle=1
node=$(hostname -s)
read -r ctld_port slurmd_port < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
mkdir "$tmp/state" "$tmp/spool"
dd if=/dev/urandom of="$tmp/munge.key" bs=128 count=1 status=none
chmod 400 "$tmp/munge.key"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=driftsimtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
MailProg=/bin/true
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=5
MinJobAge=600
$(slurmd -C | head -1) NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
setsid munged -F --socket="$tmp/munge.sock" --key-file="$tmp/munge.key" --pid-file="$tmp/munged.pid" \
  --seed-file="$tmp/munge.seed" --log-file="$tmp/munged.log" >"$tmp/munged.out" 2>&1 &
daemons+=($!)
until_true 10 test -S "$tmp/munge.sock" || { echo "FAIL: munged did not start: $(cat "$tmp/munged.out")"; exit 1; }
setsid slurmctld -D -c -f "$tmp/slurm.conf" >"$tmp/slurmctld.out" 2>&1 &
daemons+=($!)
setsid slurmd -D -f "$tmp/slurm.conf" -N "$node" >"$tmp/slurmd.out" 2>&1 &
daemons+=($!)
idle() { [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; }
until_true 30 idle || { echo "FAIL: the cluster did not come up: $(tail -3 "$tmp/slurmctld.out" "$tmp/slurmd.out")"; exit 1; }
cpus=$(sinfo -h -o %c)
[ "$cpus" -ge 2 ] || { echo "test_slurm: SKIP: the node has $cpus CPU; the runs need 2"; exit 0; }

# The "driftsim directory" the jobs are submitted from.
ds=$tmp/ds
mkdir "$ds"
for d in bin jobscripts runs tools; do ln -s "$root/$d" "$ds/$d"; done
cd "$ds"

# submit SBATCH_ARGS...: the job's id.
submit() { sbatch --parsable "$@" | cut -d';' -f1; }
# field JOB NAME: a field of scontrol show job (JobState, ExitCode, Dependency, NumTasks...).
field() { scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
# ended JOB: the job has left the queue's pending and running states.
ended() { [ -z "$(squeue -h -j "$1" -t PD,CF,R,CG,S 2>/dev/null)" ]; }
# running JOB: the job runs.
running() { [ "$(field "$1" JobState)" = RUNNING ]; }
# follow_up JOB: the id of the follow-up job JOB submitted, from its output.
follow_up() { sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$(job_out "$1")" 2>/dev/null | tail -1; }
# job_out JOB: its output file (the header's --output pattern), a full path.
job_out() { field "$1" StdOut; }
# log_has FILE TEXT: FILE holds a line starting with TEXT.
log_has() { grep -q "^$2" "$1" 2>/dev/null; }
# stop_job JOB: USR1 to its batch shell, what --signal=B:USR1@300 sends before the time limit.
stop_job() { scancel --signal=USR1 --batch "$1"; }
# completed JOB [SECONDS]: it ended (within SECONDS, 90 by default) with exit 0 (COMPLETED).
completed() {
  until_true "${2:-90}" ended "$1" || { bad "job $1 did not end in ${2:-90} s"; return 1; }
  [ "$(field "$1" JobState)" = COMPLETED ] ||
    { bad "job $1 is $(field "$1" JobState) $(field "$1" ExitCode): $(tail -3 "$(job_out "$1")")"; return 1; }
}
# stopped JOB: it ended with exit 0 after a signal stopped its run, and submitted a follow-up
# (its id in next) that depends on it alone (afterany:JOB, or afterany:ARRAY_TASK for an
# array task) and asks for the same tasks.
stopped() {
  local out want
  next=""
  completed "$1" || return 1
  out=$(job_out "$1")
  grep -q "continue with: -drift_restart" "$out" || { bad "job $1 was not stopped by the signal: $(tail -4 "$out")"; return 1; }
  next=$(follow_up "$1")
  [ -n "$next" ] || { bad "job $1 submitted no follow-up: $(tail -3 "$out")"; return 1; }
  want=$1
  [ -z "$(field "$1" ArrayTaskId)" ] || want=$(field "$1" ArrayJobId)_$(field "$1" ArrayTaskId)
  grep -q "submitting the follow-up job: sbatch .*--dependency=afterany:$want --ntasks=$(field "$1" NumTasks) " "$out" ||
    bad "job $1's follow-up does not depend on afterany:$want alone: $(grep 'follow-up job' "$out")"
}
# killed_tasks LOG: srun reported a task ended by a signal.
killed_tasks() { grep -qE "srun: error: .*(Killed|User defined signal|Terminated)" "$1"; }
# checkpoint_step FILE: the step of the checkpoint FILE; fails when it cannot be read.
checkpoint_step() {
  /usr/bin/python3 -c 'import sys, h5py; print(int(h5py.File(sys.argv[1], "r").attrs["step"]))' "$1" 2>/dev/null
}
# same_run A.h5 B.h5: the same snapshot steps, and the same positions at each (to 1e-12).
same_run() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["particles"] for p in sys.argv[1:3])
assert list(a["step"][:]) == list(b["step"][:]), (list(a["step"][:]), list(b["step"][:]))
assert np.allclose(a["position"][:], b["position"][:], rtol=0, atol=1e-12), "positions differ"
PY
}

# ---- the cases ----------------------------------------------------------------------------
small=(runs/rate_study.opts -drift_n 256 -ts_max_steps 20 -drift_monitor 0)

# The MPI plugin: chosen, or a stop at once with the fix; the rank check's hint.
plugin_choice() {
  local j_nopmix j_none j_alone j out
  # A Slurm without pmix, through an srun that leaves pmix out of --mpi=list.
  mkdir "$tmp/nopmix"
  printf '#!/bin/bash\nif [ "$1" = --mpi=list ]; then "%s" --mpi=list 2>&1 | grep -v pmix; exit 0; fi\nexec "%s" "$@"\n' \
    "$(command -v srun)" "$(command -v srun)" >"$tmp/nopmix/srun"
  chmod +x "$tmp/nopmix/srun"
  j_nopmix=$(PATH="$tmp/nopmix:$PATH" DRIFTSIM_STEM=$ds/out/nopmix submit -n 2 jobscripts/single.sbatch "${small[@]}")
  j_none=$(SLURM_MPI_TYPE=none DRIFTSIM_STEM=$ds/out/none submit -n 2 jobscripts/single.sbatch "${small[@]}")
  # Tasks that each run alone (an MPI that ignores the allocation): driftsim without the
  # step's PMIx and Slurm variables.
  printf '#!/bin/bash\nfor v in $(env | grep -oE "^(PMIX|SLURM|OMPI)[A-Za-z0-9_]*"); do unset "$v"; done\nexport OMPI_MCA_ess_singleton_isolated=1\nexec "%s/bin/driftsim" "$@"\n' \
    "$root" >"$tmp/alone"
  chmod +x "$tmp/alone"
  j_alone=$(DRIFTSIM=$tmp/alone DRIFTSIM_STEM=$ds/out/alone submit -n 2 jobscripts/single.sbatch "${small[@]}")
  for j in $j_nopmix $j_none $j_alone; do until_true 60 ended "$j" || bad "job $j did not end"; done
  out=$(job_out "$j_nopmix")
  [ "$(field "$j_nopmix" JobState)" = FAILED ] || bad "a Slurm without pmix: the job is $(field "$j_nopmix" JobState)"
  grep -q "offers no pmix plugin .*export SLURM_MPI_TYPE=" "$out" || bad "a Slurm without pmix: no fix named: $(cat "$out")"
  [ ! -e "$ds/out/nopmix.log" ] || bad "a Slurm without pmix: driftsim was started"
  out=$(job_out "$j_none")
  [ "$(field "$j_none" JobState)" = FAILED ] || bad "SLURM_MPI_TYPE=none: the job is $(field "$j_none" JobState)"
  grep -q "error: MPI did not start under srun --mpi=none .*set SLURM_MPI_TYPE" "$out" ||
    bad "SLURM_MPI_TYPE=none: not the guide's hint: $(head -3 "$out")"
  if grep -q "PMI support" "$out"; then bad "SLURM_MPI_TYPE=none: Open MPI's text in the job's output"; fi
  grep -q "PMI support" "$ds/out/none.rankcheck.log" 2>/dev/null ||
    bad "SLURM_MPI_TYPE=none: Open MPI's text not kept in out/none.rankcheck.log"
  [ ! -e "$ds/out/none.log" ] || bad "SLURM_MPI_TYPE=none: the run was started"
  out=$(job_out "$j_alone")
  [ "$(field "$j_alone" JobState)" = FAILED ] || bad "tasks alone: the job is $(field "$j_alone" JobState)"
  grep -q "srun started 2 tasks but driftsim reported ranks=1 1" "$out" || bad "tasks alone: no clear message: $(tail -2 "$out")"
}

# single.sbatch: stopped, its follow-up completes the run as one whole run would; without
# --ntasks, the one task Slurm gives.
single_stop() {
  local run j1 j2 j out
  run=(runs/rate_study.opts -drift_n 1536 -ts_max_steps 1000 -drift_output_every 100 -drift_diagnostics none -drift_monitor 50)
  j1=$(DRIFTSIM_STEM=$ds/out/single submit -n 2 jobscripts/single.sbatch "${run[@]}" -drift_output "$ds/out/single.h5")
  until_true 60 log_has "$ds/out/single.log" "step *100 " || bad "single: the run did not reach step 100"
  stop_job "$j1"
  if stopped "$j1"; then
    j2=$next out=$(job_out "$j1")
    grep -q -- "--export=ALL,DRIFTSIM_SEGMENT=2 --time=1:00:00 jobscripts/single.sbatch ${run[*]} -drift_output $ds/out/single.h5\$" \
      "$out" || bad "single: the follow-up has not the same arguments: $(grep 'follow-up job' "$out")"
    completed "$j2" && grep -q -- "-drift_restart" "$(job_out "$j2")" || bad "single: the follow-up did not restart"
    [ -e "$ds/out/single.done" ] || bad "single: the follow-up did not complete the run"
    [ -z "$(follow_up "$j2")" ] || bad "single: the completed run submitted another job"
  fi
  # The same run in one piece, srun directly: the same snapshots.
  SLURM_MPI_TYPE=pmix srun --time=2 -n 2 bin/driftsim -options_file "${run[@]}" -drift_output "$tmp/whole.h5" >"$tmp/whole.log" 2>&1 ||
    bad "srun of the whole run failed: $(tail -2 "$tmp/whole.log")"
  same_run "$ds/out/single.h5" "$tmp/whole.h5" || bad "single: the stopped and continued run differs from the whole run"
  j=$(DRIFTSIM_STEM=$ds/out/default submit jobscripts/single.sbatch "${small[@]}")
  completed "$j" 60 && grep -q "out/default: 1 tasks:" "$(job_out "$j")" ||
    bad "single without --ntasks: $(head -2 "$(job_out "$j")" 2>/dev/null)"
}

# USR1 to the batch shell as soon as Slurm has created the rank check's job step (step 0):
# the check finishes, no run starts, the follow-up is submitted. Then, in the follow-ups, as
# soon as the run's step (step 1) exists and 0.5 s later: a checkpoint each time, no task
# killed. The last follow-up completes the run.
early_usr1() {
  local early j delay what step out
  early=(runs/rate_study.opts -drift_n 1536 -ts_max_steps 1500 -drift_diagnostics none -drift_monitor 0
    -drift_output "$ds/out/early.h5")
  j=$(DRIFTSIM_STEM=$ds/out/early submit -n 2 jobscripts/single.sbatch "${early[@]}")
  has_step() { squeue -h -s -j "$j" -o %i 2>/dev/null | grep -qx "$j.$1"; }
  until_true 60 has_step 0 || { bad "early USR1: job $j did not start its rank check"; return; }
  stop_job "$j"
  completed "$j" || return
  out=$(job_out "$j")
  j=$(follow_up "$j")
  [ -n "$j" ] || { bad "USR1 during the rank check: no follow-up: $(tail -2 "$out")"; return; }
  [ ! -e "$ds/out/early.log" ] || bad "USR1 during the rank check: the run was started"
  for delay in 0 0.5; do
    until_true 60 has_step 1 || { bad "early USR1: job $j did not launch its run"; return; }
    sleep "$delay"
    stop_job "$j"
    what="USR1 ${delay} s after the run's launch (job $j)"
    stopped "$j" || { bad "$what: not stopped cleanly"; return; }
    if killed_tasks "$ds/out/early.log"; then bad "$what: a task was killed: $(grep 'srun: error' "$ds/out/early.log")"; fi
    step=$(checkpoint_step "$ds/out/early.checkpoint.h5") || bad "$what: no valid checkpoint"
    echo "test_slurm: $what: checkpoint of step $step"
    j=$next
  done
  completed "$j" && [ -e "$ds/out/early.done" ] || bad "early USR1: the follow-up did not complete the run"
}

# n_sweep.sbatch: two array tasks, stopped and continued independently (the second through
# scancel --signal=USR1 to its tasks, not to its batch shell), then tools/analyze.
array_sweep() {
  local sweep array first other next_first i j
  # 40000 steps: 10 s on a fast node (2 s for 8000, less than Slurm took to start a
  # follow-up), so that the other task still runs when the first one's follow-up starts.
  sweep=(jobscripts/n_sweep.sbatch --n "384 512" --out "$ds/out/sweep" -- -ts_max_steps 40000
    -drift_diagnostics_every 50 -drift_output_every 500 -drift_monitor 100)
  array=$(submit --array=0-1 -n 1 "${sweep[@]}")
  both_running() { running "${array}_0" && running "${array}_1"; }
  until_true 60 both_running || bad "n_sweep: the two array tasks did not both start"
  # The task that holds the array's job id (afterany on that id means the whole array).
  first=0
  [ "$(field "${array}_1" JobId)" = "$array" ] && first=1
  other=$((1 - first))
  stem() { printf '%s/out/sweep/n%07d_p001' "$ds" "$([ "$1" = 0 ] && echo 384 || echo 512)"; }
  until_true 60 log_has "$(stem "$first").log" "step *100 " || bad "n_sweep: task $first did not reach step 100"
  stop_job "${array}_$first"
  next_first=""
  if stopped "${array}_$first"; then
    next_first=$next
    [ "$(field "$next_first" ArrayTaskId)" = "$first" ] || bad "n_sweep: the follow-up of task $first is task $(field "$next_first" ArrayTaskId)"
    started_first() { ! [ "$(field "$next_first" JobState)" = PENDING ]; }
    until_true 60 started_first
    running "${array}_$other" ||
      bad "n_sweep: the follow-up of task $first started only once task $other had ended ($(field "${array}_$other" JobState))"
  fi
  scancel --signal=USR1 "${array}_$other"
  stopped "${array}_$other" || next=""
  for j in $next_first $next; do completed "$j"; done
  for i in 0 1; do [ -e "$(stem "$i").done" ] || bad "n_sweep: task $i's run is not complete"; done
  "$root/tools/analyze" "$ds/out/sweep" >"$tmp/analyze.out" 2>&1 || bad "tools/analyze on the sweep: $(tail -3 "$tmp/analyze.out")"
  [ "$(grep -cE '^\| n0000(384|512)_p001 \|' "$ds/out/sweep/table.md" 2>/dev/null)" = 2 ] ||
    bad "tools/analyze: the table has not the 2 runs: $(cat "$ds/out/sweep/table.md" 2>/dev/null)"
}

# The scaling scripts without --ntasks (one whole node: 1 and 2 ranks), then tools/analyze.
scaling() {
  local kind j p
  for kind in strong weak; do
    j=$(submit "jobscripts/${kind}_scaling.sbatch" --n 2048 --out "$ds/out/$kind")
    completed "$j" || continue
    for p in 1 2; do
      ls "$ds/out/$kind"/n*_p00$p.done >/dev/null 2>&1 || bad "$kind scaling: no run on $p ranks"
    done
    "$root/tools/analyze" "$ds/out/$kind" >"$tmp/analyze.out" 2>&1 || bad "tools/analyze on $kind scaling: $(tail -3 "$tmp/analyze.out")"
    [ "$(grep -cE '^\| n[0-9]{7}_p00[12] \| [12] \|' "$ds/out/$kind/perf.md" 2>/dev/null)" = 2 ] ||
      bad "$kind scaling: perf.md has not the 2 runs: $(cat "$ds/out/$kind/perf.md" 2>/dev/null)"
  done
}

# direct SIGNAL TARGET: srun -n 2 of a run, once its monitor shows step 20: SIGNAL to srun
# (TARGET srun), twice 0.3 s apart (srun2), or to task 0 (task). Sets rc and leaves the log.
direct() {
  rm -f "$tmp"/d.*
  SLURM_MPI_TYPE=pmix srun --time=2 -n 2 bin/driftsim -drift_n 1536 -ts_max_steps 600 -drift_monitor 10 \
    -drift_diagnostics none -drift_checkpoint "$tmp/d.ck.h5" >"$tmp/d.log" 2>&1 &
  direct=$!
  until_true 60 log_has "$tmp/d.log" "step *20 " || bad "srun: the run did not reach step 20"
  case "$2" in
    srun) kill -"$1" "$direct" ;;
    srun2) kill -"$1" "$direct"; sleep 0.3; kill -"$1" "$direct" ;;
    task) kill -"$1" "$(scontrol listpids 2>/dev/null | awk '$4 == 0 && $2 != "-" {print $1}' | head -1)" ;;
  esac
  rc=0
  wait "$direct" || rc=$?
  direct=""
}

# Signals to srun itself and to one task, as the guide's "Under Slurm" says.
srun_signals() {
  local signal target what
  for signal in USR1 TERM; do
    for target in srun task; do
      [ "$signal/$target" = TERM/srun ] && continue
      direct "$signal" "$target"
      what="SIG$signal to $target"
      [ "$rc" = 0 ] && grep -q "stopped by signal" "$tmp/d.log" && [ -n "$(checkpoint_step "$tmp/d.ck.h5")" ] ||
        bad "$what: not stopped with a checkpoint and exit 0 (exit $rc): $(grep -v '^step' "$tmp/d.log" | head -3)"
    done
  done
  direct TERM srun
  [ "$rc" -ne 0 ] && grep -q "forcing job termination" "$tmp/d.log" && ! grep -q "stopped by signal" "$tmp/d.log" ||
    bad "SIGTERM to srun: not the tasks killed (exit $rc): $(grep -v '^step' "$tmp/d.log" | head -3)"
  direct INT srun
  [ "$rc" = 0 ] && grep -q "^PERF_SUMMARY .* rhs_evals=601 " "$tmp/d.log" && ! grep -q "stopped by signal" "$tmp/d.log" ||
    bad "one SIGINT to srun: the run did not go on to its end (exit $rc): $(grep -v '^step' "$tmp/d.log" | head -3)"
  direct INT srun2
  [ "$rc" -ne 0 ] && grep -q "forcing job termination" "$tmp/d.log" ||
    bad "two SIGINT to srun: the tasks were not killed (exit $rc): $(grep -v '^step' "$tmp/d.log" | head -3)"
}

# TEST_SLURM_CASES (default: all, in this order) runs some of them.
for case in ${TEST_SLURM_CASES:-plugin_choice single_stop early_usr1 array_sweep scaling srun_signals}; do
  echo "test_slurm: $((SECONDS - started)) s: $case"
  "$case"
done
echo "test_slurm: $((SECONDS - started)) s"
[ "$status" = 0 ] && echo "test_slurm: ${TEST_SLURM_CASES:-every jobscript under a real Slurm: plugin choice, stop and follow-up, USR1 during start-up, array tasks resubmitted alone, scaling, signals to srun}: right"
exit "$status"
