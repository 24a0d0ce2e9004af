"""Timing what hostile text costs the server process, for ``benchmarks/hostile_extraction.py``
(whole responses) and ``benchmarks/hostile_answers.py`` (final answers)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def arguments(description: str) -> argparse.Namespace:
    """The scripts' command line: ``--repeat N`` (best of N, default 3) and ``--json PATH``."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per text; the best is kept (default 3)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def best_ms(function: Callable[[str], Any], text: str, repeat: int) -> float:
    """The fastest of ``repeat`` calls of ``function(text)``, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def write_shapes(path: Path, repeat: int, shapes: dict[str, dict[str, Any]]) -> None:
    """Write the figures of each shape, with the machine they came from, as JSON at ``path``."""
    from reasoning_economics.bench.machine import describe_machine

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": describe_machine(), "repeat": repeat, "shapes": shapes}, indent=2))
    print(f"wrote {path}")
