#!/usr/bin/env python3
"""Seeds of the tokenizer_json fuzz target (tests/fuzz/corpus/tokenizer_json/): each fixture kind of
tests/fixtures/tokenizer_json cut to its first 300 vocabulary entries and the merges among them, after
a text to encode and a NUL ("TEXT\\0JSON", as the target reads its input).

    python3 tests/fuzz/make_tokenizer_json_seeds.py
"""
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
KINDS = HERE.parent / "fixtures" / "tokenizer_json"
TEXT = "It's 12345 東京 🙂 lorahub_tok <s>\n"

for kind in ("gpt2", "llama3", "qwen2", "mistral-v03", "split-kinds"):
    document = json.loads((KINDS / kind / "tokenizer.json").read_text(encoding="utf-8"))
    kept = dict(list(document["model"]["vocab"].items())[:300])
    document["model"]["vocab"] = kept

    def consistent(merge):
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        return left in kept and right in kept and left + right in kept

    document["model"]["merges"] = [m for m in document["model"]["merges"] if consistent(m)]
    seed = HERE / "corpus" / "tokenizer_json" / f"{kind}.seed"
    seed.parent.mkdir(parents=True, exist_ok=True)
    seed.write_bytes((TEXT + "\0" + json.dumps(document, ensure_ascii=False)).encode())
