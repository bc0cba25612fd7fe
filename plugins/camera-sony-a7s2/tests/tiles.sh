#!/usr/bin/env bash
# camera-sony-a7s2 end to end on its part of the synthetic tree: see plugins/facility-common/tiles_check.sh.
# Usage: tiles.sh LUMEN WORKDIR   (CTest: lumen_facility_pipelines registers tests/*.sh)
exec "$(dirname "${BASH_SOURCE[0]}")/../../facility-common/tiles_check.sh" "$1" "$2" camera-sony-a7s2 SID/Sony photography 72 \
  "photo_00001 photo_00002" "2.1 0.79"
