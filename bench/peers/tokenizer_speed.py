#!/usr/bin/env python3
"""Tokens per second of lorahub.Tokenizer (C++) against pip tokenizers (Rust), one thread each.

Both run the same tokenizer.json in one process, alternately, on the same texts: Qwen's real
151,643-token vocabulary (tests/fixtures/make_qwen_vocabulary.py lays it out as Qwen2's file) and
the committed small kinds (tests/fixtures/tokenizer_json). Two workloads: one long document (the
hard-case corpus repeated to ~1 MB: per-call costs vanish) and many short texts, one call each
(LoraHub's examples; the Python call costs of both libraries count). RAYON_NUM_THREADS=1 keeps
tokenizers on one thread (a single encode() is single-threaded anyway). Also the load time.

    RAYON_NUM_THREADS=1 build/python-venv/bin/python bench/peers/tokenizer_speed.py [--repeats 5]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402

import lorahub  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY / "tests" / "fixtures"))
sys.path.insert(0, str(REPOSITORY / "tests" / "python"))
import make_qwen_vocabulary  # noqa: E402
import make_tokenizer_json_fixtures  # noqa: E402
from test_tokenizer import hard_texts  # noqa: E402


def best_seconds(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def measure(path: Path, repeats: int):
    start = time.perf_counter()
    ours = lorahub.Tokenizer(path)
    our_load = time.perf_counter() - start
    start = time.perf_counter()
    theirs = tokenizers.Tokenizer.from_file(str(path))
    their_load = time.perf_counter() - start

    short = make_tokenizer_json_fixtures.CASES + make_tokenizer_json_fixtures.CORPUS + hard_texts(2000)
    document = "\n".join(short)
    document = document * max(1, (1 << 20) // len(document.encode()))
    tokens_document = len(theirs.encode(document, add_special_tokens=False).ids)
    tokens_short = sum(len(theirs.encode(t, add_special_tokens=False).ids) for t in short)
    assert ours.encode(document) == theirs.encode(document, add_special_tokens=False).ids

    rows = []
    for name, tokens, our_run, their_run in [
        ("1 MB document", tokens_document, lambda: ours.encode(document), lambda: theirs.encode(document, add_special_tokens=False)),
        (f"{len(short)} short texts", tokens_short, lambda: [ours.encode(t) for t in short],
         lambda: [theirs.encode(t, add_special_tokens=False) for t in short]),
    ]:
        our_best, their_best = [], []
        for _ in range(repeats):  # alternate, so that host drift hits both
            our_best.append(best_seconds(our_run, 1)[0])
            their_best.append(best_seconds(their_run, 1)[0])
        ours_rate, theirs_rate = tokens / min(our_best), tokens / min(their_best)
        rows.append((name, ours_rate, theirs_rate))
    return our_load, their_load, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"tokenizers {tokenizers.__version__}, RAYON_NUM_THREADS={os.environ['RAYON_NUM_THREADS']}, best of {args.repeats}")
    print("| tokenizer.json | workload | lorahub tokens/s | tokenizers tokens/s | ratio |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        paths = [("Qwen (151,646 tokens)", make_qwen_vocabulary.make(folder))]
        paths += [(kind, REPOSITORY / "tests/fixtures/tokenizer_json" / kind / "tokenizer.json")
                  for kind in ("llama3", "mistral-v03")]
        loads = []
        for label, path in paths:
            our_load, their_load, rows = measure(path, args.repeats)
            loads.append((label, our_load, their_load))
            for name, ours_rate, theirs_rate in rows:
                print(f"| {label} | {name} | {ours_rate:,.0f} | {theirs_rate:,.0f} | {ours_rate / theirs_rate:.2f}x |")
    for label, our_load, their_load in loads:
        print(f"load {label}: lorahub {our_load * 1000:.0f} ms, tokenizers {their_load * 1000:.0f} ms")


if __name__ == "__main__":
    main()
