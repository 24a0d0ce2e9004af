"""What every figure of the package shares: run names drawn safely, legends kept off the data.

Used by the report's figures (:mod:`reasoning_economics.evaluation.plots`) and the training
curves (:mod:`reasoning_economics.training.logs`); matplotlib objects come in, nothing is imported.
"""

from __future__ import annotations

import math
from typing import Any

from reasoning_economics.text import visible

LABEL_CHARS = 40
"""Longest run name drawn in a figure; longer ones keep their start and end around an ellipsis."""

INSIDE_LEGEND_ENTRIES = 8
"""A legend with more entries goes beside the axes (in columns), not over the data."""


def label(name: str) -> str:
    """A run name as figure text: drawn as written, never read as markup, and short enough.

    Names are folder names, which may hold anything: matplotlib reads text between two ``$``
    as TeX math (``$x$`` lost its dollars; ``$\\frac{$`` raised at draw time and took the
    whole report with it), and control characters have no glyph.
    """
    text = visible(str(name))
    if len(text) > LABEL_CHARS:
        half = (LABEL_CHARS - 1) // 2
        text = text[:half] + "…" + text[-(LABEL_CHARS - 1 - half):]
    # An escaped dollar is a literal one, and "\\$" stays a backslash then a dollar.
    return text.replace("$", "\\$")


def place_legend(figure: Any, ax: Any) -> None:
    """The legend of ``ax``: inside it for a few entries, else beside the figure's axes in
    columns of at most 20, the figure widened by their width so the axes keep theirs."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:  # a figure with a note instead of data: matplotlib warns of an empty legend
        return
    if len(handles) <= INSIDE_LEGEND_ENTRIES:
        ax.legend(fontsize="small")
        return
    ncols = math.ceil(len(handles) / 20)
    figure.legend(handles, labels, loc="outside right upper", fontsize="x-small", ncols=ncols)
    longest = max(len(text) for text in labels)
    figure.set_size_inches(figure.get_figwidth() + ncols * (0.35 + 0.045 * longest), figure.get_figheight())
