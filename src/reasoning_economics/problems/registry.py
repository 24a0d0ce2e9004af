"""Sources by name, reasoning-gym style: ``create_source(spec, **cfg)``.

Spec strings:

==================================  ============================================================
``builtin``                         one registered source; ``cfg`` goes to its config class
``file:/data/x.jsonl``              ``name:argument`` sets the source's ``path`` option
``metamathqa+numina_tir``           union: every type of every part, evenly mixed (the reference mix)
``builtin:0.7,champ:0.3``           weighted mixture: questions split 70/30, even inside each part
``metamathqa+numina_tir:0.8,champ:0.2``  a union can be a weighted component
==================================  ============================================================

For a spec of more than one source, ``cfg`` maps a source name to that source's options,
for example ``create_source("metamathqa+numina_tir", metamathqa={"path": "mmqa.parquet"})``.
A path holding ``,`` or ``+`` is read as one file when the whole spec is ``file:<path>`` and
that file exists; inside a mixture, pass it through ``cfg`` instead.

Sources are built once per process for each (spec, cfg) and shared: loading a dataset
can take seconds, and a server creates an environment per session. The cache never
re-reads a file that changed on disk; call :func:`clear_source_cache` for that.
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems.base import ProblemSource
from reasoning_economics.problems.mixture import UnionSource, WeightedMixture
from reasoning_economics.registry import Registry, init_fields


_BUILTIN_SOURCES: dict[str, str] = {
    "builtin": "reasoning_economics.problems.builtin:BuiltinSource:BuiltinConfig",
    "metamathqa": "reasoning_economics.problems.metamathqa:MetaMathQASource:HubSourceConfig",
    "numina_tir": "reasoning_economics.problems.numina:NuminaTIRSource:HubSourceConfig",
    "file": "reasoning_economics.problems.files:FileSource:FileSourceConfig",
    "champ": "reasoning_economics.problems.champ:ChampSource:ChampConfig",
}

_registry = Registry("source", _BUILTIN_SOURCES, lookup_kind="problem source")
_build_lock = threading.RLock()


def register_source(name: str, source_cls: type, config_cls: type) -> None:
    """Add a source: ``create_source(name, **cfg)`` then builds ``source_cls(config_cls(**cfg))``.

    ``config_cls`` must be a dataclass (validating itself in ``__post_init__``); the built
    object must satisfy :class:`~reasoning_economics.problems.base.ProblemSource`.
    """
    _registry.register(name, source_cls, config_cls)


def list_sources() -> list[str]:
    """Registered source names, sorted."""
    return _registry.names()


def clear_source_cache() -> None:
    """Forget every built source (the next create_source builds afresh)."""
    with _build_lock:
        _build_leaf.cache_clear()
        _build_spec.cache_clear()


def create_source(spec: str, **cfg: Any) -> ProblemSource:
    """The source a spec string names (see the module docstring), built once per process.

    Raises:
        UnknownNameError: a name in the spec is not registered.
        ConfigError: the spec or an option is malformed.
        DatasetUnavailableError / DatasetFormatError / MissingExtraError: from the source.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"source spec must be a non-empty string, got {spec!r}")
    with _build_lock:  # one build per key even when sessions start at once
        return _build_spec(spec.strip(), _canonical(cfg))


def _canonical(cfg: dict[str, Any]) -> str:
    try:
        return json.dumps(cfg, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"source options must be JSON values (strings, numbers, lists, dicts): {exc}") from exc


def _parse_weight(component: str) -> tuple[str, float | None]:
    head, sep, tail = component.rpartition(":")
    if not sep or not head:
        return component, None
    try:
        return head, float(tail)
    except ValueError:
        return component, None  # ``file:/x.jsonl``: the tail is an argument, not a weight


def _parse_leaf(text: str) -> tuple[str, str | None]:
    name, sep, argument = text.strip().partition(":")
    name = name.strip()
    if sep and not argument.strip():
        raise ConfigError(f"source {name!r} in spec has an empty argument after ':'")
    return name, argument.strip() if sep else None


@functools.lru_cache(maxsize=64)
def _build_spec(spec: str, cfg_json: str) -> ProblemSource:
    name, _, path = spec.partition(":")
    if name.strip() == "file" and ("+" in path or "," in path) and Path(path.strip()).expanduser().is_file():
        # One existing file whose name holds the spec's separators, not several sources.
        return _build_leaf("file", path.strip(), cfg_json)
    cfg: dict[str, Any] = json.loads(cfg_json)
    components = [_parse_weight(part.strip()) for part in spec.split(",")]
    if any(not text for text, _ in components):
        raise ConfigError(f"source spec {spec!r} has an empty component")
    leaves = [[_parse_leaf(leaf) for leaf in text.split("+")] for text, _ in components]
    names = [name for group in leaves for name, _ in group]
    if len(names) == 1:
        options_by_name = {names[0]: cfg}
    else:
        unknown = sorted(set(cfg) - set(names))
        if unknown:
            raise ConfigError(
                f"spec {spec!r} has several sources, so options must be keyed by source name "
                f"({', '.join(sorted(set(names)))}); got {unknown}"
            )
        options_by_name = cfg
        for name, options in cfg.items():
            if not isinstance(options, dict):
                raise ConfigError(f"options for source {name!r} must be a dict, got {options!r}")

    def build_group(group: list[tuple[str, str | None]]) -> ProblemSource:
        parts = [
            _build_leaf(name, argument, json.dumps(options_by_name.get(name, {}), sort_keys=True))
            for name, argument in group
        ]
        return parts[0] if len(parts) == 1 else UnionSource(parts)

    weights = [weight for _, weight in components]
    if len(components) == 1:
        if weights[0] is not None:
            raise ConfigError(f"spec {spec!r}: a weight needs at least two comma-separated components")
        return build_group(leaves[0])
    if any(weight is None for weight in weights) and any(weight is not None for weight in weights):
        raise ConfigError(f"spec {spec!r}: give a weight to every component or to none")
    resolved = [1.0 if weight is None else weight for weight in weights]
    return WeightedMixture([(build_group(group), weight) for group, weight in zip(leaves, resolved, strict=True)])


@functools.lru_cache(maxsize=64)
def _build_leaf(name: str, argument: str | None, options_json: str) -> ProblemSource:
    source_cls, config_cls = _registry.classes(name)
    options: dict[str, Any] = json.loads(options_json)
    if argument is not None:
        if "path" not in init_fields(config_cls):
            raise ConfigError(f"source {name!r} takes no argument in the spec (got {name}:{argument})")
        if "path" in options:
            raise ConfigError(f"source {name!r}: path given both in the spec and in the options")
        options["path"] = argument
    _registry.check_options(name, config_cls, options)
    return source_cls(config_cls(**options))
