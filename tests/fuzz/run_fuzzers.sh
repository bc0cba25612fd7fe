#!/usr/bin/env bash
# Runs every libFuzzer target of a LUMEN_FUZZ build for a fixed time each (`make fuzz`).
#
# Usage: tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS
# Each target fuzz_<set> starts from the seed files in plugins/<set>/fuzz/corpus/ (committed,
# small, valid files) and fails the run on the first crash, leak, timeout or sanitizer report;
# libFuzzer then leaves the input that did it as crash-* / leak-* / timeout-* in the current
# directory, and this script prints its path.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
seconds=$2

shopt -s nullglob
targets=("$build"/bin/fuzz_*)
((${#targets[@]})) || { echo "error: no fuzz_* targets in $build/bin" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lumen-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
for target in "${targets[@]}"; do
  name=$(basename "$target")
  set_name=${name#fuzz_}
  seeds=$repo/plugins/$set_name/fuzz/corpus
  mkdir -p "$work/$name"
  echo "== $name: ${seconds}s from $(find "$seeds" -type f 2>/dev/null | wc -l) seed files"
  if ! (cd "$work" && "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$work/$name" "$seeds" >"$work/$name.log" 2>&1); then
    tail -n 40 "$work/$name.log"
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      mkdir -p "$repo/fuzz-failures" && cp "$f" "$repo/fuzz-failures/" && echo "failing input: fuzz-failures/$(basename "$f")"
    done
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$work/$name.log" | tail -n 2
  fi
done
exit $status
