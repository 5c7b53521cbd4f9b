#!/usr/bin/env bash
# Runs the parallel paths (OpenMP attention, norms, activations and compose; populations
# scored in one pass; one model shared by two threads) under ThreadSanitizer: clang with
# -fsanitize=thread, LLVM's OpenMP runtime (libomp) and its Archer tool, which tells TSan
# about OpenMP's barriers and tasks. Exits non-zero on any report or failed check.
#     scripts/tsan.sh [THREADS]      OpenMP threads (default 4, more than this machine's cores)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-4}
command -v clang++ >/dev/null || { echo "tsan.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }
archer=$(clang++ -print-file-name=libarcher.so)
[ -f "$archer" ] || archer=$(find /usr/lib/llvm-* -name libarcher.so 2>/dev/null | head -n 1)
[ -n "$archer" ] && [ -f "$archer" ] || { echo "tsan.sh: libarcher.so (LLVM OpenMP's TSan tool) is needed (apt-get install libomp-dev)" >&2; exit 1; }
cmake -S tests/tsan -B build/tsan -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/tsan -j "$(nproc)" >/dev/null
# libomp must own the OpenMP symbols: LD_PRELOAD puts it ahead of the libgomp that oneDNN pulls in
libomp=$(dirname "$archer")/libomp.so.5
OMP_NUM_THREADS=$threads OMP_TOOL_LIBRARIES="$archer" ARCHER_OPTIONS=verbose=1 LD_PRELOAD="$libomp" \
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ignore_noninstrumented_modules=1" build/tsan/tsan_parallel_paths --reporter compact |
  tail -n 12
echo "tsan: no data race reported ($threads OpenMP threads)"
