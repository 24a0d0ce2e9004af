"""Name -> (class, config dataclass) registries, reasoning-gym style, shared by problem
sources and policies.

Built-in entries are ``"module:Class:Config"`` targets imported on first use, so listing or
looking up a name never imports a heavy module it does not need. An item is built as
``cls(config_cls(**options))``; the config dataclass validates itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from reasoning_economics.errors import ConfigError, UnknownNameError

ItemClasses = tuple[type, type]
"""(item class, config dataclass)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _lazy(target: str) -> Callable[[], ItemClasses]:
    module, item_name, config_name = target.split(":")

    def load() -> ItemClasses:
        loaded = import_module(module)
        return getattr(loaded, item_name), getattr(loaded, config_name)

    return load


def init_fields(config_cls: type) -> set[str]:
    """The option names a config dataclass accepts."""
    return {field.name for field in dataclasses.fields(config_cls) if field.init}


class Registry:
    """Registered names of one ``kind`` (``"source"``, ``"policy"``) and their classes."""

    def __init__(self, kind: str, builtins: Mapping[str, str], *, lookup_kind: str | None = None) -> None:
        self.kind = kind
        self.lookup_kind = lookup_kind or kind  # how an unknown name is named in its error
        self._loaders: dict[str, Callable[[], ItemClasses]] = {name: _lazy(target) for name, target in builtins.items()}

    def register(self, name: str, item_cls: type, config_cls: type) -> None:
        """Add ``name``: building it then gives ``item_cls(config_cls(**options))``."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{self.kind} name must match {_NAME.pattern}, got {name!r}")
        if name in self._loaders:
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        if not dataclasses.is_dataclass(config_cls):
            raise ConfigError(f"config class of {self.kind} {name!r} must be a dataclass, got {config_cls!r}")
        self._loaders[name] = lambda: (item_cls, config_cls)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._loaders)

    def classes(self, name: str) -> ItemClasses:
        """(item class, config dataclass) of ``name``; UnknownNameError lists the registered names."""
        loader = self._loaders.get(name)
        if loader is None:
            raise UnknownNameError(f"unknown {self.lookup_kind} {name!r}; registered: {', '.join(self.names())}")
        return loader()

    def check_options(self, name: str, config_cls: type, options: Mapping[str, Any]) -> None:
        """ConfigError naming the options ``config_cls`` does not accept, and the ones it does."""
        fields = init_fields(config_cls)
        unknown = sorted(set(options) - fields)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {unknown} for {self.kind} {name!r}; accepted: {', '.join(sorted(fields))}"
            )
