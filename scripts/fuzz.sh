#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build/fuzz and runs each for SECONDS
# (default 20) on a corpus grown in build/fuzz/corpus/ from the seeds in tests/fuzz/corpus/.
# Prints each target's executions; exits non-zero on any finding (crash, sanitizer report,
# uncaught exception other than lorahub::error), whose input libFuzzer saves in build/fuzz/.
#     scripts/fuzz.sh [SECONDS] [TARGET...]     targets: safetensors zip pickle t5_config peft_config examples llama_config
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors zip pickle t5_config peft_config examples llama_config)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }
cmake -S tests/fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/fuzz -j "$(nproc)" >/dev/null
status=0
passed=0
failed=0
for target in "${targets[@]}"; do
  corpus=build/fuzz/corpus/$target
  mkdir -p "$corpus"
  log=build/fuzz/$target.log
  if build/fuzz/fuzz_"$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix=build/fuzz/"$target"- "$corpus" tests/fuzz/corpus/"$target" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $target: ${seconds} s, $runs executions, no finding"
    passed=$((passed + 1))
  else
    echo "fuzz $target: FINDING, see $log" >&2
    tail -n 30 "$log" >&2
    status=1
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
exit $status
