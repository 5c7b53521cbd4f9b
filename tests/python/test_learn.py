"""lorahub.learn: bitwise the CLI's search, early stops, starts, selection, saved outputs."""

import json
import subprocess

import numpy as np
import pytest

import lorahub


def cli_learn(cli, hub, task, tmp_path, *flags):
    report = tmp_path / "report.json"
    command = [cli, "learn", "--model", str(hub.model), "--examples", str(hub.task(task).few_shot_path), "--report", str(report), "--quiet"]
    for module in hub.modules:
        command += ["--lora", str(module)]
    subprocess.run(command + list(flags), check=True, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text())


@pytest.mark.parametrize("task, flags, arguments", [
    ("letter_count", ["--seed", "1", "--budget", "40"], dict(seed=1, budget=40)),
    ("sum", ["--seed", "3", "--budget", "30", "--optimizer", "cma-es", "--population", "6"],
     dict(seed=3, budget=30, optimizer="cma_es", population=6)),
    ("several", ["--seed", "2", "--budget", "24", "--optimizer", "random", "--select", "4", "--start", "best-single"],
     dict(seed=2, budget=24, optimizer="random", select=4, start="best_single")),
])
def test_learn_gives_bitwise_the_weights_and_trace_of_the_cli(cli, hub, model, pool, tmp_path, task, flags, arguments):
    expected = cli_learn(cli, hub, task, tmp_path, *flags)
    inputs, outputs = hub.task(task).few_shot()
    result = lorahub.learn(model, pool, inputs, outputs, **arguments)
    assert result.weights.tolist() == expected["weights"]
    assert result.objective == expected["objective"]
    assert result.loss == expected["loss"]
    assert len(result.trace) == expected["evaluations"]
    assert [step.weights.tolist() for step in result.trace] == [step["weights"] for step in expected["trace"]]
    assert [step.objective for step in result.trace] == [step["objective"] for step in expected["trace"]]
    assert result.optimizer == expected["optimizer"] and result.searched == expected["searched"]
    assert result.single_losses == expected["single_losses"]


def test_the_result_is_the_best_evaluation_of_its_trace(model, pool, few_shot):
    result = lorahub.learn(model, pool, *few_shot, budget=25, seed=5)
    best = min(result.trace, key=lambda step: step.objective)
    assert result.objective == best.objective and np.array_equal(result.weights, best.weights)
    assert result.weights.dtype == np.float64 and result.weights.shape == (len(pool),)
    # the objective is upstream's: the loss plus 0.05 * mean |w|
    for step in result.trace:
        assert step.objective == pytest.approx(step.loss + 0.05 * np.mean(np.abs(step.weights)), rel=1e-12)


def test_a_callback_sees_every_evaluation_and_false_stops_the_search(model, pool, few_shot):
    seen = []

    def callback(index, weights, objective):
        seen.append((index, weights.copy(), objective))
        return False if index == 7 else None

    result = lorahub.learn(model, pool, *few_shot, budget=40, callback=callback)
    assert [index for index, _, _ in seen] == list(range(1, 8))
    assert len(result.trace) == 7
    assert all(np.array_equal(w, step.weights) and f == step.objective for (_, w, f), step in zip(seen, result.trace))


def test_an_exception_in_the_callback_reaches_the_caller(model, pool, few_shot):
    def callback(index, weights, objective):
        if index == 3:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lorahub.learn(model, pool, *few_shot, budget=40, callback=callback)


def test_a_regularizer_of_python_replaces_the_l1_penalty(model, pool, few_shot):
    result = lorahub.learn(model, pool, *few_shot, budget=12, regularizer=lambda w: 0.0)
    assert all(step.objective == step.loss for step in result.trace)


def test_start_weights_are_the_first_point(model, pool, few_shot):
    start = np.linspace(-0.5, 0.5, len(pool))
    result = lorahub.learn(model, pool, *few_shot, budget=5, start=start)
    assert np.array_equal(result.trace[0].weights, start)


def test_the_saved_adapter_predicts_what_the_composition_predicts(model, pool, few_shot, hub, tmp_path):
    result = lorahub.learn(model, pool, *few_shot, budget=20, seed=4)
    result.save_adapter(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["peft_type"] == "LORA"
    inputs, outputs = hub.task().test()
    inputs = inputs[:12]
    composed = lorahub.infer(model, inputs, pool, result.weights)
    assert lorahub.infer(model, inputs, adapter=lorahub.load_adapter(tmp_path / "adapter")) == composed
    assert lorahub.infer(model, inputs, adapter=result.adapter) == composed
    with pytest.raises(OSError, match="exists"):
        result.save_adapter(tmp_path / "adapter")
    result.save_adapter(tmp_path / "adapter", force=True)


def test_the_merged_model_predicts_what_the_runtime_lora_predicts(model, pool, few_shot, hub, tmp_path):
    result = lorahub.learn(model, pool, *few_shot, budget=10, seed=6)
    result.save_merged(tmp_path / "merged")
    merged = lorahub.load_model(tmp_path / "merged")
    inputs = hub.task().test()[0][:12]
    assert lorahub.infer(merged, inputs) == lorahub.infer(model, inputs, adapter=result.adapter)


def test_bf16_models_learn_too(hub, few_shot):
    model = lorahub.load_model(hub.model, precision="bf16")
    assert model.precision == "bf16"
    result = lorahub.learn(model, lorahub.load_pool(model, hub.modules), *few_shot, budget=8)
    assert np.isfinite(result.objective) and len(result.trace) == 8
