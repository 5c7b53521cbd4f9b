# Configures, builds and runs a consumer project; any failing step fails the test.
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
file(REMOVE_RECURSE ${BINARY})
step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G Ninja -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_PREFIX_PATH=${PREFIX} -DLORAHUB_SOURCE=${LORAHUB_SOURCE})
step(${CMAKE_COMMAND} --build ${BINARY})
step(${BINARY}/consumer ${FIXTURE})
