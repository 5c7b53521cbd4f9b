#!/usr/bin/env python3
"""Upstream LoraHub (pip package `lorahub` 0.1.0, pinned as its cog.yaml pins it) side by side
with this project's `lorahub` CLI on the demo hub. Run it through run_upstream.sh, which makes
the virtualenv. Everything runs on the CPU, one process at a time, with the same threads.

(1) Objective parity: upstream `get_score` vs `lorahub score --json` at fixed weight vectors.
(2) Learning: upstream `lorahub_learning` (budget 40, seeds 1..5) vs `lorahub learn
    --optimizer cobyla` and `--optimizer cma-es`: final objective, held-out accuracy, wall time.

Wrapping, kept minimal: upstream is called with local paths and model_name_or_path given
explicitly; its accuracy is computed from the predictions `lorahub_inference` returns (it only
prints it). Nothing in upstream's algorithm is changed.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import torch
from lorahub.algorithm import (default_get_loss, default_l1_regularization, get_score, load_base_model_and_lora_modules,
                               load_dataset, lorahub_inference, lorahub_learning)
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
WEIGHTS = [None, "zeros", "first", "uniform", "mixed", "negative", "edges"]


def weight_vector(kind, n):
    if kind == "zeros":
        return [0.0] * n
    if kind == "first":
        return [1.0] + [0.0] * (n - 1)
    if kind == "uniform":
        return [1.0 / n] * n
    if kind == "mixed":
        return [round(0.5 * ((i * 37) % 7 - 3) / 3, 4) for i in range(n)]
    if kind == "negative":
        return [-0.3 - 0.05 * i for i in range(n)]
    return [1.5 if i % 2 == 0 else -1.5 for i in range(n)]


def read_jsonl(path):
    rows = [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    return [r["input"] for r in rows], [r["output"] for r in rows]


def ours(lorahub, *args):
    started = time.perf_counter()
    out = subprocess.run([lorahub, *args], check=True, capture_output=True, text=True)
    return out.stdout, time.perf_counter() - started


def accuracy(predictions, answers):
    norm = lambda s: s.strip().lower().replace(".", "")
    return 100.0 * sum(norm(p) == norm(a) for p, a in zip(predictions, answers)) / len(answers)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lorahub", default=str(ROOT / "build/release/examples/lorahub"))
    parser.add_argument("--hub", default=str(ROOT / "examples/demo-hub"))
    parser.add_argument("--task", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--markdown", default=None, help="write the tables to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    hub = pathlib.Path(args.hub)
    manifest = json.loads((hub / "hub.json").read_text())
    task = args.task or manifest["default_task"]
    model_dir = str(hub / manifest["model"])
    modules = [str(hub / m) for m in manifest["modules"]]
    few_shot = str(hub / manifest["tasks"][task]["few_shot"])
    test = str(hub / manifest["tasks"][task]["test"])
    inputs, outputs = read_jsonl(few_shot)
    test_inputs, test_outputs = read_jsonl(test)
    lines = []
    say = lambda text="": (print(text, flush=True), lines.append(text))

    # tokenization: upstream's AutoTokenizer against ours (SentencePiece) on every text used
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(pathlib.Path(model_dir) / "spiece.model"))
    texts = inputs + outputs + test_inputs + test_outputs
    differing = sum(tokenizer(t).input_ids != sp.encode(t) + [1] for t in texts)

    say(f"## Upstream LoraHub side by side ({datetime.date.today().isoformat()})")
    say()
    say(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads for both; "
        f"upstream: lorahub 0.1.0, torch {torch.__version__}, transformers {__import__('transformers').__version__}, "
        f"peft {__import__('peft').__version__}, nevergrad {__import__('nevergrad').__version__}. Demo hub task `{task}`, "
        f"{len(modules)} modules, 5 few-shot and {len(test_inputs)} test examples. Upstream's tokenizer "
        f"({type(tokenizer).__name__}) and SentencePiece disagree on {differing} of {len(texts)} texts.")
    say()
    say("Command: `bench/peers/run_upstream.sh` (makes the pinned virtualenv, builds nothing; needs `scripts/quickstart.sh` first).")
    say()

    # (1) objective parity at fixed weights. Upstream's load_base_model_and_lora_modules wraps one
    # base model for every module, so the cached state dict of the last module aliases the live
    # LoRA parameters and each get_score overwrites it with that call's composition. Each vector
    # is therefore scored on a fresh load (upstream's objective as defined); the drift is shown too.
    say("| weights | upstream get_score (fresh load) | upstream get_score (after one other call) | lorahub score | relative difference (fresh) |")
    say("|---|---|---|---|---|")
    worst = 0.0
    for kind in WEIGHTS[1:]:
        w = weight_vector(kind, len(modules))
        model, tok, cache = load_base_model_and_lora_modules(modules, model_dir)
        dataset = load_dataset(inputs, outputs, tok)
        theirs = get_score(w, model, cache, dataset, None, default_get_loss, default_l1_regularization)
        get_score(weight_vector("first", len(modules)), model, cache, dataset, None, default_get_loss, default_l1_regularization)
        drifted = get_score(w, model, cache, dataset, None, default_get_loss, default_l1_regularization)
        stdout, _ = ours(args.lorahub, "score", "--model", model_dir, *sum([["--lora", m] for m in modules], []),
                         "--examples", few_shot, "--weights", ",".join(map(repr, w)), "--json")
        mine = json.loads(stdout)["objective"]
        difference = abs(mine - theirs) / abs(theirs)
        worst = max(worst, difference)
        say(f"| {kind} | {theirs:.7f} | {drifted:.7f} | {mine:.7f} | {difference:.1e} |")
    say()
    say(f"Largest relative difference: {worst:.1e} (required: <= 1e-4).")
    say()

    # (2) learning, seeds 1..seeds
    rows = []
    for seed in range(1, args.seeds + 1):
        started = time.perf_counter()
        weights, merged, tok = lorahub_learning(modules, inputs, outputs, max_inference_step=40, model_name_or_path=model_dir,
                                                seed=seed)
        learn_seconds = time.perf_counter() - started
        model, tok, cache = load_base_model_and_lora_modules(modules, model_dir)  # fresh: score the result as defined
        objective = get_score(list(weights), model, cache, load_dataset(inputs, outputs, tok), None, default_get_loss,
                              default_l1_regularization)
        predictions = lorahub_inference(test_inputs, merged, tok, 16, test_outputs)
        if isinstance(predictions, tuple):  # the pip release returns (predictions, accuracy)
            predictions = predictions[0]
        rows.append(("upstream (NGOpt)", seed, objective, accuracy(predictions, test_outputs), learn_seconds))
        for optimizer in ("cobyla", "cma-es"):
            out_dir = pathlib.Path(f"/tmp/lorahub-side-by-side/{optimizer}-{seed}")
            stdout, seconds = ours(args.lorahub, "learn", "--model", model_dir, *sum([["--lora", m] for m in modules], []),
                                   "--examples", few_shot, "--optimizer", optimizer, "--seed", str(seed), "--budget", "40",
                                   "--quiet", "--out", str(out_dir), "--report", str(out_dir) + ".json")
            report = json.loads(pathlib.Path(str(out_dir) + ".json").read_text())
            inferred, _ = ours(args.lorahub, "infer", "--model", model_dir, "--adapter", str(out_dir), "--examples", test,
                               "--json", "--max-new-tokens", "256")
            rows.append((f"lorahub {optimizer}", seed, report["objective"], json.loads(inferred)["accuracy"], seconds))
        print(rows[-3:], flush=True)
    say("| implementation | seed | final objective | test accuracy % | learn wall time (s) |")
    say("|---|---|---|---|---|")
    for name, seed, objective, acc, seconds in rows:
        say(f"| {name} | {seed} | {objective:.5f} | {acc:.1f} | {seconds:.1f} |")
    say()
    for name in ("upstream (NGOpt)", "lorahub cobyla", "lorahub cma-es"):
        mine = [r for r in rows if r[0] == name]
        mean = lambda i: sum(r[i] for r in mine) / len(mine)
        say(f"- {name}: mean objective {mean(2):.5f}, mean accuracy {mean(3):.1f}%, mean learn time {mean(4):.1f} s")
    upstream_time = sum(r[4] for r in rows if r[0] == "upstream (NGOpt)")
    cobyla_time = sum(r[4] for r in rows if r[0] == "lorahub cobyla")
    say(f"- learn wall time, upstream / lorahub cobyla (each including model loading): {upstream_time / cobyla_time:.1f}x")
    if args.markdown:
        pathlib.Path(args.markdown).write_text("\n".join(lines) + "\n")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
