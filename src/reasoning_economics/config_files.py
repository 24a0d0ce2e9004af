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
    not valid in its format, or holds something other than a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
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
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError, JSONDecodeError: each says where
        raise ConfigError(f"config file {path} is not valid {suffix[1:].upper()}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, got {type(data).__name__}")
    return data
