"""lorahub.arrow: Arrow's routing as an adapter for infer (numerics against PEFT: tests/lora/arrow_test.cpp)."""

import json
import subprocess

import numpy as np
import pytest

import lorahub


def test_routing_among_one_module_at_top_1_predicts_as_that_module(model, hub):
    inputs = hub.task().test()[0][:10]
    one = lorahub.load_pool(model, [hub.modules[6]])
    assert lorahub.infer(model, inputs, adapter=lorahub.arrow(one, top_k=1)) == lorahub.infer(model, inputs, one, np.ones(1))


def test_arrow_predicts_as_the_cli_does(model, pool, hub, cli):
    task = hub.task("sum")
    inputs = task.test()[0]  # all of them, batched as the CLI batches them
    ours = lorahub.infer(model, inputs, adapter=lorahub.arrow(pool, top_k=2, temperature=0.5), max_new_tokens=12)
    done = subprocess.run([cli, "infer", "--task", "sum", "--route", "arrow", "--top-k", "2", "--temperature", "0.5",
                           "--max-new-tokens", "12", "--json"], capture_output=True, text=True,
                          env={"LORAHUB_DEMO_HUB": str(hub.root)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["predictions"] == ours


def test_arrow_refuses_what_it_cannot_do(model, pool, tmp_path):
    with pytest.raises(lorahub.ArgumentError, match="exceeds the 12 modules it routes among"):
        lorahub.arrow(pool, top_k=13)
    with pytest.raises(ValueError, match="top_k: 0 is less than 1"):
        lorahub.arrow(pool, top_k=0)
    with pytest.raises(lorahub.ArgumentError, match="temperature"):
        lorahub.arrow(pool, temperature=0.0)
    routed = lorahub.arrow(pool)
    with pytest.raises(lorahub.ArgumentError, match="routed among LoRA experts per token"):
        routed.save(tmp_path / "arrow")
    assert not (tmp_path / "arrow").exists()
