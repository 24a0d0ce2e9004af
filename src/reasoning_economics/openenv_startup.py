"""OpenEnv imported without its gradio web interface, which this package never serves.

The first import of ``openenv.core.env_server`` (which any ``openenv.core`` import runs)
imports OpenEnv's web interface, and the interface imports gradio: 4.5 of the 7 s that
``import reasoning_economics.env`` took on 2 cores, paid by every ``ree serve``, ``ree eval``
and ``ree train`` start. OpenEnv already goes on without the interface when that import
raises ModuleNotFoundError (``openenv.core.env_server.create_web_interface_app`` is then
None), and its ``create_app`` imports the interface itself when ``ENABLE_WEB_INTERFACE`` asks
for the UI. So that first, eager import is refused, and only it: any later import of the
interface, or of gradio, works as ever.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

WEB_INTERFACE = "openenv.core.env_server.web_interface"


class _RefuseEagerWebInterfaceImport(importlib.abc.MetaPathFinder):
    """Refuses the first import of OpenEnv's web interface, then steps aside."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != WEB_INTERFACE:
            return None
        sys.meta_path.remove(self)
        raise ModuleNotFoundError(
            f"{WEB_INTERFACE} is not imported with OpenEnv's server package (see reasoning_economics.openenv_startup); "
            "it is imported when it is used",
            name=fullname,
        )


def defer_openenv_web_interface() -> None:
    """Refuse the web interface's eager import, unless OpenEnv's server package was imported already
    (then that import has happened, and the next one is a use of the interface)."""
    if "openenv.core.env_server" in sys.modules:
        return
    if not any(isinstance(finder, _RefuseEagerWebInterfaceImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RefuseEagerWebInterfaceImport())
