"""JSON as the package writes it: one JSON Lines record as text (the episode log and
``results.jsonl``), and whole JSON files (``summary.json``, ``run.json``, the benchmark's results),
written atomically as every whole file the package writes is (``report.html`` too)."""

from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

# JSON lets these stand raw inside strings, but str.splitlines() and some editors end a line
# at each: an answer holding one split its record in two for them. Escaped, the line is the
# same JSON value.
_LINE_BREAKS_JSON_KEEPS = (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def json_line(record: Any, **dumps_options: Any) -> str:
    """``record`` as one line of JSON ending in a newline, non-ASCII text kept as it is."""
    text = json.dumps(record, ensure_ascii=False, **dumps_options)
    # Searched for, then replaced: str.translate looked each non-ASCII character up in its
    # table (seconds on megabytes of such text, holding the GIL); `in` and str.replace are
    # plain scans, and most records hold none of these.
    for line_break, escaped in _LINE_BREAKS_JSON_KEEPS:
        if line_break in text:
            text = text.replace(line_break, escaped)
    return text + "\n"


def write_json(path: str | Path, data: Any, *, sort_keys: bool = False) -> Path:
    """Write ``data`` to ``path`` as indented JSON, atomically (a temporary file renamed over
    it), so a crash never leaves half a file; returns the path.

    JSON has no NaN or infinity: such a number becomes null, where ``json.dumps`` would write
    a ``NaN`` token that strict readers (``jq``, browsers) refuse.
    """
    text = json.dumps(_finite(data), indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False, default=str)
    return write_text_atomically(path, text + "\n")


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed over it: a failed write (a
    full disk, a file-size limit) leaves the file as it was and no temporary file behind.

    A symbolic link keeps pointing where it did: the file it names is the one replaced. A path
    that is no regular file (``/dev/stdout``, a FIFO) is written into as it is: the rename put a
    regular file in place of the device, which as root replaced ``/dev/full`` itself."""
    path = Path(path)
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8") as file:  # a directory fails here, naming itself
            file.write(text)
        return path
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(target)
    try:
        with temporary.open("x", encoding="utf-8") as file:
            file.write(text)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def temporary_sibling(path: Path) -> Path:
    """A new name in ``path``'s folder for a file written before it is renamed to ``path``.

    Unique, so that it never names a file of the user's (a fixed ``<name>.tmp`` was overwritten,
    or deleted on failure) nor one another writer of ``path`` is writing; hidden, and ending in
    ``.tmp``, so that a file a killed process left is recognisable.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
