"""Untrusted text (run names, problem types, model output) made safe to show to a person."""

from __future__ import annotations

import html


def visible(text: str) -> str:
    """``text`` with each character that is not printable (controls such as ESC, bidi
    overrides, zero-width marks, line breaks) written as its ``\\x..`` / ``\\u....`` escape, so a
    terminal or a figure shows it instead of obeying it (or drawing a missing glyph); spaces stay."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
        for ch in text
    )


def html_text(value: object) -> str:
    """``value`` as the text of an HTML element: markup escaped, and each character that is
    not printable shown as :func:`visible` shows it (a bidi override in a model's answer
    reversed the cells after it), except line breaks, which the report's cells keep."""
    return html.escape("\n".join(visible(line) for line in str(value).split("\n")))
