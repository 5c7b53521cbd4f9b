#!/usr/bin/env python3
"""Makes a large synthetic hub: the demo hub's 12 modules among distractors, for measuring
LoraHub, module selection and Arrow against the size of the pool (docs/results.md, "Large hubs").

Each distractor is one of the 12 real modules with the rows of its B and the columns of its A
permuted at random (per target, seeded): dW' = P_out dW P_in has the real module's singular values
and norm, so it is as strong as a trained module, but points in unrelated directions, so no task
gains from it. The real modules keep their names and sit at random places in the list; the hub's
tasks, few-shot and test files and trained LoRAs are the demo hub's (referenced, not copied).

    python bench/make_large_hub.py OUT_DIR N [--seed S]      (numpy and safetensors)

OUT_DIR/hub.json is a hub manifest `lorahub eval --hub OUT_DIR` reads. At N = 500 the hub holds
about 74 MB of modules: generate it under build/, do not commit it.
"""
import argparse
import json
import pathlib
import shutil

import numpy as np
from safetensors.numpy import load_file, save_file

DEMO = pathlib.Path(__file__).resolve().parent.parent / "examples" / "demo-hub"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("n", type=int, help="modules in all (at least the demo hub's 12)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    demo = json.loads((DEMO / "hub.json").read_text())
    real = demo["modules"]
    if args.n < len(real):
        raise SystemExit(f"N must be at least {len(real)}")
    rng = np.random.default_rng(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    (args.out / "modules").mkdir(parents=True)
    names = []
    for module in real:
        shutil.copytree(DEMO / module, args.out / module)
        names.append(module)
    for index in range(args.n - len(real)):
        source = real[index % len(real)]
        tensors = load_file(str(DEMO / source / "adapter_model.safetensors"))
        permuted = {}
        for key in sorted(tensors):
            if ".lora_A." in key:
                a = tensors[key]
                b_key = key.replace(".lora_A.", ".lora_B.")
                b = tensors[b_key]
                permuted[key] = np.ascontiguousarray(a[:, rng.permutation(a.shape[1])])
                permuted[b_key] = np.ascontiguousarray(b[rng.permutation(b.shape[0]), :])
        name = f"modules/distractor-{index:03d}"
        (args.out / name).mkdir()
        save_file(permuted, str(args.out / name / "adapter_model.safetensors"))
        shutil.copy(DEMO / source / "adapter_config.json", args.out / name / "adapter_config.json")
        names.append(name)
    order = rng.permutation(len(names))
    tasks = {}
    for task, entry in demo["tasks"].items():
        tasks[task] = {key: str((DEMO / entry[key]).resolve()) for key in ("few_shot", "test", "trained_lora") if key in entry}
    manifest = {"model": str((DEMO / demo["model"]).resolve()), "modules": [names[i] for i in order],
                "default_task": demo["default_task"], "tasks": tasks,
                "made_by": f"bench/make_large_hub.py {args.n} --seed {args.seed}: the demo hub's 12 modules among "
                           f"{args.n - len(real)} permuted copies"}
    (args.out / "hub.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{args.out}: {args.n} modules ({len(real)} real), {len(tasks)} tasks")


if __name__ == "__main__":
    main()
