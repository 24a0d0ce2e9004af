"""One JSON Lines record as text: the one way the episode log and ``results.jsonl`` write lines."""

from __future__ import annotations

import json
from typing import Any

# JSON lets these stand raw inside strings, but str.splitlines() and some editors end a line
# at each: an answer holding one split its record in two for them. Escaped, the line is the
# same JSON value.
_LINE_BREAKS_JSON_KEEPS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(record: Any, **dumps_options: Any) -> str:
    """``record`` as one line of JSON ending in a newline, non-ASCII text kept as it is."""
    return json.dumps(record, ensure_ascii=False, **dumps_options).translate(_LINE_BREAKS_JSON_KEEPS) + "\n"
