# lumen_plugin_set(NAME CORE_SOURCES src... STAGE_SOURCES src... [TEST_SOURCES src...]
#                  [FUZZ_SOURCES src...] [LIBRARIES lib...])
#
# The in-tree layout of a plugin set (plugins/<NAME>/):
#   lumen-<NAME>-core  a static, position-independent library of the plain functions (pixel
#                      math, file I/O): CORE_SOURCES, linked to LIBRARIES
#   lumen-<NAME>.so    the plugin: STAGE_SOURCES (stage classes and LUMEN_PLUGIN) over the core
#   test_<NAME>        Catch2 unit tests: TEST_SOURCES plus the stage sources, so tests can call
#                      both the plain functions and the stage classes directly; they link the
#                      shared test helpers (tests/support) and print "SKIPPED:" when a real
#                      sample file is absent, which CTest reports as a skipped test
#   fuzz_<NAME>        with LUMEN_FUZZ (clang): a libFuzzer target over the hand-written parsers
#                      (FUZZ_SOURCES define LLVMFuzzerTestOneInput); only the core library and
#                      the fuzz target are built then
function(lumen_plugin_set name)
  cmake_parse_arguments(ARG "" "" "CORE_SOURCES;STAGE_SOURCES;TEST_SOURCES;FUZZ_SOURCES;LIBRARIES" ${ARGN})
  if(LUMEN_FUZZ AND NOT ARG_FUZZ_SOURCES)
    return() # a fuzz build makes only the parsers that have fuzz targets
  endif()
  set(core lumen-${name}-core)
  add_library(${core} STATIC ${ARG_CORE_SOURCES})
  target_include_directories(${core} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${core} PUBLIC Lumen::core ${ARG_LIBRARIES})
  set_target_properties(${core} PROPERTIES
    POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  lumen_set_warnings(${core})

  if(LUMEN_FUZZ)
    add_executable(fuzz_${name} ${ARG_FUZZ_SOURCES})
    target_link_libraries(fuzz_${name} PRIVATE ${core})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    lumen_set_warnings(fuzz_${name})
    return()
  endif()

  lumen_add_plugin(${name} SOURCES ${ARG_STAGE_SOURCES} LIBRARIES ${core})

  if(LUMEN_BUILD_TESTS AND ARG_TEST_SOURCES)
    add_executable(test_${name} ${ARG_TEST_SOURCES} ${ARG_STAGE_SOURCES})
    target_link_libraries(test_${name} PRIVATE ${core} lumen-test-support)
    lumen_set_warnings(test_${name})
    catch_discover_tests(test_${name} PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:")
  endif()
endfunction()
