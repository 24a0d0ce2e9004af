"""A full-size Hugging Face tokenizer built offline from a built-in vocabulary.

The benchmark needs a real ``transformers`` fast tokenizer of realistic size without
touching the hub. quicktok ships Qwen's byte-level BPE ranks, and a byte-level BPE is
fully determined by its ranks and its split pattern, so the ``tokenizer.json`` built
here counts ordinary text exactly as Qwen2.5/Qwen3's own tokenizer does (the benchmark
checks that against the built-in counter before timing anything).
"""

from __future__ import annotations

from pathlib import Path

from reasoning_economics.errors import require

# Qwen2.5/Qwen3's pre-tokenizer pattern (single digits), as in their tokenizer.json.
QWEN_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def build_qwen_tokenizer(directory: str | Path) -> Path:
    """Write a Qwen-vocabulary ``PreTrainedTokenizerFast`` into ``directory`` and return it.

    Reuses an existing build in ``directory``. Needs the ``models`` extra (transformers, tokenizers).
    """
    directory = Path(directory)
    if (directory / "tokenizer.json").is_file():
        return directory
    require("tokenizers", "models")
    transformers = require("transformers", "models")
    import quicktok
    from tokenizers import AddedToken, Regex, decoders, normalizers, pre_tokenizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    encoding = quicktok.get_encoding("qwen3")
    specials = sorted(encoding.special_tokens_set, key=encoding.encode_single_token)
    ordinary = encoding.n_vocab - len(specials)  # special tokens take the ids after the ranks
    ranks = {encoding.decode_single_token_bytes(rank): rank for rank in range(ordinary)}

    class _QuicktokRanks(TikTokenConverter):
        def load_tiktoken_bpe(self, _url: str) -> dict[bytes, int]:  # ranks come from quicktok, not a file
            return ranks

    backend = _QuicktokRanks(vocab_file="quicktok:qwen3", pattern=QWEN_SPLIT_PATTERN).converted()
    backend.normalizer = normalizers.NFC()
    backend.add_special_tokens([AddedToken(token, normalized=False, special=True) for token in specials])
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(directory)
    return directory
