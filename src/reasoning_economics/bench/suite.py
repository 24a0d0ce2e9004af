"""Running the sections of a benchmark in order and collecting their results.

Sections are registered by name; each is a module with ``run(context) -> SectionResult``
and imports its heavy dependencies only when it runs.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable
from importlib import import_module
from typing import Any

from rich.console import Console

from reasoning_economics.bench.config import BenchConfig
from reasoning_economics.bench.context import BenchContext
from reasoning_economics.bench.machine import describe_machine, load_average
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


def failed_section(name: str, error: Exception) -> SectionResult:
    """What a section that raised reports: the error, in the table and in the JSON."""
    message = f"{type(error).__name__}: {error}"
    return SectionResult(
        name=name,
        title=f"{name}: FAILED",
        columns=("error",),
        rows=[(message[:500],)],
        data={"error": message, "traceback": traceback.format_exc()},
        notes=[f"the {name} section raised and measured nothing"],
    )


def run_suite(config: BenchConfig, console: Console | None = None, command: str = "ree bench") -> dict[str, Any]:
    """Run ``config.sections`` in order, print their tables, and return the JSON document."""
    console = console or Console()
    context = BenchContext(config)
    machine = describe_machine()
    results: list[SectionResult] = []
    run_started = time.perf_counter()
    for name in config.sections:
        console.print(f"[bold cyan]-> {name}[/]")
        started = time.perf_counter()
        try:
            section = section_runner(name)(context)
        except Exception as error:  # one failed section must not lose the others' numbers
            console.print_exception(max_frames=8)
            section = failed_section(name, error)
        section.seconds = time.perf_counter() - started
        console.print(f"   {name}: {section.seconds:.1f} s")
        results.append(section)
    render(console, results, machine)
    settings = {key: value for key, value in dataclasses.asdict(config).items() if key != "cache_dir"}
    payload = document(results, machine, settings, command)
    payload["failed_sections"] = [section.name for section in results if "error" in section.data]
    payload["seconds"] = time.perf_counter() - run_started
    payload["load_average_at_end"] = load_average()
    return payload
