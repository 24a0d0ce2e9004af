"""Rendering a run: rich tables on the console, one JSON document on disk."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reasoning_economics.bench.results import SectionResult, Target


def render(console: Console, sections: list[SectionResult], machine: dict[str, Any]) -> None:
    console.print(
        f"[bold]Machine:[/] {escape(machine['cpu_model'])}, {machine['usable_cores']} usable cores, "
        f"Python {escape(machine['python'])}, {escape(machine['platform'])}"
    )
    for section in sections:
        # Titles, cells and notes carry URLs and error messages: text, not markup.
        table = Table(title=escape(section.title), title_justify="left")
        for index, column in enumerate(section.columns):
            table.add_column(column, justify="left" if index == 0 else "right", no_wrap=index == 0)
        for row in section.rows:
            table.add_row(*[escape(str(cell)) for cell in row])
        console.print(table)
        for note in section.notes:
            console.print(f"  [yellow]note:[/] {escape(note)}")
    targets = [target for section in sections for target in section.targets]
    if targets:
        table = Table(title="Targets (docs/performance.md)", title_justify="left")
        for column in ("target", "measured", "goal", "met"):
            table.add_column(column, justify="left" if column == "target" else "right")
        for target in targets:
            measured = "n/a" if math.isnan(target.measured) else f"{measured_text(target)} {target.unit}"
            goal = f"{target.comparison} {target.limit:,g} {target.unit}"
            met = {True: "[green]yes[/]", False: "[red]no[/]", None: "[yellow]not measured[/]"}[target.met]
            table.add_row(escape(target.name), measured, goal, met)
        console.print(table)


def measured_text(target: Target) -> str:
    """The measured value as :func:`readable` writes it, or with up to six significant digits
    where three would read as the limit itself: "1.5 x | <= 1.5 x | no" looked like a wrong verdict
    for 1.5006."""
    text = readable(target.measured)
    if target.measured != target.limit and float(text.replace(",", "")) == target.limit:
        return f"{target.measured:,.6g}"
    return text


def readable(value: float) -> str:
    """Three significant digits without an exponent: 2,751 steps/s, not 2.75e+03."""
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 0.001 else f"{value:.2e}"


def document(
    sections: list[SectionResult], machine: dict[str, Any], config: dict[str, Any], command: str
) -> dict[str, Any]:
    """The JSON document of a run: the machine, the config, every section, every target."""
    return {
        "command": command,
        "machine": machine,
        "config": config,
        "sections": {section.name: section.as_dict() for section in sections},
        "targets": [target.as_dict() for section in sections for target in section.targets],
    }
