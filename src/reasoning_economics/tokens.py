"""Token counting in the policy's own tokenizer.

Two kinds of counter share one process-wide cache:

- **Built-in vocabularies** from ``quicktok`` (``qwen3``, ``llama3``, ``cl100k_base``,
  ``o200k_base``): offline, exact and fast. Hub ids of those families resolve to them
  through :data:`ALIASES`, so ``Qwen/Qwen2.5-0.5B-Instruct`` counts with ``qwen3`` and
  never touches the network. Each family keeps its own added tokens (:data:`FAMILIES`):
  ``<think>`` is one token for Qwen3 and three for Qwen2.5, whose tokenizer lacks it.
- **Any Hugging Face tokenizer** by local directory or hub id, through ``transformers``
  (the ``models`` extra). It is loaded once per process and shared by every session.

Counting treats special-token text such as ``<think>`` or ``<|im_end|>`` as the single
token a model emits for it when the model's tokenizer has that token, which is what a Hugging
Face tokenizer does with its added tokens; text of a token it lacks counts as ordinary text.

An unknown or unloadable name raises :class:`UnknownTokenizerError` listing what is
available; nothing ever falls back silently to word counts.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from reasoning_economics.errors import ConfigError, TokenCountInputError, TokenizerNotAllowedError, UnknownTokenizerError, describe, has_lone_surrogate, require
from reasoning_economics.hub import why_unreachable

DEFAULT_TOKENIZER = "qwen3"
"""The vocabulary used when neither the client nor the config names a tokenizer."""

BUILTIN_VOCABULARIES: tuple[str, ...] = ("qwen3", "llama3", "cl100k_base", "o200k_base")

# Added tokens of the model families whose ordinary text is a built-in vocabulary's BPE: each
# family's own Hugging Face tokenizer matches exactly these in text as one token each (in id order).
QWEN2_ADDED_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN2_VL_ADDED_TOKENS = (*QWEN2_ADDED_TOKENS, "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
                         "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                         "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")  # fmt: skip
QWEN2_5_ADDED_TOKENS = (*QWEN2_VL_ADDED_TOKENS, "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
                        "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>")  # fmt: skip
QWEN3_ADDED_TOKENS = (*QWEN2_5_ADDED_TOKENS, "<tool_response>", "</tool_response>", "<think>", "</think>")
# DeepSeek's R1 distills put their own markers where Qwen2.5 has <|endoftext|> ... <|box_end|>.
DEEPSEEK_BOS, DEEPSEEK_EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
DEEPSEEK_USER, DEEPSEEK_ASSISTANT = "<｜User｜>", "<｜Assistant｜>"
R1_DISTILL_QWEN_ADDED_TOKENS = (DEEPSEEK_EOS, DEEPSEEK_USER, DEEPSEEK_ASSISTANT, DEEPSEEK_BOS, "<|EOT|>", "<think>",
                                "</think>", *QWEN2_5_ADDED_TOKENS[7:])  # fmt: skip
LLAMA3_1_ADDED_TOKENS = ("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                         "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                         "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
                         *(f"<|reserved_special_token_{i}|>" for i in range(3, 248)))  # fmt: skip
R1_DISTILL_LLAMA_ADDED_TOKENS = (DEEPSEEK_BOS, DEEPSEEK_EOS, *LLAMA3_1_ADDED_TOKENS[2:11], DEEPSEEK_USER,
                                 DEEPSEEK_ASSISTANT, "<think>", "</think>", "<｜▁pad▁｜>",
                                 *LLAMA3_1_ADDED_TOKENS[16:])  # fmt: skip

FAMILIES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    # family: (built-in vocabulary, added tokens; None: the vocabulary's own, as quicktok ships them)
    **{vocabulary: (vocabulary, None) for vocabulary in BUILTIN_VOCABULARIES},  # qwen3 is Qwen3's; llama3 Llama 3's
    "qwen2": ("qwen3", QWEN2_ADDED_TOKENS),
    "qwen2-vl": ("qwen3", QWEN2_VL_ADDED_TOKENS),
    "qwen2.5": ("qwen3", QWEN2_5_ADDED_TOKENS),
    "deepseek-r1-distill-qwen": ("qwen3", R1_DISTILL_QWEN_ADDED_TOKENS),
    "llama3.1": ("llama3", LLAMA3_1_ADDED_TOKENS),  # Llama 3.1, 3.2 and 3.3
    "deepseek-r1-distill-llama": ("llama3", R1_DISTILL_LLAMA_ADDED_TOKENS),
}
"""Tokenizer families counted with a built-in vocabulary, each with its own added tokens."""

# Hub-id families whose ordinary-text BPE is exactly one of the built-in vocabularies, to the
# family (:data:`FAMILIES`). Matched case-insensitively against the part after the last "/";
# the first match wins. Qwen3.5 and later have another vocabulary: "qwen3" must not match them.
ALIASES: tuple[tuple[str, str], ...] = (
    (r"qwen2\.5(\b|[-_.]).*|qwq-32b-preview.*", "qwen2.5"),
    (r"qwen2-vl(\b|[-_.]).*", "qwen2-vl"),
    (r"qwen2(?!\.\d)(\b|[-_.]).*", "qwen2"),
    (r"qwen3(?!\.\d)(\b|[-_.]).*|qwq.*", "qwen3"),
    (r"deepseek-r1-distill-qwen.*", "deepseek-r1-distill-qwen"),
    (r"(meta-)?llama-?3\.\d(\b|[-_.]).*", "llama3.1"),
    (r"(meta-)?llama-?3(\b|[-_]).*", "llama3"),
    (r"deepseek-r1-distill-llama.*", "deepseek-r1-distill-llama"),
    (r"gpt-4o.*|o[134](-.*)?|gpt-4\.1.*|gpt-5.*", "o200k_base"),
    (r"gpt-4(-turbo.*|-\d+.*)?|gpt-3\.5-turbo.*|text-embedding-3.*", "cl100k_base"),
)


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of text in one tokenizer. Implementations are thread-safe."""

    name: str

    def count(self, text: str) -> int:
        """Number of tokens in ``text`` (no BOS/EOS added)."""
        ...

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts at once; faster than repeated :meth:`count`."""
        ...


BATCH_THREADING_MIN = 256


def refuse_a_single_text(texts: object) -> None:
    """Raise TokenCountInputError when ``count_batch`` is given one str: it counted each of its
    characters as a text of its own."""
    if isinstance(texts, str):
        raise TokenCountInputError("count_batch takes a list of texts, got one str; count it with count(text)")


def refuse_uncountable(texts: Iterable[object]) -> None:
    """Raise TokenCountInputError for the first text that is no ``str`` or holds a lone surrogate
    (JSON's "\\ud800" escape decodes to one); return if every text is countable.

    Called when a tokenizer library has refused a text: quicktok and tokenizers raised bare
    TypeErrors (or ValueErrors) about argument types. The happy path pays nothing."""
    for text in texts:
        if not isinstance(text, str):
            raise TokenCountInputError(f"text to count must be a str, got {describe(text)}")
        if has_lone_surrogate(text):
            raise TokenCountInputError("text to count holds a lone UTF-16 surrogate: it is not valid text")


class BuiltinCounter:
    """A quicktok vocabulary shipped inside the package, with one family's added tokens; fully offline.

    ``name`` is the vocabulary, ``family`` the key in :data:`FAMILIES` whose added tokens count
    as one token each."""

    def __init__(self, vocabulary: str, family: str | None = None) -> None:
        import quicktok

        self.name = vocabulary
        self.family = family or vocabulary
        self._encoding = quicktok.get_encoding(vocabulary)
        own = self._encoding.special_tokens_set
        added = FAMILIES[self.family][1]
        self.added_tokens: frozenset[str] = frozenset(own if added is None else added)
        # Added tokens the vocabulary lacks (DeepSeek's markers, Llama 3.1's <|python_tag|>) get
        # ids after its own, so that encode() gives one id per token and decode() reverses it.
        lacking = sorted(self.added_tokens - own)
        self._lacking_ids = {token: self._encoding.n_vocab + i for i, token in enumerate(lacking)}
        self._lacking_tokens = {i: token for token, i in self._lacking_ids.items()}
        specials = sorted(self.added_tokens, key=len, reverse=True)
        self._specials = re.compile("|".join(map(re.escape, specials)) or r"(?!)")
        # Every added token of the shipped families starts with "<"; text without one (most
        # responses) skips the added-token search.
        self._special_start = "<" if all(special.startswith("<") for special in specials) else ""
        self._count_batch = quicktok.count_batch

    def count(self, text: str) -> int:
        # Checked only when quicktok refuses the text: counting is on every step's path.
        try:
            if self._special_start not in text:
                return self._encoding.count(text)
            # quicktok's special-token path builds every id and is ~8x slower than count(); the
            # added tokens cut the text where a Hugging Face tokenizer cuts it, one token each
            # (tests/test_tokens.py checks the counts agree), and count() counts the rest as text.
            pieces = self._specials.split(text)
            return sum(self._encoding.count(piece) for piece in pieces if piece) + len(pieces) - 1
        except TypeError:
            refuse_uncountable([text])
            raise

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        # quicktok's threaded batch only pays off on large batches (measured: 10 questions
        # take 113 us p50 through it and 12 us in a loop, with identical counts). Its special-token
        # path is quadratic in the special tokens of a text (3,000 "<think>" took 0.5 s, 10,000
        # 30 s) and knows only its vocabulary's own: texts that may hold an added token are
        # counted by count(), the rest threaded as ordinary text.
        refuse_a_single_text(texts)
        if len(texts) < BATCH_THREADING_MIN:
            return [self.count(text) for text in texts]
        try:
            plain = [i for i, text in enumerate(texts) if self._special_start not in text]
            plain_counts = self._count_batch(self._encoding, [texts[i] for i in plain], with_special=False)
        except TypeError:
            refuse_uncountable(texts)
            raise
        counts = [-1] * len(texts)
        for i, n in zip(plain, plain_counts):
            counts[i] = int(n)
        return [self.count(text) if n < 0 else n for text, n in zip(texts, counts)]

    def encode(self, text: str) -> list[int]:
        # Cut at added tokens as count() does: quicktok's encode_with_special_tokens is quadratic
        # in them and knows only its vocabulary's own.
        try:
            ids: list[int] = []
            position = 0
            for match in self._specials.finditer(text):
                ids += self._encoding.encode_ordinary(text[position : match.start()])
                ids.append(self._added_token_id(match.group()))
                position = match.end()
            return ids + self._encoding.encode_ordinary(text[position:])
        except TypeError:
            refuse_uncountable([text])
            raise

    def decode(self, ids: Sequence[int]) -> str:
        if not self._lacking_ids:
            return self._encoding.decode(list(ids))
        parts, run = [], []
        for token_id in ids:
            if token_id in self._lacking_tokens:
                parts += [self._encoding.decode(run), self._lacking_tokens[token_id]]
                run = []
            else:
                run.append(token_id)
        return "".join([*parts, self._encoding.decode(run)])

    def _added_token_id(self, token: str) -> int:
        lacking = self._lacking_ids.get(token)
        return self._encoding.encode_single_token(token) if lacking is None else lacking


class HuggingFaceCounter:
    """Any tokenizer ``transformers.AutoTokenizer`` can load, from a directory or the hub."""

    def __init__(self, name_or_path: str, *, trust_remote_code: bool = False) -> None:
        transformers = require("transformers", "models")
        self.name = name_or_path
        if is_missing_directory(name_or_path):
            # transformers would take it for a malformed hub id ("Repo id must be in the form ...").
            raise UnknownTokenizerError(
                f"no tokenizer directory at {describe(name_or_path)}: it does not exist or is not a directory. "
                f"Available offline: {', '.join(available_tokenizers())}."
            )
        # A hub id the hub cannot serve now is read from the local cache only: transformers
        # would retry the hub for about 50 s before trying the cache itself.
        unreachable = None if _is_directory(name_or_path) else why_unreachable(name_or_path)
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(
                name_or_path, trust_remote_code=trust_remote_code, local_files_only=unreachable is not None
            )
        except Exception as exc:  # transformers raises OSError, ValueError, HTTP errors...
            # transformers' messages span lines ("one of: \n(1) ..."): one line reads in a log and a reply.
            cause = f"the hub cannot serve it ({unreachable}) and the local cache has no copy" if unreachable else (
                f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            )
            raise UnknownTokenizerError(
                f"could not load tokenizer {describe(name_or_path)} ({cause}). "
                f"Available offline: {', '.join(available_tokenizers())}; "
                "or pass a local directory that holds a Hugging Face tokenizer."
            ) from exc

    def count(self, text: str) -> int:
        return len(self._ids(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        refuse_a_single_text(texts)
        if not texts:
            return []
        try:
            return [len(ids) for ids in self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
        except (TypeError, ValueError):
            refuse_uncountable(texts)
            raise

    def encode(self, text: str) -> list[int]:
        return list(self._ids(text))

    def decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(ids))

    def _ids(self, text: str) -> Sequence[int]:
        # The tokenizer's own id list: counting needs only its length, not a copy.
        try:
            return self._tokenizer(text, add_special_tokens=False)["input_ids"]
        except (TypeError, ValueError):
            refuse_uncountable([text])
            raise


def available_tokenizers() -> list[str]:
    """Names that resolve offline: the built-in vocabularies (hub ids of their families alias to them)."""
    return list(BUILTIN_VOCABULARIES)


def builtin_vocabulary_for(name: str, *, look_on_disk: bool = True) -> str | None:
    """The built-in vocabulary a tokenizer name resolves to offline, or None.

    A local directory is its own tokenizer, whatever its name, and so is a name that can only
    be a path (:func:`is_path_like`) where no directory is: loading it fails rather than
    counting a mistyped directory with a vocabulary its name happens to spell. With
    ``look_on_disk=False`` the name alone decides and the file system is never consulted
    (what a server does for a name its operator has not allowed, so a client cannot probe for
    directories).

    >>> builtin_vocabulary_for("Qwen/Qwen2.5-0.5B-Instruct")
    'qwen3'
    >>> builtin_vocabulary_for("meta-llama/Llama-3.1-8B-Instruct")
    'llama3'
    """
    family = builtin_family_for(name, look_on_disk=look_on_disk)
    return None if family is None else FAMILIES[family][0]


def builtin_family_for(name: str, *, look_on_disk: bool = True) -> str | None:
    """The :data:`FAMILIES` key a tokenizer name resolves to offline, or None; see
    :func:`builtin_vocabulary_for`.

    >>> builtin_family_for("Qwen/Qwen2.5-0.5B-Instruct"), builtin_family_for("Qwen/Qwen3-0.6B")
    ('qwen2.5', 'qwen3')
    """
    if name in BUILTIN_VOCABULARIES:
        return name
    if look_on_disk and (is_path_like(name) or _is_directory(name)):
        return None
    model = name.strip().lower().rsplit("/", 1)[-1]
    if model in BUILTIN_VOCABULARIES:
        return model
    for pattern, family in ALIASES:
        if re.fullmatch(pattern, model):
            return family
    return None


def is_path_like(name: str) -> bool:
    """Whether ``name`` can only be a file system path, never a hub id (``org/model`` or
    ``model``): absolute or home-relative, a backslash or drive colon, more than one ``/``,
    or an empty, ``.`` or ``..`` part.

    >>> is_path_like("Qwen/Qwen2.5-0.5B-Instruct"), is_path_like("/models/Qwen3-8B"), is_path_like("../x")
    (False, True, True)
    """
    if name.startswith(("/", "~")) or "\\" in name or ":" in name:
        return True
    parts = name.split("/")
    return len(parts) > 2 or any(part.strip() in ("", ".", "..") for part in parts)


def is_missing_directory(name: str) -> bool:
    """Whether ``name`` can only be a local path (:func:`is_path_like`) and no directory is there."""
    return is_path_like(name) and not _is_directory(name)


def refuse_missing_model_directory(name: str) -> None:
    """Raise ConfigError when ``name`` can only be a local path and no directory is there:
    ``transformers`` would take it for a malformed hub id ("Repo id must use alphanumeric chars ...")."""
    if is_missing_directory(name):
        raise ConfigError(f"cannot load model {name!r}: no directory is there")


def _is_directory(name: str) -> bool:
    # pathlib answers False for a missing path but raises for one the system refuses to look
    # up (a component over 255 bytes: ENAMETOOLONG), which no tokenizer can be loaded from.
    try:
        return Path(name).is_dir()
    except OSError:
        return False


FAILED_LOAD_RETRY_S = 300.0
"""How long a hub id that failed to load is refused at once, before it is tried again."""

# ("builtin", family, False) or ("hugging_face", name, trust_remote_code): a directory that is
# named like a family ("llama3.1") is not that family.
_CounterKey = tuple[str, str, bool]
_cache: dict[_CounterKey, TokenCounter] = {}
# One lock per name, so a slow load (a hub download) holds up only those asking for that name.
_load_locks: dict[_CounterKey, threading.Lock] = {}
_load_locks_lock = threading.Lock()
_failed_loads: dict[_CounterKey, tuple[float, UnknownTokenizerError]] = {}


def get_counter(
    name: str | None = None,
    *,
    allowed_external: Collection[str] | None = None,
    trust_remote_code: bool = False,
) -> TokenCounter:
    """Return the shared counter for ``name`` (default :data:`DEFAULT_TOKENIZER`).

    Args:
        name: a built-in vocabulary, a hub id (aliased to a built-in vocabulary when its
            family is known), or a local tokenizer directory.
        allowed_external: when given, names that do not resolve to a built-in vocabulary
            must be in this collection (the server's operator allowlist). ``None`` allows any.
            A name not in it is resolved without looking at the file system: a path-like
            one (:func:`is_path_like`) is refused, existing or not.
        trust_remote_code: passed to ``transformers``; only operators should enable it.

    Raises:
        UnknownTokenizerError: the name cannot be resolved or loaded.
        TokenizerNotAllowedError: the name is external and not in ``allowed_external``.
    """
    if name is None:
        name = DEFAULT_TOKENIZER
    if not isinstance(name, str) or not name.strip() or len(name) > 512 or has_lone_surrogate(name):
        raise UnknownTokenizerError(
            f"tokenizer name must be a non-empty string, got {describe(name)}; "
            f"available: {', '.join(available_tokenizers())}"
        )
    # A name the operator has not allowed is answered from the name alone: looking it up on
    # disk told a client whether a directory existed (403 when it did, counted as an alias of
    # its last part when not). A path-like one is refused whether or not it exists; a hub id
    # maps to a built-in vocabulary by name, or is refused. Checked before the cache, so a
    # tokenizer loaded in this process for someone else is not a way round the allowlist.
    permitted = allowed_external is None or name in allowed_external
    family = None if not permitted and is_path_like(name) else builtin_family_for(name, look_on_disk=permitted)
    if family is None and not permitted:
        raise TokenizerNotAllowedError(
            f"tokenizer {describe(name)} is not allowed on this server. Allowed: "
            f"{', '.join([*available_tokenizers(), *sorted(allowed_external or ())])} "
            "(and hub ids of their families, e.g. 'Qwen/Qwen2.5-0.5B-Instruct'; "
            "a local path only when the operator allows it)."
        )
    key = ("builtin", family, False) if family else ("hugging_face", name, trust_remote_code)
    counter = _cache.get(key)
    if counter is not None:
        return counter
    with _load_locks_lock:
        load_lock = _load_locks.setdefault(key, threading.Lock())
    with load_lock:
        counter = _cache.get(key)
        if counter is None:
            counter = _load(key)
            _cache[key] = counter
    return counter


def _load(key: _CounterKey) -> TokenCounter:
    """Load a counter; a hub id that failed is refused for ``FAILED_LOAD_RETRY_S`` before it is
    tried again, so that clients naming it do not each wait out the hub."""
    kind, name, trust_remote_code = key
    if kind == "builtin":
        return BuiltinCounter(FAMILIES[name][0], name)
    failed_at, failure = _failed_loads.get(key, (None, None))
    if failed_at is not None and (seconds_ago := time.monotonic() - failed_at) < FAILED_LOAD_RETRY_S:
        raise UnknownTokenizerError(
            f"{failure} (it failed {seconds_ago:.0f} s ago; it is tried again {FAILED_LOAD_RETRY_S:.0f} s after a failure)"
        )
    try:
        counter = HuggingFaceCounter(name, trust_remote_code=trust_remote_code)
    except UnknownTokenizerError as exc:
        if not is_path_like(name) and not _is_directory(name):  # a directory may appear any moment
            _failed_loads[key] = (time.monotonic(), exc)
        raise
    _failed_loads.pop(key, None)
    return counter


def count_tokens(text: str, tokenizer: str | None = None) -> int:
    """Convenience: ``get_counter(tokenizer).count(text)``."""
    return get_counter(tokenizer).count(text)
