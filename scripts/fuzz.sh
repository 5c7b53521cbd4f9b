#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build/fuzz and runs each for SECONDS
# (default 20), as many at once as there are cores, on a corpus grown in build/fuzz/corpus/
# from the seeds in tests/fuzz/corpus/.
# Prints each target's executions; exits non-zero on any finding (crash, sanitizer report,
# uncaught exception other than lorahub::error), whose input libFuzzer saves in build/fuzz/.
#     scripts/fuzz.sh [SECONDS] [TARGET...]     targets: safetensors zip pickle t5_config peft_config examples llama_config
#                                               tokenizer_json gguf
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors zip pickle t5_config peft_config examples llama_config tokenizer_json gguf)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }
cmake -S tests/fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/fuzz -j "$(nproc)" >/dev/null
# one target per core at a time; each reports when the batch it ran in is done
run_target() {
  local target=$1 corpus=build/fuzz/corpus/$1 log=build/fuzz/$1.log
  mkdir -p "$corpus"
  if build/fuzz/fuzz_"$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix=build/fuzz/"$target"- "$corpus" tests/fuzz/corpus/"$target" >"$log" 2>&1; then
    echo 0 >build/fuzz/"$target".status
  else
    echo 1 >build/fuzz/"$target".status
  fi
}
jobs=$(nproc)
for ((first = 0; first < ${#targets[@]}; first += jobs)); do
  for target in "${targets[@]:first:jobs}"; do run_target "$target" & done
  wait
done
status=0
passed=0
failed=0
for target in "${targets[@]}"; do
  log=build/fuzz/$target.log
  if [ "$(cat build/fuzz/"$target".status)" = 0 ]; then
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
