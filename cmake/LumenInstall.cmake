# Install rules for the Lumen SDK (included at the end of the root CMakeLists.txt).
#
# The install tree has the build tree's layout, so the host finds its plugins the same way:
#   bin/lumen                              the host (exported as Lumen::lumen)
#   lib/liblumen-core.so*                  the core (exported as Lumen::core)
#   lib/lumen/plugins/lumen-*.so + .json   plugins with their manifests (by lumen_add_plugin)
#   include/lumen/*.hpp                    the plugin SDK (engine/ holds the host's internals)
#   lib/cmake/Lumen/                       LumenConfig.cmake, LumenTargets.cmake, lumen_add_plugin()
#   share/lumen/schemas/*.json             JSON Schemas of pipelines, events and manifests
#
# Out-of-tree plugin projects use it as
#   find_package(Lumen 0.1 REQUIRED)
#   lumen_add_plugin(myset SOURCES src/stage.cpp)
# (see examples/plugin-template).
include(CMakePackageConfigHelpers)

set(LUMEN_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Lumen)

install(TARGETS lumen-core lumen
  EXPORT LumenTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# Public headers: the SDK (lumen/*.hpp), the host's engine (lumen/engine/*.hpp) and the
# generated version header with the ABI fingerprint.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/include/lumen
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(FILES ${CMAKE_BINARY_DIR}/core/include/lumen/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lumen)

install(EXPORT LumenTargets
  NAMESPACE Lumen::
  FILE LumenTargets.cmake
  DESTINATION ${LUMEN_CMAKE_INSTALL_DIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/LumenConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/LumenConfig.cmake
  INSTALL_DESTINATION ${LUMEN_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR LUMEN_PLUGIN_INSTALL_DIR)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/LumenConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/LumenConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/LumenConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/LumenPlugin.cmake
  ${PROJECT_SOURCE_DIR}/cmake/LumenWarnings.cmake
  DESTINATION ${LUMEN_CMAKE_INSTALL_DIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/lumen/schemas
  FILES_MATCHING PATTERN "*.json")
