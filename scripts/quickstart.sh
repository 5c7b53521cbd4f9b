#!/usr/bin/env bash
# Installs missing packages, builds the lorahub CLI, and runs the main job on the embedded
# demo hub: `lorahub eval` learns module weights for each held-out task from its 5 examples
# (LoraHub, COBYLA, budget 40, seeds 1..5; with all 12 modules as upstream, and searching only
# the 3 modules with the lowest loss alone) and compares the test accuracy with zero-shot, ICL,
# the uniform average, the best single module and a LoRA trained on the task; then
# `lorahub learn` writes one composed adapter, its report and a plot of the search.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLORAHUB_BUILD_TESTS=OFF -DLORAHUB_BUILD_BENCHMARKS=OFF -DLORAHUB_BUILD_EXAMPLES=ON
cmake --build build/release -j "$(nproc)" --target lorahub_cli

lorahub=build/release/examples/lorahub
out=build/demo
mkdir -p "$out"
echo "lorahub eval on the demo hub (accuracy % on 100 test examples per task; LoraHub: mean over 5 seeds):"
"$lorahub" eval --select 0,3 --quiet --json "$out/eval.json" --svg "$out/eval.svg"
task=${LORAHUB_TASK:-letter_count}
"$lorahub" learn --task "$task" --quiet --force --out "$out/$task/adapter" --report "$out/$task/report.json" --plot "$out/$task/search.svg" >/dev/null
echo
echo "every number per seed: $out/eval.json, chart: $out/eval.svg"
echo "task $task: composed PEFT adapter $out/$task/adapter, report $out/$task/report.json, search plot $out/$task/search.svg"
