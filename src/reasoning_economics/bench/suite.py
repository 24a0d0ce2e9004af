"""Running the sections of a benchmark in order and collecting their results.

Sections are registered by name; each is a module with ``run(context) -> SectionResult``
and imports its heavy dependencies only when it runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import import_module
from typing import Any

from rich.console import Console

from reasoning_economics.bench.config import BenchConfig
from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.machine import describe_machine
from reasoning_economics.bench.report import document, render
from reasoning_economics.bench.results import SectionResult

SECTION_MODULES = {
    "tokens": "reasoning_economics.bench.bare_tokens",
    "grading": "reasoning_economics.bench.bare_grading",
    "env": "reasoning_economics.bench.env_inprocess",
    "websocket": "reasoning_economics.bench.env_websocket",
}


def section_runner(name: str) -> Callable[[BenchContext], SectionResult]:
    return import_module(SECTION_MODULES[name]).run


def run_suite(config: BenchConfig, console: Console | None = None, command: str = "ree bench") -> dict[str, Any]:
    """Run ``config.sections`` in order, print their tables, and return the JSON document."""
    console = console or Console()
    context = BenchContext(config)
    machine = describe_machine()
    results: list[SectionResult] = []
    for name in config.sections:
        console.print(f"[bold cyan]-> {name}[/]")
        results.append(section_runner(name)(context))
    render(console, results, machine)
    settings = {key: value for key, value in dataclasses.asdict(config).items() if key != "cache_dir"}
    return document(results, machine, settings, command)
