#!/bin/bash
# tools/analyze --ecf on synthetic outputs with known exponential decays: two configurations
# (gaussian and laplace kernel, h = 0.5, d = 1 and 2) of 3 seeds, shells K = 2, 4, 6 decaying
# as E = A exp(-lambda t) with lambda = C0 x (the kernel's linear shape at u = h K) x
# (1 + 0.05 (seed - 2)), and a shell K = 8 that sits at 1.2 F. Checked against an
# independent computation: every run's rate, window end (the first row with E <= 0.1 F) and
# resolve time ln(A / (0.5 F)) / lambda; per shell the mean rate, decay time and resolve time
# with their 95% intervals (Student t quantile from tables); the fitted constant C = C0 and,
# for the gaussian kernel, the exponent a = 1; the linear theory's resolve time with C = 1,
# log(E(0) / (0.5 F)) / shape (or "> T"); the flat shell out of the fit, reported "never"
# resolved. A third, annealed configuration (h(t) = 0.5 exp(-0.1 t)) decays as the closed
# form exp(-int lambda(h(s) K) ds): its measured and predicted resolve times equal the
# closed form's. Then the refusals: shells that differ between seeds, two runs with one
# seed, and no configuration at all.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

"$PY" - "$tmp" <<'PYEOF' || fail "could not write the synthetic outputs"
import os, sys
import h5py
import numpy as np
tmp = sys.argv[1]
A, F, C0, h = 0.1, 0.01, 0.8, 0.5
shape = {"gaussian": lambda u, d: u**2 * np.exp(-u**2 / 2),
         "laplace": lambda u, d: (d + 1) * u**2 * (1 + u**2) ** (-(d + 3) / 2)}
time = np.arange(0, 60.01, 0.25)
for kernel, dim in (("gaussian", 1), ("laplace", 2)):
    os.makedirs(f"{tmp}/{kernel}")
    for seed in (1, 2, 3):
        with h5py.File(f"{tmp}/{kernel}/n0001000_p001_s{seed:04d}.h5", "w") as f:
            f.attrs.update(n=1000, dim=dim, ranks=1, seed=seed, field="displacement", kernel=kernel,
                           bandwidth_rule="fixed", target="gaussian", bandwidth=h, bandwidth_h0=h,
                           bandwidth_anneal=0.0, bandwidth_min=0.0)
            f["diagnostics/time"], f["diagnostics/step"] = time, np.arange(len(time))
            for K in (2, 4, 6):
                rate = C0 * shape[kernel](h * K, dim) * (1 + 0.05 * (seed - 2))
                f[f"diagnostics/ecf_error_K{K}"] = A * np.exp(-rate * time)
                f[f"diagnostics/ecf_floor_K{K}"] = np.full(len(time), F)
            f["diagnostics/ecf_error_K8"] = 1.2 * F * (1 + 0.01 * np.cos(time))
            f["diagnostics/ecf_floor_K8"] = np.full(len(time), F)
# Annealed: h(t) = 0.5 exp(-0.1 t) (above h_min = 0.1 until t = 16), E = A exp(-int_0^t
# lambda(h(s) K) ds) with the gaussian shape, in closed form: int = (exp(-u(t)^2/2) - exp(-u0^2/2)) / r.
os.makedirs(f"{tmp}/anneal")
r = 0.1
for seed in (1, 2):
    with h5py.File(f"{tmp}/anneal/n0001000_p001_s{seed:04d}.h5", "w") as f:
        f.attrs.update(n=1000, dim=1, ranks=1, seed=seed, field="displacement", kernel="gaussian",
                       bandwidth_rule="fixed", target="gaussian", bandwidth=h, bandwidth_h0=h,
                       bandwidth_anneal=r, bandwidth_min=0.1)
        t = np.arange(0, 16.01, 0.25)
        f["diagnostics/time"], f["diagnostics/step"] = t, np.arange(len(t))
        for K in (2, 4, 6):
            u, u0 = h * K * np.exp(-r * t), h * K
            f[f"diagnostics/ecf_error_K{K}"] = A * np.exp(-(np.exp(-u**2 / 2) - np.exp(-u0**2 / 2)) / r)
            f[f"diagnostics/ecf_floor_K{K}"] = np.full(len(t), F)
PYEOF

tools/analyze --ecf "$tmp/gaussian" --ecf "$tmp/laplace" --ecf "$tmp/anneal" --out "$tmp/out" >"$tmp/analyze.out" 2>&1 ||
  { cat "$tmp/analyze.out"; fail "tools/analyze --ecf failed"; }
for f in ecf.md ecf.csv ecf_curves.png ecf_rates.png; do [ -s "$tmp/out/$f" ] || fail "$f missing"; done

"$PY" - "$tmp/out" <<'PYEOF' || fail "the ecf analysis disagrees with the known decays"
import csv, math, re, sys
import numpy as np
out = sys.argv[1]
A, F, C0, h = 0.1, 0.01, 0.8, 0.5
T2 = 4.302652729749464  # t(0.975, 2), from tables
shape = {"gaussian": lambda u, d: u**2 * math.exp(-u**2 / 2),
         "laplace": lambda u, d: (d + 1) * u**2 * (1 + u**2) ** (-(d + 3) / 2)}
dims = {"gaussian": 1, "laplace": 2}
def rates(kernel, K):
    return [C0 * shape[kernel](h * K, dims[kernel]) * (1 + 0.05 * (s - 2)) for s in (1, 2, 3)]
def summary(values):
    x = np.array(values)
    half = T2 * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean(), x.mean() - half, x.mean() + half
rows = list(csv.DictReader(open(f"{out}/ecf.csv")))
assert len(rows) == 2 * 3 * 4 + 2 * 3, len(rows)
for row in rows:
    if row["configuration"] == "anneal":
        continue
    kernel, K, seed = row["configuration"], float(row["K"]), int(row["seed"])
    if K == 8:
        assert row["flat"] == "True" and row["resolve"] == "inf", row
        continue
    rate = rates(kernel, K)[seed - 1]
    assert abs(float(row["rate"]) - rate) <= 1e-9 * rate, (row, rate)
    assert abs(float(row["resolve"]) - math.log(A / (0.5 * F)) / rate) <= 1e-9 * 60, row
    end = math.log(A / (0.1 * F)) / rate  # the window stops before the first row at or below 0.1 F
    expected_end = min(60.0, math.ceil(end / 0.25 - 1e-9) * 0.25 - 0.25)
    assert abs(float(row["end"]) - expected_end) < 1e-9, (row, expected_end)
    assert row["flat"] == "False" and float(row["start"]) == 0.0, row

md = open(f"{out}/ecf.md").read()
sections = dict(re.findall(r"## (\w+): (.*?)(?=\n## |\Z)", md, re.S))
for kernel in ("gaussian", "laplace"):
    text = sections[kernel]
    fit = re.search(r"C = ([0-9]*\.?[0-9]+)", text)
    assert fit and abs(float(fit.group(1)) - C0) < 1e-3, (kernel, fit and fit.group(0))
    if kernel == "gaussian":
        a = re.search(r"a = ([0-9]*\.?[0-9]+)", text)
        assert a and abs(float(a.group(1)) - 1) < 1e-3, a and a.group(0)
    for K in (2, 4, 6):
        line = re.search(rf"^\| {K} \| .*$", text, re.M).group(0)
        cells = [c.strip() for c in line.strip("|").split("|")]
        numbers = lambda c: [float(v) for v in re.findall(r"[-+]?[0-9.]+(?:e[-+]?[0-9]+)?", c)]
        for column, values in ((4, rates(kernel, K)), (6, [1 / r for r in rates(kernel, K)]),
                               (7, [math.log(A / (0.5 * F)) / r for r in rates(kernel, K)])):
            got, want = numbers(cells[column]), summary(values)
            assert all(abs(g - w) <= 1e-3 * abs(w) + 1e-12 for g, w in zip(got, want)), (kernel, K, column, got, want)
        predicted = C0 * shape[kernel](h * K, dims[kernel])
        assert abs(numbers(cells[5])[0] - predicted) <= 1e-3 * predicted, (kernel, K, cells[5], predicted)
        resolve = math.log(A / (0.5 * F)) / shape[kernel](h * K, dims[kernel])  # the theory's, C = 1
        assert abs(numbers(cells[8])[0] - resolve) <= 1e-3 * resolve, (kernel, K, cells[8], resolve)
    line8 = re.search(r"^\| 8 \| .*$", text, re.M).group(0)
    assert "flat in 3 of 3" in line8 and "3 of 3 never" in line8, line8
    need = np.mean([math.log(1.2 * (1 + 0.01) / 0.5)] * 3)  # E(0) = 1.2 F (1 + 0.01 cos 0)
    resolve8 = need / shape[kernel](h * 8, dims[kernel])
    last = line8.strip("|").split("|")[-1].strip()
    if resolve8 > 60:
        assert last == "> 60", (kernel, last, resolve8)
    else:
        assert abs(float(last) - resolve8) <= 1e-3 * resolve8, (kernel, last, resolve8)
# Annealed: measured and predicted resolve times equal the closed form t = ln(u0 / u) / r,
# u^2 = -2 ln(r ln(A / (0.5 F)) + exp(-u0^2 / 2)).
text = sections["anneal"]
for K in (2, 4, 6):
    u0 = h * K
    u = math.sqrt(-2 * math.log(0.1 * math.log(A / (0.5 * F)) + math.exp(-u0**2 / 2)))
    exact = math.log(u0 / u) / 0.1
    cells = [c.strip() for c in re.search(rf"^\| {K} \| .*$", text, re.M).group(0).strip("|").split("|")]
    assert abs(float(cells[7].split()[0]) - exact) <= 2e-3 * exact, ("measured", K, cells[7], exact)
    assert abs(float(cells[8]) - exact) <= 1e-3 * exact, ("predicted", K, cells[8], exact)
assert "Fit over" not in text, "an annealed configuration has no fitted constant"
print("ecf analysis: rates, intervals, resolve times and the fit as computed independently")
PYEOF

# Refusals: one error line naming the directory and the problem, exit 1.
refused() { # $1 = expected text, then the arguments
  local expected=$1
  shift
  if tools/analyze "$@" >"$tmp/err" 2>&1; then fail "tools/analyze $* was accepted"; fi
  grep -q "$expected" "$tmp/err" || fail "tools/analyze $*: unclear message: $(cat "$tmp/err")"
}
mkdir "$tmp/mixed" "$tmp/twice"
cp "$tmp/gaussian/n0001000_p001_s0001.h5" "$tmp/mixed/"
cp "$tmp/gaussian/n0001000_p001_s0002.h5" "$tmp/mixed/"
"$PY" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); del f['diagnostics/ecf_error_K8']" "$tmp/mixed/n0001000_p001_s0002.h5"
refused "mixed: the runs must all have the same ecf shells" --ecf "$tmp/mixed"
cp "$tmp/gaussian/n0001000_p001_s0001.h5" "$tmp/twice/a.h5"
cp "$tmp/gaussian/n0001000_p001_s0001.h5" "$tmp/twice/b.h5"
refused "twice: two runs have the same seed" --ecf "$tmp/twice"
mkdir "$tmp/empty"
refused "holds no driftsim output" --ecf "$tmp/empty"
echo "test_ecf_analyze: tools/analyze --ecf measures known decays, intervals and the fit"
