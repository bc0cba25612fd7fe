# Warning flags for every Lumen target (the SDK's lumen_add_plugin applies the same set).
function(lumen_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual)
  # GCC 12 reports false -Wrestrict errors inside libstdc++ for `"text" + std::string` at -O2
  # (GCC bug 105329); the warning says nothing about our code there.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(LUMEN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
