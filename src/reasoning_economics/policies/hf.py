"""``hf:<directory or hub id>``: any ``transformers`` causal LM, with its chat template.

A local directory works offline; a hub id needs the hub or its local cache (with
``HF_HUB_OFFLINE=1`` only the cache is used). The model is loaded once per process for each
(model, dtype, device, trust_remote_code) and shared by every policy built on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError, require
from reasoning_economics.policies.chat import LocalModelConfig
from reasoning_economics.policies.transformers_backend import TransformersPolicy
from reasoning_economics.tokens import refuse_missing_model_directory

DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class HFConfig(LocalModelConfig):
    """``model``: directory or hub id; ``dtype``: one of :data:`DTYPES` (float32 on CPU);
    ``device``: a torch device ("cpu", "cuda", "cuda:1"); ``trust_remote_code``: run the
    model repository's own code (only for repositories you trust)."""

    model: str = ""
    dtype: str = "float32"
    device: str = "cpu"
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")


_loaded: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_load_lock = threading.Lock()


def load_pretrained(model: str, *, dtype: str = "float32", device: str = "cpu",
                    trust_remote_code: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer) for a directory or hub id, loaded once per process.

    Raises:
        ConfigError: the model or its tokenizer cannot be loaded (the message says why).
    """
    transformers = require("transformers", "models")
    key = (model, dtype, device, trust_remote_code)
    refuse_missing_model_directory(model)
    check_device(device)
    with _load_lock:
        if key not in _loaded:
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
                network = transformers.AutoModelForCausalLM.from_pretrained(
                    model, dtype=dtype, trust_remote_code=trust_remote_code
                ).to(device)
            except (OSError, ValueError, ImportError) as exc:
                raise ConfigError(f"cannot load model {model!r}: {type(exc).__name__}: {exc}") from exc
            _loaded[key] = (network.eval(), tokenizer)
        return _loaded[key]


def check_device(device: str) -> None:
    """Raise :class:`ConfigError` unless ``device`` names a torch device this machine has: a
    misspelt one, or ``cuda`` on a CPU-only build, was torch's traceback once the model had loaded."""
    torch = require("torch", "models")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ConfigError(f"device {device!r} is not a torch device ({reason}); e.g. cpu, cuda, cuda:1") from None
    if parsed.type == "cpu":
        return
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"device {device!r}: this machine has no CUDA GPU that torch can use; use device=cpu")
        if parsed.index is not None and parsed.index >= count:
            raise ConfigError(f"device {device!r}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
        return
    if parsed.type == "mps" and torch.backends.mps.is_available():
        return
    raise ConfigError(f"device {device!r}: this build of torch cannot use {parsed.type} devices here; use cpu or cuda")


class HFPolicy(TransformersPolicy):
    def __init__(self, config: HFConfig) -> None:
        model, tokenizer = load_pretrained(
            config.model, dtype=config.dtype, device=config.device, trust_remote_code=config.trust_remote_code
        )
        # The environment counts with the same tokenizer when given the same name.
        super().__init__(f"hf:{config.model}", model, tokenizer, config, tokenizer_name=config.model)
        self.config = config
