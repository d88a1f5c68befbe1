#!/bin/bash
# driftsim's -drift_joint_floor tutorial and large_scale fields are the authors' code: the
# field at the first state of a 2-rank run equals, to relative 1e-12, a numpy transliteration
# (double precision) of the tutorial's compute_drift (runs/toy_checkerboard.opts, N = 301,
# M = 257) and of drift_loss (runs/official_multitemperature.opts: negatives and weights of
# the data and the negatives from tools/official-inputs, and weights of the N = 301
# particles). Skipped, saying so, without numpy and h5py.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c 'import numpy, h5py' 2>/dev/null; then
  echo "test_authors_code: SKIP: /usr/bin/python3 lacks numpy or h5py"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
run() { tools/mpiexec-local -n 2 bin/driftsim "$@" -ts_max_steps 0 -drift_monitor 0 -drift_diagnostics none -drift_output_velocity >"$tmp/log" 2>&1 || { echo "FAIL: driftsim $*: $(tail -3 "$tmp/log")"; status=1; }; }
agree() { # what, relative difference
  awk -v d="$2" 'BEGIN { exit !(d < 1e-12) }' && echo "  $1: relative difference $2" || { echo "FAIL: $1 differs from the authors' code by $2 (relative)"; status=1; }
}

run -options_file runs/toy_checkerboard.opts -drift_n 301 -drift_target_samples 257 -drift_output "$tmp/tutorial.h5"
agree "tutorial (compute_drift)" "$(/usr/bin/python3 tests/scripts/authors_code.py tutorial "$tmp/tutorial.h5" 0.05)"

tools/official-inputs "$tmp/inputs.h5" >/dev/null
/usr/bin/python3 -c "import h5py, numpy as np; h5py.File('$tmp/particle_weights.h5', 'w')['w'] = 0.5 + (np.arange(301) % 3) / 2"
run -options_file runs/official_multitemperature.opts -drift_n 301 -drift_target_file "$tmp/inputs.h5" -drift_data_weights_file "$tmp/inputs.h5" \
  -drift_negatives_file "$tmp/inputs.h5" -drift_negatives_weights_file "$tmp/inputs.h5" \
  -drift_particle_weights_file "$tmp/particle_weights.h5" -drift_particle_weights_dataset /w -drift_output "$tmp/large_scale.h5"
agree "large scale (drift_loss)" "$(/usr/bin/python3 tests/scripts/authors_code.py large_scale "$tmp/large_scale.h5" "$tmp/inputs.h5" "$tmp/particle_weights.h5")"

[ $status = 0 ] && echo "test_authors_code: the tutorial and large-scale fields are the authors' code"
exit $status
