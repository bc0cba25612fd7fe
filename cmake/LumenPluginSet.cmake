# lumen_plugin_set(NAME CORE_SOURCES src... STAGE_SOURCES src... [TEST_SOURCES src...] [LIBRARIES lib...])
#
# The in-tree layout of a plugin set (plugins/<NAME>/):
#   lumen-<NAME>-core  a static, position-independent library of the plain functions (pixel
#                      math, file I/O): CORE_SOURCES, linked to LIBRARIES
#   lumen-<NAME>.so    the plugin: STAGE_SOURCES (stage classes and LUMEN_PLUGIN) over the core
#   test_<NAME>        Catch2 unit tests: TEST_SOURCES plus the stage sources, so tests can call
#                      both the plain functions and the stage classes directly
function(lumen_plugin_set name)
  cmake_parse_arguments(ARG "" "" "CORE_SOURCES;STAGE_SOURCES;TEST_SOURCES;LIBRARIES" ${ARGN})
  set(core lumen-${name}-core)
  add_library(${core} STATIC ${ARG_CORE_SOURCES})
  target_include_directories(${core} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${core} PUBLIC Lumen::core ${ARG_LIBRARIES})
  set_target_properties(${core} PROPERTIES
    POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  lumen_set_warnings(${core})

  lumen_add_plugin(${name} SOURCES ${ARG_STAGE_SOURCES} LIBRARIES ${core})

  if(LUMEN_BUILD_TESTS AND ARG_TEST_SOURCES)
    add_executable(test_${name} ${ARG_TEST_SOURCES} ${ARG_STAGE_SOURCES})
    target_link_libraries(test_${name} PRIVATE ${core} Catch2::Catch2WithMain)
    lumen_set_warnings(test_${name})
    catch_discover_tests(test_${name})
  endif()
endfunction()
