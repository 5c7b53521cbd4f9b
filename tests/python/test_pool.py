"""lorahub.load_pool: the PEFT folders' tensors as zero-copy, read-only numpy views."""

import json
import struct
import warnings

import numpy as np
import pytest

import lorahub


def read_safetensors(path):
    """The tensors of a safetensors file, read with the format's spec (8-byte header length, JSON header, data)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = memoryview(data)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32"
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=np.float32).reshape(entry["shape"])
    return tensors


def test_the_views_hold_each_modules_tensors_in_pool_order(pool, hub):
    assert len(pool) == len(hub.modules) == 12
    assert pool.names == [path.name for path in hub.modules]
    for index, module in enumerate(hub.modules):
        tensors = read_safetensors(module / "adapter_model.safetensors")
        for target in pool.targets:
            a = tensors[f"base_model.model.{target}.lora_A.weight"]
            b = tensors[f"base_model.model.{target}.lora_B.weight"]
            assert np.array_equal(pool.lora_a(target)[index], a)
            assert np.array_equal(pool.lora_b(target)[index], b)
    assert len(pool.targets) == len([k for k in tensors if k.endswith("lora_A.weight")])


def test_views_are_float32_stacks_of_the_right_shapes_sharing_the_pools_memory(pool, model):
    target = pool.targets[0]
    a, b = pool.lora_a(target), pool.lora_b(target)
    r = pool.rank(target)
    assert a.dtype == np.float32 and b.dtype == np.float32
    assert a.shape == (len(pool), r, 128) and b.shape == (len(pool), 128, r)  # the demo model's d_model is 128
    assert np.shares_memory(pool.lora_a(target), pool.lora_a(target))
    assert np.shares_memory(pool.lora_b(target), pool.lora_b(target))
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1.0
    config = json.loads((pool.paths[0] / "adapter_config.json").read_text())
    assert np.all(pool.scaling(target) == config["lora_alpha"] / config["r"])
    assert set(pool.targets) <= set(model.targets)


def test_a_view_keeps_its_pool_alive(hub, model):
    view = lorahub.load_pool(model, hub.modules[:2]).lora_a("encoder.block.0.layer.0.SelfAttention.q")
    expected = read_safetensors(hub.modules[1] / "adapter_model.safetensors")["base_model.model.encoder.block.0.layer.0.SelfAttention.q.lora_A.weight"]
    assert np.array_equal(view[1], expected)


def test_unknown_targets_and_missing_modules_are_errors(pool, model, tmp_path):
    with pytest.raises(ValueError, match="no target layer"):
        pool.lora_a("decoder.nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        lorahub.load_pool(model, [tmp_path / "nowhere"])
    with pytest.raises(TypeError):
        lorahub.load_pool(model, str(tmp_path))


def test_a_module_of_another_base_model_is_refused_unless_allowed(hub, model, tmp_path):
    import shutil
    other = tmp_path / "other"
    shutil.copytree(hub.modules[0], other)
    config = json.loads((other / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "meta-llama/Llama-3.2-1B"
    config["task_type"] = "CAUSAL_LM"
    (other / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="other"):
        lorahub.load_pool(model, [hub.modules[1], other])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = lorahub.load_pool(model, [hub.modules[1], other], allow_base_mismatch=True)
    assert len(loaded) == 2 and caught
