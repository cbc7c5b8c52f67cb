# cmake -DCXX=<compiler> -DSOURCE=<file> -DINCLUDE=<dir> -DEXPECT=<regex>
#       [-DCASE=<macro>] [-DSTD=<standard>] [-DFIRST=ON] -P expect_compile_error.cmake
# Passes when SOURCE compiles as C++20 without CASE defined (the control: a
# failure is then the one thing under test, not a broken include), and fails to
# compile with CASE defined and/or as STD (default c++20), with a diagnostic
# matching EXPECT. With FIRST=ON the first error printed must be the match.
foreach(v CXX SOURCE INCLUDE EXPECT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "expect_compile_error.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT DEFINED STD)
  set(STD c++20)
endif()
set(flags -fsyntax-only -I${INCLUDE})
set(name "${CASE}")
set(failing -std=${STD})
if(DEFINED CASE)
  list(APPEND failing -D${CASE})
else()
  set(name "-std=${STD}")
endif()

execute_process(COMMAND ${CXX} -std=c++20 ${flags} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the control (C++20, no case defined) does not compile:\n${out}${err}")
endif()

execute_process(COMMAND ${CXX} ${failing} ${flags} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${name}: compiled, but must not")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "${name}: failed to compile, but the diagnostic does not match '${EXPECT}':\n${out}${err}")
endif()
if(FIRST)
  string(REGEX MATCH "[^\n]*error[^\n]*" first "${out}${err}")
  if(NOT first MATCHES "${EXPECT}")
    message(FATAL_ERROR "${name}: the first error is not the expected one '${EXPECT}':\n${out}${err}")
  endif()
endif()
message(STATUS "${name}: rejected, diagnostic matches '${EXPECT}'")
