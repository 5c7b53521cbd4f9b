#!/usr/bin/env python3
"""Builds the embedded demo hub in examples/demo-hub/ (deterministic, seeded, CPU only).

1. Synthetic text-to-text tasks over a small vocabulary. Twelve *upstream* tasks (string
   edits, counting, arithmetic in words, lookups) and four *held-out* tasks that rephrase or
   combine upstream skills (last letter of the last word, sorting words, adding three
   numbers, reversing word order), each with 105 distinct examples.
2. A SentencePiece model trained on the upstream task texts only, with T5's special ids (pad 0, eos 1,
   unk 2) and HF tokenizer files so that AutoTokenizer loads it offline.
3. A tiny Flan-style T5 (gated-gelu, untied head) trained from scratch with PyTorch on a
   mixture of the upstream tasks only (never the held-out ones).
4. One PEFT LoRA module per upstream task (r 8, alpha 16, q and v), fine-tuned from the base.
5. For every held-out task: 5 few-shot examples and 100 test examples, as JSONL.

    python examples/demo-hub/make_demo_hub.py      (environment: tests/fixtures/requirements.txt)

hub.json records the settings, the sizes, and how long each stage ran on which machine.
"""
import json
import os
import pathlib
import platform
import random
import shutil
import time

import sentencepiece as spm
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

HERE = pathlib.Path(__file__).resolve().parent
SEED = 1234
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
WORDS = ["cat", "dog", "sun", "map", "pen", "cup", "box", "hat", "bed", "egg", "fox", "owl", "bee", "ant", "cow", "pig",
         "jam", "key", "bus", "car", "tea", "ice", "oak", "elm", "fig", "yam", "net", "web", "rug", "mud", "fan", "lid",
         "bird", "fish", "lamp", "desk", "door", "tree", "rock", "sand", "milk", "rice", "corn", "frog", "duck", "goat",
         "ship", "boat", "ring", "bell", "drum", "star", "moon", "leaf", "seed", "rose", "lily", "wolf", "bear", "deer",
         "apple", "lemon", "grape", "melon", "peach", "chair", "table", "plant", "stone", "cloud", "river", "horse",
         "mouse", "tiger", "zebra", "piano", "bread", "honey", "candle", "garden", "window", "button", "rabbit",
         "turtle", "monkey", "pepper", "carrot", "banana", "orange", "cherry", "pencil", "basket", "bottle", "jacket"]
ANTONYMS = {"hot": "cold", "big": "small", "fast": "slow", "up": "down", "open": "closed", "light": "dark",
            "happy": "sad", "early": "late", "full": "empty", "hard": "soft", "high": "low", "long": "short",
            "new": "old", "rich": "poor", "wet": "dry", "loud": "quiet", "strong": "weak", "thick": "thin",
            "clean": "dirty", "near": "far", "young": "aged", "true": "false", "left": "right", "wide": "narrow"}
ANTONYMS.update({v: k for k, v in list(ANTONYMS.items())})
COLORS = {"banana": "yellow", "lemon": "yellow", "apple": "red", "cherry": "red", "grape": "purple", "plum": "purple",
          "orange": "orange", "carrot": "orange", "lime": "green", "pepper": "green", "melon": "green",
          "peach": "pink", "snow": "white", "milk": "white", "coal": "black", "sky": "blue", "sea": "blue",
          "grass": "green", "rose": "red", "sand": "brown", "bread": "brown", "honey": "gold", "ice": "white",
          "frog": "green", "crow": "black", "fox": "red", "tiger": "orange", "moon": "silver"}


def plural(noun):
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def words(rng, low=2, high=5):
    return [rng.choice(WORDS) for _ in range(rng.randint(low, high))]


def number(n):
    return NUMBERS[n]


# Each task maps a random generator to one (input, output) pair.
UPSTREAM = {
    "reverse_letters": lambda r: (lambda w: (f"reverse the letters: {w}", w[::-1]))(r.choice(WORDS)),
    "sort_letters": lambda r: (lambda w: (f"sort the letters: {w}", "".join(sorted(w))))(r.choice(WORDS)),
    "first_word": lambda r: (lambda ws: (f"first word: {' '.join(ws)}", ws[0]))(words(r)),
    "last_word": lambda r: (lambda ws: (f"last word: {' '.join(ws)}", ws[-1]))(words(r)),
    "count_words": lambda r: (lambda ws: (f"how many words: {' '.join(ws)}", number(len(ws))))(words(r, 1, 9)),
    "word_length": lambda r: (lambda w: (f"how many letters: {w}", number(len(w))))(r.choice(WORDS)),
    "add": lambda r: (lambda a, b: (f"add {number(a)} and {number(b)}", number(a + b)))(r.randint(0, 10), r.randint(0, 10)),
    "subtract": lambda r: (lambda a, b: (f"subtract {number(b)} from {number(a)}", number(a - b)))(
        *(lambda a: (a, r.randint(0, a)))(r.randint(0, 20))),
    "plural": lambda r: (lambda w: (f"plural of {w}", plural(w)))(r.choice(WORDS)),
    "antonym": lambda r: (lambda w: (f"opposite of {w}", ANTONYMS[w]))(r.choice(sorted(ANTONYMS))),
    "color": lambda r: (lambda w: (f"color of {w}", COLORS[w]))(r.choice(sorted(COLORS))),
    "repeat": lambda r: (lambda w, n: (f"repeat {w} {number(n)} times", " ".join([w] * n)))(r.choice(WORDS), r.randint(1, 4)),
}

# Held-out tasks: new phrasings or combinations of upstream skills, never seen in training.
HELD_OUT = {
    "last_letter": lambda r: (lambda ws: (f"last letter of the last word: {' '.join(ws)}", ws[-1][-1]))(words(r, 2, 4)),
    "sort_words": lambda r: (lambda ws: (f"sort the words: {' '.join(ws)}", " ".join(sorted(ws))))(words(r, 2, 4)),
    "add_three": lambda r: (lambda a, b: (lambda c: (f"add {number(a)} and {number(b)} and {number(c)}", number(a + b + c)))(
        r.randint(0, 20 - a - b)))(*(lambda a: (a, r.randint(0, 20 - a)))(r.randint(0, 20))),
    "reverse_words": lambda r: (lambda ws: (f"reverse the words: {' '.join(ws)}", " ".join(reversed(ws))))(words(r, 2, 4)),
}


def sample(task, rng, count, exclude=()):
    seen, out = set(exclude), []
    attempts = 0
    while len(out) < count and attempts < count * 200:
        attempts += 1
        pair = task(rng)
        if pair[0] in seen:
            continue
        seen.add(pair[0])
        out.append(pair)
    return out


def write_jsonl(path, pairs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"input": i, "output": o}) + "\n" for i, o in pairs))


def make_tokenizer(directory, texts):
    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join(texts) + "\n")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(directory / "spiece"), vocab_size=200, model_type="unigram", pad_id=0,
        eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0, normalization_rule_name="nmt_nfkc", minloglevel=2,
        input_sentence_size=len(texts), shuffle_input_sentence=False, num_threads=1)
    corpus.unlink()
    (directory / "spiece.vocab").unlink()
    write_tokenizer_config(directory)
    return T5Tokenizer(vocab_file=str(directory / "spiece.model"), extra_ids=100, legacy=True)


def write_tokenizer_config(directory):
    """A tokenizer_config.json that transformers 4.31 (upstream's pin) and 4.5x both read the
    same way: they derive pad/eos/unk and the 100 sentinels from spiece.model themselves."""
    (directory / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "T5Tokenizer", "extra_ids": 100, "legacy": True, "model_max_length": 2048,
         "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}, indent=1) + "\n")


def batches(pairs, tokenizer, batch_size, rng):
    if len(pairs) < batch_size:  # small domains (antonyms, colours): repeat them to fill a batch
        pairs = pairs * (batch_size // len(pairs) + 1)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        chunk = [pairs[i] for i in order[start:start + batch_size]]
        inputs = tokenizer([c[0] for c in chunk], padding=True, return_tensors="pt")
        labels = tokenizer([c[1] for c in chunk], padding=True, return_tensors="pt").input_ids
        labels[labels == tokenizer.pad_token_id] = -100
        yield inputs.input_ids, inputs.attention_mask, labels


def train(model, pairs, tokenizer, steps, learning_rate, label):
    rng = random.Random(f"{SEED}-train-{label}")  # one generator per stage: any stage can be rerun alone
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 200) * max(0.05, 1 - s / steps))
    model.train()
    step, started = 0, time.time()
    while step < steps:
        for input_ids, mask, labels in batches(pairs, tokenizer, 64, rng):
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 500 == 0 or step == steps:
                print(f"  {label}: step {step}/{steps} loss {loss.item():.4f} ({time.time() - started:.0f} s)", flush=True)
            if step == steps:
                break
    model.eval()
    return time.time() - started


def accuracy(model, tokenizer, pairs):
    correct = 0
    with torch.no_grad():
        for start in range(0, len(pairs), 50):
            chunk = pairs[start:start + 50]
            inputs = tokenizer([c[0] for c in chunk], padding=True, return_tensors="pt")
            out = model.generate(**inputs, max_new_tokens=16, do_sample=False, num_beams=1)
            # the model's vocabulary (320) is larger than the tokenizer's (300), as Flan-T5's 32128 vs 32100;
            # ids past the tokenizer are padding rows the slow tokenizer cannot decode: drop them
            out = [[i for i in row.tolist() if i < len(tokenizer)] for row in out]
            for text, (_, answer) in zip(tokenizer.batch_decode(out, skip_special_tokens=True), chunk):
                correct += text.strip().lower().replace(".", "") == answer.strip().lower().replace(".", "")
    return 100.0 * correct / len(pairs)


def seconds(value):
    """Rounded seconds, or None for a stage reused from an earlier run that did not record it."""
    return None if value != value else round(value, 1)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 2)
    started = time.time()
    # DEMO_HUB_RESUME=1 keeps finished stages; every stage has its own seeded generator, so a
    # resumed run writes the same files as a fresh one
    resume = os.environ.get("DEMO_HUB_RESUME") == "1"
    if not resume:
        for stale in ("model", "modules", "tasks"):
            shutil.rmtree(HERE / stale, ignore_errors=True)

    upstream_data = {name: sample(task, random.Random(f"{SEED}-{name}"), 3000) for name, task in UPSTREAM.items()}
    held_out_data = {}
    for name, task in HELD_OUT.items():
        pairs = sample(task, random.Random(f"{SEED}-{name}"), 105)
        assert len(pairs) == 105, f"held-out task {name} has only {len(pairs)} distinct examples"
        held_out_data[name] = {"few_shot": pairs[:5], "test": pairs[5:]}
    # the tokenizer learns from upstream texts only: held-out tasks stay unseen, as BBH was for Flan-T5's tokenizer
    texts = [t for pairs in upstream_data.values() for pair in pairs for t in pair]

    model_dir = HERE / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(model_dir, texts)
    config = T5Config(vocab_size=320, d_model=128, d_kv=32, d_ff=384, num_layers=3, num_decoder_layers=3, num_heads=4,
                      relative_attention_num_buckets=32, relative_attention_max_distance=128,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False, dropout_rate=0.0,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    base = T5ForConditionalGeneration(config)
    mixture = [pair for pairs in upstream_data.values() for pair in pairs[:2500]]
    previous = json.loads((HERE / "hub.json").read_text())["made_by"]["seconds"] if (HERE / "hub.json").exists() else {}
    if resume and (model_dir / "model.safetensors").exists():
        base = T5ForConditionalGeneration.from_pretrained(model_dir).eval()
        base_seconds = previous.get("base", float("nan"))
    else:
        base_seconds = train(base, mixture, tokenizer, 6000, 2e-3, "base")
        base.save_pretrained(model_dir, safe_serialization=True)

    module_seconds, module_names, report = {}, [], {}
    for name, pairs in upstream_data.items():
        torch.manual_seed(SEED)
        module_dir = HERE / "modules" / name
        if resume and (module_dir / "adapter_model.safetensors").exists():
            peft_model = PeftModel.from_pretrained(T5ForConditionalGeneration.from_pretrained(model_dir), module_dir).eval()
            module_seconds[name] = previous.get("modules", {}).get(name, float("nan"))
        else:
            peft_model = get_peft_model(T5ForConditionalGeneration.from_pretrained(model_dir),
                                        LoraConfig(r=8, lora_alpha=16, target_modules=["q", "v"], lora_dropout=0.0,
                                                   task_type="SEQ_2_SEQ_LM"))
            module_seconds[name] = train(peft_model, pairs[:2500], tokenizer, 600, 2e-3, f"module {name}")
            peft_model.save_pretrained(module_dir, safe_serialization=True)
            (module_dir / "README.md").unlink(missing_ok=True)
        # small domains (lookups, single-word edits) have no unseen pairs: evaluate on training pairs then
        unseen = pairs[2500:2700]
        evaluation = unseen if unseen else pairs[:200]
        report[name] = {"base_accuracy": accuracy(base, tokenizer, evaluation),
                        "module_accuracy": accuracy(peft_model, tokenizer, evaluation),
                        "evaluated_on": "unseen pairs" if unseen else "training pairs (the task's whole domain)",
                        "training_pairs": len(pairs[:2500])}
        print(f"  {name}: base {report[name]['base_accuracy']:.1f}% -> module {report[name]['module_accuracy']:.1f}%")
        module_names.append(f"modules/{name}")

    tasks = {}
    for name, data in held_out_data.items():
        write_jsonl(HERE / "tasks" / name / "few_shot.jsonl", data["few_shot"])
        write_jsonl(HERE / "tasks" / name / "test.jsonl", data["test"])
        tasks[name] = {"few_shot": f"tasks/{name}/few_shot.jsonl", "test": f"tasks/{name}/test.jsonl",
                       "base_accuracy": accuracy(base, tokenizer, data["test"])}
        print(f"  held-out {name}: zero-shot {tasks[name]['base_accuracy']:.1f}%")

    manifest = {
        "model": "model", "modules": module_names, "default_task": "add_three", "tasks": tasks,
        "upstream_tasks": report,
        "made_by": {"script": "make_demo_hub.py", "seed": SEED, "torch": torch.__version__, "machine": platform.machine(),
                    "processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "seconds": {"base": seconds(base_seconds), "modules": {k: seconds(v) for k, v in module_seconds.items()},
                                "total_this_run": seconds(time.time() - started), "resumed": resume}},
    }
    (HERE / "hub.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
