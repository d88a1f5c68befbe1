#!/bin/bash
# ParaView, as a user opens driftsim's output: Debian's pvpython (headless, under xvfb-run)
# opens the .xmf sidecar with the default reader and checks steps, times, N points and N
# vertex cells per step, positions and velocities against the HDF5 (paraview_check.py), for
# a 2-D run, a 3-D run, and a 2-D run restarted from a checkpoint (its cut snapshots
# rewritten); the screenshot must not be blank. Skipped, saying so, without pvpython or
# xvfb-run (.ci/run installs paraview and xvfb).
# Xvfb runs with -noreset: pvpython opens a first X connection, closes it and opens a
# second, and an X server resets when its last client leaves; a connection that arrives
# during the reset is dropped (ECONNRESET, seen with strace), and pvpython aborts with "bad X
# server connection". Under load, or on a slower node, that window was hit in 2 of 6 tries.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v pvpython >/dev/null || ! command -v xvfb-run >/dev/null; then
  echo "test_paraview: SKIP: pvpython or xvfb-run is missing (apt-get install paraview xvfb xauth)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { tools/mpiexec-local -n 2 bin/driftsim -drift_monitor 0 -drift_diagnostics none -drift_output_velocity "$@" >>"$tmp/log" 2>&1; }
check() { # name
  timeout 300 xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" pvpython tests/scripts/paraview_check.py "$tmp/$1.xmf" "$tmp/$1.h5" "$tmp/$1.png" >"$tmp/$1.pv" 2>&1 ||
    { echo "FAIL: ParaView on $1: $( { grep -E 'Error|ERR|assert|SIGSEGV' "$tmp/$1.pv" || tail -3 "$tmp/$1.pv"; } | head -3)"; return 1; }
  # A blank screenshot has one colour; the cloud's points make more.
  /usr/bin/python3 -c "import matplotlib.image as m, numpy as n, sys; a = m.imread(sys.argv[1]); sys.exit(0 if len(n.unique(a.reshape(-1, a.shape[-1]), axis=0)) > 2 else 1)" "$tmp/$1.png" ||
    { echo "FAIL: $1: the screenshot is blank"; return 1; }
  grep -h "^paraview_check" "$tmp/$1.pv"
}
status=0
run -drift_n 301 -drift_dim 2 -ts_max_steps 20 -drift_output_every 5 -drift_output "$tmp/d2.h5"
check d2 || status=1
run -drift_n 211 -drift_dim 3 -ts_max_steps 10 -drift_output_every 5 -drift_output "$tmp/d3.h5"
check d3 || status=1
run -drift_n 301 -drift_dim 2 -ts_max_steps 20 -drift_output_every 5 -drift_output "$tmp/re.h5" -drift_checkpoint "$tmp/re.ck.h5" -drift_checkpoint_every 10
run -drift_n 301 -drift_dim 2 -ts_max_steps 30 -drift_output_every 5 -drift_output "$tmp/re.h5" -drift_checkpoint "$tmp/re.ck.h5" -drift_restart "$tmp/re.ck.h5.prev"
check re || status=1
[ $status -eq 0 ] && echo "test_paraview: ParaView's default reader opens every sidecar (2-D, 3-D, restarted) with N vertex cells per step, the times and the data of the HDF5"
exit $status
