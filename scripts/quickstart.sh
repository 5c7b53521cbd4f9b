#!/usr/bin/env bash
# Installs missing packages, builds the lorahub CLI, and runs the main job on the embedded
# demo hub: learn module weights for a held-out task from its 5 examples, then compare
# zero-shot and LoraHub accuracy on the task's 100 test examples.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLORAHUB_BUILD_TESTS=OFF -DLORAHUB_BUILD_BENCHMARKS=OFF -DLORAHUB_BUILD_EXAMPLES=ON
cmake --build build/release -j "$(nproc)" --target lorahub_cli lorahub_demo_results \
  compose_and_score custom_optimizer merge_kernels

lorahub=build/release/examples/lorahub
task=${LORAHUB_TASK:-add_three}
out=build/demo/$task
mkdir -p "$out"
"$lorahub" learn --task "$task" --out "$out/adapter" --report "$out/report.json" --plot "$out/search.svg"
echo
echo "task $task: zero-shot base model"
"$lorahub" infer --task "$task" --summary
echo "task $task: LoraHub (COBYLA, budget 40) composition of the demo hub's modules"
"$lorahub" infer --task "$task" --adapter "$out/adapter" --summary
echo
echo "report: $out/report.json, plot: $out/search.svg, composed PEFT adapter: $out/adapter"
