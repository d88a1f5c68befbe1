#!/bin/bash
# tools/ecf-studies, the driver of doc/results.md's mode-resolved studies, on a small grid
# (d = 1, N = 256, 2 seeds, 12 steps): the perturbed starts have N rows, every run of the
# three configurations completes with the ecf series of the five shells, ecf.md has a
# section per configuration with a row per shell, and a second call skips the complete runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export STUDY_N=256 STUDY_SEEDS="1 2" STUDY_STEPS=12
tools/ecf-studies "$tmp" 1 >"$tmp/log" 2>&1 || fail "tools/ecf-studies: $(tail -5 "$tmp/log")"
/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "the study's files are not as expected"
import glob, re, sys
import h5py
tmp = sys.argv[1]
for seed in (1, 2):
    with h5py.File(f"{tmp}/init/d1_s{seed}.h5", "r") as f:
        assert f["position"].shape == (256, 1), f["position"].shape
for config in ("gaussian", "laplace", "anneal"):
    runs = sorted(p for p in glob.glob(f"{tmp}/d1/{config}/*.h5") if not p.endswith(".views.h5"))
    assert [p.rsplit("/", 1)[1] for p in runs] == ["n0000256_p002_s0001.h5", "n0000256_p002_s0002.h5"], runs
    for path in runs:
        with h5py.File(path, "r") as f:
            assert int(f["diagnostics/step"][-1]) == 12, path
            kernel = f.attrs["kernel"]
            kernel = kernel.decode() if isinstance(kernel, bytes) else str(kernel)
            assert kernel == ("laplace" if config == "laplace" else "gaussian"), (path, kernel)
            assert (float(f.attrs["bandwidth_anneal"]) > 0) == (config == "anneal"), path
            for k in (2, 4, 6, 8, 10):
                assert len(f[f"diagnostics/ecf_error_K{k}"]) == 13, (path, k)
md = open(f"{tmp}/d1/ecf.md").read()
for config in ("gaussian", "laplace", "anneal"):
    section = re.search(rf"## {config}: (.*?)(?=\n## |\Z)", md, re.S).group(1)
    assert "2 seeds" in section, section[:80]
    assert len(re.findall(r"^\| (2|4|6|8|10) \|", section, re.M)) == 5, section
PYEOF
[ "$(tools/ecf-studies "$tmp" 1 2>&1 | grep -c 'already complete')" = 6 ] || fail "the second call did not skip the 6 complete runs"
echo "test_ecf_studies: the driver runs the three configurations, analyses them and resumes"
