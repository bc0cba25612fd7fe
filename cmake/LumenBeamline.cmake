# lumen_beamline(NAME [VALIDATE_ARGS arg...])
# lumen_facility_pipelines(NAME [VALIDATE_ARGS arg...])
#
# A beamline set is configuration, not code: plugins/beamline-<name>/ holds the beamline's
# detector layouts (layouts/, e.g. NDFileHDF5 XML files) and its pipeline files (pipelines/*.yaml)
# carrying the beamline's defaults on top of the generic stages; pipelines name their layouts as
# ${pipeline_dir}/../layouts/... so they work from the source tree and from an install. This
# function installs both folders under share/lumen/beamlines/<name>/ and registers one CTest per
# pipeline: `lumen validate` with VALIDATE_ARGS (e.g. --set vars.input=x), which parses every
# layout and checks every default; and every tests/*.sh script, run as `script LUMEN WORKDIR`
# (exit 77 = skipped), for end-to-end runs of the beamline's pipelines on synthetic scans. plugins/CMakeLists.txt adds every beamline-* folder by itself,
# so a new beamline is a copied folder (and, if it needs code, a lumen_plugin_set beside this).
#
# A facility set (camera-*, microscope-*, telescope-*: code, built by lumen_plugin_set) ships its
# pipelines the same way: lumen_facility_pipelines() installs pipelines/ (and layouts/, tables/
# when present) under share/lumen/facilities/<name>/ and registers the same validate and
# tests/*.sh checks, named "facility <name>: ...".
function(lumen_shipped_pipelines kind label name)
  cmake_parse_arguments(ARG "" "" "VALIDATE_ARGS" ${ARGN})
  if(LUMEN_FUZZ)
    return()
  endif()
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/layouts ${CMAKE_CURRENT_SOURCE_DIR}/pipelines
          ${CMAKE_CURRENT_SOURCE_DIR}/tables
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lumen/${kind}/${name} OPTIONAL)
  if(LUMEN_BUILD_TESTS)
    file(GLOB pipelines ${CMAKE_CURRENT_SOURCE_DIR}/pipelines/*.yaml)
    foreach(pipeline IN LISTS pipelines)
      get_filename_component(stem ${pipeline} NAME_WE)
      add_test(NAME "${label} ${name}: ${stem}.yaml validates"
               COMMAND lumen validate ${pipeline} ${ARG_VALIDATE_ARGS})
    endforeach()
    file(GLOB scripts ${CMAKE_CURRENT_SOURCE_DIR}/tests/*.sh)
    foreach(script IN LISTS scripts)
      get_filename_component(stem ${script} NAME_WE)
      set(test "${label} ${name}: ${stem}")
      add_test(NAME ${test} COMMAND bash ${script} $<TARGET_FILE:lumen> ${CMAKE_CURRENT_BINARY_DIR}/test-${stem})
      set_tests_properties(${test} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
    endforeach()
  endif()
endfunction()

function(lumen_beamline name)
  lumen_shipped_pipelines(beamlines beamline ${name} ${ARGN})
endfunction()

function(lumen_facility_pipelines name)
  lumen_shipped_pipelines(facilities facility ${name} ${ARGN})
endfunction()
