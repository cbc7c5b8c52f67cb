# cmake -DCXX=<compiler> -DSOURCE=<file> -DINCLUDE=<dir> -DCASE=<macro> -DEXPECT=<regex> -P expect_compile_error.cmake
# Passes when SOURCE compiles without CASE defined, and fails to compile with
# it, with a diagnostic matching EXPECT (the event's name, the signature).
foreach(v CXX SOURCE INCLUDE CASE EXPECT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "expect_compile_error.cmake: -D${v}=... is required")
  endif()
endforeach()
set(flags -std=c++20 -fsyntax-only -I${INCLUDE})

execute_process(COMMAND ${CXX} ${flags} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the control (no case defined) does not compile:\n${out}${err}")
endif()

execute_process(COMMAND ${CXX} ${flags} -D${CASE} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${CASE}: compiled, but must not")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "${CASE}: failed to compile, but the diagnostic does not match '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "${CASE}: rejected, diagnostic matches '${EXPECT}'")
