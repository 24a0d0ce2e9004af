"""Settings files: one reader for ``ree serve --config``, ``ree train --config`` and friends."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError

SUFFIXES = (".toml", ".yaml", ".yml", ".json")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping held by a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file (empty file: ``{}``).

    Raises ConfigError, naming the file, when it is missing, unreadable, of another type,
    not valid in its format (a key given twice included: TOML refuses it, and JSON and YAML
    kept the last value in silence), or holds something other than a mapping.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory; name a {', '.join(SUFFIXES)} file in it")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist" if not path.exists() else f"config file {path} is not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"config file {path} must end in {', '.join(SUFFIXES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        if suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # Python 3.10 has no tomllib; tomli is the same parser (a core dependency there)
                import tomli as tomllib
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text, object_pairs_hook=_without_repeated_keys)
        else:
            import yaml

            data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError, JSONDecodeError: each says where
        raise ConfigError(f"config file {path} is not valid {suffix[1:].upper()}: {_one_line(exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def _one_line(exc: Exception) -> str:
    """A parser's error on one line: yaml's spans five, quoting the text with a caret and naming
    the source ``<unicode string>``; its marks give the same places as line and column."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem is None or mark is None:
        return " ".join(str(exc).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        where += f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    return where


def _without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise ValueError(f"key {key!r} is given twice")
        mapping[key] = value
    return mapping


def _yaml_loader() -> Any:
    """yaml's SafeLoader, refusing a key given twice in one mapping."""
    import yaml

    class SafeLoaderWithoutRepeatedKeys(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen = set()  # an unhashable key fails here as in construct_mapping: invalid YAML
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return SafeLoaderWithoutRepeatedKeys
