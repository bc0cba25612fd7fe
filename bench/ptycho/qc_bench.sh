#!/usr/bin/env bash
# The ptychography QC benchmark of issue 6, end to end through the real `lumen` binary:
#
#   400 frames x 512 x 512 float32 in a standardized file (pipelines/ptycho-ingest-demo.yaml on a
#   synthetic scan, 400 positions, no crop), scored by pipelines/ptycho-qc.yaml (ptycho.qc_score with
#   its defaults: bin 1, embed_side 32, pca_k 8, rings 4, reject_thresh 0.5) against the Python
#   baseline doing the same scoring with numpy + h5py in blocks of 16 frames (qc_reference.py).
#   The issue quotes ~5.4 s (74 frames/s) for a numpy implementation; Lumen must reach >= 10x that
#   (>= 740 frames/s). Measured against this script's own numpy baseline too.
#
# Lumen runs twice per round: "scoring" (maps: false, thumbs: 0: the same outputs as the baseline:
# npy, CSV, JSON) and "full" (the pipeline as shipped: plus qc_maps.png and 24 thumbnails with their
# gallery). Prints, as the median of ROUNDS interleaved rounds (the input is re-read into the page
# cache before every run): wall time, frames/s, MB/s of float32 input and peak RSS (/usr/bin/time)
# of each; how close the two implementations' results are; a 300 x 1024 x 1024 scan (1.27 GB);
# then the peak RSS of a 900-frame and a 9000-frame scan of 128 x 128 (it must not grow with the
# scan beyond the per-frame embeddings: the frames stream in blocks).
#
#   bench/ptycho/qc_bench.sh                # needs a Release build in build/ (make build)
#   ROUNDS=3 WORK=/tmp/qb LUMEN=build-rel/bin/lumen bench/ptycho/qc_bench.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lumen=${LUMEN:-$repo/build/bin/lumen}
work=${WORK:-/tmp/lumen-qc-bench}
rounds=${ROUNDS:-5}
threads=${THREADS:-$(nproc)}
python=/usr/bin/python3
[[ -x $lumen ]] || { echo "error: $lumen not built (make build)" >&2; exit 1; }
$python -c 'import numpy, h5py' 2>/dev/null || { echo "error: needs python3-numpy, python3-h5py" >&2; exit 1; }
mkdir -p "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); lumen --threads $threads"

# make_std NAME POSITIONS SIZE: a standardized file of POSITIONS frames of SIZE x SIZE in $work/NAME
make_std() {
  local file=$work/$1/outputs/ptycho_scan_std.h5
  if [[ ! -f $file ]]; then
    echo "making $1 ($2 frames of $3 x $3 f32) ..." >&2
    rm -rf "${work:?}/$1"
    "$lumen" run "$repo/pipelines/ptycho-ingest-demo.yaml" --set "vars.positions=$2" --set vars.frames_per_pos=1 \
      --set "vars.size=$3" --set "vars.roi=[$3, $3]" --threads "$threads" --run-dir "$work/$1" --no-progress \
      >/dev/null 2>&1
  fi
  echo "$file"
}
warm() { cat "$1" >/dev/null; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# qc RUN_DIR INPUT [--set ...]: wall seconds and peak KB into $work/t.txt
qc() {
  local dir=$1 input=$2; shift 2
  rm -rf "$dir"
  /usr/bin/time -f "%e %M" -o "$work/t.txt" "$lumen" run "$repo/pipelines/ptycho-qc.yaml" --set "vars.input=$input" \
    --threads "$threads" --run-dir "$dir" --no-progress "$@" >"$work/qc.log" 2>&1 ||
    { cat "$work/qc.log" >&2; exit 1; }
}

scan=$(make_std std400 400 512)
n=400
in_mb=$(awk -v n=$n 'BEGIN {printf "%.3f", n * 512 * 512 * 4 / 1e6}')
py_t=(); py_m=(); ls_t=(); ls_m=(); lf_t=(); lf_m=()
for ((r = 1; r <= rounds; r++)); do
  warm "$scan"
  rm -rf "$work/ref"
  /usr/bin/time -f "%e %M" -o "$work/t.txt" $python "$here/qc_reference.py" "$scan" "$work/ref" >"$work/ref.log"
  py_t+=("$(sed -n 's/.*: \([0-9.]*\) s .*/\1/p' "$work/ref.log")"); py_m+=("$(cut -d' ' -f2 "$work/t.txt")")
  warm "$scan"
  qc "$work/scoring" "$scan" --set qc.maps=false --set qc.thumbs=0
  ls_t+=("$(cut -d' ' -f1 "$work/t.txt")"); ls_m+=("$(cut -d' ' -f2 "$work/t.txt")")
  warm "$scan"
  qc "$work/full" "$scan"
  lf_t+=("$(cut -d' ' -f1 "$work/t.txt")"); lf_m+=("$(cut -d' ' -f2 "$work/t.txt")")
done
py=$(echo "${py_t[*]}" | median); ls=$(echo "${ls_t[*]}" | median); lf=$(echo "${lf_t[*]}" | median)
echo "QC of $n x 512 x 512 f32 ($in_mb MB, standardized file), defaults; median of $rounds interleaved rounds"
echo "  runs: python ${py_t[*]} s (timed in the script: interpreter start-up and imports excluded)"
echo "        lumen scoring ${ls_t[*]} s, lumen full ${lf_t[*]} s (the whole process)"
row() { # LABEL SECONDS PEAK_KB
  awk -v l="$1" -v t="$2" -v k="$3" -v n=$n -v m="$in_mb" -v p="$py" \
    'BEGIN {printf "  %-34s %6.3f s  %6.0f frames/s  %5.0f MB/s  peak RSS %4.0f MB  %5.1fx python, %5.1fx the issue'"'"'s 74 frames/s\n", l, t, n / t, m / t, k / 1024, p / t, n / t / 74}'
}
row "python (numpy + h5py):" "$py" "$(echo "${py_m[*]}" | median)"
row "lumen, scoring (same outputs):" "$ls" "$(echo "${ls_m[*]}" | median)"
row "lumen, full (+ maps, 24 thumbs):" "$lf" "$(echo "${lf_m[*]}" | median)"
grep -o '"frames_per_second_pass": [0-9.]*' "$work/scoring/outputs/qc_meta.json" |
  awk '{printf "  lumen streaming pass alone (qc_meta.json): %.0f frames/s\n", $2}'
$python - "$work/scoring/outputs" "$work/ref" <<'EOF'
import sys, numpy as np
a, b = (np.genfromtxt(d + '/qc_summary.csv', delimiter=',', names=True) for d in sys.argv[1:])
feats = [n for n in a.dtype.names if n not in ('index', 'x', 'y', 'pca_error', 'feature_dev', 'pca_dev', 'score',
                                               'masked', 'rejected')]
rel = max(np.max(np.abs(a[n] - b[n]) / np.maximum(np.abs(b[n]).max(), 1e-30)) for n in feats)
k = 20
ta, tb = set(np.argsort(-a['score'])[:k]), set(np.argsort(-b['score'])[:k])
print(f"  same result: features max relative difference {rel:.2g}; score correlation "
      f"{np.corrcoef(a['score'], b['score'])[0, 1]:.4f} (PCA: subspace iteration vs numpy SVD), "
      f"top-{k} overlap {len(ta & tb)}/{k}, rejects {int(a['rejected'].sum())} vs {int(b['rejected'].sum())}")
EOF

# Big frames: 300 x 1024 x 1024 f32 (1.27 GB), scoring only: bandwidth and a peak of two blocks.
s=$(make_std std300x1024 300 1024)
warm "$s"
qc "$work/big" "$s" --set qc.maps=false --set qc.thumbs=0
awk -v t="$(cut -d' ' -f1 "$work/t.txt")" -v k="$(cut -d' ' -f2 "$work/t.txt")" -v f="$(stat -c %s "$s")" \
  'BEGIN {printf "  300 frames of 1024 x 1024 (%4.0f MB file): %6.2f s  %6.0f frames/s  %5.0f MB/s  peak RSS %4.0f MB\n", f / 1e6, t, 300 / t, f / 1e6 / t, k / 1024}'

# Flat memory: the peak RSS of a 9000-frame scan must be that of a 900-frame one (plus the per-frame
# embedding, 9000 x 32 x 32 floats = 37 MB).
for m in 900 9000; do
  s=$(make_std "std$m" "$m" 128)
  warm "$s"
  qc "$work/flat$m" "$s" --set qc.maps=false --set qc.thumbs=0
  awk -v n="$m" -v t="$(cut -d' ' -f1 "$work/t.txt")" -v k="$(cut -d' ' -f2 "$work/t.txt")" \
    -v f="$(stat -c %s "$s")" 'BEGIN {printf "%5d frames of 128 x 128 (%4.0f MB file): %6.2f s  %6.0f frames/s  peak RSS %4.0f MB\n", n, f / 1e6, t, n / t, k / 1024}'
done
