"""Upstream LoraHub's API (``lorahub.algorithm`` of the pip package ``lorahub``) over lorahub's C++ core.

``lorahub_learning`` and ``lorahub_inference`` take upstream's arguments, with its defaults, and
return what it returns in the same order. Names resolve as local folders, or offline in the
Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``);
nothing is downloaded. The search is COBYLA, the optimizer nevergrad's NGOpt picks for
LoraHub's budgets, from w = 0 in [-1.5, 1.5].
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional, Sequence, Union

from . import Adapter, Model, accuracy, infer, learn, load_model, load_pool

__all__ = ["ComposedModel", "Tokenizer", "default_get_loss", "default_l1_regularization", "lorahub_inference",
           "lorahub_learning", "resolve_pretrained"]


def default_get_loss(example_dataset, model, batch_size):
    """Upstream's default loss (mean token cross-entropy per batch, summed, divided by the number
    of examples): lorahub computes it in C++, so this function marks the default and is not called."""
    raise NotImplementedError("lorahub computes the default loss in C++; this function only marks it as the default")


def default_l1_regularization(weights):
    """Upstream's regularizer: 0.05 * mean |w_i|."""
    return 0.05 * (sum(abs(x) for x in weights) / len(weights))


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path("~/.cache/huggingface/hub").expanduser()


def resolve_pretrained(name_or_path: Union[str, os.PathLike]) -> Path:
    """A model or adapter name as a folder: a local folder as it is, else its snapshot in the
    Hugging Face cache (``models--ORG--NAME/snapshots/REV``; REV from ``refs/main`` when present,
    else the only snapshot). Raises FileNotFoundError saying where it looked."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = os.fspath(name_or_path)
    cache = _hub_cache()
    repository = cache / ("models--" + name.replace("/", "--"))
    snapshots = repository / "snapshots"
    main = repository / "refs" / "main"
    if main.is_file():
        snapshot = snapshots / main.read_text(encoding="utf-8").strip()
        if snapshot.is_dir():
            return snapshot
    found = sorted(p for p in snapshots.iterdir() if p.is_dir()) if snapshots.is_dir() else []
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise FileNotFoundError(f"{name}: {len(found)} snapshots in {snapshots} and no refs/main to choose one")
    raise FileNotFoundError(f"{name}: not a local folder, and not in the Hugging Face cache (looked for {path.resolve()} "
                            f"and {repository}); lorahub downloads nothing: fetch it first (huggingface-cli download {name})")


def _base_model_of(module: Path) -> str:
    config = module / "adapter_config.json"
    with open(config, encoding="utf-8") as file:
        base = json.load(file).get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{config}: names no base_model_name_or_path; pass model_name_or_path=")
    return base


class Tokenizer:
    """The model's tokenizer as upstream's code uses one: ``tokenizer(text)["input_ids"]``,
    ``encode``, ``decode`` and ``batch_decode`` (special tokens skipped)."""

    def __init__(self, model: Model):
        self.model = model

    def encode(self, text: str) -> List[int]:
        return self.model.tokenize(text)

    def __call__(self, text: Union[str, Sequence[str]], **_ignored):
        if isinstance(text, str):
            return {"input_ids": self.encode(text)}
        return {"input_ids": [self.encode(t) for t in text]}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return self.model.detokenize(ids)

    def batch_decode(self, sequences, skip_special_tokens: bool = True) -> List[str]:
        return [self.decode(ids) for ids in sequences]


class ComposedModel:
    """The base model with the learned composition applied (what upstream's merge_and_unload returns):
    ``lorahub_inference`` runs it; ``save_pretrained`` writes the merged model folder."""

    def __init__(self, model: Model, adapter: Adapter):
        self.model = model
        self.adapter = adapter

    def save_pretrained(self, directory: Union[str, os.PathLike], force: bool = False) -> None:
        self.model.save_merged(self.adapter, directory, force)

    def __repr__(self) -> str:
        return f"lorahub.compat.ComposedModel({self.model!r})"


def lorahub_learning(lora_module_list: List[str],
                     example_inputs: List[str],
                     example_outputs: List[str],
                     max_inference_step: int,
                     model_name_or_path=None,
                     batch_size=None,
                     get_loss=default_get_loss,
                     get_regular=default_l1_regularization,
                     seed=42):
    """Upstream's LoraHub learning: returns (module weights, the composed model, its tokenizer).

    ``get_regular`` may be any function of the weights; ``get_loss`` must stay the default (upstream's
    takes a torch model and dataset, which lorahub does not build).
    """
    if len(lora_module_list) == 0:
        print("> No LoRA modules are provided. Please provide at least one LoRA module.")
        return None, None
    if get_loss is not default_get_loss:
        raise NotImplementedError("get_loss: upstream's loss functions receive a torch model and dataset, which lorahub does not "
                                  "build; lorahub.learn(...) scores with the default loss in C++")
    modules = [resolve_pretrained(name) for name in lora_module_list]
    model = load_model(resolve_pretrained(model_name_or_path if model_name_or_path is not None else _base_model_of(modules[0])))
    pool = load_pool(model, modules)
    regularizer = None if get_regular is default_l1_regularization else get_regular
    result = learn(model, pool, list(example_inputs), list(example_outputs), optimizer="cobyla", budget=max_inference_step,
                   seed=seed, batch_size=batch_size, regularizer=regularizer)
    return result.weights, ComposedModel(model, result.adapter), Tokenizer(model)


def lorahub_inference(example_inputs: List[str],
                      model_or_name_path,
                      tokenizer_or_tokenizer_path,
                      batch_size: int,
                      example_outputs: List[str] = None):
    """Upstream's inference: greedy predictions (256 new tokens at most), printing the accuracy when
    ``example_outputs`` is given. The model is a ComposedModel, a lorahub.Model or a name / folder."""
    if isinstance(model_or_name_path, ComposedModel):
        model, adapter = model_or_name_path.model, model_or_name_path.adapter
    elif isinstance(model_or_name_path, Model):
        model, adapter = model_or_name_path, None
    else:
        model, adapter = load_model(resolve_pretrained(model_or_name_path)), None
    # the tokenizer is the model's own (its folder holds it): tokenizer_or_tokenizer_path is not needed
    predictions = infer(model, list(example_inputs), adapter=adapter, max_new_tokens=256, batch_size=batch_size)
    if example_outputs is not None:
        print("Accuracy: ", accuracy(predictions, example_outputs))
    return predictions
