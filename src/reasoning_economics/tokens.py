"""Token counting in the policy's own tokenizer.

Two kinds of counter share one process-wide cache:

- **Built-in vocabularies** from ``quicktok`` (``qwen3``, ``llama3``, ``cl100k_base``,
  ``o200k_base``): offline, exact and fast. Hub ids of those families resolve to them
  through :data:`ALIASES`, so ``Qwen/Qwen2.5-0.5B-Instruct`` counts with ``qwen3`` and
  never touches the network.
- **Any Hugging Face tokenizer** by local directory or hub id, through ``transformers``
  (the ``models`` extra). It is loaded once per process and shared by every session.

Counting treats special-token text such as ``<think>`` or ``<|im_end|>`` as the single
token a model emits for it, which is what a Hugging Face tokenizer does with added tokens.

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

# Hub-id families whose ordinary-text BPE is exactly one of the built-in vocabularies.
# Matched case-insensitively against the part after the last "/".
ALIASES: tuple[tuple[str, str], ...] = (
    (r"qwen(2|2\.5|3)(\b|[-_.]).*", "qwen3"),
    (r"qwq.*", "qwen3"),
    (r"deepseek-r1-distill-qwen.*", "qwen3"),
    (r"(meta-)?llama-?3(\.\d)?(\b|[-_.]).*", "llama3"),
    (r"deepseek-r1-distill-llama.*", "llama3"),
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
    """A quicktok vocabulary shipped inside the package; fully offline."""

    def __init__(self, vocabulary: str) -> None:
        import quicktok

        self.name = vocabulary
        self._encoding = quicktok.get_encoding(vocabulary)
        specials = sorted(self._encoding.special_tokens_set, key=len, reverse=True)
        self._specials = re.compile("|".join(map(re.escape, specials)) or r"(?!)")
        # Every special token of the shipped vocabularies starts with "<"; text without one
        # (most responses) skips the special-token search.
        self._special_start = "<" if all(special.startswith("<") for special in specials) else ""
        self._count_batch = quicktok.count_batch

    def count(self, text: str) -> int:
        # Checked only when quicktok refuses the text: counting is on every step's path.
        try:
            if self._special_start not in text:
                return self._encoding.count(text)
            # quicktok's special-token path builds every id and is ~8x slower than count(); the
            # special tokens cut the text where encode_with_special_tokens cuts it, one token each
            # (tests/test_tokens.py checks the counts agree).
            pieces = self._specials.split(text)
            return sum(self._encoding.count(piece) for piece in pieces if piece) + len(pieces) - 1
        except TypeError:
            refuse_uncountable([text])
            raise

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        # quicktok's threaded batch only pays off on large batches (measured: 10 questions
        # take 113 us p50 through it and 12 us in a loop, with identical counts).
        if len(texts) < BATCH_THREADING_MIN:
            return [self.count(text) for text in texts]
        try:
            return [int(n) for n in self._count_batch(self._encoding, list(texts), with_special=True)]
        except TypeError:
            refuse_uncountable(texts)
            raise

    def encode(self, text: str) -> list[int]:
        try:
            return list(self._encoding.encode_with_special_tokens(text))
        except TypeError:
            refuse_uncountable([text])
            raise

    def decode(self, ids: Sequence[int]) -> str:
        return self._encoding.decode(list(ids))


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
            cause = f"the hub cannot serve it ({unreachable}) and the local cache has no copy" if unreachable else (
                f"{type(exc).__name__}: {exc}"
            )
            raise UnknownTokenizerError(
                f"could not load tokenizer {describe(name_or_path)} ({cause}). "
                f"Available offline: {', '.join(available_tokenizers())}; "
                "or pass a local directory that holds a Hugging Face tokenizer."
            ) from exc

    def count(self, text: str) -> int:
        return len(self._ids(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
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

    A local directory is its own tokenizer, whatever its name; with ``look_on_disk=False``
    the name alone decides and the file system is never consulted (what a server does for
    a name its operator has not allowed, so a client cannot probe for directories).

    >>> builtin_vocabulary_for("Qwen/Qwen2.5-0.5B-Instruct")
    'qwen3'
    >>> builtin_vocabulary_for("meta-llama/Llama-3.1-8B-Instruct")
    'llama3'
    """
    if name in BUILTIN_VOCABULARIES:
        return name
    if look_on_disk and _is_directory(name):
        return None
    model = name.strip().lower().rsplit("/", 1)[-1]
    for pattern, vocabulary in ALIASES:
        if re.fullmatch(pattern, model):
            return vocabulary
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

_CounterKey = tuple[str, bool]
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
    vocabulary = None if not permitted and is_path_like(name) else builtin_vocabulary_for(name, look_on_disk=permitted)
    if vocabulary is None and not permitted:
        raise TokenizerNotAllowedError(
            f"tokenizer {describe(name)} is not allowed on this server. Allowed: "
            f"{', '.join([*available_tokenizers(), *sorted(allowed_external or ())])} "
            "(and hub ids of their families, e.g. 'Qwen/Qwen2.5-0.5B-Instruct'; "
            "a local path only when the operator allows it)."
        )
    key = (vocabulary or name, trust_remote_code and vocabulary is None)
    counter = _cache.get(key)
    if counter is not None:
        return counter
    with _load_locks_lock:
        load_lock = _load_locks.setdefault(key, threading.Lock())
    with load_lock:
        counter = _cache.get(key)
        if counter is None:
            counter = _load(key, vocabulary, name, trust_remote_code)
            _cache[key] = counter
    return counter


def _load(key: _CounterKey, vocabulary: str | None, name: str, trust_remote_code: bool) -> TokenCounter:
    """Load a counter; a hub id that failed is refused for ``FAILED_LOAD_RETRY_S`` before it is
    tried again, so that clients naming it do not each wait out the hub."""
    if vocabulary:
        return BuiltinCounter(vocabulary)
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
