# The part every driftsim jobscript shares, sourced by jobscripts/*.sbatch once they are in
# the submit directory (sbatch copies only the script itself, so this file is read from
# there), with SELF (the script's path) and ARGS (its arguments) set.
#
# Time limit: Slurm sends USR1 to the batch shell 300 s before the limit (--signal=B:USR1@300
# in each script; Slurm may send it up to 60 s early or late). The trap passes it on to the
# running srun, which passes it to every driftsim task: driftsim finishes its current step,
# writes STEM.checkpoint.h5 and exits 0 ("continue with: -drift_restart ..."). This shell then
# starts nothing new and submits itself again (--dependency=afterany on this job, or on this
# array task alone) with the same arguments; the follow-up skips complete runs (STEM.done)
# and continues a run from its checkpoint. Raise the 300 s if one step plus a checkpoint takes
# more than about 4 minutes.
DRIFTSIM=${DRIFTSIM:-bin/driftsim}
stop=0 signals=0 step_pid="" step_tasks=0 step_ready="" step_stoppable=0 forwarder=""

die() { echo "$SELF: error: $*" >&2; exit 1; }

# job_tasks: the job's task count: sbatch's --ntasks when given, else the task slots Slurm
# gave the job (SLURM_TASKS_PER_NODE, e.g. "2(x3),1" = 7: one per allocated CPU, or per
# --cpus-per-task CPUs), so that a job without --ntasks runs on what it got.
job_tasks() {
  local total=0 item items
  if [ -n "${SLURM_NTASKS:-}" ]; then echo "$SLURM_NTASKS"; return; fi
  IFS=, read -r -a items <<<"${SLURM_TASKS_PER_NODE:?not a Slurm job: submit with sbatch $SELF}"
  for item in "${items[@]}"; do
    if [[ "$item" =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
      total=$((total + BASH_REMATCH[1] * BASH_REMATCH[2]))
    else
      total=$((total + item))
    fi
  done
  echo "$total"
}

# The MPI plugin srun starts the tasks with: SLURM_MPI_TYPE when set, else pmix when this
# Slurm offers it (Open MPI 4 starts under srun only through PMIx, and many sites have
# MpiDefault=none), else stop at once saying what to do.
if [ -z "${SLURM_MPI_TYPE:-}" ]; then
  if srun --mpi=list 2>&1 | grep -qE '^[[:space:]]*pmix$'; then
    export SLURM_MPI_TYPE=pmix
  else
    die "this Slurm offers no pmix plugin (srun --mpi=list), which Open MPI needs to start" \
      "under srun: export SLURM_MPI_TYPE=<the plugin your MPI was built with, e.g. pmi2>" \
      "before sbatch, or ask the site for Slurm built with PMIx"
  fi
fi

# USR1 to this shell: stop after the current step (see the top of this file).
on_signal() {
  stop=1
  signals=$((signals + 1))
  stop_step
}
trap on_signal USR1

# stop_step: forward_stop in the background for the running step, unless it cannot stop
# (the rank check) or a forward_stop is already under way.
stop_step() {
  if [ -n "$step_pid" ] && [ "$step_stoppable" = 1 ] && [ -z "$forwarder" ]; then
    forward_stop &
    forwarder=$!
  fi
}

# forward_stop (in the background): USR1 to the running srun, which passes it to every task,
# once each task has said that it holds USR1 blocked (a file in step_ready, see
# launch_tasks). Never earlier: a USR1 that reaches a task still loading the program kills it,
# and srun drops one that comes before the tasks exist. A task still loading driftsim keeps it
# pending; driftsim unblocks it once its handler is installed, on the first line of main.
forward_stop() {
  while kill -0 "$step_pid" 2>/dev/null; do
    if [ "$(find "$step_ready" -type f | wc -l)" -ge "$step_tasks" ]; then
      kill -USR1 "$step_pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.2
  done
}

# launch_tasks STOPPABLE LOG TASKS ARGS...: driftsim on TASKS tasks in the background
# (step_pid is srun's pid), output appended to LOG; a USR1 is passed on to it when STOPPABLE
# is 1 (not to the rank check, which has nowhere to write a checkpoint). Each task blocks
# USR1 (perl, part of every Debian system) and leaves a file in LOG.ready before it execs
# driftsim.
launch_tasks() {
  local log=$2
  step_stoppable=$1 step_tasks=$3 step_ready=$2.ready
  shift 3
  rm -rf "$step_ready"
  mkdir "$step_ready"
  srun --ntasks="$step_tasks" perl -MPOSIX -e 'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1)) or die;
    open(my $ready, ">", shift(@ARGV) . "/" . (uname())[1] . ".$$") or die "$!"; close($ready);
    exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!"' "$step_ready" "$DRIFTSIM" "$@" </dev/null >>"$log" 2>&1 &
  step_pid=$!
  if [ "$stop" = 1 ]; then stop_step; fi # a USR1 came while srun was starting
}

# srun_driftsim STOPPABLE LOG TASKS ARGS...: launch_tasks, then waits through trapped signals; returns
# srun's exit status (driftsim's).
srun_driftsim() {
  local status before
  launch_tasks "$@"
  while :; do
    before=$signals
    status=0
    wait "$step_pid" || status=$?
    if [ "$signals" -ne "$before" ] && [ "$status" -gt 128 ]; then continue; fi
    break
  done
  if [ -n "$forwarder" ]; then kill "$forwarder" 2>/dev/null || true; wait "$forwarder" || true; fi
  rm -rf "$step_ready"
  step_pid="" forwarder=""
  return "$status"
}

# check_ranks TEXT TASKS: the run's PERF_SUMMARY must say ranks=TASKS, once; else stop loudly.
check_ranks() {
  local seen
  seen=$(echo "$1" | sed -n 's/^PERF_SUMMARY ranks=\([0-9]*\).*/\1/p' | tr '\n' ' ')
  [ "$seen" = "$2 " ] || die "srun started $2 tasks but driftsim reported ranks=${seen:-nothing}:" \
    "MPI is not using the Slurm allocation (srun --mpi=$SLURM_MPI_TYPE; set SLURM_MPI_TYPE to" \
    "the plugin your MPI was built with, see srun --mpi=list)"
}

# run_segment STEM TASKS ARGS...: runs STEM (STEM.log, STEM.checkpoint.h5, STEM.done), or
# continues it from its checkpoint; sets stop=1 when a signal stopped it.
run_segment() {
  local stem=$1 tasks=$2 first text restart=()
  shift 2
  if [ -e "$stem.done" ]; then
    echo "$stem: complete (remove $stem.done and $stem.checkpoint.h5* to run it again)"
    return 0
  fi
  [ "$stop" = 0 ] || return 0
  # One field evaluation of a tiny problem first: do the tasks start, as one MPI job?
  rm -f "$stem.rankcheck.log"
  srun_driftsim 0 "$stem.rankcheck.log" "$tasks" -drift_n "$tasks" -drift_dim 1 -ts_max_steps 0 \
    -drift_monitor 0 || die "MPI did not start under srun --mpi=$SLURM_MPI_TYPE ($tasks tasks;" \
    "its messages are in $stem.rankcheck.log): set SLURM_MPI_TYPE to the plugin your MPI was" \
    "built with (srun --mpi=list)"
  check_ranks "$(cat "$stem.rankcheck.log")" "$tasks"
  rm -f "$stem.rankcheck.log"
  [ "$stop" = 0 ] || return 0
  touch "$stem.log"
  if [ -s "$stem.checkpoint.h5" ]; then restart=(-drift_restart "$stem.checkpoint.h5"); fi
  first=$(($(wc -l <"$stem.log") + 1))
  echo "$stem: $tasks tasks: $DRIFTSIM $* ${restart[*]:-}"
  srun_driftsim 1 "$stem.log" "$tasks" "$@" -drift_checkpoint "$stem.checkpoint.h5" \
    ${restart[@]+"${restart[@]}"} || die "driftsim failed; see $stem.log: $(tail -5 "$stem.log")"
  text=$(tail -n "+$first" "$stem.log")
  echo "$text" | grep -E '^(PERF_SUMMARY|driftsim:)' || true
  check_ranks "$(echo "$text" | grep '^PERF_SUMMARY')" "$tasks"
  if [[ "$text" == *"continue with: -drift_restart"* ]]; then
    stop=1
  else
    touch "$stem.done"
  fi
}

# resubmit: this script again, same arguments and tasks, once this job (an array task: this
# task alone, by its own index) has ended.
resubmit() {
  local segment=${DRIFTSIM_SEGMENT:-1} limit after=$SLURM_JOB_ID options=()
  [ "$segment" -lt "${DRIFTSIM_MAX_SEGMENTS:-20}" ] ||
    die "stopped $segment times: not resubmitting (raise DRIFTSIM_MAX_SEGMENTS to allow more)"
  if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    # afterany:<array job id> alone would wait for every task of the array
    after=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID
    options+=(--array="$SLURM_ARRAY_TASK_ID")
  fi
  options+=(--dependency="afterany:$after" --ntasks="$(job_tasks)"
    --nodes="$SLURM_JOB_NUM_NODES" --export="ALL,DRIFTSIM_SEGMENT=$((segment + 1))")
  limit=$(squeue -h -j "$after" -o %l 2>/dev/null | head -1 || true)
  if [ -n "$limit" ]; then options+=(--time="$limit"); fi
  echo "stopped before the time limit; submitting the follow-up job: sbatch ${options[*]} $SELF ${ARGS[*]:-}"
  sbatch "${options[@]}" "$SELF" ${ARGS[@]+"${ARGS[@]}"}
}
