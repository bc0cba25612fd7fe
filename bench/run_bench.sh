#!/usr/bin/env bash
# Lumen benchmarks, run on a built tree:
#   (a) host overhead: synth.items (100000 items of 8x8 u8) through four synth.noop stages:
#       items/s and microseconds per item per stage (what the host costs when stages do nothing);
#   (b) the demo pipeline (pipelines/demo.yaml) at 1, 100 and 500 items: items/s and peak RSS,
#       and whether peak memory grows with the number of items (bounded queues say it must not);
#   (c) formats streaming: a numbered TIFF series of 100 and 1000 files into one compressed HDF5
#       stack (tiff.read series/frames -> hdf5.append): frames/s, MB/s and peak RSS per count.
# The per-format benchmarks are Google Benchmark binaries: build/bin/bench_{fits,hdf5,tiff,mrc_npy}.
#
# Usage: bench/run_bench.sh [BUILD_DIR]        (default: build)
# Environment: BENCH_ITEMS (default 100000), BENCH_THREADS (default: all cores).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
lumen=$build/bin/lumen
items=${BENCH_ITEMS:-100000}
threads=${BENCH_THREADS:-$(nproc)}

[[ -x $lumen ]] || { echo "error: $lumen not found: build first (make build)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "error: python3 is needed to read run events" >&2; exit 1; }
if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends time </dev/null >/dev/null ||
      { apt-get update -q </dev/null >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time </dev/null >/dev/null; }
  else
    echo "error: /usr/bin/time is missing: sudo apt-get install time" >&2
    exit 1
  fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lumen-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# run NAME PIPELINE [lumen run options...]: runs into $tmp/NAME; sets wall (s) and rss_kb.
run() {
  local name=$1 pipeline=$2
  shift 2
  local start end status=0
  start=$(date +%s.%N)
  /usr/bin/time -f %M -o "$tmp/$name.rss" "$lumen" run "$pipeline" --run-dir "$tmp/$name" --threads "$threads" \
    --no-progress --log-level warn "$@" >"$tmp/$name.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  if [[ $status -ne 0 ]]; then
    cat "$tmp/$name.log" >&2
    echo "error: lumen run $pipeline $* exited with $status" >&2
    exit 1
  fi
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  rss_kb=$(tail -n 1 "$tmp/$name.rss")
}

# Per-stage figures from a run's events: busy time per item and items in/out.
stage_table() {
  python3 - "$1/logs/run_events.jsonl" <<'PY'
import json, sys
stages, run_seconds = [], None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "stage_end":
        stages.append(e)
    elif e["event"] == "run_end":
        run_seconds = e["seconds"]
print(f"    {'stage':<8} {'items in':>9} {'items out':>9} {'busy s':>8} {'busy us/item':>13}")
for s in stages:
    n = max(s["items_out"], s["items_in"], 1)
    print(f"    {s['stage']:<8} {s['items_in']:>9} {s['items_out']:>9} {s['busy_seconds']:>8.3f} "
          f"{s['busy_seconds'] * 1e6 / n:>13.2f}")
if run_seconds is not None:
    print(f"    run (from run_end): {run_seconds:.3f} s")
PY
}

echo "Lumen benchmarks: $("$lumen" --version 2>&1 | head -n 1), $threads threads, $(nproc) cores"
echo

# ---- (a) host overhead ----------------------------------------------------------------------
cat >"$tmp/overhead.yaml" <<YAML
pipeline: bench-overhead
description: host overhead, stages that do nothing
version: 1
stages:
  - {id: src, use: synth.items, with: {count: $items, width: 8, height: 8}}
  - {id: noop1, use: synth.noop}
  - {id: noop2, use: synth.noop}
  - {id: noop3, use: synth.noop}
  - {id: noop4, use: synth.noop}
YAML
run overhead "$tmp/overhead.yaml"
echo "(a) host overhead: synth.items ($items items, 8x8 u8) -> 4 x synth.noop (5 stages)"
awk -v n="$items" -v t="$wall" -v rss="$rss_kb" 'BEGIN {
  printf "    %.3f s wall, %.0f items/s, %.2f us per item per stage, peak RSS %.1f MB\n",
         t, n / t, t * 1e6 / (n * 5), rss / 1024 }'
stage_table "$tmp/overhead"
echo

# ---- (b) demo throughput and memory ---------------------------------------------------------
demo=$repo/pipelines/demo.yaml
[[ -f $demo ]] || { echo "error: $demo not found" >&2; exit 1; }
echo "(b) demo pipeline ($(basename "$demo")) at 1, 100 and 500 items"
declare -A rss
for n in 1 100 500; do
  run "demo$n" "$demo" --set "vars.count=$n"
  rss[$n]=$rss_kb
  awk -v n="$n" -v t="$wall" -v r="$rss_kb" 'BEGIN {
    printf "    %3d items: %7.3f s wall, %8.1f items/s, peak RSS %7.1f MB\n", n, t, n / t, r / 1024 }'
done
stage_table "$tmp/demo500"

# Peak memory may rise from 1 item to the point where every queue is full; past that, a
# streaming host stays flat. Compare 100 -> 500 items to tell the two apart.
awk -v r1="${rss[1]}" -v r100="${rss[100]}" -v r500="${rss[500]}" 'BEGIN {
  total = (r500 - r1) / 1024; tail = (r500 - r100) / 1024
  limit = r100 * 0.10 / 1024; if (limit < 8) limit = 8
  if (r500 <= r1 * 1.05 + 4096)
    printf "    peak RSS did not grow: %.1f MB at 1 item, %.1f MB at 500 items\n", r1 / 1024, r500 / 1024
  else if (tail <= limit)
    printf "    peak RSS grew by %.1f MB from 1 to 500 items, but only %.1f MB from 100 to 500: bounded (queues full), not growing with the item count\n", total, tail
  else
    printf "    peak RSS GREW with the item count: +%.1f MB from 1 to 500 items, +%.1f MB from 100 to 500 (%.0f KB per extra item)\n", total, tail, tail * 1024 / 400
}'
echo

# ---- (c) formats streaming: a numbered TIFF series into one compressed HDF5 stack ----------
# The series is made by Lumen itself (synth.starfield -> tiff.write); then tiff.read streams it
# frame by frame into hdf5.append. Peak memory must not depend on the number of files.
echo "(c) numbered TIFF series (512x512 u16) -> tiff.read (series, frames) -> hdf5.append (shuffle+deflate) at 100 and 1000 files"
declare -A series_rss
for n in 100 1000; do
  cat >"$tmp/make_series$n.yaml" <<YAML
pipeline: bench-make-series
version: 1
stages:
  - {id: sky, use: synth.starfield, with: {count: $n, width: 512, height: 512}}
  - {id: tif, use: tiff.write, with: {dir: "$tmp/series$n", name: "frame_{index:05d}.tif"}}
YAML
  run "make_series$n" "$tmp/make_series$n.yaml"
  cat >"$tmp/stack$n.yaml" <<YAML
pipeline: bench-series-to-hdf5
version: 1
stages:
  - {id: in, use: tiff.read, with: {path: "$tmp/series$n/frame_*.tif", series: true, mode: frames}}
  - {id: stack, use: hdf5.append, with: {name: stack.h5, compression: shuffle+deflate}}
YAML
  run "stack$n" "$tmp/stack$n.yaml"
  series_rss[$n]=$rss_kb
  mb=$(du -m "$tmp/stack$n/outputs/stack.h5" | cut -f1)
  awk -v n="$n" -v t="$wall" -v r="$rss_kb" -v mb="$mb" 'BEGIN {
    printf "    %4d files: %7.3f s wall, %8.1f frames/s, %6.1f MB/s of pixels, stack %d MB, peak RSS %6.1f MB\n",
           n, t, n / t, n * 512 * 512 * 2 / t / 1e6, mb, r / 1024 }'
done
awk -v a="${series_rss[100]}" -v b="${series_rss[1000]}" 'BEGIN {
  printf "    peak RSS %s: %.1f MB at 100 files, %.1f MB at 1000 files\n",
         (b <= a * 1.10 + 4096) ? "flat" : "GREW", a / 1024, b / 1024 }'
