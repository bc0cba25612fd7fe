#!/usr/bin/env bash
# The photon codec benchmark of issue 7, end to end through the real `lumen` binary:
#
#   1000 x 512 x 512 uint16 Poisson movie (lambda 5..100 photons, gain 2.5 ADU/photon, zero
#   level 100 ADU; bench/photon/make-movie.yaml), quantised at step 1.0 noise sigma, against the
#   Python baseline (numpy + zarr-python + numcodecs doing the same scheme: reference.py).
#
# Prints, each as the median of ROUNDS interleaved rounds (the file is re-read into the page cache
# before every run, so no run pays for the disk):
#   - encode MB/s of uint16 input: Python, photon-compress.yaml (its codec defaults) and
#     photon-compress.yaml with zarr.write's default codec (zstd 5, bit-shuffle, whole frames)
#   - compression ratio versus the uint16 input, and peak RSS
#   - max round-trip error in Poisson sigmas (photon-restore.yaml, f32) against the bound
#   - decode MB/s of a 100-frame range (photon-restore.yaml --set vars.frames=[400, 500])
#   - the gain estimate (photon.estimate) and its cost
#   - peak RSS for 1 and 8 input movies (symlinks to the same file): it must not grow
#
#   bench/photon/photon_bench.sh            # needs a Release build in build/ (make build)
#   ROUNDS=3 WORK=/tmp/pb bench/photon/photon_bench.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lumen=${LUMEN:-$repo/build/bin/lumen}
work=${WORK:-/tmp/lumen-photon-bench}
rounds=${ROUNDS:-5}
threads=${THREADS:-$(nproc)}
python=/usr/bin/python3
[[ -x $lumen ]] || { echo "error: $lumen not built (make build)" >&2; exit 1; }
$python -c 'import numpy, zarr, numcodecs' 2>/dev/null || { echo "error: needs python3-numpy, python3-zarr, python3-numcodecs" >&2; exit 1; }
mkdir -p "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); lumen --threads $threads"

movie=$work/movie/outputs/movie.npy
if [[ ! -f $movie ]]; then
  echo "making the movie (1000 x 512 x 512 u16) ..."
  "$lumen" run "$here/make-movie.yaml" --run-dir "$work/movie" --no-progress >/dev/null 2>&1
fi
mb=$(stat -c %s "$movie" | awk '{printf "%.3f", ($1 - 128) / 1e6}')
warm() { cat "$1" >/dev/null; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
store_bytes() { find "$1" -type f ! -name '.z*' -printf '%s\n' | awk '{s += $1} END {print s}'; }

# compress RUN_DIR [--set ...]: wall seconds and peak KB into $work/t.txt
compress() {
  local dir=$1; shift
  rm -rf "$dir"
  /usr/bin/time -f "%e %M" -o "$work/t.txt" "$lumen" run "$repo/pipelines/photon-compress.yaml" \
    --set "vars.input=$movie" --set vars.gain=2.5 --set vars.zero_level=100 --set vars.beta=1.0 \
    --threads "$threads" --run-dir "$dir" --no-progress "$@" >/dev/null 2>&1
}

py_t=() ; lu_t=() ; lu_m=() ; zd_t=() ; zd_m=()
for ((r = 1; r <= rounds; r++)); do
  warm "$movie"
  py_t+=("$($python "$here/reference.py" encode "$movie" "$work/ref.zarr" --beta 1.0 | sed -n 's/.*(\([0-9.]*\) s).*/\1/p')")
  warm "$movie"
  compress "$work/lumen"
  lu_t+=("$(cut -d' ' -f1 "$work/t.txt")"); lu_m+=("$(cut -d' ' -f2 "$work/t.txt")")
  warm "$movie"
  compress "$work/lumen-zdefault" --set vars.clevel=5 --set vars.shuffle=bit --set vars.chunk_rows=0 --set vars.chunk_cols=0
  zd_t+=("$(cut -d' ' -f1 "$work/t.txt")"); zd_m+=("$(cut -d' ' -f2 "$work/t.txt")")
done
py=$(echo "${py_t[*]}" | median); lu=$(echo "${lu_t[*]}" | median); zd=$(echo "${zd_t[*]}" | median)
raw=$(stat -c %s "$movie")
py_ratio=$(awk -v a="$raw" -v b="$(store_bytes "$work/ref.zarr")" 'BEGIN {printf "%.2f", (a - 128) / b}')
lu_ratio=$(awk -v a="$raw" -v b="$(store_bytes "$work/lumen/outputs")" 'BEGIN {printf "%.2f", (a - 128) / b}')
zd_ratio=$(awk -v a="$raw" -v b="$(store_bytes "$work/lumen-zdefault/outputs")" 'BEGIN {printf "%.2f", (a - 128) / b}')
echo "encode ($mb MB of uint16, beta 1.0, median of $rounds; runs: python ${py_t[*]} / lumen ${lu_t[*]} / zarr-default ${zd_t[*]} s):"
awk -v m="$mb" -v t="$py" -v q="$py_ratio" 'BEGIN {printf "  python (numpy + zarr + numcodecs, zstd 5 bit-shuffle): %6.3f s  %5.0f MB/s  ratio %s\n", t, m / t, q}'
awk -v m="$mb" -v t="$lu" -v q="$lu_ratio" -v p="$py" -v k="$(echo "${lu_m[*]}" | median)" \
  'BEGIN {printf "  lumen photon-compress.yaml (zstd 1, 64x64 chunks):     %6.3f s  %5.0f MB/s  ratio %s  %.1fx python  peak RSS %.0f MB\n", t, m / t, q, p / t, k / 1024}'
awk -v m="$mb" -v t="$zd" -v q="$zd_ratio" -v p="$py" -v k="$(echo "${zd_m[*]}" | median)" \
  'BEGIN {printf "  lumen with zarr.write default codec (zstd 5, bit):     %6.3f s  %5.0f MB/s  ratio %s  %.1fx python  peak RSS %.0f MB\n", t, m / t, q, p / t, k / 1024}'

# Round trip: the whole store back to f32, the error against the documented bound.
store=$work/lumen/outputs/lumen/movies/movie=movie/data.zarr
rm -rf "$work/restore"
"$lumen" run "$repo/pipelines/photon-restore.yaml" --set "vars.input=$store" --threads "$threads" \
  --run-dir "$work/restore" --no-progress >/dev/null 2>&1
echo "round trip (algebraic inverse, f32): $($python "$here/reference.py" error "$movie" "$work/restore/outputs/restored.npy")" \
  "; documented bound at beta 1.0: 0.5 * sqrt(1 + 3/8) + 1/16 = 0.65 sigma for 1 photon or more"

# Decode a 100-frame range (only its chunks are read), median of ROUNDS.
dec_t=()
for ((r = 1; r <= rounds; r++)); do
  rm -rf "$work/range"
  /usr/bin/time -f "%e %M" -o "$work/t.txt" "$lumen" run "$repo/pipelines/photon-restore.yaml" --set "vars.input=$store" \
    --set "vars.frames=[400, 500]" --set vars.dtype=source --threads "$threads" --run-dir "$work/range" --no-progress >/dev/null 2>&1
  dec_t+=("$(cut -d' ' -f1 "$work/t.txt")")
done
dec=$(echo "${dec_t[*]}" | median)
awk -v m="$mb" -v t="$dec" -v e="$lu" 'BEGIN {printf "decode frames [400, 500) to uint16 .npy: %.3f s, %.0f MB/s of uint16 output (encode: %.0f MB/s)\n", t, m / 10 / t, m / e}'

# Gain and zero level estimated from the movie (first 200 frames).
warm "$movie"
rm -rf "$work/estimate"
/usr/bin/time -f "%e %M" -o "$work/t.txt" "$lumen" run "$repo/pipelines/photon-compress.yaml" --set "vars.input=$movie" \
  --set vars.beta=1.0 --threads "$threads" --run-dir "$work/estimate" --no-progress >"$work/estimate.log" 2>&1
echo "with the gain estimated: $(cut -d' ' -f1 "$work/t.txt") s;$(grep -o 'gain [0-9.]* ADU/photon, zero level [0-9.]* ADU (R^2 [0-9.]*' "$work/estimate.log" | sed 's/^/ /') (truth: 2.5, 100)"

# Peak memory must not depend on the number of input movies.
mkdir -p "$work/many"
for i in 1 2 3 4 5 6 7 8; do ln -sf "$movie" "$work/many/movie$i.npy"; done
for n in 1 8; do
  rm -rf "$work/n$n"
  pattern=$([[ $n == 1 ]] && echo "$work/many/movie1.npy" || echo "$work/many/movie*.npy")
  /usr/bin/time -f "%e %M" -o "$work/t.txt" "$lumen" run "$repo/pipelines/photon-compress.yaml" --set "vars.input=$pattern" \
    --set vars.gain=2.5 --set vars.zero_level=100 --set vars.beta=1.0 --set 'vars.table=movies' \
    --threads "$threads" --run-dir "$work/n$n" --no-progress >/dev/null 2>&1
  awk -v n="$n" -v t="$(cut -d' ' -f1 "$work/t.txt")" -v k="$(cut -d' ' -f2 "$work/t.txt")" \
    'BEGIN {printf "%d movie(s): %.2f s, peak RSS %.0f MB\n", n, t, k / 1024}'
done
