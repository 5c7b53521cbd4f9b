#!/usr/bin/env python3
"""One LoraHub step side by side in one run: lorahub's fp32 and bf16 CPU step (one process per
precision so that peak RSS is per precision), the oneDNN matmul ceilings of the step's own
shapes measured by that same program, and PyTorch + PEFT fp32 and bf16 as upstream LoraHub runs
the step. Two models: Flan-T5-large's shape (build/test/bench/lorahub_bench_step against
bench/peers/torch_step.py) or, with --llama, TinyLlama-1.1B's shape
(build/test/bench/lorahub_bench_llama_step against bench/peers/torch_llama_step.py).
Prints the markdown table of docs/benchmarks.md.

    python bench/peers/step_side_by_side.py [--llama] [--threads 2]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_llama_step  # noqa: E402
import torch_step  # noqa: E402


def run_ours(bench, benchmark, backend):
    output = subprocess.run([bench, f"--benchmark_filter={benchmark}<cpu::{backend}>", "--benchmark_format=json"],
                            check=True, capture_output=True, text=True).stdout
    row = json.loads(output)["benchmarks"][0]
    return {"seconds": row["real_time"] / 1e3, "gflops": row["GFLOP/s"], "ceiling": row["ceiling_GFLOP/s"],
            "rss": row["peak_RSS_GB"], "rss_ratio": row["RSS/(weights+pool)"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama", action="store_true", help="TinyLlama-1.1B's shape instead of Flan-T5-large's")
    parser.add_argument("--bench", help="default: build/test/bench/lorahub_bench_step (or _llama_step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bench = args.bench or ("build/test/bench/lorahub_bench_llama_step" if args.llama else "build/test/bench/lorahub_bench_step")
    benchmark = "BM_llama_step" if args.llama else "BM_step"
    ours = {"fp32": run_ours(bench, benchmark, "backend"), "bf16": run_ours(bench, benchmark, "bf16_backend")}
    import torch
    torch.set_num_threads(args.threads)
    peer_args = argparse.Namespace(base=False, repeats=args.repeats)
    peer = torch_llama_step if args.llama else torch_step
    theirs = {"fp32": peer.step_seconds(torch.float32, peer_args), "bf16": peer.step_seconds(torch.bfloat16, peer_args)}
    print(f"torch {torch.__version__}, {args.threads} threads")
    print("| precision | lorahub ms/step | useful GFLOP/s | oneDNN ceiling of the step's shapes (GFLOP/s) | of ceiling "
          "| PyTorch + PEFT ms/step | lorahub speed-up | peak RSS (GB) | RSS / (weights + pool) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for precision in ("fp32", "bf16"):
        o, t = ours[precision], theirs[precision]
        print(f"| {precision} | {o['seconds'] * 1e3:.0f} | {o['gflops']:.0f} | {o['ceiling']:.0f} | {100 * o['gflops'] / o['ceiling']:.0f}% "
              f"| {t * 1e3:.0f} | {t / o['seconds']:.2f}x | {o['rss']:.2f} | {o['rss_ratio']:.2f} |")


if __name__ == "__main__":
    main()
