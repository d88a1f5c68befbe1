# Shared by the fault tests (sourced, not run): a driftsim to test, a scratch directory,
# failure bookkeeping, and checks of the files a run leaves. Needs bash and /usr/bin/python3
# with h5py.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)
driftsim=${DRIFTSIM:-$root/bin/driftsim} # DRIFTSIM: another build, e.g. to see a test fail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
bad() { echo "FAIL: $*"; status=1; }
# ulimit -f in a rank breaks Open MPI's shared-memory transport; TCP has no file to grow.
export OMPI_MCA_btl=self,tcp

# The output $1 opens and its snapshots up to /particles' complete_rows attribute read
# back: every series holds at least that many rows (exactly that many with $2 = exact: no
# row beyond it, as after a write failure), steps increase, positions are finite; prints
# the number of complete snapshots.
output_rows() {
  /usr/bin/python3 - "$1" "${2:-}" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    p = f["particles"]
    n = int(p.attrs["complete_rows"])
    lengths = [p[s].shape[0] for s in ("step", "time", "position")]
    assert min(lengths) >= n, "complete_rows %d, series of %s rows" % (n, lengths)
    assert sys.argv[2] != "exact" or max(lengths) == n, "complete_rows %d, series of %s rows" % (n, lengths)
    assert (np.diff(p["step"][:n]) > 0).all(), "steps do not increase"
    assert np.isfinite(p["position"][:n]).all(), "non-finite positions"
    print(n)
PY
}

# The checkpoint $1 opens and holds finite positions and a step; prints the step.
checkpoint_step() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert np.isfinite(f["position"][:]).all(), "non-finite positions"
    print(int(f.attrs["step"]))
PY
}

# A run ($tmp/log) stopped by a signal after step S, with a valid checkpoint $tmp/c.h5 of
# that step: S = $2 when given (0: before the first step), else any S below 20 (a signal
# forwarded by mpiexec, which under load can reach the ranks after their start-up; what it
# must not do is lose or mislabel the state). $1 names the case in the failures.
stopped_with_its_checkpoint() {
  local said step
  said=$(sed -nE 's/.*stopped by signal [0-9]+ after step ([0-9]+) .*/\1/p' "$tmp/log" | head -1)
  [ -n "$said" ] && [ "$said" -lt 20 ] && [ "$said" = "${2:-$said}" ] ||
    { bad "$1: not stopped by the signal${2:+ after step $2}: $(head -3 "$tmp/log")"; return; }
  step=$(checkpoint_step "$tmp/c.h5" 2>&1) || bad "$1: no valid checkpoint: $step"
  [ "$step" = "$said" ] || bad "$1: stopped after step $said, but the checkpoint is of step $step"
}

# The number of "driftsim: error:" lines in $1, and whether a PETSc traceback is there.
error_lines() { grep -c '^driftsim: error:' "$1" || true; }
has_traceback() { grep -q 'PETSC ERROR' "$1"; }
