#!/usr/bin/env bash
# telescope-hst end to end on its part of the synthetic tree: see plugins/facility-common/tiles_check.sh.
# Usage: tiles.sh LUMEN WORKDIR   (CTest: lumen_facility_pipelines registers tests/*.sh)
exec "$(dirname "${BASH_SOURCE[0]}")/../../facility-common/tiles_check.sh" "$1" "$2" telescope-hst astronomy/hla_associations astronomy 64 \
  "astro_jsyn0001 astro_jsyn0002" "1.0"
