#!/usr/bin/env python3
"""When do CMA-ES's IPOP / BIPOP restarts first change a LoraHub search?

Runs `lorahub learn` on every task of a hub with plain CMA-ES and with each restart policy,
for several budgets and seeds, and compares the traces: the searches are identical until the
first restart fires (same seed, same first run), so the first evaluation at which a restart
policy's trace leaves plain CMA-ES's is when its first restart fired. Prints a markdown table
per stall setting: for each budget, the runs in which a restart fired, the median evaluation
of the first one, and the mean best objective of each policy.

    python3 bench/restart_budgets.py --lorahub build/release/examples/lorahub \
        --budgets 40,200,1000,5000 --seeds 3 [--stall-generations 0,10] [--hub examples/demo-hub]
"""
import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path


def learn(lorahub, hub, task, optimizer, budget, seed, stall, out):
    report = out / f"{task}-{optimizer}-{budget}-{seed}-{stall}.json"
    command = [lorahub, "learn", "--task", task, "--optimizer", optimizer, "--budget", str(budget), "--seed", str(seed),
               "--quiet", "--report", str(report)]
    if optimizer != "cma-es" and stall:
        command += ["--stall-generations", str(stall)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={"LORAHUB_DEMO_HUB": str(hub), "PATH": "/usr/bin:/bin"})
    return json.loads(report.read_text())


def first_difference(plain, restarted):
    for a, b in zip(plain["trace"], restarted["trace"]):
        if a["weights"] != b["weights"]:
            return a["evaluation"]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lorahub", required=True)
    parser.add_argument("--hub", default=str(Path(__file__).resolve().parent.parent / "examples" / "demo-hub"))
    parser.add_argument("--budgets", default="40,200,1000,5000")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--stall-generations", default="0,10")
    args = parser.parse_args()
    hub = Path(args.hub).resolve()
    tasks = list(json.loads((hub / "hub.json").read_text())["tasks"])
    budgets = [int(b) for b in args.budgets.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        for stall in [int(s) for s in args.stall_generations.split(",")]:
            print(f"\n{'no stall trigger (pycma defaults)' if stall == 0 else f'--stall-generations {stall}'}, "
                  f"{len(tasks)} tasks x {args.seeds} seeds:\n")
            print("| budget | IPOP: runs with a restart | first restart at (median eval.) | BIPOP: runs with a restart | first restart at | "
                  "mean objective CMA-ES | IPOP | BIPOP |")
            print("|---|---|---|---|---|---|---|---|")
            for budget in budgets:
                row = {"cma-es-ipop": [], "cma-es-bipop": []}
                objectives = {"cma-es": [], "cma-es-ipop": [], "cma-es-bipop": []}
                for task in tasks:
                    for seed in range(1, args.seeds + 1):
                        plain = learn(args.lorahub, hub, task, "cma-es", budget, seed, stall, out)
                        objectives["cma-es"].append(plain["objective"])
                        for policy in row:
                            restarted = learn(args.lorahub, hub, task, policy, budget, seed, stall, out)
                            objectives[policy].append(restarted["objective"])
                            row[policy].append(first_difference(plain, restarted))
                runs = len(tasks) * args.seeds
                cells = []
                for policy in row:
                    fired = [e for e in row[policy] if e is not None]
                    cells += [f"{len(fired)} of {runs}", f"{statistics.median(fired):.0f}" if fired else "-"]
                means = [f"{statistics.mean(objectives[p]):.4f}" for p in objectives]
                print(f"| {budget} | " + " | ".join(cells + means) + " |", flush=True)


if __name__ == "__main__":
    main()
