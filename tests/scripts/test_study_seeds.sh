#!/bin/bash
# Studies over seeds with a growing horizon: tools/horizon's rule; tools/sweep with 2 seeds
# x 2 N writes one output per (N, seed) with that seed and the final time T_N exactly;
# jobscripts/n_sweep.sbatch (stand-in srun) maps an array index to its (N, seed); and
# tools/analyze's per-N mean, standard error and 95% interval, time reductions and log-log
# slope with its interval agree with an independent numpy computation (Student t quantiles
# from tables, not scipy) on synthetic outputs with a known power law and known noise.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

# 1. The horizon rule: T_N = T0 (N/N0)^e, steps = ceil(T_N/dt) with dt of the file, then of
# the options; an adaptive stepper gets 10^9 steps; bad input is refused.
[ "$(tools/horizon "4 256 1/3" 2048 runs/rate_study.opts)" = "8 800" ] || fail "horizon: 4 (2048/256)^(1/3) at dt 0.01"
[ "$(tools/horizon "4 256 0.5" 1000 runs/rate_study.opts -ts_dt 0.03)" = "7.90569415042095 264" ] ||
  fail "horizon: -ts_dt after the file: $(tools/horizon "4 256 0.5" 1000 runs/rate_study.opts -ts_dt 0.03)"
[ "$(tools/horizon "1 1 0" 7 runs/rate_study.opts -ts_type rk)" = "1 1000000000" ] || fail "horizon: adaptive rk"
[ "$(tools/horizon "1 1 0" 7 runs/rate_study.opts -ts_type rk -ts_adapt_type none)" = "1 100" ] || fail "horizon: fixed rk"
for bad in "4 256" "4 256 x" "0 256 1" "4 256 1/0"; do
  if tools/horizon "$bad" 64 runs/rate_study.opts >/dev/null 2>&1; then fail "horizon accepted '$bad'"; fi
done
if tools/sweep --opts runs/rate_study.opts --n 64 --out "$tmp/x" --horizon "1 64 0" -- -ts_max_steps 3 >"$tmp/err" 2>&1; then
  fail "sweep accepted -ts_max_steps with --horizon"
fi
grep -q "do not give -ts_max_steps after --" "$tmp/err" || fail "unclear message: $(cat "$tmp/err")"

# 2. tools/sweep: 2 seeds x 2 N, T_N = 0.05 (N/64)^(1/2): 0.05 (5 steps) and 0.0625 (6.25 dt:
# PETSc splits the last 1.25 dt in two, 7 steps).
sweep=(tools/sweep --opts runs/rate_study.opts --n "64 100" --ranks 2 --seeds "3 4" --horizon "0.05 64 1/2"
  --out "$tmp/study" -- -drift_monitor 0 -drift_diagnostics_every 2 -drift_output_every 2 -drift_diagnostics none)
"${sweep[@]}" >"$tmp/sweep.out" 2>&1 || { cat "$tmp/sweep.out"; fail "tools/sweep with seeds failed"; }
[ "$(grep -c 'already complete' < <("${sweep[@]}" 2>&1))" = 4 ] || fail "the same command did not skip the 4 complete runs"

# 3. n_sweep.sbatch with stand-ins: index i = (N index) x 2 + (seed index); index 3 is N = 100,
# seed 4, into its own directory; index 4 is refused.
mkdir "$tmp/bin"
printf '#!/bin/bash\nn=1\nwhile [[ "$1" == --* ]]; do case "$1" in --ntasks=*) n=${1#--ntasks=} ;; esac; shift; done\nexec "%s/tools/mpiexec-local" -n "$n" "$@"\n' \
  "$root" >"$tmp/bin/srun"
chmod +x "$tmp/bin/srun"
job=(jobscripts/n_sweep.sbatch --opts runs/rate_study.opts --n "64 100" --seeds "3 4" --horizon "0.05 64 1/2"
  --out "$tmp/job" -- -drift_monitor 0 -drift_diagnostics_every 2 -drift_output_every 2 -drift_diagnostics none)
PATH="$tmp/bin:$PATH" SLURM_SUBMIT_DIR=$root SLURM_MPI_TYPE=pmix SLURM_NTASKS=2 SLURM_JOB_ID=1 SLURM_ARRAY_TASK_ID=3 \
  bash "${job[@]}" >"$tmp/job.out" 2>&1 || { cat "$tmp/job.out"; fail "n_sweep.sbatch index 3 failed"; }
[ "$(ls "$tmp/job"/*.h5 | grep -v "\.views\.h5$")" = "$tmp/job/n0000100_p002_s0004.h5" ] || fail "index 3 wrote $(ls "$tmp/job")"
if PATH="$tmp/bin:$PATH" SLURM_SUBMIT_DIR=$root SLURM_MPI_TYPE=pmix SLURM_NTASKS=2 SLURM_JOB_ID=1 SLURM_ARRAY_TASK_ID=4 \
  bash "${job[@]}" >"$tmp/job.out" 2>&1; then fail "n_sweep.sbatch accepted index 4 of 4 runs"; fi
grep -q -- "--array=0-3" "$tmp/job.out" || fail "unclear array message: $(cat "$tmp/job.out")"

"$PY" - "$tmp" <<'PYEOF' || fail "the seed runs are not as expected"
import glob, os, sys
import h5py
import numpy as np
tmp = sys.argv[1]
names = sorted(os.path.basename(p) for p in glob.glob(f"{tmp}/study/*.h5") if not p.endswith(".views.h5"))
expected = [f"n{n:07d}_p002_s{s:04d}.h5" for n in (64, 100) for s in (3, 4)]
assert names == expected, names
first = {}
for n in (64, 100):
    horizon = 0.05 * (n / 64) ** 0.5
    for s in (3, 4):
        with h5py.File(f"{tmp}/study/n{n:07d}_p002_s{s:04d}.h5", "r") as f:
            assert int(f.attrs["seed"]) == s and int(f.attrs["n"]) == n and int(f.attrs["ranks"]) == 2
            for path in ("diagnostics/time", "particles/time"):
                t = f[path][-1]
                assert abs(t - horizon) <= 1e-12 * horizon, (n, s, path, t, horizon)
            first[n, s] = f["particles/position"][0]
            steps = int(f["diagnostics/step"][-1])
            assert steps == (5 if n == 64 else 7), (n, steps)
    assert not np.array_equal(first[n, 3], first[n, 4]), "seeds 3 and 4 start alike"
with h5py.File(f"{tmp}/job/n0000100_p002_s0004.h5", "r") as f, \
        h5py.File(f"{tmp}/study/n0000100_p002_s0004.h5", "r") as g:
    assert np.array_equal(f["particles/position"][-1], g["particles/position"][-1]), "job != sweep"
    assert f["diagnostics/time"][-1] == g["diagnostics/time"][-1]
PYEOF

# 4. tools/analyze on synthetic outputs: N = 100 4^k (k = 0..3), 5 seeds each; rms_velocity
# constant in time at 3 N^(-1/6) exp(e), e ~ N(0, 0.05^2); a running integral c_integral of
# C = rms_velocity^2; a root attribute identity_gap (some values negative); a series wiggle
# on uneven times. Then analyze with explicit quantities and compare with numpy.
mkdir "$tmp/synth"
"$PY" - "$tmp/synth" <<'PYEOF' || fail "could not write the synthetic study"
import sys
import h5py
import numpy as np
rng = np.random.default_rng(7)
for k in range(4):
    n = 100 * 4 ** k
    for seed in range(1, 6):
        value = 3.0 * n ** (-1 / 6) * np.exp(rng.normal(0.0, 0.05))
        time = np.array([0.0, 0.1, 0.3, 0.35, 0.8, 1.0, 1.7, 2.0]) * (n / 100) ** 0.25
        with h5py.File(f"{sys.argv[1]}/n{n:07d}_p001_s{seed:04d}.h5", "w") as f:
            f.attrs.update(n=n, dim=2, ranks=1, seed=seed, field="conservative", kernel="gaussian",
                           bandwidth_rule="rate", identity_gap=rng.normal(0.01, 0.02))
            f["diagnostics/time"], f["diagnostics/step"] = time, np.arange(len(time))
            f["diagnostics/rms_velocity"] = np.full(len(time), value)
            f["diagnostics/c_integral"] = value ** 2 * time
            f["diagnostics/wiggle"] = 1.0 + np.sin(3 * time) + rng.uniform(0, 0.1, len(time))
PYEOF
quantities=(--quantity rms_velocity:rms --quantity "c_integral:sqrt-per-time=-1/(d+4)" --quantity identity_gap
  --quantity wiggle:mean --quantity wiggle:rms --quantity wiggle:last --quantity wiggle:window
  --quantity wiggle:per-time)
tools/analyze "$tmp/synth" --window 0.4 "${quantities[@]}" >"$tmp/analyze.out" 2>&1 ||
  { cat "$tmp/analyze.out"; fail "tools/analyze failed on the synthetic study"; }
for f in study.md study.csv slopes.csv study.png; do [ -s "$tmp/synth/$f" ] || fail "$f missing"; done
grep -q '^| quantity | N | seeds | T | mean | std. error | 95% CI |' "$tmp/synth/study.md" || fail "study.md has no per-N table"
grep -q '^| c_integral:sqrt-per-time | 20 | ' "$tmp/synth/study.md" || fail "study.md has no slope row"
"$PY" - "$tmp/synth" <<'PYEOF' || fail "the study statistics disagree with numpy"
import csv, glob, math, sys
import h5py
import numpy as np
study = sys.argv[1]
T4, T18 = 2.7764451051977987, 2.1009220402409601  # t(0.975, 4) and t(0.975, 18), from tables
runs = []
for path in sorted(p for p in glob.glob(f"{study}/*.h5") if not p.endswith(".views.h5")):
    with h5py.File(path, "r") as f:
        t = f["diagnostics/time"][()]
        w = f["diagnostics/wiggle"][()]
        def trap(y, t=t):
            return sum((y[i] + y[i + 1]) / 2 * (t[i + 1] - t[i]) for i in range(len(t) - 1))
        start = t[-1] - 0.4 * (t[-1] - t[0])
        keep = t >= start
        runs.append({
            "n": int(f.attrs["n"]),
            "rms_velocity:rms": math.sqrt(trap(f["diagnostics/rms_velocity"][()] ** 2) / (t[-1] - t[0])),
            "c_integral:sqrt-per-time": math.sqrt(f["diagnostics/c_integral"][-1] / t[-1]),
            "identity_gap:last": float(f.attrs["identity_gap"]),
            "wiggle:mean": trap(w) / (t[-1] - t[0]),
            "wiggle:rms": math.sqrt(trap(w ** 2) / (t[-1] - t[0])),
            "wiggle:last": w[-1],
            "wiggle:window": trap(w[keep], t[keep]) / (t[-1] - t[keep][0]),
            "wiggle:per-time": (w[-1] - w[0]) / (t[-1] - t[0]),
        })
rows = list(csv.DictReader(open(f"{study}/study.csv")))
slopes = {r["quantity"]: r for r in csv.DictReader(open(f"{study}/slopes.csv"))}
labels = [k for k in runs[0] if k != "n"]
assert sorted({r["quantity"] for r in rows}) == sorted(labels), {r["quantity"] for r in rows}
def close(a, b, what):
    assert abs(float(a) - b) <= 1e-9 * max(1e-12, abs(b)), (what, a, b)
for row in rows:
    x = np.array([r[row["quantity"]] for r in runs if r["n"] == int(row["n"])])
    assert len(x) == 5 and row["count"] == "5", row
    mean, se = x.mean(), x.std(ddof=1) / math.sqrt(5)
    close(row["mean"], mean, row)
    close(row["stderr"], se, row)
    close(row["ci_low"], mean - T4 * se, row)
    close(row["ci_high"], mean + T4 * se, row)
# The slope of each positive quantity: OLS on (log N, log value) over the 20 runs.
for label in labels:
    y = np.array([r[label] for r in runs])
    if not np.all(y > 0):
        assert slopes[label]["slope"] == "", (label, slopes[label])
        continue
    x = np.log([r["n"] for r in runs])
    y = np.log(y)
    sxx = ((x - x.mean()) ** 2).sum()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / sxx
    residual = y - (y.mean() + slope * (x - x.mean()))
    se = math.sqrt((residual ** 2).sum() / 18 / sxx)
    s = slopes[label]
    assert s["points"] == "20", s
    close(s["slope"], slope, label)
    close(s["stderr"], se, label)
    close(s["ci_low"], slope - T18 * se, label)
    close(s["ci_high"], slope + T18 * se, label)
# rms_velocity and sqrt(c_integral / T) are the same numbers: -1/6 lies in their interval
# (noise 0.05 per run), predicted -1/(d+4) by default and by the given expression.
for label in ("rms_velocity:rms", "c_integral:sqrt-per-time"):
    s = slopes[label]
    close(s["predicted"], -1 / 6, label)
    assert s["predicted_in_ci"] == "yes", s
assert any(r["identity_gap:last"] < 0 for r in runs), "identity_gap should test negative values"
PYEOF

# 5. The mean-correction reduction: mean + correction is scipy's composite Simpson rule over
# the first even number of equally spaced intervals (the odd last one by the trapezoid), the
# correction NaN on unequal intervals; through tools/analyze, on one study of equal rows.
mkdir "$tmp/even"
"$PY" - "$root/tools" "$tmp/even" <<'PYEOF' || fail "mean-correction disagrees with scipy's Simpson rule"
import math, sys, csv
import h5py
import numpy as np
from scipy.integrate import simpson
sys.path.insert(0, sys.argv[1])
from driftsim_study import richardson_correction
for rows in (7, 8, 26):  # 6, 7 and 25 intervals
    t = 0.5 + 0.12 * np.arange(rows)
    v = 2.4 * np.exp(-1.3 * t) + 0.3
    even = 2 * ((rows - 1) // 2)
    simpson_mean = (simpson(v[:even + 1], x=t[:even + 1]) + np.trapz(v[even:], t[even:])) / (t[-1] - t[0])
    want = simpson_mean - np.trapz(v, t) / (t[-1] - t[0])
    got = richardson_correction(t, v)
    assert abs(got - want) <= 1e-12 * abs(want), (rows, got, want)
assert math.isnan(richardson_correction([0.0, 0.1, 0.3, 0.35], [1.0, 2.0, 3.0, 4.0]))
assert math.isnan(richardson_correction([0.0, 0.1], [1.0, 2.0]))
for seed in (1, 2):
    with h5py.File(f"{sys.argv[2]}/n0000100_p001_s{seed:04d}.h5", "w") as f:
        f.attrs.update(n=100, dim=1, ranks=1, seed=seed, field="conservative", kernel="gaussian", bandwidth_rule="fixed")
        t = 0.03 * 4 * np.arange(26)
        f["diagnostics/time"], f["diagnostics/step"] = t, 4 * np.arange(26)
        f["diagnostics/stein_drift"] = 2.4 * np.exp(-seed * t) + 0.27
PYEOF
tools/analyze "$tmp/even" --diagnostic stein_drift --quantity stein_drift:mean-correction >"$tmp/analyze.out" 2>&1 ||
  { cat "$tmp/analyze.out"; fail "tools/analyze failed with mean-correction"; }
"$PY" - "$tmp/even" <<'PYEOF' || fail "tools/analyze's mean-correction is not Simpson's rule less the trapezoid"
import csv, sys
import numpy as np
from scipy.integrate import simpson
t = 0.12 * np.arange(26)
values = [(simpson(v[:25], x=t[:25]) + np.trapz(v[24:], t[24:]) - np.trapz(v, t)) / t[-1]
          for v in (2.4 * np.exp(-s * t) + 0.27 for s in (1, 2))]
row = next(csv.DictReader(open(f"{sys.argv[1]}/study.csv")))
assert row["quantity"] == "stein_drift:mean-correction" and row["count"] == "2", row
assert abs(float(row["mean"]) - np.mean(values)) <= 1e-9 * abs(np.mean(values)), (row, values)
PYEOF

# 6. Clear errors for quantities.
for bad in "nothing_such:mean" "identity_gap:rms" "rms_velocity:median" "rms_velocity=-1/e"; do
  if tools/analyze "$tmp/synth" --quantity "$bad" >"$tmp/err" 2>&1; then fail "--quantity $bad was accepted"; fi
  grep -q "^analyze: error: " "$tmp/err" || fail "--quantity $bad: unclear message: $(cat "$tmp/err")"
done
echo "test_study_seeds: horizon rule, seeds in sweep and n_sweep.sbatch, final times, and the study statistics are right"
