# Configures and builds a consumer project (Debug: unoptimized, as a user debugging it would, and
# quicker to build than Release), then runs its program, a real LoraHub search with
# an optimizer policy the consumer defines, on the T5 fixtures. Any failing step fails the test.
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
file(REMOVE_RECURSE ${BINARY})
step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G Ninja -DCMAKE_BUILD_TYPE=Debug
     -DCMAKE_PREFIX_PATH=${PREFIX} -DLORAHUB_SOURCE=${LORAHUB_SOURCE})
step(${CMAKE_COMMAND} --build ${BINARY})
step(${BINARY}/consumer ${FIXTURES}/t5/flan-odd ${FIXTURES}/t5/examples.jsonl ${FIXTURES}/t5/pool-0 ${FIXTURES}/t5/pool-1
     ${FIXTURES}/t5/pool-2)
