#!/usr/bin/env python3
"""Builds the embedded demo hub in examples/demo-hub/ (deterministic, seeded, CPU only).

The hub is designed so that LoraHub's mechanism is visible: the base model cannot do the
held-out tasks, some module or mixture of modules can, and 5 examples are enough to find it.

1. Synthetic text-to-text tasks over a vocabulary of real and made-up words and number words.
   *Base* tasks (copying, picking and counting words) teach the base model the vocabulary and
   to follow instructions. Twelve *module* skills (letter edits, letter counts, arithmetic in
   words, lookups), each phrased with three instruction templates, are what the LoRA modules
   teach; the base model never sees them. Four *held-out* tasks ask for module skills under an
   instruction template no module saw, one of them for two skills at once.
2. A SentencePiece model trained on the base and module texts only, with T5's special ids (pad 0,
   eos 1, unk 2) and HF tokenizer files so that AutoTokenizer loads it offline.
3. A tiny Flan-style T5 (gated-gelu, untied head) trained from scratch on the base tasks.
4. One PEFT LoRA module per skill (r 8, alpha 16, q and v), fine-tuned from the base model.
5. For every held-out task: 5 few-shot and 100 test examples, and, as the upper bound, a LoRA
   trained on the task itself (every other example of its domain, never the test examples).

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
REAL_WORDS = ["cat", "dog", "sun", "map", "pen", "cup", "box", "hat", "bed", "egg", "fox", "owl", "bee", "ant", "cow",
              "pig", "jam", "key", "bus", "car", "tea", "ice", "oak", "elm", "fig", "yam", "net", "web", "rug", "mud",
              "fan", "lid", "bird", "fish", "lamp", "desk", "door", "tree", "rock", "sand", "milk", "rice", "corn",
              "frog", "duck", "goat", "ship", "boat", "ring", "bell", "drum", "star", "moon", "leaf", "seed", "rose",
              "lily", "wolf", "bear", "deer", "apple", "lemon", "grape", "melon", "peach", "chair", "table", "plant",
              "stone", "cloud", "river", "horse", "mouse", "tiger", "zebra", "piano", "bread", "honey", "candle",
              "garden", "window", "button", "rabbit", "turtle", "monkey", "pepper", "carrot", "banana", "orange",
              "cherry", "pencil", "basket", "bottle", "jacket"]


def made_up_words(count):
    """Pronounceable non-words (consonant-vowel syllables), so that letter skills have a large domain."""
    rng = random.Random(f"{SEED}-words")
    consonants, vowels, out = "bdfgklmnprstvz", "aeiou", []
    while len(out) < count:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 3)))
        word += rng.choice(["", "", "n", "t", "s"])
        if 3 <= len(word) <= 7 and word not in out and word not in REAL_WORDS:
            out.append(word)
    return out


WORDS = REAL_WORDS + made_up_words(250)
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


def phrased(templates, make):
    """A task that draws its content with make(rng) -> (fields, answer) and one of the templates."""
    return lambda r: (lambda fields, answer: (r.choice(templates).format(**fields), answer))(*make(r))


def word_skill(function):
    return lambda r: (lambda w: ({"w": w}, function(w)))(r.choice(WORDS))


def sum_pair(r):
    a = r.randint(0, 20)
    b = r.randint(0, 20 - a)
    return {"a": number(a), "b": number(b)}, number(a + b)


def difference_pair(r):
    a = r.randint(0, 20)
    b = r.randint(0, a)
    return {"a": number(a), "b": number(b)}, number(a - b)


# What the base model learns from scratch: the vocabulary and following an instruction.
BASE = {
    "copy": phrased(["copy: {ws}", "echo {ws}", "write {ws}"], lambda r: (lambda ws: ({"ws": " ".join(ws)}, " ".join(ws)))(words(r, 1, 4))),
    "first_word": phrased(["first word: {ws}", "the first of {ws}"], lambda r: (lambda ws: ({"ws": " ".join(ws)}, ws[0]))(words(r))),
    "last_word": phrased(["last word: {ws}", "the last of {ws}"], lambda r: (lambda ws: ({"ws": " ".join(ws)}, ws[-1]))(words(r))),
    "count_words": phrased(["how many words: {ws}", "number of words in {ws}"],
                           lambda r: (lambda ws: ({"ws": " ".join(ws)}, number(len(ws))))(words(r, 1, 9))),
    "numbers": phrased(["copy: {ws}", "echo {ws}", "write {ws}"],
                       lambda r: (lambda ws: ({"ws": " ".join(ws)}, " ".join(ws)))([number(r.randint(0, 20)) for _ in range(r.randint(1, 3))])),
}

# The skills of the modules: what each draws, its three phrasings, and its content alone.
MAKES = {
    "reverse_letters": word_skill(lambda w: w[::-1]),
    "sort_letters": word_skill(lambda w: "".join(sorted(w))),
    "word_length": word_skill(lambda w: number(len(w))),
    "first_letter": word_skill(lambda w: w[0]),
    "last_letter": word_skill(lambda w: w[-1]),
    "plural": word_skill(plural),
    "add": sum_pair,
    "subtract": difference_pair,
    "double": lambda r: (lambda n: ({"n": number(n)}, number(2 * n)))(r.randint(0, 10)),
    "antonym": lambda r: (lambda w: ({"w": w}, ANTONYMS[w]))(r.choice(sorted(ANTONYMS))),
    "color": lambda r: (lambda w: ({"w": w}, COLORS[w]))(r.choice(sorted(COLORS))),
    "repeat": lambda r: (lambda w, n: ({"w": w, "n": number(n)}, " ".join([w] * n)))(r.choice(REAL_WORDS), r.randint(1, 4)),
}
TEMPLATES = {
    "reverse_letters": ["reverse the letters: {w}", "spell {w} backwards", "{w} read from the end"],
    "sort_letters": ["sort the letters: {w}", "alphabetize {w}", "{w} in alphabetical order"],
    "word_length": ["how many letters: {w}", "length of {w}", "count the letters of {w}"],
    "first_letter": ["first letter of {w}", "{w} starts with", "initial of {w}"],
    "last_letter": ["last letter of {w}", "{w} ends with", "final letter of {w}"],
    "plural": ["plural of {w}", "more than one {w}", "{w} in the plural"],
    "add": ["add {a} and {b}", "{a} plus {b}", "the sum of {a} and {b}"],
    "subtract": ["subtract {b} from {a}", "{a} minus {b}", "take {b} away from {a}"],
    "double": ["double {n}", "twice {n}", "{n} times two"],
    "antonym": ["opposite of {w}", "antonym of {w}", "{w} is the opposite of"],
    "color": ["color of {w}", "what color is {w}", "{w} has the color"],
    "repeat": ["repeat {w} {n} times", "{w} {n} times over", "say {w} {n} times"],
}
CONTENT = {name: "{w}" for name in ("reverse_letters", "sort_letters", "word_length", "first_letter", "last_letter", "plural",
                                     "antonym", "color")}
CONTENT.update({"add": "{a} and {b}", "subtract": "{b} from {a}", "double": "{n}", "repeat": "{w} {n}"})
# Instruction words a module also sees before its content ("please tell: cat"), so that it learns
# to apply its skill whatever the instruction says; no held-out phrasing uses them.
FILLERS = ["please", "now", "tell", "me", "give", "the", "answer", "for", "this", "find", "what", "do", "task", "output",
           "result", "compute", "here", "input", "show", "get", "then", "solve", "next", "quick", "try"]
SKILLS = {name: phrased(TEMPLATES[name], MAKES[name]) for name in MAKES}


def free_phrasing(name):
    return lambda r: (lambda fields, answer: (" ".join(r.choice(FILLERS) for _ in range(r.randint(1, 3))) + ": " +
                                              CONTENT[name].format(**fields), answer))(*MAKES[name](r))


def module_task(name):
    """What a module trains on: half its three phrasings, half arbitrary instruction words."""
    free = free_phrasing(name)
    return lambda r: SKILLS[name](r) if r.random() < 0.5 else free(r)


def tally(r):
    if r.random() < 0.5:
        w = r.choice(WORDS)
        return {"x": w}, number(len(w))
    fields, answer = sum_pair(r)
    return {"x": f"{fields['a']} and {fields['b']}"}, answer


# Held-out tasks: module skills under instructions that no module and no base task saw.
HELD_OUT = {
    "several": {"task": phrased(["several: {w}"], MAKES["plural"]), "relation": "the skill of `plural`, asked in a new way"},
    "letter_count": {"task": phrased(["how long is it: {w}"], MAKES["word_length"]),
                     "relation": "the skill of `word_length`, asked in a new way"},
    "sum": {"task": phrased(["together they make: {a} and {b}"], sum_pair), "relation": "the skill of `add`, asked in a new way"},
    "tally": {"task": phrased(["tally: {x}"], tally),
              "relation": "two skills under one new instruction: the letters of a word (`word_length`) or the sum of two numbers (`add`)"},
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


def train(model, pairs, tokenizer, steps, learning_rate, label, make_batches=None):
    """AdamW with warm-up and linear decay over batches of 64 (`make_batches`: this script's
    seq2seq batches unless given; the causal hub passes its own)."""
    rng = random.Random(f"{SEED}-train-{label}")  # one generator per stage: any stage can be rerun alone
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 200) * max(0.05, 1 - s / steps))
    model.train()
    step, started = 0, time.time()
    while step < steps:
        for input_ids, mask, labels in (make_batches or batches)(pairs, tokenizer, 64, rng):
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


def lora_config():
    return LoraConfig(r=8, lora_alpha=16, target_modules=["q", "v"], lora_dropout=0.0, task_type="SEQ_2_SEQ_LM")


def train_lora(model_dir, directory, pairs, tokenizer, label, resume, previous_seconds):
    """A LoRA fine-tuned from the base model on `pairs`, saved as a PEFT folder (or reloaded when resuming)."""
    torch.manual_seed(SEED)
    if resume and (directory / "adapter_model.safetensors").exists():
        return PeftModel.from_pretrained(T5ForConditionalGeneration.from_pretrained(model_dir), directory).eval(), previous_seconds
    peft_model = get_peft_model(T5ForConditionalGeneration.from_pretrained(model_dir), lora_config())
    spent = train(peft_model, pairs, tokenizer, 600, 2e-3, label)
    peft_model.save_pretrained(directory, safe_serialization=True)
    (directory / "README.md").unlink(missing_ok=True)
    return peft_model, spent


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

    base_data = {name: sample(task, random.Random(f"{SEED}-{name}"), 3000) for name, task in BASE.items()}
    skill_data = {name: sample(task, random.Random(f"{SEED}-{name}"), 2700) for name, task in SKILLS.items()}
    module_data = {name: sample(module_task(name), random.Random(f"{SEED}-{name}-module"), 2700) for name in SKILLS}
    held_out_data = {}
    for name, entry in HELD_OUT.items():
        pairs = sample(entry["task"], random.Random(f"{SEED}-{name}"), 5000)
        assert len(pairs) >= 205, f"held-out task {name} has only {len(pairs)} distinct examples"
        held_out_data[name] = {"few_shot": pairs[:5], "test": pairs[5:105], "train": pairs[105:]}
    # the tokenizer learns from the base tasks and the skills' three phrasings only: held-out phrasings stay unseen
    texts = [t for data in (base_data, skill_data) for pairs in data.values() for pair in pairs for t in pair]

    model_dir = HERE / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(model_dir, texts)
    config = T5Config(vocab_size=320, d_model=128, d_kv=32, d_ff=384, num_layers=3, num_decoder_layers=3, num_heads=4,
                      relative_attention_num_buckets=32, relative_attention_max_distance=128,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False, dropout_rate=0.0,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    mixture = [pair for pairs in base_data.values() for pair in pairs[:2500]]
    previous = json.loads((HERE / "hub.json").read_text())["made_by"]["seconds"] if (HERE / "hub.json").exists() else {}
    if resume and (model_dir / "model.safetensors").exists():
        base = T5ForConditionalGeneration.from_pretrained(model_dir).eval()
        base_seconds = previous.get("base", float("nan"))
    else:
        base = T5ForConditionalGeneration(config)
        base_seconds = train(base, mixture, tokenizer, 4000, 2e-3, "base")
        base.save_pretrained(model_dir, safe_serialization=True)
    base_report = {name: accuracy(base, tokenizer, pairs[2500:2700]) for name, pairs in base_data.items()}
    print("  base tasks:", {k: round(v, 1) for k, v in base_report.items()})

    module_seconds, module_names, skill_report, modules = {}, [], {}, {}
    for name, pairs in module_data.items():
        module_dir = HERE / "modules" / name
        modules[name], module_seconds[name] = train_lora(model_dir, module_dir, pairs[:2500], tokenizer, f"module {name}", resume,
                                                         previous.get("modules", {}).get(name, float("nan")))
        # small domains (lookups) have no unseen pairs: evaluate on training pairs then
        unseen = pairs[2500:2700]
        evaluation = unseen if unseen else pairs[:200]
        skill_report[name] = {"base_accuracy": accuracy(base, tokenizer, evaluation),
                              "module_accuracy": accuracy(modules[name], tokenizer, evaluation),
                              "evaluated_on": "unseen pairs" if unseen else "training pairs (the skill's whole domain)",
                              "training_pairs": len(pairs[:2500])}
        print(f"  {name}: base {skill_report[name]['base_accuracy']:.1f}% -> module {skill_report[name]['module_accuracy']:.1f}%")
        module_names.append(f"modules/{name}")

    tasks, trained_seconds = {}, {}
    for name, data in held_out_data.items():
        directory = HERE / "tasks" / name
        write_jsonl(directory / "few_shot.jsonl", data["few_shot"])
        write_jsonl(directory / "test.jsonl", data["test"])
        trained, trained_seconds[name] = train_lora(model_dir, directory / "trained_lora", data["train"], tokenizer,
                                                    f"task LoRA {name}", resume, previous.get("task_loras", {}).get(name, float("nan")))
        singles = {module: accuracy(model, tokenizer, data["test"]) for module, model in modules.items()}
        best = max(singles, key=singles.get)
        tasks[name] = {"few_shot": f"tasks/{name}/few_shot.jsonl", "test": f"tasks/{name}/test.jsonl",
                       "trained_lora": f"tasks/{name}/trained_lora", "relation": HELD_OUT[name]["relation"],
                       "training_pairs": len(data["train"]), "base_accuracy": accuracy(base, tokenizer, data["test"]),
                       "best_single_module": {"module": best, "accuracy": singles[best]},
                       "trained_lora_accuracy": accuracy(trained, tokenizer, data["test"])}
        print(f"  held-out {name}: zero-shot {tasks[name]['base_accuracy']:.1f}%, best module {best} {singles[best]:.1f}%, "
              f"task LoRA {tasks[name]['trained_lora_accuracy']:.1f}%  ({', '.join(f'{k} {v:.0f}' for k, v in singles.items())})")

    manifest = {
        "model": "model", "modules": module_names, "default_task": "letter_count", "tasks": tasks,
        "base_tasks": base_report, "module_skills": skill_report,
        "made_by": {"script": "make_demo_hub.py", "seed": SEED, "torch": torch.__version__, "machine": platform.machine(),
                    "processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "seconds": {"base": seconds(base_seconds), "modules": {k: seconds(v) for k, v in module_seconds.items()},
                                "task_loras": {k: seconds(v) for k, v in trained_seconds.items()},
                                "total_this_run": seconds(time.time() - started), "resumed": resume}},
    }
    (HERE / "hub.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
