"""`lorahub export --format gguf` (and learn / combine --gguf) read back with gguf-py, llama.cpp's
own Python reader, and compared with the numpy reference of tests/fixtures/make_gguf_fixtures.py:
every metadata key with its GGUF type and value, every tensor's name, ne and type in file order,
every value, and the bytes gguf-py's writer gives the same contents. Needs only the CLI
($LORAHUB_CLI), gguf, numpy and safetensors (not the lorahub package)."""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LLAMA = FIXTURES / "llama"
CASES = sorted(path.name[: -len(".expected.json")] for path in (FIXTURES / "gguf").glob("*.expected.json"))

sys.path.insert(0, str(FIXTURES))
import make_gguf_fixtures as reference  # noqa: E402  (the numpy reference, independent of lorahub)


def run(cli, *args):
    done = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def read_back(path):
    """(metadata [(key, type name, value)], tensors [(name, ne, type name, float32 values)]) as gguf-py reads them."""
    reader = gguf.GGUFReader(path)
    metadata = []
    for field in list(reader.fields.values())[3:]:  # after GGUF.version, GGUF.tensor_count, GGUF.kv_count
        metadata.append((field.name, field.types[0].name, field.contents()))
    tensors = []
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        values = values.reshape(list(reversed([int(n) for n in tensor.shape])))
        tensors.append((tensor.name, [int(n) for n in tensor.shape], tensor.tensor_type.name, values))
    return metadata, tensors


def compare(path, metadata, tensors, outtype):
    got_metadata, got_tensors = read_back(path)
    assert [(k, t) for k, t, _ in got_metadata] == [(k, t) for k, t, _ in metadata]
    for (key, _, got), (_, _, want) in zip(got_metadata, metadata):
        assert got == pytest.approx(want) if isinstance(want, float) else got == want, key
    assert [(name, ne, kind) for name, ne, kind, _ in got_tensors] == [
        (name, list(reversed(values.shape)), reference.GGML[outtype].name) for name, _, values in tensors
    ]
    for (name, _, _, got), (_, _, want) in zip(got_tensors, tensors):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("case", CASES)
def test_export_matches_the_numpy_reference(cli, tmp_path, case):
    expected = json.loads((FIXTURES / "gguf" / f"{case}.expected.json").read_text())
    out = tmp_path / f"{case}.gguf"
    said = run(cli, "export", "--format", "gguf", "--model", FIXTURES / expected["model"], "--outtype", expected["outtype"],
               FIXTURES / expected["adapter"], out)
    assert f"{len(expected['tensors']) // 2} LoRA pairs" in said
    arch, metadata, tensors, folded = reference.reference(FIXTURES / expected["adapter"], FIXTURES / expected["model"],
                                                          expected["outtype"], Path(expected["adapter"]).name)
    assert folded == expected["folded"]
    compare(out, metadata, tensors, expected["outtype"])
    # the committed table agrees, and the bytes are those gguf-py's writer gives the same contents
    stored = safetensors_numpy.load_file(str(FIXTURES / "gguf" / f"{case}.expected.safetensors"))
    for name, _, values in tensors:
        np.testing.assert_array_equal(stored[name], values)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected["gguf_py_sha256"]


def base_shapes(model_dir):
    """The base model's weight shapes by GGUF name, as llama.cpp's converter names them."""
    shapes = {}
    for part in sorted(Path(model_dir).glob("model*.safetensors")):
        for name, values in safetensors_numpy.load_file(str(part)).items():
            match = re.fullmatch(r"model\.layers\.(\d+)\.(.+)\.weight", name)
            if match and match.group(2) in reference.PROJECTIONS:
                shapes[f"blk.{match.group(1)}.{reference.PROJECTIONS[match.group(2)]}.weight"] = values.shape
    return shapes


@pytest.mark.parametrize("case", CASES)
def test_llama_cpp_would_load_it_and_compute_peft_s_update(cli, tmp_path, case):
    """src/llama-adapter.cpp's checks against the base model's weights, and its update
    alpha / r * B A equal to PEFT's scaling * B A, rows of q and k permuted as the converter
    permutes the base weights."""
    expected = json.loads((FIXTURES / "gguf" / f"{case}.expected.json").read_text())
    model_dir, adapter = FIXTURES / expected["model"], FIXTURES / expected["adapter"]
    out = tmp_path / f"{case}.gguf"
    run(cli, "export", "--model", model_dir, adapter, out)  # f32: the update compared without rounding
    metadata, tensors = read_back(out)
    values = {key: value for key, _, value in metadata}
    assert values["general.type"] == "adapter" and values["adapter.type"] == "lora"
    model = json.loads((model_dir / "config.json").read_text())
    assert values["general.architecture"] == {"llama": "llama", "mistral": "llama", "qwen2": "qwen2"}[model["model_type"]]
    alpha = values["adapter.lora.alpha"]
    pairs = {}
    for name, ne, _, data in tensors:
        pairs.setdefault(name.rsplit(".", 1)[0], {})[name.rsplit(".", 1)[1]] = (ne, data)
    shapes = base_shapes(model_dir)
    config = json.loads((adapter / "adapter_config.json").read_text())
    peft = safetensors_numpy.load_file(str(adapter / "adapter_model.safetensors"))
    inverse = {gguf_name: hf for hf, gguf_name in reference.PROJECTIONS.items()}
    for base, pair in pairs.items():
        (a_ne, a), (b_ne, b) = pair["lora_a"], pair["lora_b"]
        out_features, in_features = shapes[base]  # the base weight: ne [in, out]
        assert a_ne[0] == in_features and b_ne[1] == out_features and a_ne[1] == b_ne[0], base
        rank = b_ne[0]
        llama_update = (alpha / rank if alpha else 1.0) * (b.astype(np.float64) @ a.astype(np.float64))
        layer, projection = base.split(".")[1], inverse[base.split(".")[2]]
        module = f"model.layers.{layer}.{projection}"
        a_peft = peft[f"base_model.model.{module}.lora_A.weight"].astype(np.float64)
        b_peft = peft[f"base_model.model.{module}.lora_B.weight"].astype(np.float64)
        r = a_peft.shape[0]
        module_alpha = reference.pattern_value(config.get("alpha_pattern") or {}, module, config["lora_alpha"])
        scaling = module_alpha / np.sqrt(r) if config.get("use_rslora") else module_alpha / r
        peft_update = scaling * (b_peft @ a_peft)
        if values["general.architecture"] == "llama" and projection in ("self_attn.q_proj", "self_attn.k_proj"):
            heads = model["num_attention_heads"] if projection == "self_attn.q_proj" else model.get("num_key_value_heads", model["num_attention_heads"])
            peft_update = reference.permute(peft_update, heads)
        np.testing.assert_allclose(llama_update, peft_update, rtol=1e-5, atol=1e-7, err_msg=base)


def test_permutation_is_what_llama_cpp_needs(cli, tmp_path):
    """Against the converter's permute: q and k of a llama model moved, v not; qwen2 not at all."""
    out = tmp_path / "gqa.gguf"
    run(cli, "export", "--model", LLAMA / "gqa-untied", LLAMA / "gqa-untied.all", out)
    _, tensors = read_back(out)
    peft = safetensors_numpy.load_file(str(LLAMA / "gqa-untied.all" / "adapter_model.safetensors"))
    values = {name: got for name, _, _, got in tensors}
    q = peft["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"]
    k = peft["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"]
    v = peft["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"]
    assert not np.array_equal(values["blk.1.attn_q.weight.lora_b"], q)
    np.testing.assert_array_equal(values["blk.1.attn_q.weight.lora_b"], q.reshape(6, 2, 4, -1).swapaxes(1, 2).reshape(q.shape))
    np.testing.assert_array_equal(values["blk.1.attn_k.weight.lora_b"], k.reshape(2, 2, 4, -1).swapaxes(1, 2).reshape(k.shape))
    np.testing.assert_array_equal(values["blk.1.attn_v.weight.lora_b"], v)
    out = tmp_path / "qwen.gguf"
    run(cli, "export", "--model", LLAMA / "qwen2-window", LLAMA / "qwen2-window.qkv", out)
    _, tensors = read_back(out)
    peft = safetensors_numpy.load_file(str(LLAMA / "qwen2-window.qkv" / "adapter_model.safetensors"))
    q = peft["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
    np.testing.assert_array_equal(dict((n, g) for n, _, _, g in tensors)["blk.0.attn_q.weight.lora_b"], q)


def test_combine_and_learn_write_the_gguf_of_their_adapter(cli, tmp_path):
    pool = [arg for i in range(3) for arg in ("--lora", LLAMA / f"pool-{i}")]
    model = LLAMA / "gqa-untied"
    run(cli, "combine", *pool, "--weights", "0.7,-0.4,1.3", "--combination", "cat", "--model", model,
        "--out", tmp_path / "cat", "--gguf", tmp_path / "cat.gguf")
    _, metadata, tensors, _ = reference.reference(tmp_path / "cat", model, "f32", "cat")
    compare(tmp_path / "cat.gguf", metadata, tensors, "f32")
    run(cli, "learn", "--model", model, *pool, "--examples", LLAMA / "examples.jsonl", "--budget", "6", "--quiet",
        "--out", tmp_path / "learned", "--gguf", tmp_path / "learned.gguf")
    _, metadata, tensors, _ = reference.reference(tmp_path / "learned", model, "f32", "learned")
    compare(tmp_path / "learned.gguf", metadata, tensors, "f32")


def test_python_api_writes_what_the_cli_writes(cli, tmp_path):
    """Adapter.save_gguf and LearnResult.save_gguf (the lorahub package) write the CLI's file."""
    lorahub = pytest.importorskip("lorahub")
    model_dir = LLAMA / "gqa-untied"
    lorahub.load_adapter(LLAMA / "gqa-untied.all").save_gguf(tmp_path / "py.gguf", model_dir)
    run(cli, "export", "--model", model_dir, "--name", "py", LLAMA / "gqa-untied.all", tmp_path / "cli.gguf")
    assert (tmp_path / "py.gguf").read_bytes() == (tmp_path / "cli.gguf").read_bytes()

    model = lorahub.load_model(model_dir)
    pool = lorahub.load_pool(model, [LLAMA / f"pool-{i}" for i in range(3)])
    examples = [json.loads(line) for line in (LLAMA / "examples.jsonl").read_text().splitlines() if line.strip()]
    result = lorahub.learn(model, pool, [e["input"] for e in examples], [e["output"] for e in examples], budget=4)
    result.save_adapter(tmp_path / "learned")
    result.save_gguf(tmp_path / "learned.gguf", outtype="bf16")
    _, metadata, tensors, _ = reference.reference(tmp_path / "learned", model_dir, "bf16", "learned")
    compare(tmp_path / "learned.gguf", metadata, tensors, "bf16")
    with pytest.raises(lorahub.UnsupportedError, match="model_type \"t5\""):
        lorahub.load_adapter(FIXTURES / "t5" / "pool-0").save_gguf(tmp_path / "t5.gguf", FIXTURES / "t5" / "flan-odd")
    assert not (tmp_path / "t5.gguf").exists()
    with pytest.raises(lorahub.ArgumentError, match="f8"):
        result.save_gguf(tmp_path / "f8.gguf", outtype="f8")
