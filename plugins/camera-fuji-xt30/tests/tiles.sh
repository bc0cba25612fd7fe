#!/usr/bin/env bash
# camera-fuji-xt30 end to end on its part of the synthetic tree: see plugins/facility-common/tiles_check.sh.
# Usage: tiles.sh LUMEN WORKDIR   (CTest: lumen_facility_pipelines registers tests/*.sh)
exec "$(dirname "${BASH_SOURCE[0]}")/../../facility-common/tiles_check.sh" "$1" "$2" camera-fuji-xt30 SID/Fuji photography 24 \
  "photo_fuji_00001 photo_fuji_00002" "1.8 0.75"
