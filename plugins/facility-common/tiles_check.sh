#!/usr/bin/env bash
# The end-to-end check every facility set runs (its tests/tiles.sh calls this): the synthetic tree
# of pipelines/multidomain-make-tree.yaml, then the set's pipelines/<facility>-tiles.yaml (strict
# naming) on its part of the tree with 64-pixel tiles; checks the tile count from the frame
# geometry, the scenes, the facility's gains, complete clean/noisy pairing and no scene in two
# splits.
# Usage: tiles_check.sh LUMEN WORKDIR FACILITY TREE_SUBDIR DOMAIN TILES "SCENE..." "GAIN..."
set -euo pipefail
lumen=$1 work=$2 facility=$3 subdir=$4 domain=$5 tiles=$6 scenes=$7 gains=$8
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
"$lumen" run "$root/pipelines/multidomain-make-tree.yaml" --run-dir "$work/tree" --no-progress
"$lumen" run "$root/plugins/$facility/pipelines/$facility-tiles.yaml" --set "vars.input=$work/tree/outputs/$subdir" \
  --set vars.tile_size=64 --run-dir "$work/tiles" --no-progress
/usr/bin/python3 - "$work/tiles" "$facility" "$domain" "$tiles" "$scenes" "$gains" <<'PY'
import json, sys
run, facility, domain, tiles, scenes, gains = sys.argv[1:]
summary = json.load(open(run + "/artifacts/tiles_summary.json"))
records = [json.loads(line) for line in open(run + "/outputs/tiles_metadata.jsonl")]
assert summary["totals"]["by_domain"] == {domain: int(tiles)}, summary["totals"]
assert summary["pairing"]["every_clean_tile_has_noisy_twin"] and summary["pairing"]["noisy_without_clean"] == 0
assert summary["scenes"]["in_several_splits"] == []
assert sorted({r["scene_id"] for r in records}) == sorted(scenes.split()), {r["scene_id"] for r in records}
assert {r["facility"] for r in records} == {facility}
assert sorted({r["gain"] for r in records}) == sorted(float(g) for g in gains.split()), {r["gain"] for r in records}
print(f"{facility}: {tiles} tiles, pairs complete, no scene in two splits: OK")
PY
