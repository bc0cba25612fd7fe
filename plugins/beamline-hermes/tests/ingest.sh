#!/usr/bin/env bash
# HERMES ingest end to end: a synthetic scan (3 exposures per position) written the way the
# detector writes it with this set's CXI-like layout (ptycho.write_ad), then hermes-ingest.yaml
# with its defaults (sum of 3, ROI around the centre; the ROI is shrunk to the small test frame),
# checked with h5py: one frame per position, the positions and scalars in SI units, the sum.
# Usage: ingest.sh LUMEN WORKDIR   (CTest: lumen_beamline registers tests/*.sh; exit 77 = skipped)
set -euo pipefail
lumen=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
/usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null || { echo "SKIPPED: needs /usr/bin/python3 with h5py and numpy"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
cat >"$work/make.yaml" <<YAML
pipeline: make-hermes-scan
version: 1
stages:
  - id: scan
    use: synth.ptycho_scan
    with: {positions: 10, frames_per_pos: 3, size: 64, photons: 2e6, frames_per_item: 9}
  - id: write
    use: ptycho.write_ad
    with: {layout: "$here/layouts/hermes_cxi.xml", name: scan_0001.h5}
YAML
"$lumen" run "$work/make.yaml" --run-dir "$work/make" --no-progress
"$lumen" run "$here/pipelines/hermes-ingest.yaml" --set "vars.input=$work/make/outputs/scan_0001.h5" \
  --set "vars.roi=[48, 48]" --run-dir "$work/ingest" --no-progress
/usr/bin/python3 - "$work/ingest/outputs" <<'PY'
import glob, sys, h5py, numpy as np
files = glob.glob(sys.argv[1] + "/*.h5")
assert len(files) == 1, files
e = h5py.File(files[0], "r")["entry"]
assert e["data"].shape == (10, 48, 48), e["data"].shape
assert e.attrs["grouping"] in ("sum", b"sum") and int(e.attrs["frames_per_pos"]) == 3
assert abs(e["det_dist_m"][()] - 2.0) < 1e-9 and abs(e["pixel_m"][()] - 75e-6) < 1e-12
assert abs(e["energy_eV"][()] - 700.0) < 1e-9
pos = e["pos"][()]
assert pos.shape == (10, 2) and np.ptp(pos[:, 0]) > 0 and np.abs(pos).max() < 1e-3, pos
print("hermes ingest: 10 positions of 48x48, sums of 3 exposures, positions in m: OK")
PY
