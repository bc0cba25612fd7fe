#!/usr/bin/env bash
# The ptychography ingest benchmark of issue 5, end to end through the real `lumen` binary:
#
#   400 frames x 512 x 512 uint16 (200 positions x frames_per_pos 2; an areaDetector-like file made
#   by pipelines/ptycho-make-scan.yaml), ingested by pipelines/ptycho-ingest.yaml (ROI first, dark/flat,
#   saturation mask at 60000, 2 exposures summed per position, ROI 256 x 256, standardized HDF5)
#   against the Python baseline (numpy + h5py doing the same job in the same order, in blocks of
#   20 frames: reference.py), and reference.py --crop-first (the ROI cut before the correction, the
#   same output with a quarter of the pixel work). Target: Lumen at least 3x faster.
#
# Prints, as the median of ROUNDS interleaved rounds (the input is re-read into the page cache
# before every run, so no run pays for the disk): wall time, MB/s read (uint16 input bytes / s),
# MB/s written (output file bytes / s) and peak RSS of both; then the peak RSS of a 900-frame and a
# 9000-frame scan of 128 x 128 (it must not grow with the scan: the scan streams in blocks).
#
#   bench/ptycho/ptycho_bench.sh            # needs a Release build in build/ (make build)
#   ROUNDS=3 WORK=/tmp/pb LUMEN=build-rel/bin/lumen bench/ptycho/ptycho_bench.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lumen=${LUMEN:-$repo/build/bin/lumen}
work=${WORK:-/tmp/lumen-ptycho-bench}
rounds=${ROUNDS:-5}
threads=${THREADS:-$(nproc)}
python=/usr/bin/python3
[[ -x $lumen ]] || { echo "error: $lumen not built (make build)" >&2; exit 1; }
$python -c 'import numpy, h5py' 2>/dev/null || { echo "error: needs python3-numpy, python3-h5py" >&2; exit 1; }
mkdir -p "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); lumen --threads $threads"

# make_scan NAME POSITIONS SIZE: an areaDetector-like scan (frames_per_pos 2) in $work/NAME
make_scan() {
  local file=$work/$1/outputs/ptycho_scan.h5
  if [[ ! -f $file ]]; then
    echo "making $1 ($(($2 * 2)) frames of $3 x $3 u16) ..." >&2
    rm -rf "${work:?}/$1"
    "$lumen" run "$repo/pipelines/ptycho-make-scan.yaml" --set "vars.positions=$2" --set vars.frames_per_pos=2 \
      --set "vars.size=$3" --threads "$threads" --run-dir "$work/$1" --no-progress >/dev/null 2>&1
  fi
  echo "$file"
}
warm() { cat "$1" >/dev/null; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# ingest RUN_DIR INPUT ROI [--set ...]: wall seconds and peak KB into $work/t.txt
ingest() {
  local dir=$1 input=$2 roi=$3; shift 3
  rm -rf "$dir"
  /usr/bin/time -f "%e %M" -o "$work/t.txt" "$lumen" run "$repo/pipelines/ptycho-ingest.yaml" \
    --set "vars.input=$input" --set "vars.layout=$repo/plugins/ptycho/layouts/minimal.xml" \
    --set vars.frames_per_pos=2 --set vars.grouping=sum --set "vars.roi=$roi" --set vars.sat=60000 \
    --threads "$threads" --run-dir "$dir" --no-progress "$@" >"$work/ingest.log" 2>&1 ||
    { cat "$work/ingest.log" >&2; exit 1; }
}

scan=$(make_scan scan400 200 512)
in_mb=$(awk 'BEGIN {printf "%.3f", 400 * 512 * 512 * 2 / 1e6}')
py_t=(); py_m=(); cf_t=(); cf_m=(); lu_t=(); lu_m=()
# reference OUT.h5 [--crop-first]: seconds (measured in the script) and peak KB into $work/py.txt
reference() {
  local out=$1; shift
  rm -f "$out"
  /usr/bin/time -f "%e %M" -o "$work/t.txt" $python "$here/reference.py" "$scan" "$out" \
    --fpp 2 --roi 256 256 --sat 60000 "$@" >"$work/ref.log"
  echo "$(sed -n 's/.*(\([0-9.]*\) s).*/\1/p' "$work/ref.log") $(cut -d' ' -f2 "$work/t.txt")" >"$work/py.txt"
}
for ((r = 1; r <= rounds; r++)); do
  warm "$scan"
  reference "$work/ref.h5"
  py_t+=("$(cut -d' ' -f1 "$work/py.txt")"); py_m+=("$(cut -d' ' -f2 "$work/py.txt")")
  warm "$scan"
  reference "$work/ref-crop-first.h5" --crop-first
  cf_t+=("$(cut -d' ' -f1 "$work/py.txt")"); cf_m+=("$(cut -d' ' -f2 "$work/py.txt")")
  warm "$scan"
  ingest "$work/lumen" "$scan" "[256, 256]"
  lu_t+=("$(cut -d' ' -f1 "$work/t.txt")"); lu_m+=("$(cut -d' ' -f2 "$work/t.txt")")
done
py=$(echo "${py_t[*]}" | median); cf=$(echo "${cf_t[*]}" | median); lu=$(echo "${lu_t[*]}" | median)
py_out=$(stat -c %s "$work/ref.h5"); lu_out=$(stat -c %s "$work/lumen/outputs/ptycho_scan_std.h5")
echo "ingest 400 x 512 x 512 u16 ($in_mb MB), fpp 2 sum, sat 60000, ROI 256 x 256; median of $rounds"
echo "  runs: python ${py_t[*]} / crop-first ${cf_t[*]} s (timed in the script: python start-up excluded)"
echo "        lumen ${lu_t[*]} s (the whole process)"
awk -v m="$in_mb" -v t="$py" -v o="$py_out" -v k="$(echo "${py_m[*]}" | median)" \
  'BEGIN {printf "  python (numpy + h5py):  %6.3f s  read %5.0f MB/s  written %5.0f MB/s  peak RSS %4.0f MB\n", t, m / t, o / 1e6 / t, k / 1024}'
awk -v m="$in_mb" -v t="$cf" -v o="$py_out" -v k="$(echo "${cf_m[*]}" | median)" \
  'BEGIN {printf "  python, ROI cropped before correcting: %6.3f s  read %5.0f MB/s  written %5.0f MB/s  peak RSS %4.0f MB\n", t, m / t, o / 1e6 / t, k / 1024}'
awk -v m="$in_mb" -v t="$lu" -v o="$lu_out" -v p="$py" -v k="$(echo "${lu_m[*]}" | median)" \
  -v c="$cf" 'BEGIN {printf "  lumen ptycho-ingest:    %6.3f s  read %5.0f MB/s  written %5.0f MB/s  peak RSS %4.0f MB  %.1fx python (target >= 3x), %.1fx crop-first python\n", t, m / t, o / 1e6 / t, k / 1024, p / t, c / t}'
$python - "$work/lumen/outputs/ptycho_scan_std.h5" "$work/ref.h5" "$work/ref-crop-first.h5" <<'EOF'
import sys, h5py, numpy as np
b, *refs = (h5py.File(p, 'r')['entry'] for p in sys.argv[1:])
for name, a in zip(('python', 'crop-first'), refs):
    d = np.abs(a['data'][()] - b['data'][()]).max()
    print(f"  same result as {name}: max |data difference| = {d:.3g}, masks equal:"
          f" {np.array_equal(a['mask'][()], b['mask'][()])}, positions equal:"
          f" {np.allclose(a['pos'][()], b['pos'][()], rtol=1e-12, atol=0)}")
EOF

# Flat memory: the peak RSS of a 9000-frame scan must be that of a 900-frame one.
for n in 450 4500; do
  s=$(make_scan "scan$((n * 2))" "$n" 128)
  warm "$s"
  ingest "$work/flat$n" "$s" "[96, 96]"
  awk -v n="$((n * 2))" -v t="$(cut -d' ' -f1 "$work/t.txt")" -v k="$(cut -d' ' -f2 "$work/t.txt")" \
    -v m="$(stat -c %s "$s")" 'BEGIN {printf "%5d frames of 128 x 128 (%4.0f MB file): %6.2f s  %5.0f MB/s  peak RSS %4.0f MB\n", n, m / 1e6, t, n * 128 * 128 * 2 / 1e6 / t, k / 1024}'
done
