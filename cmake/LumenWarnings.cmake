# Warning flags for every Lumen target (the SDK's lumen_add_plugin applies the same set).
function(lumen_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual)
  if(LUMEN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
