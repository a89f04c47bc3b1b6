# Small helpers so every target gets the same warnings and folder layout.

# flowdesign_warnings(target): warnings on, per target (not global flags).
function(flowdesign_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
endfunction()

# flowdesign_library(name SOURCES ...): a static library flowdesign_<name> with alias flowdesign::<name>.
function(flowdesign_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(flowdesign_${name} STATIC ${ARG_SOURCES})
  add_library(flowdesign::${name} ALIAS flowdesign_${name})
  target_include_directories(flowdesign_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(flowdesign_${name} PUBLIC ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  flowdesign_warnings(flowdesign_${name})
endfunction()
