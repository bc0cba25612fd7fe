#!/usr/bin/env bash
# telescope-hst end to end: the synthetic tree of pipelines/multidomain-make-tree.yaml, then this
# set's pipelines/telescope-hst-tiles.yaml (strict naming) on its part of the tree (astronomy/hla_associations), 64-pixel tiles;
# checks the tile count from the frame geometry (64), the scenes, the facility's gains
# (1.0 e-/ADU), complete clean/noisy pairing and no scene in two splits.
# Usage: tiles.sh LUMEN WORKDIR   (CTest: lumen_facility_pipelines registers tests/*.sh; exit 77 = skipped)
set -euo pipefail
lumen=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(cd "$here/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
"$lumen" run "$root/pipelines/multidomain-make-tree.yaml" --run-dir "$work/tree" --no-progress
"$lumen" run "$here/pipelines/telescope-hst-tiles.yaml" --set "vars.input=$work/tree/outputs/astronomy/hla_associations" \
  --set vars.tile_size=64 --run-dir "$work/tiles" --no-progress
/usr/bin/python3 - "$work/tiles" <<'PY'
import json, sys
run = sys.argv[1]
summary = json.load(open(run + "/artifacts/tiles_summary.json"))
records = [json.loads(line) for line in open(run + "/outputs/tiles_metadata.jsonl")]
assert summary["totals"]["by_domain"] == {"astronomy": 64}, summary["totals"]
assert summary["pairing"]["every_clean_tile_has_noisy_twin"] and summary["pairing"]["noisy_without_clean"] == 0
assert summary["scenes"]["in_several_splits"] == []
assert sorted({r["scene_id"] for r in records}) == sorted("astro_jsyn0001 astro_jsyn0002".split()), {r["scene_id"] for r in records}
assert {r["facility"] for r in records} == {"telescope-hst"}
assert sorted({r["gain"] for r in records}) == sorted(float(g) for g in "1.0".split()), {r["gain"] for r in records}
print("telescope-hst: 64 tiles, pairs complete, no scene in two splits: OK")
PY
