# Helper functions shared by every module's CMakeLists.txt.

# keel_warnings: the one place compiler warnings are configured.
add_library(keel_warnings INTERFACE)
target_compile_options(keel_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers
  # GCC 12 reports false -Wrestrict positives inside libstdc++ string code at -O3.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
  $<$<BOOL:${KEEL_WERROR}>:-Werror>)

# keel_library(NAME <name> SRCS <files...> DEPS <public deps...> PRIVATE_DEPS <...>)
# Declares keel_<name> with alias keel::<name>, public headers in include/.
function(keel_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(keel_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(keel::${ARG_NAME} ALIAS keel_${ARG_NAME})
  target_include_directories(keel_${ARG_NAME}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(keel_${ARG_NAME} PUBLIC ${ARG_DEPS}
    PRIVATE keel_warnings ${ARG_PRIVATE_DEPS})
endfunction()

# keel_unit_tests: builds every unit-test binary and nothing else (the TSan
# stage of `make test` builds and runs only these).
if(KEEL_BUILD_TESTS AND NOT TARGET keel_unit_tests)
  add_custom_target(keel_unit_tests)
endif()
function(keel_unit_test_target target)
  if(TARGET keel_unit_tests)
    add_dependencies(keel_unit_tests ${target})
  endif()
endfunction()

# keel_test(NAME <name> SRCS <files...> DEPS <deps...> [PREFIX <prefix>])
# A GoogleTest binary registered with ctest under the label "unit". PREFIX is
# prepended to every ctest name (e.g. "ratelimit." so `ctest -R ratelimit` works).
function(keel_test)
  cmake_parse_arguments(ARG "" "NAME;PREFIX" "SRCS;DEPS" ${ARGN})
  if(NOT KEEL_BUILD_TESTS)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} keel_warnings
    GTest::gtest GTest::gmock GTest::gtest_main)
  keel_unit_test_target(${ARG_NAME})
  set(prefix_args)
  if(ARG_PREFIX)
    set(prefix_args TEST_PREFIX ${ARG_PREFIX})
  endif()
  gtest_discover_tests(${ARG_NAME} ${prefix_args} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()
