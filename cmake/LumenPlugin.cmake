# lumen_add_plugin(NAME SOURCES src... [LIBRARIES lib...] [OUTPUT_DIR dir] [NO_INSTALL])
#
# Builds a plugin shared object `lumen-<NAME>.so` with hidden visibility (only the entry point
# is exported), links it against Lumen::core, and writes its JSON manifest
# `lumen-<NAME>.json` beside it after every build by asking the host to describe it, so tools
# can list stages and parameters without loading code. Used in-tree and by the installed SDK.
# `cmake --install` puts both in LUMEN_PLUGIN_INSTALL_DIR (<libdir>/lumen/plugins; out of tree,
# relative to the plugin project's install prefix, where a host installed there looks).
function(lumen_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "lumen_add_plugin(${name}): SOURCES is required")
  endif()
  set(target lumen-plugin-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE Lumen::core ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "lumen-${name}"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  if(ARG_OUTPUT_DIR)
    set(out ${ARG_OUTPUT_DIR})
  elseif(DEFINED LUMEN_PLUGIN_OUTPUT_DIR)
    set(out ${LUMEN_PLUGIN_OUTPUT_DIR})
  else()
    set(out ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${out})
  if(COMMAND lumen_set_warnings)
    lumen_set_warnings(${target})
  endif()
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND Lumen::lumen manifest $<TARGET_FILE:${target}> --output ${out}/lumen-${name}.json
    COMMENT "Writing manifest lumen-${name}.json" VERBATIM)
  # Installed plugins live in <libdir>/lumen/plugins, two levels below liblumen-core. Out of
  # tree, the installed core's own directory is added for installs into another prefix.
  set(rpath "$ORIGIN/../..")
  if(LUMEN_SDK_OUT_OF_TREE AND LUMEN_LIBRARY_DIR AND NOT LUMEN_LIBRARY_DIR IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
    list(APPEND rpath ${LUMEN_LIBRARY_DIR})
  endif()
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "${rpath}")
  if(DEFINED LUMEN_PLUGIN_INSTALL_DIR AND NOT ARG_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${LUMEN_PLUGIN_INSTALL_DIR})
    install(FILES ${out}/lumen-${name}.json DESTINATION ${LUMEN_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
