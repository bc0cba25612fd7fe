#!/usr/bin/env bash
# XRNF ingest end to end: a synthetic scan as numbered single-page TIFF frames plus a sidecar with
# its positions, scalars, dark and flat (a standardized file of the raw scan, named through the
# sidecar path parameters), then xrnf-ingest.yaml with its defaults (rotate 180, flip none, ROI
# around the centre shrunk to the small test frame), checked with h5py against numpy: the output
# frames are the dark/flat-corrected input frames cropped and turned by 180 degrees.
# Usage: ingest.sh LUMEN WORKDIR   (CTest: lumen_beamline registers tests/*.sh; exit 77 = skipped)
set -euo pipefail
lumen=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
/usr/bin/python3 -c 'import h5py, numpy, tifffile' 2>/dev/null ||
  { echo "SKIPPED: needs /usr/bin/python3 with h5py, numpy and tifffile"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
scan='{positions: 9, size: 64, photons: 2e6, frames_per_item: 1}'
printf 'pipeline: f\nversion: 1\nstages:\n  - id: scan\n    use: synth.ptycho_scan\n    with: %s\n  - id: save\n    use: tiff.write\n    with: {name: "frame_{index}.tif"}\n' "$scan" >"$work/frames.yaml"
printf 'pipeline: s\nversion: 1\nstages:\n  - id: scan\n    use: synth.ptycho_scan\n    with: %s\n  - id: save\n    use: ptycho.write_std\n    with: {name: sidecar.h5}\n' "$scan" >"$work/sidecar.yaml"
"$lumen" run "$work/frames.yaml" --run-dir "$work/frames" --no-progress
"$lumen" run "$work/sidecar.yaml" --run-dir "$work/sidecar" --no-progress
sets=()
for kv in pos_x_path=/entry/posx_m pos_y_path=/entry/posy_m energy_path=/entry/energy_eV det_dist_path=/entry/det_dist_m \
  pixel_path=/entry/pixel_m exposure_path=/entry/exposure_s dark_path=/entry/dark flat_path=/entry/flat; do
  sets+=(--set "scan.$kv")
done
"$lumen" run "$here/pipelines/xrnf-ingest.yaml" --set "vars.input=$work/frames/outputs/frame_*.tif" \
  --set "vars.sidecar=$work/sidecar/outputs/sidecar.h5" --set "vars.roi=[40, 32]" "${sets[@]}" \
  --run-dir "$work/ingest" --no-progress
/usr/bin/python3 - "$work" <<'PY'
import glob, sys, h5py, numpy as np, tifffile
work = sys.argv[1]
out = glob.glob(work + "/ingest/outputs/*.h5")
assert len(out) == 1, out
e = h5py.File(out[0], "r")["entry"]
side = h5py.File(work + "/sidecar/outputs/sidecar.h5", "r")["entry"]
assert e["data"].shape == (9, 40, 32), e["data"].shape
assert int(e.attrs["orient_rotate"]) == 180
dark, flat = side["dark"][()], side["flat"][()]
for k in range(9):
    raw = tifffile.imread(f"{work}/frames/outputs/frame_{k}.tif").astype(np.float64).reshape(64, 64)
    want = np.rot90(((raw - dark) / flat)[12:52, 16:48], 2)
    assert np.allclose(e["data"][k], want, rtol=1e-5, atol=1e-3), k
assert np.allclose(e["pos"][()], side["pos"][()])
print("xrnf ingest: 9 frames corrected, cropped and turned by 180 degrees as numpy does it: OK")
PY
