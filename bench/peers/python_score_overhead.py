#!/usr/bin/env python3
"""The cost of one lorahub.score() call from Python against the same lorahub::score() from C++.

Both on the demo hub in one run: the C++ side is build/test/bench/lorahub_bench_score_call
(Google Benchmark, the examples tokenized once), the Python side lorahub.score() with the same
weights on the same five examples (the package tokenizes them on the first call and keeps the
tokens while the examples stay the same). Needs the package installed (pip install .) and
scripts/test.sh's build:

    build/python-venv/bin/python bench/peers/python_score_overhead.py [--repeats 5]
"""

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import lorahub

REPOSITORY = Path(__file__).resolve().parents[2]


def cpp_microseconds(binary: Path) -> float:
    output = subprocess.run([str(binary), "--benchmark_format=json", "--benchmark_min_time=2"], check=True,
                            capture_output=True, text=True).stdout
    (run,) = [b for b in json.loads(output)["benchmarks"] if b["name"].startswith("BM_score_call")]
    assert run["time_unit"] == "us"
    return run["real_time"]


def python_microseconds(calls: int, repeats: int) -> float:
    hub = lorahub.demo_hub(REPOSITORY / "examples" / "demo-hub")
    model = lorahub.load_model(hub.model)
    pool = lorahub.load_pool(model, hub.modules)
    inputs, outputs = hub.task("tally").few_shot()
    weights = [0.1 * (i % 5) - 0.2 for i in range(len(pool))]  # as score_call_bench.cpp
    lorahub.score(model, pool, inputs, outputs, weights)  # tokenizes once
    per_call = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(calls):
            lorahub.score(model, pool, inputs, outputs, weights)
        per_call.append((time.perf_counter() - began) / calls * 1e6)
    return statistics.median(per_call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=REPOSITORY / "build" / "test" / "bench" / "lorahub_bench_score_call")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    cpp = cpp_microseconds(arguments.binary)
    python = python_microseconds(arguments.calls, arguments.repeats)
    print("| caller | us per score() call | ratio to C++ |")
    print("|---|---|---|")
    print(f"| C++ `lorahub::score` | {cpp:.0f} | 1.00 |")
    print(f"| Python `lorahub.score` | {python:.0f} | {python / cpp:.2f} |")
    print(f"\noverhead of the Python call: {python - cpp:.0f} us ({(python - cpp) / cpp * 100:.1f}%)")


if __name__ == "__main__":
    main()
