#!/usr/bin/env python3
"""Builds the causal demo hub in examples/demo-hub-causal/ (deterministic, seeded, CPU only).

The T5 demo hub's design (examples/demo-hub/make_demo_hub.py: its tasks, skills and held-out
tasks are imported from there, not copied) on a decoder-only model:

1. The same synthetic tasks, written for a causal LM: the input ends with " =" and the output
   starts with a space, so that an example reads as one line of text ("several: cat = cats").
2. A Qwen2-layout tokenizer.json trained here with the tokenizers library: NFC, Qwen2's Split
   regex + ByteLevel, a byte-level BPE of 300 tokens (the 256 bytes and 44 merges: words stay
   spelled out, so that the letter skills can be learned), <|endoftext|> as eos and no bos.
3. A tiny Qwen2ForCausalLM (q/k/v biases, tied embeddings) trained from scratch on the base
   tasks, the loss on the completion only (LoraHub's causal-LM loss).
4. One PEFT CAUSAL_LM LoRA module per skill (r 8, alpha 16, every projection of every layer).
5. For every held-out task: 5 few-shot and 100 test examples, and a LoRA trained on the task
   itself as the upper bound.

    python examples/demo-hub-causal/make_demo_hub_causal.py      (environment: tests/fixtures/requirements.txt)

hub.json records the settings, the sizes, and how long each stage ran on which machine.
"""
import importlib.util
import json
import os
import pathlib
import platform
import random
import shutil
import time

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

HERE = pathlib.Path(__file__).resolve().parent
SEED = 1234
EOS = "<|endoftext|>"
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
                 r"\s+(?!\S)|\s+")


def t5_hub_tasks():
    """The task definitions of the T5 demo hub's script."""
    spec = importlib.util.spec_from_file_location("make_demo_hub", HERE.parent / "demo-hub" / "make_demo_hub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T5 = t5_hub_tasks()


def causal(task):
    """A task's pairs written for a causal LM: "<input> =" and " <output>"."""
    return lambda r: (lambda pair: (pair[0] + " =", " " + pair[1]))(task(r))


def make_tokenizer(directory, texts):
    tokenizer = Tokenizer(models.BPE(ignore_merges=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=300, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.add_special_tokens([AddedToken(EOS, special=True, normalized=False)])
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "Qwen2Tokenizer", "bos_token": None, "eos_token": EOS, "pad_token": EOS, "add_prefix_space": False,
         "clean_up_tokenization_spaces": False, "model_max_length": 256}, indent=1) + "\n")
    return AutoTokenizer.from_pretrained(str(directory))


def encoded(tokenizer, pair):
    """LoraHub's causal-LM sequence: the input with the tokenizer's special tokens (none here),
    the output without, then eos; the labels are -100 on the input."""
    prompt = tokenizer(pair[0]).input_ids
    completion = tokenizer(pair[1], add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
    return prompt, completion


def batches(pairs, tokenizer, batch_size, rng):
    if len(pairs) < batch_size:
        pairs = pairs * (batch_size // len(pairs) + 1)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        sequences = [encoded(tokenizer, pairs[i]) for i in order[start:start + batch_size]]
        width = max(len(p) + len(c) for p, c in sequences)
        ids = torch.full((len(sequences), width), tokenizer.eos_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        labels = torch.full_like(ids, -100)
        for row, (prompt, completion) in enumerate(sequences):
            ids[row, : len(prompt) + len(completion)] = torch.tensor(prompt + completion)
            mask[row, : len(prompt) + len(completion)] = 1
            labels[row, len(prompt): len(prompt) + len(completion)] = torch.tensor(completion)
        yield ids, mask, labels


def train(model, pairs, tokenizer, steps, learning_rate, label):
    return T5.train(model, pairs, tokenizer, steps, learning_rate, label, make_batches=batches)


def accuracy(model, tokenizer, pairs):
    """Greedy generation from each input alone, compared as the CLI compares (stripped, lowercase)."""
    correct = 0
    with torch.no_grad():
        for source, answer in pairs:
            prompt = tokenizer(source, return_tensors="pt")
            out = model.generate(**prompt, max_new_tokens=16, do_sample=False, num_beams=1, eos_token_id=tokenizer.eos_token_id,
                                 pad_token_id=tokenizer.eos_token_id)
            text = tokenizer.decode(out[0, prompt.input_ids.shape[1]:], skip_special_tokens=True)
            correct += text.strip().lower().replace(".", "") == answer.strip().lower().replace(".", "")
    return 100.0 * correct / len(pairs)


# fine-tuning steps per module: 400, and three times that for the arithmetic skills, which a
# model of this size learns slowest (add reached 49% after 400 steps, the letter skills 93-99%)
MODULE_STEPS = {"add": 1200, "subtract": 1200}


def lora_config():
    return LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                      lora_dropout=0.0, task_type="CAUSAL_LM")


def train_lora(model_dir, directory, pairs, tokenizer, label, resume, previous_seconds, steps=400):
    torch.manual_seed(SEED)
    if resume and (directory / "adapter_model.safetensors").exists():
        return PeftModel.from_pretrained(Qwen2ForCausalLM.from_pretrained(model_dir), directory).eval(), previous_seconds
    peft_model = get_peft_model(Qwen2ForCausalLM.from_pretrained(model_dir), lora_config())
    spent = train(peft_model, pairs, tokenizer, steps, 2e-3, label)
    peft_model.save_pretrained(directory, safe_serialization=True)
    (directory / "README.md").unlink(missing_ok=True)
    return peft_model, spent


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 2)
    started = time.time()
    resume = os.environ.get("DEMO_HUB_RESUME") == "1"
    if not resume:
        for stale in ("model", "modules", "tasks"):
            shutil.rmtree(HERE / stale, ignore_errors=True)

    sample = T5.sample
    base_data = {name: sample(causal(task), random.Random(f"{SEED}-{name}"), 3000) for name, task in T5.BASE.items()}
    skill_data = {name: sample(causal(task), random.Random(f"{SEED}-{name}"), 2700) for name, task in T5.SKILLS.items()}
    module_data = {name: sample(causal(T5.module_task(name)), random.Random(f"{SEED}-{name}-module"), 2700) for name in T5.SKILLS}
    held_out_data = {}
    for name, entry in T5.HELD_OUT.items():
        pairs = sample(causal(entry["task"]), random.Random(f"{SEED}-{name}"), 5000)
        assert len(pairs) >= 205, f"held-out task {name} has only {len(pairs)} distinct examples"
        held_out_data[name] = {"few_shot": pairs[:5], "test": pairs[5:105], "train": pairs[105:]}
    texts = [i + o for data in (base_data, skill_data) for pairs in data.values() for i, o in pairs]

    model_dir = HERE / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(model_dir, texts)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=352, num_hidden_layers=4, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0, rms_norm_eps=1e-6,
                         tie_word_embeddings=True, use_sliding_window=False, bos_token_id=None,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=None, attention_dropout=0.0)
    mixture = [pair for pairs in base_data.values() for pair in pairs[:2500]]
    previous = json.loads((HERE / "hub.json").read_text())["made_by"]["seconds"] if (HERE / "hub.json").exists() else {}
    if resume and (model_dir / "model.safetensors").exists():
        base = Qwen2ForCausalLM.from_pretrained(model_dir).eval()
        base_seconds = previous.get("base", float("nan"))
    else:
        base = Qwen2ForCausalLM(config)
        base_seconds = train(base, mixture, tokenizer, 2500, 2e-3, "base")
        base.save_pretrained(model_dir, safe_serialization=True)
    base_report = {name: accuracy(base, tokenizer, pairs[2500:2600]) for name, pairs in base_data.items()}
    print("  base tasks:", {k: round(v, 1) for k, v in base_report.items()})

    module_seconds, module_names, skill_report, modules = {}, [], {}, {}
    for name, pairs in module_data.items():
        module_dir = HERE / "modules" / name
        modules[name], module_seconds[name] = train_lora(model_dir, module_dir, pairs[:2500], tokenizer, f"module {name}", resume,
                                                         previous.get("modules", {}).get(name, float("nan")), MODULE_STEPS.get(name, 400))
        unseen = pairs[2500:2600]
        evaluation = unseen if unseen else pairs[:100]
        skill_report[name] = {"base_accuracy": accuracy(base, tokenizer, evaluation),
                              "module_accuracy": accuracy(modules[name], tokenizer, evaluation),
                              "evaluated_on": "unseen pairs" if unseen else "training pairs (the skill's whole domain)",
                              "training_pairs": len(pairs[:2500])}
        print(f"  {name}: base {skill_report[name]['base_accuracy']:.1f}% -> module {skill_report[name]['module_accuracy']:.1f}%", flush=True)
        module_names.append(f"modules/{name}")

    tasks, trained_seconds = {}, {}
    for name, data in held_out_data.items():
        directory = HERE / "tasks" / name
        T5.write_jsonl(directory / "few_shot.jsonl", data["few_shot"])
        T5.write_jsonl(directory / "test.jsonl", data["test"])
        trained, trained_seconds[name] = train_lora(model_dir, directory / "trained_lora", data["train"], tokenizer,
                                                    f"task LoRA {name}", resume, previous.get("task_loras", {}).get(name, float("nan")))
        singles = {module: accuracy(model, tokenizer, data["test"]) for module, model in modules.items()}
        best = max(singles, key=singles.get)
        tasks[name] = {"few_shot": f"tasks/{name}/few_shot.jsonl", "test": f"tasks/{name}/test.jsonl",
                       "trained_lora": f"tasks/{name}/trained_lora", "relation": T5.HELD_OUT[name]["relation"],
                       "training_pairs": len(data["train"]), "base_accuracy": accuracy(base, tokenizer, data["test"]),
                       "best_single_module": {"module": best, "accuracy": singles[best]},
                       "trained_lora_accuracy": accuracy(trained, tokenizer, data["test"])}
        print(f"  held-out {name}: zero-shot {tasks[name]['base_accuracy']:.1f}%, best module {best} {singles[best]:.1f}%, "
              f"task LoRA {tasks[name]['trained_lora_accuracy']:.1f}%  ({', '.join(f'{k} {v:.0f}' for k, v in singles.items())})", flush=True)

    manifest = {
        "model": "model", "modules": module_names, "default_task": "letter_count", "tasks": tasks,
        "base_tasks": base_report, "module_skills": skill_report,
        "made_by": {"script": "make_demo_hub_causal.py", "seed": SEED, "torch": torch.__version__, "machine": platform.machine(),
                    "processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "seconds": {"base": T5.seconds(base_seconds), "modules": {k: T5.seconds(v) for k, v in module_seconds.items()},
                                "task_loras": {k: T5.seconds(v) for k, v in trained_seconds.items()},
                                "total_this_run": T5.seconds(time.time() - started), "resumed": resume}},
    }
    (HERE / "hub.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
