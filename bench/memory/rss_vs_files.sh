#!/usr/bin/env bash
# Peak memory against the number of input files (issue 4: "peak memory for 200 input files must
# equal that for 2 files"; the project rule: memory must not grow with the number of files).
#
# Runs bench/tiles/astro-bench.yaml (FITS -> electrons -> asinh -> 8 bits -> 256 x 256 tiles ->
# PNG + metadata index) through the real `lumen` binary on 2, 20, 200 and 1000 input files
# (512 x 512 float32 FITS; the 1000-file set repeats 200 files through symlinks) and prints, per
# count: peak RSS (/usr/bin/time %M, the median of ROUNDS runs), wall and system seconds, and
# minor page faults per file. Then the same with --queue-capacity 2, which shows how much of the
# difference between 2 and 200 files is the bounded queues filling up (2 files never fill them).
# PIPELINES="demo" adds pipelines/demo.yaml (synthetic 512 x 512 star fields -> 8 bits -> one PNG
# each, no input files) at 20, 200 and 1000 frames.
#
#   bench/memory/rss_vs_files.sh                    # needs a Release build in build/ (make build)
#   LUMEN=build-x/bin/lumen ROUNDS=1 COUNTS="2 200" bench/memory/rss_vs_files.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lumen=${LUMEN:-$repo/build/bin/lumen}
work=${WORK:-/tmp/lumen-rss-bench}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
counts=${COUNTS:-2 20 200 1000}
pipelines=${PIPELINES:-}
[[ -x $lumen ]] || { echo "error: $lumen not built (make build)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "error: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
mkdir -p "$work"
echo "machine: $(nproc) cores; lumen --threads $threads; $rounds round(s) per figure (median)"

src=$work/src/outputs
if [[ $(find "$src" -name '*.fits' 2>/dev/null | wc -l) -ne 200 ]]; then
  echo "making 200 FITS files (512 x 512 float32) ..."
  rm -rf "$work/src"
  "$lumen" run "$repo/bench/tiles/make-input.yaml" --set vars.size=512 --set vars.count=200 \
    --run-dir "$work/src" --no-progress >/dev/null 2>&1
fi
mapfile -t files < <(find "$src" -name '*.fits' | sort)
for n in $counts; do
  dir=$work/in$n
  if [[ $(find "$dir" -name '*.fits' 2>/dev/null | wc -l) -ne $n ]]; then
    rm -rf "$dir" && mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do ln -s "${files[i % 200]}" "$(printf '%s/f_%05d.fits' "$dir" "$i")"; done
  fi
done
cat "${files[@]}" >/dev/null # page cache

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# measure LABEL N PIPELINE [lumen args...]: one line with median peak RSS, wall, sys, faults/item
measure() {
  local label=$1 n=$2 pipeline=$3; shift 3
  local rss=() wall=() sys=() faults=()
  for ((r = 1; r <= rounds; r++)); do
    rm -rf "$work/run"
    /usr/bin/time -f "%M %e %S %R" -o "$work/t.txt" "$lumen" run "$pipeline" --threads "$threads" \
      --run-dir "$work/run" --no-progress "$@" >/dev/null 2>"$work/err.txt" ||
      { echo "error: lumen run failed:" >&2; tail -5 "$work/err.txt" >&2; exit 1; }
    read -r m e s f <"$work/t.txt"
    rss+=("$m"); wall+=("$e"); sys+=("$s"); faults+=("$f")
  done
  local m e s f
  m=$(echo "${rss[*]}" | median); e=$(echo "${wall[*]}" | median)
  s=$(echo "${sys[*]}" | median); f=$(echo "${faults[*]}" | median)
  printf '  %-28s %5d: %7d KB (%6.1f MiB)  %6.2f s  sys %5.2f s  %6.0f faults/item\n' "$label" "$n" "$m" \
    "$(awk -v r="$m" 'BEGIN { print r / 1024 }')" "$e" "$s" "$(awk -v f="$f" -v n="$n" 'BEGIN { print f / n }')"
  last_rss=$m
}

echo
echo "astro-bench.yaml, 512 x 512 float32 FITS files (peak RSS = /usr/bin/time %M):"
declare -A peak
for n in $counts; do
  measure "files" "$n" "$repo/bench/tiles/astro-bench.yaml" --set "vars.input=$work/in$n"
  peak[$n]=$last_rss
done
for n in $counts; do
  measure "files, --queue-capacity 2" "$n" "$repo/bench/tiles/astro-bench.yaml" --set "vars.input=$work/in$n" \
    --queue-capacity 2
done
first=${counts%% *}
last=${counts##* }
awk -v a="${peak[$first]}" -v b="${peak[$last]}" -v na="$first" -v nb="$last" 'BEGIN {
  printf "  %d vs %d files: %+d KB (%+.1f%%)\n", nb, na, b - a, 100 * (b - a) / a }'
if [[ -n ${peak[20]:-} && -n ${peak[1000]:-} ]]; then
  awk -v a="${peak[20]}" -v b="${peak[1000]}" 'BEGIN { printf "  1000 vs 20 files: %+d KB (%+.1f%%)\n", b - a, 100 * (b - a) / a }'
fi

if [[ " $pipelines " == *" demo "* ]]; then
  echo
  echo "demo.yaml (synthetic 512 x 512 star fields -> png.write, no input files):"
  for n in 20 200 1000; do
    measure "frames" "$n" "$repo/pipelines/demo.yaml" --set "vars.count=$n"
  done
fi
