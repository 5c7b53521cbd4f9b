"""lorahub.compat: upstream's lorahub_learning / lorahub_inference, names resolved offline."""

import json
import shutil

import numpy as np
import pytest

import lorahub
from lorahub.compat import lorahub_inference, lorahub_learning, resolve_pretrained

MODEL_NAME = "lorahub-demo/flan-t5-demo"


@pytest.fixture()
def hf_home(hub, tmp_path, monkeypatch):
    """The demo hub laid out as the Hugging Face cache lays out downloads, under $HF_HOME."""
    home = tmp_path / "hf"
    cache = home / "hub"

    def place(name, source, edit=None):
        repository = cache / ("models--" + name.replace("/", "--"))
        snapshot = repository / "snapshots" / "0123456789abcdef"
        shutil.copytree(source, snapshot)
        (repository / "refs").mkdir(parents=True)
        (repository / "refs" / "main").write_text("0123456789abcdef")
        if edit:
            edit(snapshot)

    def rebase(snapshot):
        config = json.loads((snapshot / "adapter_config.json").read_text())
        config["base_model_name_or_path"] = MODEL_NAME
        (snapshot / "adapter_config.json").write_text(json.dumps(config))

    place(MODEL_NAME, hub.model)
    for module in hub.modules:
        place("lorahub/demo-" + module.name, module, rebase)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return home


def test_upstreams_example_runs_unchanged_on_cached_modules(hf_home, hub, model, pool, capsys):
    # upstream's example.py main(), with the demo hub's modules and task for the BBH ones
    modules = ["lorahub/demo-" + path.name for path in hub.modules]
    example_inputs, examples_outputs = hub.task().few_shot()
    module_weights, model_back, tokenizer = lorahub_learning(lora_module_list=modules,
                                                             example_inputs=example_inputs,
                                                             example_outputs=examples_outputs,
                                                             max_inference_step=40,
                                                             batch_size=5)
    expected = lorahub.learn(model, pool, example_inputs, examples_outputs, budget=40, seed=42, batch_size=5)
    assert np.array_equal(module_weights, expected.weights)

    example_inputs, examples_outputs = hub.task().test()
    example_inputs, examples_outputs = example_inputs[:20], examples_outputs[:20]
    example_predictions = lorahub_inference(example_inputs=example_inputs,
                                            model_or_name_path=model_back,
                                            tokenizer_or_tokenizer_path=tokenizer,
                                            batch_size=10,
                                            example_outputs=examples_outputs)
    assert example_predictions == lorahub.infer(model, example_inputs, pool, expected.weights)
    accuracy = lorahub.accuracy(example_predictions, examples_outputs)
    assert f"Accuracy:  {accuracy}" in capsys.readouterr().out


def test_upstreams_import_path_and_signature():
    import inspect

    from lorahub.algorithm import lorahub_learning as aliased
    assert aliased is lorahub_learning
    parameters = inspect.signature(lorahub_learning).parameters
    assert list(parameters) == ["lora_module_list", "example_inputs", "example_outputs", "max_inference_step",
                                "model_name_or_path", "batch_size", "get_loss", "get_regular", "seed"]
    assert parameters["seed"].default == 42 and parameters["batch_size"].default is None
    assert list(inspect.signature(lorahub_inference).parameters) == [
        "example_inputs", "model_or_name_path", "tokenizer_or_tokenizer_path", "batch_size", "example_outputs"]


def test_a_name_not_there_says_where_it_looked(hf_home):
    with pytest.raises(FileNotFoundError, match="models--lorahub--absent"):
        resolve_pretrained("lorahub/absent")


def test_local_folders_and_a_regularizer_of_the_weights(hub, model, pool):
    inputs, outputs = hub.task().few_shot()
    weights, composed, tokenizer = lorahub_learning([str(m) for m in hub.modules], inputs, outputs, 12,
                                                    model_name_or_path=str(hub.model), get_regular=lambda w: 0.0)
    expected = lorahub.learn(model, pool, inputs, outputs, budget=12, regularizer=lambda w: 0.0)
    assert np.array_equal(weights, expected.weights)
    assert tokenizer.decode(tokenizer("hello")["input_ids"]) == "hello"


def test_a_loss_function_of_torch_is_refused(hub):
    with pytest.raises(NotImplementedError, match="get_loss"):
        lorahub_learning([str(hub.modules[0])], ["a"], ["b"], 5, model_name_or_path=str(hub.model), get_loss=lambda *a: 0.0)


def test_no_modules_returns_what_upstream_returns(capsys):
    assert lorahub_learning([], ["a"], ["b"], 5) == (None, None)
