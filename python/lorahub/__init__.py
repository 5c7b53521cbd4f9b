"""LoraHub in C++, from Python: compose a pool of LoRA modules for a new task from a few examples.

A base model (Flan-T5, Llama, Mistral, Qwen2: a Hugging Face folder), a pool of PEFT LoRA modules and
a handful of examples of a new task: :func:`learn` searches module weights ``w`` with a
gradient-free optimizer, scoring each ``w`` by the model's loss on the examples of the module
composed as ``A = sum w_i A_i``, ``B = sum w_i B_i``, plus ``0.05 * mean |w|``. The work runs in
C++ (the library's headers), with the GIL released.

    >>> import lorahub
    >>> hub = lorahub.demo_hub()
    >>> model = lorahub.load_model(hub.model)
    >>> pool = lorahub.load_pool(model, hub.modules)
    >>> inputs, outputs = hub.task().few_shot()
    >>> result = lorahub.learn(model, pool, inputs, outputs, budget=40, seed=1)
    >>> result.weights, result.objective

Upstream's API is :mod:`lorahub.compat` (also importable as ``lorahub.algorithm``).
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _core
from ._ask_tell import AskTellDriver
from ._core import ArgumentError, ConfigError, FormatError, ShapeError, UnsupportedError

__all__ = [
    "Adapter", "ArgumentError", "ConfigError", "DemoHub", "Evaluation", "FormatError", "LearnResult", "Model", "Pool",
    "Score", "ShapeError", "Tokenizer", "UnsupportedError", "accuracy", "arrow", "combine", "composers", "demo_hub", "infer", "learn",
    "load_adapter", "load_model", "load_pool", "optimizers", "read_examples", "score",
]
__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]


def optimizers() -> list[str]:
    """The names ``learn(optimizer=...)`` takes (besides an ask/tell object)."""
    return _core.optimizer_names()


def composers() -> list[str]:
    """The names ``composer=`` and ``combine(combination=...)`` take: LoraHub's rule and PEFT's family."""
    return _core.composer_names()


def _policy(name: str, names: Sequence[str], what: str) -> str:
    """`name` as the policy list spells it: "weighted_ab" and "cma_es" find "weighted-ab" and "cma-es"."""
    if name in names:
        return name
    if name.replace("_", "-") in names:
        return name.replace("_", "-")
    raise ValueError(f"{what}: {name!r} is not one of {', '.join(names)}")


def _size(value, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{what}: {value} is less than {minimum}")
    return int(value)


def _texts(values, what: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of strings, not one string")
    texts = list(values)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{what}[{i}] is {type(text).__name__}, not str")
    return texts


def _examples(inputs, outputs) -> tuple[list[str], list[str]]:
    inputs, outputs = _texts(inputs, "inputs"), _texts(outputs, "outputs")
    if len(inputs) != len(outputs):
        raise ValueError(f"examples: {len(inputs)} inputs and {len(outputs)} outputs")
    if not inputs:
        raise ValueError("examples: there are none; scoring needs at least one input and its output")
    return inputs, outputs


class Model:
    """A base model in C++: its family's model on the CPU at ``precision`` (see :func:`load_model`)."""

    def __init__(self, native: _core.Model):
        self._native = native
        self._config: Optional[dict] = None

    @property
    def family(self) -> str:
        """The model family: ``"t5"`` (seq2seq) or ``"llama"`` (Llama, Mistral, Qwen2: causal LMs)."""
        return self._native.family

    @property
    def precision(self) -> str:
        return self._native.precision

    @property
    def path(self) -> Path:
        return self._native.path

    @property
    def config(self) -> dict:
        """The model's ``config.json``, as a dict."""
        if self._config is None:
            with open(self.path / "config.json", encoding="utf-8") as file:
                self._config = json.load(file)
        return dict(self._config)

    @property
    def targets(self) -> list[str]:
        """The layers a LoRA module may adapt, by module name."""
        return self._native.targets

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` as the model's input (T5: with ``</s>`` appended)."""
        return self._native.tokenize(text)

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text of token ids, special tokens skipped (as ``skip_special_tokens=True``)."""
        return self._native.detokenize([int(i) for i in ids])

    def save_merged(self, adapter: "Adapter", out: PathLike, force: bool = False) -> None:
        """Writes a model folder with ``adapter`` merged into the weights (W + s B A), whole or not at all."""
        self._native.save_merged(adapter._native, os.fspath(out), force)

    def __repr__(self) -> str:
        return f"lorahub.Model({str(self.path)!r}, family={self.family!r}, precision={self.precision!r})"


class Tokenizer:
    """A ``tokenizer.json`` (the Hugging Face ``tokenizers`` format) run in C++, giving the ids and
    text ``tokenizers`` gives: BPE models (byte-level as GPT-2, Llama 3 and Qwen2; with byte
    fallback as Mistral), their normalizers, pre-tokenizers, decoders, added tokens and templates.
    ``tokenizer_config.json`` beside the file supplies bos / eos and, for the Llama-family classes,
    ``add_bos_token`` / ``add_eos_token`` as transformers reads them. A part it cannot follow
    exactly raises :class:`UnsupportedError` naming it.

    >>> tokens = Tokenizer("Qwen2-0.5B/tokenizer.json")          # doctest: +SKIP
    >>> tokens.decode(tokens.encode("Hello world"))               # doctest: +SKIP
    'Hello world'
    """

    def __init__(self, path: PathLike):
        path = Path(path)
        self._native = _core.Tokenizer(os.fspath(path / "tokenizer.json" if path.is_dir() else path))

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """The ids of ``text``; with ``add_special_tokens``, the template's (bos / eos) around them."""
        return self._native.encode(text, add_special_tokens)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """The text of ``ids`` (bytes that are not UTF-8 become U+FFFD, as ``tokenizers`` does)."""
        return self._native.decode([int(i) for i in ids], skip_special_tokens)

    def token_to_id(self, token: str) -> Optional[int]:
        return self._native.id_of(token)

    @property
    def bos_id(self) -> Optional[int]:
        return self._native.bos_id

    @property
    def eos_id(self) -> Optional[int]:
        return self._native.eos_id

    @property
    def vocab_size(self) -> int:
        """Ids that have a token: the model's vocabulary and the added tokens beyond it."""
        return self._native.vocabulary_size

    def __repr__(self) -> str:
        return f"lorahub.Tokenizer({str(self._native.path)!r}, vocab_size={self.vocab_size})"


def load_model(path: PathLike, precision: str = "fp32") -> Model:
    """Loads a Hugging Face model folder (``config.json``, safetensors weights, tokenizer).

    ``precision``: ``"fp32"`` (the reference) or ``"bf16"`` (bf16 linear layers, fp32 accumulation).
    The weights are memory-mapped, not copied. Raises FileNotFoundError for a missing folder,
    ValueError (a lorahub error class) for a malformed or unsupported one.
    """
    return Model(_core.load_model(os.fspath(path), precision))


class Pool:
    """N LoRA modules of one structure, stacked per target layer (see :func:`load_pool`)."""

    def __init__(self, native: _core.Pool):
        self._native = native

    def __len__(self) -> int:
        return len(self._native)

    @property
    def names(self) -> list[str]:
        """Module names: each folder's last component."""
        return self._native.names

    @property
    def paths(self) -> list[Path]:
        return self._native.paths

    @property
    def targets(self) -> list[str]:
        """The target layers every module adapts, in file order."""
        return self._native.targets

    def rank(self, target: str) -> int:
        return self._native.rank(target)

    def lora_a(self, target: str) -> np.ndarray:
        """The modules' A matrices at ``target``: a read-only float32 view [N, r, in] of the pool's memory."""
        return self._native.lora_a(target)

    def lora_b(self, target: str) -> np.ndarray:
        """The modules' B matrices at ``target``: a read-only float32 view [N, out, r] of the pool's memory."""
        return self._native.lora_b(target)

    def scaling(self, target: str) -> np.ndarray:
        """Each module's lora_alpha / r at ``target``: a read-only float32 view [N]."""
        return self._native.scaling(target)

    def __repr__(self) -> str:
        return f"lorahub.Pool({len(self)} modules: {', '.join(self.names)})"


def load_pool(model: Optional[Model], paths: Sequence[PathLike], scaling: str = "first-module",
              allow_base_mismatch: bool = False) -> Pool:
    """Loads PEFT LoRA adapter folders, in order, as one pool.

    Modules are checked against ``model`` (None: no model) as the CLI checks them: a module for
    another base model or task type is an error unless ``allow_base_mismatch``; other findings
    (differing ``lora_alpha``) are warnings. ``scaling``: ``"first-module"`` (upstream's rule: the
    composition takes the first module's alpha / r) or ``"per-module"``.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError("paths must be a list of module folders, not one path")
    native, found = _core.load_pool(None if model is None else model._native, [os.fspath(p) for p in paths],
                                    scaling.replace("_", "-"), allow_base_mismatch)
    for warning in found:
        warnings.warn(warning, stacklevel=2)
    return Pool(native)


class Adapter:
    """A LoRA adapter held in C++: a learned composition, a combination, or a loaded PEFT folder."""

    def __init__(self, native: _core.Adapter):
        self._native = native

    @property
    def targets(self) -> list[str]:
        return self._native.targets

    @property
    def rank(self) -> int:
        return self._native.rank

    def save(self, directory: PathLike, force: bool = False) -> None:
        """Writes a PEFT adapter folder (adapter_config.json, adapter_model.safetensors), whole or
        not at all; an existing folder is replaced only with ``force`` and only if lorahub or PEFT wrote it."""
        self._native.save(os.fspath(directory), force)

    def save_gguf(self, path: PathLike, model: Union["Model", PathLike], outtype: str = "f32", force: bool = False) -> None:
        """Writes the adapter as a llama.cpp LoRA GGUF for a Llama-family ``model`` (a :class:`Model` or its
        directory), as ``lorahub export --format gguf`` does: ``llama-cli -m base.gguf --lora path``. llama.cpp's
        per-adapter scales cannot express LoraHub's (sum w B)(sum w A), so this is how llama.cpp runs a
        composition. ``outtype``: "f32" (default), "f16" or "bf16"; an existing file is replaced only with
        ``force`` and only if it is a GGUF LoRA adapter."""
        directory = model.path if isinstance(model, Model) else model
        self._native.save_gguf(os.fspath(path), os.fspath(directory), outtype, force)


def load_adapter(directory: PathLike) -> Adapter:
    """Loads a PEFT LoRA adapter folder (safetensors or the pickle-free subset of ``.bin``)."""
    return Adapter(_core.load_adapter(os.fspath(directory)))


@dataclass(frozen=True)
class Evaluation:
    """One objective evaluation of a search: the weights, their loss and objective (loss + penalty)."""

    weights: np.ndarray
    objective: float
    loss: float
    seconds: float


class LearnResult:
    """What :func:`learn` found: the best weights, their objective and loss, and every evaluation."""

    def __init__(self, native: _core.LearnOutcome, model: Model):
        self._native = native
        self._model = model
        self.weights: np.ndarray = native.weights
        self.objective: float = native.objective
        self.loss: float = native.loss
        self.trace: list[Evaluation] = [Evaluation(e.weights, e.objective, e.loss, e.seconds) for e in native.trace]
        self.optimizer: str = native.optimizer
        self.composer: str = native.composer
        self.module_names: list[str] = native.module_names
        self.searched: list[int] = native.searched
        self.single_losses: list[float] = native.single_losses
        self.seconds: float = native.seconds

    @property
    def adapter(self) -> Adapter:
        """The pool composed with :attr:`weights`."""
        return Adapter(self._native.adapter)

    def save_adapter(self, directory: PathLike, force: bool = False) -> None:
        """Writes the composed adapter as a PEFT folder (what ``lorahub learn --out`` writes)."""
        self.adapter.save(directory, force)

    def save_gguf(self, path: PathLike, outtype: str = "f32", force: bool = False) -> None:
        """Writes the composed adapter as a llama.cpp LoRA GGUF (what ``lorahub learn --gguf`` writes;
        Llama-family models)."""
        self.adapter.save_gguf(path, self._model, outtype, force)

    def save_merged(self, directory: PathLike, force: bool = False) -> None:
        """Writes the base model with the composed adapter merged in (what ``lorahub merge`` writes)."""
        self._model.save_merged(self.adapter, directory, force)

    def __repr__(self) -> str:
        return (f"lorahub.LearnResult(objective={self.objective:.6g}, loss={self.loss:.6g}, "
                f"evaluations={len(self.trace)}, optimizer={self.optimizer!r})")


def _composer(composer: str, density: float, svd_rank: int, svd_clamp: Optional[float], majority_sign: str,
              seed: int) -> _core.Composer:
    name = _policy(composer, composers(), "composer")
    return _core.make_composer(name, float(density), _size(svd_rank, "svd_rank"), svd_clamp, majority_sign, seed)


def _progress_reporter(budget: int):
    """A callback drawing a progress bar (tqdm when installed, else a line on stderr) and its closer."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=budget, desc="lorahub learn", unit="eval")

        def update(index, weights, objective):
            bar.update(1)
            bar.set_postfix(objective=f"{objective:.5f}")

        return update, bar.close
    best = [float("inf")]

    def report(index, weights, objective):
        best[0] = min(best[0], objective)
        sys.stderr.write(f"\r[{index:3d}/{budget}] objective {objective:.5f}  best {best[0]:.5f}")
        sys.stderr.flush()

    return report, lambda: sys.stderr.write("\n")


def learn(model: Model, pool: Pool, inputs: Sequence[str], outputs: Sequence[str], optimizer="cobyla", budget: int = 40,
          seed: int = 42, composer: str = "weighted_ab", start: Union[str, Sequence[float]] = "zero", select: int = 0,
          population: int = 0, batch_size: Optional[int] = None, callback: Optional[Callable] = None, *, starts: int = 1,
          lower: Optional[float] = None, upper: float = 1.5, max_restarts: int = 9, stall_generations: int = 0,
          regularizer: Optional[Callable] = None, density: float = 1.0, svd_rank: int = 0, svd_clamp: Optional[float] = None,
          majority_sign: str = "total", progress: bool = False) -> LearnResult:
    """LoraHub: searches module weights for the task that ``inputs``/``outputs`` show.

    Each candidate ``w`` is scored as upstream LoraHub scores it: the pool composed with ``w`` by
    ``composer``, the model's mean token cross-entropy on the examples (summed over batches of
    ``batch_size``, divided by the number of examples), plus ``0.05 * mean |w|`` (or
    ``regularizer(w)``). Given the same model, modules, examples, optimizer, budget and seed, the
    weights and trace are bitwise those of ``lorahub learn``.

    Args:
        optimizer: a name of :func:`optimizers` (``"cobyla"``, upstream's choice; ``"cma-es"``,
            ``"cma-es-ipop"``, ``"cma-es-bipop"``, ``"nelder-mead"``, ``"random"``), or an object
            with ``ask()`` / ``tell(x, value)`` (nevergrad's and pycma's shape: ``ask()`` returning
            a candidate with ``.value``, one point, or a population of points).
        budget: objective evaluations.
        composer: a name of :func:`composers`; LoraHub's rule ``"weighted_ab"`` by default.
        start: ``"zero"`` (upstream), ``"uniform"``, ``"best-single"``, or one start weight per module.
        select: search only the ``select`` modules of lowest single-module loss (0: all).
        population: points per CMA-ES generation / random-search batch (0: the default).
        batch_size: examples per loss batch (None: all in one batch).
        callback: ``callback(eval_index, weights, objective)`` after every evaluation; returning
            ``False`` stops the search (the best so far is the result).
        starts: searches sharing the budget, the later ones from random points of the box.
        lower, upper: the box of the weights (lower: -1.5, or 0 for the composers defined for w >= 0).
        progress: draw a progress bar (tqdm when installed).

    Ctrl-C raises KeyboardInterrupt after the evaluation under way. Returns a :class:`LearnResult`.
    """
    inputs, outputs = _examples(inputs, outputs)
    made = _composer(composer, density, svd_rank, svd_clamp, majority_sign, seed)
    arguments = _core.LearnArguments()
    if isinstance(optimizer, str):
        arguments.optimizer = _policy(optimizer, optimizers(), "optimizer")
    else:
        arguments.driver = AskTellDriver(optimizer)
        arguments.driver_name = "python:" + type(optimizer).__name__
    arguments.budget = _size(budget, "budget", 1)
    arguments.seed = _size(seed, "seed")
    arguments.population = _size(population, "population")
    arguments.starts = _size(starts, "starts", 1)
    arguments.select = _size(select, "select")
    arguments.batch_size = 0 if batch_size is None else _size(batch_size, "batch_size", 1)
    arguments.max_restarts = _size(max_restarts, "max_restarts")
    arguments.stall_generations = _size(stall_generations, "stall_generations")
    if isinstance(start, str):
        arguments.start = start.replace("_", "-")
    else:
        arguments.start_weights = [float(v) for v in np.asarray(start, dtype=np.float64).ravel()]
    arguments.lower = float(lower) if lower is not None else (0.0 if made.nonnegative_weights else -1.5)
    arguments.upper = float(upper)
    close = None
    if progress:
        report, close = _progress_reporter(arguments.budget)
        user_callback = callback

        def callback(index, weights, objective):
            report(index, weights, objective)
            return None if user_callback is None else user_callback(index, weights, objective)

    try:
        native = _core.learn(model._native, pool._native, inputs, outputs, made, arguments, regularizer, callback)
    finally:
        if close is not None:
            close()
    return LearnResult(native, model)


class Score(NamedTuple):
    objective: float
    loss: float


def score(model: Model, pool: Pool, inputs: Sequence[str], outputs: Sequence[str], weights, *, composer: str = "weighted_ab",
          batch_size: Optional[int] = None, regularizer: Optional[Callable] = None, density: float = 1.0, svd_rank: int = 0,
          svd_clamp: Optional[float] = None, majority_sign: str = "total", seed: int = 42):
    """Scores fixed weights exactly as :func:`learn` scores a candidate.

    ``weights`` [N] gives a :class:`Score` (objective, loss); ``weights`` [P, N] gives a float64
    array [P] of objectives, the P compositions scored together in population passes.
    """
    inputs, outputs = _examples(inputs, outputs)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise ValueError(f"weights: an array [N] or [P, N], not {w.ndim}-dimensional")
    rows = np.ascontiguousarray(w.reshape(1, -1) if w.ndim == 1 else w)
    made = _composer(composer, density, svd_rank, svd_clamp, majority_sign, seed)
    size = 0 if batch_size is None else _size(batch_size, "batch_size", 1)
    objectives, losses = _core.score(model._native, pool._native, inputs, outputs, rows, made, size, regularizer)
    if w.ndim == 1:
        return Score(objectives[0], losses[0])
    return np.asarray(objectives, dtype=np.float64)


def combine(pool: Pool, weights, combination: str = "linear", *, density: float = 1.0, svd_rank: int = 0,
            svd_clamp: Optional[float] = None, majority_sign: str = "total", seed: int = 42) -> Adapter:
    """PEFT's ``add_weighted_adapter`` without torch: the pool's modules combined into one adapter.

    ``combination``: ``"linear"``, ``"cat"``, ``"svd"``, ``"ties"``, ``"ties_svd"``, ``"dare_linear"``,
    ``"dare_ties"``, ``"dare_linear_svd"``, ``"dare_ties_svd"``, ``"magnitude_prune"``,
    ``"magnitude_prune_svd"`` (PEFT's names), or LoraHub's ``"weighted_ab"``. ``density`` for the
    pruning types; ``svd_rank`` (0: the modules' rank) and ``svd_clamp`` for the SVD types;
    ``seed`` for DARE's masks. The result saves with :meth:`Adapter.save`.
    """
    made = _composer(combination, density, svd_rank, svd_clamp, majority_sign, seed)
    w = [float(v) for v in np.asarray(weights, dtype=np.float64).ravel()]
    return Adapter(_core.compose(pool._native, w, made))


def arrow(pool: Pool, top_k: int = 3, temperature: float = 1.0, general: Optional[Pool] = None) -> Adapter:
    """Arrow's zero-shot routing among the pool's modules (PEFT's ``ArrowConfig`` / ``create_arrow_model``),
    as an adapter for :func:`infer`: at every layer each token is routed to the ``top_k`` modules by
    ``|x . v_i|`` (``v_i`` the top right singular vector of ``B_i A_i``) and mixes them by
    ``softmax(score / temperature)``. ``general``: GenKnowSub, the mean A and B of these modules
    subtracted from every module first. The mix differs per token, so the adapter cannot be saved.
    """
    native_general = None if general is None else general._native
    return Adapter(_core.arrow(pool._native, _size(top_k, "top_k", 1), float(temperature), native_general))


def infer(model: Model, inputs: Sequence[str], pool: Optional[Pool] = None, weights=None, *, adapter: Optional[Adapter] = None,
          composer: str = "weighted_ab", max_new_tokens: int = 256, batch_size: int = 16) -> list[str]:
    """Greedy predictions for ``inputs``: with ``pool`` composed by ``weights``, with ``adapter``, or zero-shot."""
    inputs = _texts(inputs, "inputs")
    if pool is not None and adapter is not None:
        raise ValueError("infer: give a pool and weights, or an adapter, not both")
    if (pool is None) != (weights is None):
        raise ValueError("infer: a pool needs its weights (one per module), and weights need a pool")
    native_adapter = None
    if adapter is not None:
        native_adapter = adapter._native
    elif pool is not None:
        native_adapter = combine(pool, weights, composer)._native
    return _core.infer(model._native, inputs, native_adapter, _size(max_new_tokens, "max_new_tokens"), _size(batch_size, "batch_size", 1))


def _normalized(text: str) -> str:
    return text.strip().lower().replace(".", "")


def accuracy(predictions: Sequence[str], outputs: Sequence[str]) -> float:
    """Upstream's accuracy: the percentage of predictions equal to their output after
    ``strip().lower().replace(".", "")``, computed as upstream computes it (correct / total * 100)."""
    predictions, outputs = _texts(predictions, "predictions"), _texts(outputs, "outputs")
    if len(predictions) != len(outputs):
        raise ValueError(f"accuracy: {len(predictions)} predictions and {len(outputs)} outputs")
    if not outputs:
        raise ValueError("accuracy: there are no predictions to score")
    correct = sum(_normalized(p) == _normalized(o) for p, o in zip(predictions, outputs))
    return correct / len(outputs) * 100


def read_examples(path: PathLike) -> tuple[list[str], list[Optional[str]]]:
    """Reads an examples JSONL file ({input, output} or {context, completion} per line) as (inputs, outputs)."""
    return _core.read_examples(os.fspath(path))


@dataclass(frozen=True)
class DemoTask:
    name: str
    few_shot_path: Path
    test_path: Path
    trained_lora: Optional[Path]

    def few_shot(self) -> tuple[list[str], list[str]]:
        """The task's few-shot examples as (inputs, outputs)."""
        return read_examples(self.few_shot_path)

    def test(self) -> tuple[list[str], list[str]]:
        """The task's test examples as (inputs, outputs)."""
        return read_examples(self.test_path)


@dataclass(frozen=True)
class DemoHub:
    """A hub folder described by its hub.json: a base model, a pool of modules, held-out tasks."""

    root: Path
    model: Path
    modules: list[Path]
    default_task: str
    tasks: dict[str, DemoTask]

    def task(self, name: Optional[str] = None) -> DemoTask:
        """The task ``name`` (the hub's default task when None)."""
        wanted = self.default_task if name is None else name
        if wanted not in self.tasks:
            raise KeyError(f"{self.root / 'hub.json'}: has no task {wanted!r} ({', '.join(self.tasks)})")
        return self.tasks[wanted]


def demo_hub(root: Optional[PathLike] = None) -> DemoHub:
    """The embedded demo hub (a tiny Flan-T5-shaped model, 12 trained modules, 4 held-out tasks),
    or the hub at ``root`` / ``$LORAHUB_DEMO_HUB``."""
    if root is None:
        root = os.environ.get("LORAHUB_DEMO_HUB") or Path(__file__).parent / "demo-hub"
    hub = _core.load_hub(os.fspath(root))
    tasks = {name: DemoTask(name, Path(entry["few_shot"]), Path(entry["test"]),
                            None if entry["trained_lora"] is None else Path(entry["trained_lora"]))
             for name, entry in hub["tasks"].items()}
    return DemoHub(Path(hub["root"]), Path(hub["model"]), [Path(m) for m in hub["modules"]], hub["default_task"], tasks)
