"""`lorahub export --format gguf` (and learn / combine --gguf) read back with gguf-py, llama.cpp's
own Python reader, and compared with the numpy reference of tests/fixtures/make_gguf_fixtures.py:
every metadata key with its GGUF type and value, every tensor's name, ne and type in file order,
every value, and the bytes gguf-py's writer gives the same contents. Needs only the CLI
($LORAHUB_CLI), gguf, numpy and safetensors (not the lorahub package)."""

import hashlib
import json
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
