# oneDNN, nlohmann/json, SentencePiece, NLopt, CLI11 and the standard library take about 6 s of
# parsing per translation unit on a 2-core host: lorahub's own programs (CLI, examples, tests)
# parse them once per target instead. Eigen is left out: GCC 12 drops the diagnostic pragmas
# of a precompiled header, and core/eigen.hpp's pragmas are what keep Eigen's false
# -Wmaybe-uninitialized reports out of the build. The library's users are not affected, and the header
# self-containment check (tests/, lorahub_header_check) builds without it.
set(lorahub_precompiled_headers
  <oneapi/dnnl/dnnl.hpp> <nlohmann/json.hpp> <sentencepiece_processor.h> <nlopt.h>
  <algorithm> <chrono> <filesystem> <functional> <iostream> <map> <random> <regex> <span>
  <string> <unordered_map> <variant> <vector>)

# lorahub_precompile_headers(target [extra headers...]): target parses the list above once.
function(lorahub_precompile_headers target)
  if(LORAHUB_PRECOMPILE_HEADERS)
    target_precompile_headers(${target} PRIVATE ${lorahub_precompiled_headers} ${ARGN})
  endif()
endfunction()
