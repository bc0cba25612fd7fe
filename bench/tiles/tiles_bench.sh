#!/usr/bin/env bash
# The tiles benchmark of issue 4, end to end through the real `lumen` binary:
#
#   a 4096 x 4096 float32 FITS (synth.starfield + fits.write: bench/tiles/make-input.yaml) cut into
#   256 tiles of 256 x 256 (stride mode), asinh scaling, no cosmic-ray removal, --threads 2:
#     - Lumen: bench/tiles/astro-bench.yaml (fits.read -> calib.electrons {gain 1} -> image.scale
#       {asinh, output u8} -> tile.label -> tile.grid -> tile.split -> tile.write), wall time
#       of the whole `lumen run` process (start-up and plugin loading included);
#     - the Python baseline, bench/tiles/reference.py (numpy + astropy + Pillow, same steps, PNGs
#       saved with Pillow compress_level=1), wall time of the whole process, 1 and 2 saving threads;
#       tile.write's default encoder is libdeflate; the same run with `--set write.encoder=libpng`
#       (libpng + zlib, the encoder before libdeflate) is timed too;
#     - "just encoding those PNG tiles": bench_png_encode re-encodes the u8 tiles of the Lumen run
#       on 2 threads, into /dev/null and into files (temporary name + rename, as tile.write does),
#       with libpng + zlib level 1, filter none (the issue's definition: "libpng, compression level
#       1, fast filter") and with the libdeflate encoder at level 1 (what Lumen runs).
#   Medians of ROUNDS rounds; the FITS file is re-read into the page cache before every run.
#   Then the memory check: peak RSS (/usr/bin/time) of astro-bench.yaml on 2 and on 200 small FITS
#   files (512 x 512 float32): it must not grow with the number of files.
#
#   bench/tiles/tiles_bench.sh                     # needs a Release build in build/ (make build)
#   BUILD=build-x ROUNDS=3 WORK=/tmp/tb bench/tiles/tiles_bench.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD:-$repo/build}
lumen=$build/bin/lumen
encoder=$build/bin/bench_png_encode
work=${WORK:-/tmp/lumen-tiles-bench}
rounds=${ROUNDS:-5}
threads=${THREADS:-2}
python=/usr/bin/python3
[[ -x $lumen ]] || { echo "error: $lumen not built (make build)" >&2; exit 1; }
[[ -x $encoder ]] || { echo "error: $encoder not built (cmake --build $build --target bench_png_encode)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
$python -c 'import numpy, astropy, PIL' 2>/dev/null || { echo "error: needs python3-numpy, python3-astropy, python3-pil" >&2; exit 1; }
mkdir -p "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); lumen --threads $threads"

big=$work/big/outputs/sky_0000.fits
if [[ ! -f $big ]]; then
  echo "making the input (4096 x 4096 float32 FITS) ..."
  "$lumen" run "$here/make-input.yaml" --run-dir "$work/big" --no-progress >/dev/null 2>&1
fi
warm() { cat "$@" >/dev/null; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# lumen_run RUN_DIR INPUT [--set ...]: wall seconds into $wall, peak KB into $rss
lumen_run() {
  local dir=$1 input=$2 t0
  shift 2
  rm -rf "$dir"
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss.txt" "$lumen" run "$here/astro-bench.yaml" --set "vars.input=$input" \
    --threads "$threads" --run-dir "$dir" --no-progress --log-level warn "$@" >"$work/lumen.log" 2>&1 ||
    { cat "$work/lumen.log" >&2; echo "error: lumen run failed" >&2; exit 1; }
  wall=$(since "$t0")
  rss=$(tail -n 1 "$work/rss.txt")
}

# py_run THREADS: wall seconds into $wall
py_run() {
  local t0
  rm -rf "$work/ref"
  t0=$(now)
  $python "$here/reference.py" "$big" "$work/ref" --threads "$1" >"$work/ref.log"
  wall=$(since "$t0")
}

lu_t=() png_t=() py1_t=() py2_t=()
rm -f "$work"/encode_*.json
filter='BM_EncodeTiles(ToFiles)?/[12]/0|BM_EncodeTiles/1/3|BM_EncodeTiles(ToFiles)?Libdeflate/[12]/1|BM_EncodeTilesLibdeflate/1/[23]'
for ((r = 1; r <= rounds; r++)); do
  warm "$big"; lumen_run "$work/lumen-libpng" "$big" --set write.encoder=libpng; png_t+=("$wall")
  warm "$big"; lumen_run "$work/lumen" "$big"; lu_t+=("$wall"); lu_rss=$rss
  warm "$big"; py_run 1; py1_t+=("$wall")
  warm "$big"; py_run 2; py2_t+=("$wall")
  # Encode only, in the same round (contention from other work hits every measurement alike).
  "$encoder" --tiles "$work/lumen/outputs/png_tiles" --benchmark_filter="$filter" --benchmark_format=json \
    >"$work/encode_$r.json" 2>/dev/null
done
tiles=$(find "$work/lumen/outputs/png_tiles" -name '*.png' | wc -l)
ref_tiles=$(find "$work/ref/png_tiles" -name '*.png' | wc -l)
lu=$(echo "${lu_t[*]}" | median)
lupng=$(echo "${png_t[*]}" | median)
py1=$(echo "${py1_t[*]}" | median)
py2=$(echo "${py2_t[*]}" | median)

# Encode only, medians over the rounds: libpng level 1 filter none (1 thread, 2 threads, 2 threads
# into files, rle 1 thread), libdeflate level 1 (same three), libdeflate level 2 and 3 (1 thread),
# and the PNG megabytes of each encoder.
read -r png1 png2 pngf rle1 ld1 ld2 ldf ldl2 ldl3 png_mb ld_mb < <($python - "$work"/encode_*.json <<'PY'
import json, statistics, sys
times, counters = {}, {}
for f in sys.argv[1:]:
    for b in json.load(open(f))["benchmarks"]:
        times.setdefault(b["name"], []).append(b["real_time"] / 1000.0)
        counters[b["name"]] = b.get("png_MB", 0.0)
names = ["BM_EncodeTiles/1/0", "BM_EncodeTiles/2/0", "BM_EncodeTilesToFiles/2/0", "BM_EncodeTiles/1/3",
         "BM_EncodeTilesLibdeflate/1/1", "BM_EncodeTilesLibdeflate/2/1", "BM_EncodeTilesToFilesLibdeflate/2/1",
         "BM_EncodeTilesLibdeflate/1/2", "BM_EncodeTilesLibdeflate/1/3"]
out = ["%.3f" % statistics.median(times[n + "/real_time"]) for n in names]
out += ["%.2f" % counters["BM_EncodeTiles/1/0/real_time"], "%.2f" % counters["BM_EncodeTilesLibdeflate/1/1/real_time"]]
print(" ".join(out))
PY
)

mbps() { awk -v t="$1" 'BEGIN { printf "%.0f", 16.777216 / t }'; } # MB/s of the 16.8 MB of u8 tiles
echo
echo "4096 x 4096 float32 FITS -> $tiles PNG tiles of 256 x 256 (Python: $ref_tiles), medians of $rounds runs:"
printf '  %-66s %7s s\n' "lumen run astro-bench.yaml --threads $threads (encoder libdeflate)" "$lu"
printf '  %-66s %7s s\n' "lumen run astro-bench.yaml --set write.encoder=libpng" "$lupng"
printf '  %-66s %7s s\n' "reference.py (numpy + astropy + Pillow), 1 thread" "$py1"
printf '  %-66s %7s s\n' "reference.py, PNGs saved from 2 threads" "$py2"
echo "encode only (the $tiles u8 tiles of the Lumen run, filter none; MB/s of raw pixels):"
printf '  %-66s %7s s  %4s MB/s\n' "libpng + zlib level 1: 1 thread" "$png1" "$(mbps "$png1")"
printf '  %-66s %7s s  %4s MB/s\n' "libpng + zlib level 1: 2 threads, into /dev/null" "$png2" "$(mbps "$png2")"
printf '  %-66s %7s s  %4s MB/s\n' "libpng + zlib level 1: 2 threads, into files (temp name + rename)" "$pngf" "$(mbps "$pngf")"
printf '  %-66s %7s s  %4s MB/s\n' "libpng + zlib level 1, strategy rle: 1 thread" "$rle1" "$(mbps "$rle1")"
printf '  %-66s %7s s  %4s MB/s\n' "libdeflate level 1: 1 thread" "$ld1" "$(mbps "$ld1")"
printf '  %-66s %7s s  %4s MB/s\n' "libdeflate level 1: 2 threads, into /dev/null" "$ld2" "$(mbps "$ld2")"
printf '  %-66s %7s s  %4s MB/s\n' "libdeflate level 1: 2 threads, into files (temp name + rename)" "$ldf" "$(mbps "$ldf")"
printf '  %-66s %7s s  %4s MB/s\n' "libdeflate level 2: 1 thread" "$ldl2" "$(mbps "$ldl2")"
printf '  %-66s %7s s  %4s MB/s\n' "libdeflate level 3: 1 thread" "$ldl3" "$(mbps "$ldl3")"
echo "  PNG bytes: libpng level 1 $png_mb MB, libdeflate level 1 $ld_mb MB (raw pixels 16.78 MB)"
awk -v lu="$lu" -v lp="$lupng" -v p1="$py1" -v p2="$py2" -v e="$png2" -v f="$pngf" -v d="$ld2" -v df="$ldf" -v n="$tiles" 'BEGIN {
  best = p1 < p2 ? p1 : p2
  printf "ratios:\n"
  printf "  Lumen: %.0f tiles/s; %.1fx faster than the faster Python run (target >= 6x, aim 10x)\n", n / lu, best / lu
  printf "  Lumen / encode only with libpng level 1 (the issue'"'"'s baseline): %.2fx of pure encoding, %.2fx of encoding into files (target <= 1.5x)\n", lu / e, lu / f
  printf "  Lumen / encode only with libdeflate level 1 (its own encoder): %.2fx of pure encoding, %.2fx of encoding into files\n", lu / d, lu / df
  printf "  Lumen with encoder libpng: %.1fx faster than Python, %.2fx of libpng encoding (%.2fx into files)\n", best / lp, lp / e, lp / f
}'
echo "  Lumen peak RSS: $((lu_rss / 1024)) MiB"

# Same pixels? reference.py with percentiles from Lumen's fixed-stride sample, tile by tile.
rm -rf "$work/ref-sample"
$python "$here/reference.py" "$big" "$work/ref-sample" --sample-like-lumen >/dev/null
$python - "$work/lumen/outputs/png_tiles" "$work/ref-sample/png_tiles" <<'PY'
import glob, os, re, sys
import numpy as np
from PIL import Image
def tiles(root):
    return {re.search(r"_t(\d+_\d+)\.png$", f).group(1): f for f in glob.glob(root + "/**/*.png", recursive=True)}
a, b = tiles(sys.argv[1]), tiles(sys.argv[2])
assert a.keys() == b.keys(), "different tile sets"
worst, equal, total = 0, 0, 0
for k in a:
    x = np.asarray(Image.open(a[k]), dtype=np.int16)
    y = np.asarray(Image.open(b[k]), dtype=np.int16)
    d = np.abs(x - y)
    worst, equal, total = max(worst, int(d.max())), equal + int((d == 0).sum()), total + d.size
print("  Lumen tiles vs reference.py --sample-like-lumen: %d tiles, max |difference| %d level(s), %.2f%% of pixels equal"
      % (len(a), worst, 100.0 * equal / total))
PY
echo
echo "per stage (last Lumen run; busy = the stage's own work summed over its workers):"
$python - "$work/lumen/logs/run_events.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "stage_end":
        print("  %-10s items %4d -> %4d   wall %6.3f s   busy %6.3f s" % (e["stage"], e["items_in"], e["items_out"],
                                                                          e["seconds"], e["busy_seconds"]))
    if e["event"] == "run_end":
        print("  run %.3f s (inside the host, after start-up)" % e["seconds"])
PY

# Memory: 2 files versus 200 files of 512 x 512.
small=$work/small/outputs
if [[ $(find "$small" -name '*.fits' 2>/dev/null | wc -l) -ne 200 ]]; then
  echo "making 200 small FITS files (512 x 512 float32) ..."
  rm -rf "$work/small"
  "$lumen" run "$here/make-input.yaml" --set vars.size=512 --set vars.count=200 --run-dir "$work/small" \
    --no-progress >/dev/null 2>&1
fi
# 2 files never fill the bounded queues (capacity max(8, 4 x threads) items each, --queue-mb 64), so
# their peak is lower; from about a hundred 1 MB files on the queues are full and peak memory no
# longer depends on the file count. bench/memory/rss_vs_files.sh goes on to 1000 files (and with
# --queue-capacity 2) and reports page faults and system time too.
for n in 2 20 100; do
  rm -rf "$work/sub$n" && mkdir -p "$work/sub$n"
  for f in $(find "$small" -name '*.fits' | sort | head -n "$n"); do ln -s "$f" "$work/sub$n/"; done
done
warm "$small"/*.fits
echo
echo "peak RSS, astro-bench.yaml --threads $threads on 512 x 512 float32 files (/usr/bin/time %M):"
declare -A peak
for n in 2 20 100 200; do
  input=$work/sub$n
  [[ $n -eq 200 ]] && input=$small
  lumen_run "$work/mem$n" "$input"
  peak[$n]=$rss
  tiles_n=$(find "$work/mem$n/outputs/png_tiles" -name '*.png' | wc -l)
  printf '  %3d files -> %5d tiles: %7d KB (%5.1f MiB), %s s\n' "$n" "$tiles_n" "$rss" "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$wall"
done
awk -v a="${peak[2]}" -v b="${peak[100]}" -v c="${peak[200]}" 'BEGIN {
  printf "  200 vs 2 files: %+d KB; 200 vs 100 files: %+d KB (%+.1f%%)\n", c - a, c - b, 100 * (c - b) / b }'
