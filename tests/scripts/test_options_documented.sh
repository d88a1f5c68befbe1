#!/bin/bash
# Every -drift_* option of `bin/driftsim -help` has a row in doc/user-guide.md's option
# reference table, and every -drift_* option named there is accepted by driftsim. Also the
# PETSc options the guide promises are mentioned. Prints the differences.
set -euo pipefail
cd "$(dirname "$0")/../.."
guide=doc/user-guide.md
[ -r "$guide" ] || { echo "FAIL: $guide is missing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tools/mpiexec-local -n 1 bin/driftsim -help >"$tmp/help" 2>&1 ||
  { echo "FAIL: bin/driftsim -help failed: $(tail -5 "$tmp/help")"; exit 1; }
grep -oE '^ +-drift_[a-z0-9_]+' "$tmp/help" | tr -d ' ' | sort -u >"$tmp/accepted"
[ -s "$tmp/accepted" ] || { echo "FAIL: no -drift_* option in bin/driftsim -help"; exit 1; }

# The option reference: the table rows between "## Option reference" and the next "## ".
# The option is the first cell of each row.
awk '/^## Option reference/ { inside = 1; next } /^## / { inside = 0 } inside' "$guide" |
  grep -E '^\| *`?-drift_' | sed -E 's/^\| *`?(-drift_[a-z0-9_]+).*/\1/' | sort >"$tmp/rows"
sort -u "$tmp/rows" >"$tmp/documented"

status=0
missing=$(comm -23 "$tmp/accepted" "$tmp/documented")
extra=$(comm -13 "$tmp/accepted" "$tmp/documented")
twice=$(uniq -d "$tmp/rows")
if [ -n "$missing" ]; then
  echo "FAIL: options driftsim accepts but the option reference of $guide lacks:"
  echo "$missing" | sed 's/^/  /'
  status=1
fi
if [ -n "$extra" ]; then
  echo "FAIL: options in the option reference of $guide that driftsim does not accept:"
  echo "$extra" | sed 's/^/  /'
  status=1
fi
if [ -n "$twice" ]; then
  echo "FAIL: options with more than one row in the option reference: $twice"
  status=1
fi
for petsc in -ts_type -ts_dt -ts_max_steps -ts_max_time -options_file -log_view -help; do
  grep -q -- "\`$petsc" "$guide" || { echo "FAIL: $guide does not mention $petsc"; status=1; }
done
[ "$status" = 0 ] && echo "test_options_documented: all $(wc -l <"$tmp/accepted") -drift_* options documented, none extra"
exit "$status"
