#!/usr/bin/env bash
# microscope-biosr end to end on its part of the synthetic tree: see plugins/facility-common/tiles_check.sh.
# Usage: tiles.sh LUMEN WORKDIR   (CTest: lumen_facility_pipelines registers tests/*.sh)
exec "$(dirname "${BASH_SOURCE[0]}")/../../facility-common/tiles_check.sh" "$1" "$2" microscope-biosr microscopy/structures microscopy 56 \
  "micro_ER_Cell_01 micro_ER_Cell_02 micro_Microtubules_Cell_01 micro_Microtubules_Cell_02" "1.0"
