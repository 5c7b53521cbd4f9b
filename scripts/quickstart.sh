#!/usr/bin/env bash
# Installs missing packages, builds the lorahub CLI, and runs it on the committed fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLORAHUB_BUILD_TESTS=OFF -DLORAHUB_BUILD_BENCHMARKS=OFF -DLORAHUB_BUILD_EXAMPLES=ON
cmake --build build/release -j "$(nproc)" --target lorahub_cli

build/release/examples/lorahub inspect tests/fixtures/io/tiny-t5 tests/fixtures/io/adapters/qv-r4
