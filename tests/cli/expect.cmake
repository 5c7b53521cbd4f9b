# expect(NAME CODE PATTERN ARGS...): runs ${LORAHUB} ARGS..., checks the exit code and that
# stdout + stderr match PATTERN. Leaves stdout in `last_output` and stderr in `last_error`.
function(expect name code pattern)
  execute_process(COMMAND ${LORAHUB} ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 900)
  if(NOT result STREQUAL "${code}")
    message(SEND_ERROR "${name}: exit ${result}, expected ${code}\nstdout: ${out}\nstderr: ${err}")
  elseif(NOT "${out}${err}" MATCHES "${pattern}")
    message(SEND_ERROR "${name}: output does not match '${pattern}'\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
  set(last_error "${err}" PARENT_SCOPE)
endfunction()
