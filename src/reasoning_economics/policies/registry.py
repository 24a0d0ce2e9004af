"""Policies by spec string, reasoning-gym style: ``create_policy(spec, **options)``.

==========================================  ===================================================
``smollm2``                                 the embedded SmolLM2-135M-Instruct (GGUF, CPU)
``hf:/models/my-model`` / ``hf:org/name``   a transformers causal LM with its chat template
``openai:gpt-4o-mini``                      an OpenAI-compatible endpoint (vLLM, llama.cpp, ...)
``vllm:Qwen/Qwen2.5-0.5B-Instruct``         in-process vLLM (GPU machines, ``vllm`` installed)
``uniform`` / ``greedy_max``                scripted budget-mechanics baselines
``difficulty_oracle``                       scripted: spends in proportion to the difficulty
``oracle:accuracy=0.8,tokens=120``          scripted: known accuracy and length, for checks
==========================================  ===================================================

After the first ``:``, a policy that wraps a model takes the model (a directory, hub id or
served model name: the whole rest of the spec); any other policy takes ``key=value`` options
separated by commas. Keyword ``options`` add to the spec's (the CLI's ``--base-url`` arrives as
``base_url=...``, each ``--policy-option KEY=VALUE`` as one option); naming one option in both
places is an error. Every policy's options are a dataclass that validates itself, so a typo is a
:class:`ConfigError` listing what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.policies.base import Policy
from reasoning_economics.registry import Registry, init_fields


_BUILTIN_POLICIES: dict[str, str] = {
    "smollm2": "reasoning_economics.policies.embedded:EmbeddedPolicy:EmbeddedConfig",
    "hf": "reasoning_economics.policies.hf:HFPolicy:HFConfig",
    "openai": "reasoning_economics.policies.openai_compat:OpenAIPolicy:OpenAIConfig",
    "vllm": "reasoning_economics.policies.vllm_engine:VLLMPolicy:VLLMConfig",
    "uniform": "reasoning_economics.policies.uniform:UniformPolicy:BudgetBaselineConfig",
    "greedy_max": "reasoning_economics.policies.greedy_max:GreedyMaxPolicy:BudgetBaselineConfig",
    "difficulty_oracle": "reasoning_economics.policies.difficulty_oracle:DifficultyOraclePolicy:BudgetBaselineConfig",
    "oracle": "reasoning_economics.policies.oracle:OraclePolicy:OracleConfig",
}

MODEL_FIELD = "model"
"""A config with this field takes the rest of the spec after ``:`` as the model."""

_registry = Registry("policy", _BUILTIN_POLICIES)


def register_policy(name: str, policy_cls: type, config_cls: type) -> None:
    """Add a policy: ``create_policy(name, **options)`` then builds ``policy_cls(config_cls(**options))``."""
    _registry.register(name, policy_cls, config_cls)


def list_policies() -> list[str]:
    """Registered policy names, sorted."""
    return _registry.names()


def parse_option_value(text: str) -> Any:
    """A spec option's value: int, float, ``true``/``false``/``none``, else the string itself.

    Plain parsing, never evaluation: ``"1e3"`` is the float 1000.0, ``"abc"`` stays a string.

    >>> [parse_option_value(v) for v in ("3", "0.8", "true", "none", "qwen3")]
    [3, 0.8, True, None, 'qwen3']
    """
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return stripped


def parse_options(text: str) -> dict[str, Any]:
    """``"a=1,b=x"`` -> ``{"a": 1, "b": "x"}`` (see :func:`parse_option_value`)."""
    items = text.split(",")
    if not all(item.strip() for item in items):
        raise ConfigError(f"empty option in {text!r}; write key=value pairs separated by commas")
    return parse_option_pairs(items, where=f" in {text!r}")


def parse_option_pairs(items: Iterable[str], *, label: str = "option", where: str = "") -> dict[str, Any]:
    """``["a=1", "b=x,y"]`` -> ``{"a": 1, "b": "x,y"}``: each item one ``key=value`` option.
    Errors name an item as ``label`` (e.g. the flag that gave it) and add ``where``."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{label} {item.strip()!r}{where} is not of the form key=value")
        if key in options:
            raise ConfigError(f"{label} {key!r} is given twice{where}")
        options[key] = parse_option_value(value)
    return options


def option_roles(spec: str) -> tuple[frozenset[str], frozenset[str]]:
    """(connection options, secret options) of the policy ``spec`` names: the first say how
    requests reach a model, not what it is asked, the second must not be written down. A config
    class declares them as ``CONNECTION_OPTIONS`` and ``SECRET_OPTIONS``; most have none.

    Raises:
        UnknownNameError: the spec names no registered policy.
    """
    _, config_cls = _registry.classes(str(spec).strip().partition(":")[0].strip())
    return (
        frozenset(getattr(config_cls, "CONNECTION_OPTIONS", ())),
        frozenset(getattr(config_cls, "SECRET_OPTIONS", ())),
    )


def create_policy(spec: str, **options: Any) -> Policy:
    """The policy a spec string names (see the module docstring).

    Raises:
        UnknownNameError: the spec names no registered policy (the message lists them).
        ConfigError: the spec or an option is malformed.
        MissingExtraError: the policy needs an optional dependency that is not installed.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"policy spec must be a non-empty string, got {spec!r}; known: {', '.join(list_policies())}")
    name, sep, argument = spec.strip().partition(":")
    name = name.strip()
    policy_cls, config_cls = _registry.classes(name)
    fields = init_fields(config_cls)
    from_spec: dict[str, Any] = {}
    if sep:
        if not argument.strip():
            raise ConfigError(f"policy spec {spec!r} has nothing after ':'")
        if MODEL_FIELD in fields:
            from_spec[MODEL_FIELD] = argument.strip()
        else:
            from_spec = parse_options(argument)
    both = sorted(set(from_spec) & set(options))
    if both:
        raise ConfigError(f"option(s) {both} given both in the spec {spec!r} and as options")
    merged = {**from_spec, **options}
    _registry.check_options(name, config_cls, merged)
    if MODEL_FIELD in fields and not merged.get(MODEL_FIELD):
        raise ConfigError(f"policy {name!r} needs a model: write {name}:<model>")
    try:
        config = config_cls(**merged)
    except TypeError as exc:  # a wrongly typed value the dataclass itself did not catch
        raise ConfigError(f"invalid options for policy {name!r}: {exc}") from exc
    return policy_cls(config)
