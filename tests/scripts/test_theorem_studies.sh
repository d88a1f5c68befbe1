#!/bin/bash
# tools/theorem-studies, the driver of doc/results.md, on a small grid (2 N x 2 seeds) for
# two of its studies: every run completes, study.md holds each quantity at each N with a
# finite mean, and a second call skips the complete runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export STUDY_NS="16 24" STUDY_SEEDS="1 2"
tools/theorem-studies "$tmp" a2 dh >"$tmp/log" 2>&1 || { echo "FAIL: tools/theorem-studies: $(tail -5 "$tmp/log")"; exit 1; }
status=0
check() { # study quantity
  for n in 16 24; do
    row=$(grep -E "^\| $2 \| $n \| 2 \|" "$tmp/$1/study.md" || true)
    mean=$(echo "$row" | cut -d'|' -f6 | tr -d ' ')
    [[ "$mean" =~ ^-?[0-9] ]] || { echo "FAIL: $1: no finite mean of $2 at N = $n in study.md (row: '$row')"; status=1; }
  done
}
for q in c_time_average:sqrt-last fisher:sqrt-mean stein_drift_time_average:last self_term_time_average:last identity_gap:last finite_particle_excess:last kl_initial:last; do check a2 "$q"; done
for q in companion_residual_rms:last companion_sharp_rms:last; do check dh "$q"; done
[ "$(ls "$tmp"/a2/*.done | wc -l)" -eq 4 ] || { echo "FAIL: a2 did not complete its 4 runs"; status=1; }
tools/theorem-studies "$tmp" a2 >"$tmp/log2" 2>&1
grep -q "running" "$tmp/log2" && { echo "FAIL: a second call ran complete runs again"; status=1; }
[ $status -eq 0 ] && echo "test_theorem_studies: the study driver runs, tabulates every quantity and resumes"
exit $status
