#!/bin/bash
# The study workflow end to end: tools/sweep over N = 64 128 256 512 on 2 ranks, then
# tools/analyze: the table's rows and columns, valid PNGs, the study files over seeds, the snapshot mode, clear errors
# on an empty directory and on a file that is not driftsim output; and the rate fit on
# synthetic studies whose slope is known (-1/6).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

# check_png FILE: the 8-byte PNG signature, then an IHDR chunk with width and height > 0.
check_png() {
  "$PY" - "$1" <<'PYEOF' || fail "$1 is not a valid PNG"
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "signature"
assert head[12:16] == b"IHDR", "IHDR"
width, height = struct.unpack(">II", head[16:24])
assert width > 0 and height > 0, (width, height)
PYEOF
}

# 1. A real sweep and its analysis.
tools/sweep --opts runs/rate_study.opts --n "64 128 256 512" --ranks 2 --out "$tmp/study" \
  -- -ts_max_steps 4 -drift_output_every 2 -drift_diagnostics_every 1 -drift_monitor 0 \
  >"$tmp/sweep.out" 2>&1 || { cat "$tmp/sweep.out"; fail "tools/sweep failed"; }
tools/analyze "$tmp/study" --window 0.5 >"$tmp/analyze.out" 2>&1 ||
  { cat "$tmp/analyze.out"; fail "tools/analyze failed on the sweep"; }
"$PY" - "$tmp/study/table.csv" <<'PYEOF' || fail "table.csv is not as expected"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 4, f"{len(rows)} rows, expected 4"
expected = {"name", "n", "dim", "ranks", "field", "kernel", "bandwidth_rule", "steps", "t_end",
            "window_start", "rms_velocity", "center_velocity_sq", "bandwidth"}
missing = expected - set(rows[0])
assert not missing, f"missing columns {sorted(missing)}"
assert [int(r["n"]) for r in rows] == [64, 128, 256, 512], [r["n"] for r in rows]
for r in rows:
    assert r["ranks"] == "2" and r["steps"] == "4" and r["field"] == "conservative", r
    value = float(r["rms_velocity"])
    assert math.isfinite(value) and value > 0, r
    # h = N^(-1/6) from the rate rule with c = 1
    assert abs(float(r["bandwidth"]) - int(r["n"]) ** (-1 / 6)) < 1e-12, r
PYEOF
grep -q '^| name | n | dim |' "$tmp/study/table.md" || fail "table.md has no table header"
[ "$(grep -c '^| n0000' "$tmp/study/table.md")" = 4 ] || fail "table.md does not have 4 rows"
for f in rate.png diagnostics.png snapshots.png scaling.png study.png; do check_png "$tmp/study/$f"; done
for f in fit.csv fit.md perf.csv perf.md study.md study.csv slopes.csv; do [ -s "$tmp/study/$f" ] || fail "$f missing"; done
tools/analyze --snapshot "$tmp/study/n0000512_p002.h5" --out "$tmp/snap" >/dev/null ||
  fail "--snapshot failed"
check_png "$tmp/snap/n0000512_p002.png"

# 2. Clear failures.
mkdir "$tmp/empty" "$tmp/junk"
if tools/analyze "$tmp/empty" >"$tmp/err" 2>&1; then fail "an empty directory was accepted"; fi
grep -q "no driftsim output" "$tmp/err" || fail "unclear message for an empty directory: $(cat "$tmp/err")"
echo "not hdf5" >"$tmp/junk/run.h5"
if tools/analyze "$tmp/junk" >"$tmp/err" 2>&1; then fail "a non-HDF5 .h5 file was accepted"; fi
grep -q "run.h5 is not an HDF5 file" "$tmp/err" || fail "unclear message for junk: $(cat "$tmp/err")"
"$PY" -c "import h5py; h5py.File('$tmp/junk/run.h5', 'w').create_dataset('x', data=[1.0])"
if tools/analyze "$tmp/junk" >"$tmp/err" 2>&1; then fail "a foreign HDF5 file was accepted"; fi
grep -q "run.h5 is not driftsim output" "$tmp/err" || fail "unclear message: $(cat "$tmp/err")"

# 3. Known slope: rms_velocity = C N^(-1/6) exactly, and the same times exp(e) with e
# orthogonal to (1, log N) (N = 100 4^k, e = (1, -1, -1, 1) / 100), whose fit is -1/6 too,
# with a 95% CI of known half-width t(0.975, 2) sqrt(sum e^2 / 2 / sxx), t(0.975, 2) = 4.302653.
mkdir "$tmp/exact" "$tmp/noisy"
"$PY" - "$tmp" <<'PYEOF' || fail "could not write the synthetic studies"
import sys
import h5py
import numpy as np
for study, noise in (("exact", (0, 0, 0, 0)), ("noisy", (0.01, -0.01, -0.01, 0.01))):
    for k, e in enumerate(noise):
        n = 100 * 4 ** k
        with h5py.File(f"{sys.argv[1]}/{study}/run{k}.h5", "w") as f:
            f.attrs.update(n=n, dim=2, ranks=1, field="conservative", kernel="gaussian",
                           bandwidth_rule="rate")
            time = np.linspace(0.0, 1.0, 11)
            f["diagnostics/time"], f["diagnostics/step"] = time, np.arange(11)
            f["diagnostics/rms_velocity"] = np.full(11, 3.0 * n ** (-1 / 6) * np.exp(e))
PYEOF
for study in exact noisy; do
  tools/analyze "$tmp/$study" >"$tmp/$study.out" 2>&1 ||
    { cat "$tmp/$study.out"; fail "tools/analyze failed on the $study study"; }
  check_png "$tmp/$study/rate.png"
  "$PY" - "$tmp/$study/fit.csv" "$study" <<'PYEOF' || fail "the $study fit is wrong: $(cat "$tmp/$study/fit.csv")"
import csv, math, sys
fit = next(csv.DictReader(open(sys.argv[1])))
slope, low, high = float(fit["slope"]), float(fit["ci_low"]), float(fit["ci_high"])
theory = float(fit["theory_exponent"])
assert abs(theory + 1 / 6) < 1e-12, theory
assert abs(slope + 1 / 6) < 1e-6, slope
assert low - 1e-9 <= -1 / 6 <= high + 1e-9, (low, high)
assert fit["points"] == "4", fit["points"]
if sys.argv[2] == "noisy":
    sxx = sum((k * math.log(4) - 1.5 * math.log(4)) ** 2 for k in range(4))
    half = 4.302653 * math.sqrt(4e-4 / 2 / sxx)
    assert abs((high - low) / 2 - half) < 1e-5 * half, ((high - low) / 2, half)
else:
    assert high - low < 1e-9, (low, high)
PYEOF
done
echo "test_study: sweep, table, PNGs, snapshot, errors and the known-slope fits are right"
