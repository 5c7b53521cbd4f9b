#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds everything (the CUDA language is
# enabled when nvcc is present), runs every test with CTest, then builds the suite again with
# ASan + UBSan and runs every test but the package consumers and one long statistical comparison
# under them, then runs each
# libFuzzer target for LORAHUB_FUZZ_SECONDS (default 20) so that parser regressions show, then
# runs the parallel paths under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLORAHUB_BUILD_TESTS=ON -DLORAHUB_BUILD_EXAMPLES=ON -DLORAHUB_BUILD_BENCHMARKS=ON
cmake --build build/test -j "$jobs"
ctest --test-dir build/test --output-on-failure -j "$jobs"

cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLORAHUB_SANITIZE=ON \
  -DLORAHUB_BUILD_TESTS=ON -DLORAHUB_BUILD_EXAMPLES=ON -DLORAHUB_BUILD_BENCHMARKS=OFF -DLORAHUB_WITH_CUDA=OFF
cmake --build build/sanitize -j "$jobs"
# the pycma comparison of the restart policies runs 720 searches of up to 10^5 evaluations: a
# quarter of an hour unoptimized; its code paths run under the sanitizers in the other restart tests
ctest --test-dir build/sanitize --output-on-failure -j "$jobs" -E "^package\.|as often and as fast as pycma"

scripts/fuzz.sh "${LORAHUB_FUZZ_SECONDS:-20}"
scripts/tsan.sh
