#!/bin/bash
# tools/perturbed-cloud's density check: eps is accepted just below the exact limit
# -1 / min_r sum_j cos(K_j r) and refused just above it, the minimum computed here
# independently on a dense grid (step 1e-6 over one common period: its error is below
# sum K_j^2 step^2 / 8 < 1e-10). Refused: non-zero exit, one "perturbed-cloud: error:"
# line naming --eps, no traceback, the existing output file unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# shells, their common period, dimension
for case in "2,4,6,8,10 pi 2" "1.5,2.5 4*pi 1"; do
  read -r shells period dim <<<"$case"
  limit=$(/usr/bin/python3 -c "
import numpy as np
from numpy import pi
k = np.array([$shells]); r = np.linspace(0, $period, int($period / 1e-6) + 1)
low = min(np.cos(np.outer(part, k)).sum(axis=1).min() for part in np.array_split(r, 64))
print(repr(-1 / low))")
  below=$(/usr/bin/python3 -c "print($limit * (1 - 1e-5))")
  above=$(/usr/bin/python3 -c "print($limit * (1 + 1e-5))")
  /usr/bin/python3 tools/perturbed-cloud "$tmp/ok.h5" --n 200 --dim "$dim" --shells "$shells" --eps "$below" \
    --seed 3 >"$tmp/log" 2>&1 || fail "shells $shells: eps $below (below the limit $limit) refused: $(cat "$tmp/log")"
  /usr/bin/python3 -c "
import h5py, sys
assert h5py.File('$tmp/ok.h5', 'r')['position'].shape == (200, $dim)" || fail "shells $shells: the accepted cloud has not 200 rows"
  echo existing >"$tmp/out.h5"
  before=$(sha256sum "$tmp/out.h5")
  if /usr/bin/python3 tools/perturbed-cloud "$tmp/out.h5" --n 200 --dim "$dim" --shells "$shells" --eps "$above" \
    --seed 3 >"$tmp/log" 2>&1; then fail "shells $shells: eps $above (above the limit $limit) accepted"; fi
  [ "$(grep -c '^perturbed-cloud: error:.*--eps' "$tmp/log")" = 1 ] || fail "shells $shells: no one error line naming --eps: $(cat "$tmp/log")"
  ! grep -q Traceback "$tmp/log" || fail "shells $shells: a traceback"
  [ "$(sha256sum "$tmp/out.h5")" = "$before" ] || fail "shells $shells: the existing output file changed"
done
echo "test_perturbed_cloud: eps accepted just below and refused just above the exact density limit"
