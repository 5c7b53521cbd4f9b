"""lorahub.infer, accuracy, combine; model basics and errors."""

import numpy as np
import pytest

import lorahub


def test_accuracy_is_upstreams_arithmetic():
    # upstream computes correct / total * 100, which is not 100 * correct / total in floating point
    assert lorahub.accuracy(["(A)", "b", "c"], [" (a). ", "x", "y"]) == 1 / 3 * 100
    assert lorahub.accuracy(["Yes."], ["yes"]) == 100.0


def test_zero_weights_predict_as_the_base_model(model, pool, hub):
    inputs = hub.task().test()[0][:10]
    assert lorahub.infer(model, inputs, pool, np.zeros(len(pool))) == lorahub.infer(model, inputs)


def test_combine_linear_of_one_module_predicts_as_that_module(model, pool, hub):
    inputs = hub.task().test()[0][:10]
    one_hot = np.zeros(len(pool))
    one_hot[5] = 1.0
    alone = lorahub.infer(model, inputs, adapter=lorahub.load_adapter(hub.modules[5]))
    assert lorahub.infer(model, inputs, adapter=lorahub.combine(pool, one_hot, "linear")) == alone
    assert lorahub.infer(model, inputs, pool, one_hot) == alone


def test_combine_saves_an_adapter_of_peft_layout(pool, tmp_path):
    adapter = lorahub.combine(pool, np.full(len(pool), 0.5), "ties", density=0.5)
    adapter.save(tmp_path / "ties")
    loaded = lorahub.load_adapter(tmp_path / "ties")
    assert loaded.targets == adapter.targets and loaded.rank == adapter.rank
    assert (tmp_path / "ties" / "adapter_model.safetensors").is_file()
    cat = lorahub.combine(pool, np.ones(len(pool)), "cat")
    assert cat.rank == len(pool) * pool.rank(pool.targets[0])


def test_model_basics(model, hub):
    assert model.family == "t5" and model.precision == "fp32"
    assert model.config["model_type"] == "t5" and model.config["d_model"] == 128
    ids = model.tokenize("hello world")
    assert ids[-1] == model.config["eos_token_id"] and model.detokenize(ids) == "hello world"
    assert "encoder.block.0.layer.0.SelfAttention.q" in model.targets


@pytest.mark.parametrize("call, error, message", [
    (lambda m, p: lorahub.load_model("/nonexistent/model"), FileNotFoundError, "config.json"),
    (lambda m, p: lorahub.load_model(p.paths[0]), FileNotFoundError, "config.json"),
    (lambda m, p: lorahub.load_model(m.path, precision="fp8"), ValueError, "fp8"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], optimizer="adam"), ValueError, "cobyla"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], composer="mean"), ValueError, "weighted-ab"),
    (lambda m, p: lorahub.learn(m, p, "abc", "def"), TypeError, "not one string"),
    (lambda m, p: lorahub.learn(m, p, ["a", "b"], ["c"]), ValueError, "2 inputs and 1 outputs"),
    (lambda m, p: lorahub.learn(m, p, [], []), ValueError, "none"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], budget=-1), ValueError, "budget"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], budget=10**9), ValueError, "limit"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], start="middle"), ValueError, "middle"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], start=[0.0] * 3), ValueError, "3 start weights"),
    (lambda m, p: lorahub.learn(m, p, ["a"], ["b"], optimizer=object()), TypeError, "ask"),
    (lambda m, p: lorahub.infer(m, ["a"], p), ValueError, "weights"),
    (lambda m, p: lorahub.combine(p, [1.0] * len(p), "ties", density=1.5), ValueError, "density"),
])
def test_bad_inputs_are_python_errors_that_name_the_problem(model, pool, call, error, message):
    with pytest.raises(error, match=message):
        call(model, pool)
