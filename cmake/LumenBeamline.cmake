# lumen_beamline(NAME [VALIDATE_ARGS arg...])
#
# A beamline set is configuration, not code: plugins/beamline-<name>/ holds the beamline's
# detector layouts (layouts/, e.g. NDFileHDF5 XML files) and its pipeline files (pipelines/*.yaml)
# carrying the beamline's defaults on top of the generic stages; pipelines name their layouts as
# ${pipeline_dir}/../layouts/... so they work from the source tree and from an install. This
# function installs both folders under share/lumen/beamlines/<name>/ and registers one CTest per
# pipeline: `lumen validate` with VALIDATE_ARGS (e.g. --set vars.input=x), which parses every
# layout and checks every default. plugins/CMakeLists.txt adds every beamline-* folder by itself,
# so a new beamline is a copied folder (and, if it needs code, a lumen_plugin_set beside this).
function(lumen_beamline name)
  cmake_parse_arguments(ARG "" "" "VALIDATE_ARGS" ${ARGN})
  if(LUMEN_FUZZ)
    return()
  endif()
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/layouts ${CMAKE_CURRENT_SOURCE_DIR}/pipelines
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lumen/beamlines/${name} OPTIONAL)
  if(LUMEN_BUILD_TESTS)
    file(GLOB pipelines ${CMAKE_CURRENT_SOURCE_DIR}/pipelines/*.yaml)
    foreach(pipeline IN LISTS pipelines)
      get_filename_component(stem ${pipeline} NAME_WE)
      add_test(NAME "beamline ${name}: ${stem}.yaml validates"
               COMMAND lumen validate ${pipeline} ${ARG_VALIDATE_ARGS})
    endforeach()
  endif()
endfunction()
