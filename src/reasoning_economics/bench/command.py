"""``ree bench``: measure the environment's floor, in-process speed and WebSocket load."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer


def bench(
    quick: bool = typer.Option(False, "--quick", help="Smaller, capped run of every section (under a minute)."),
    output: Path = typer.Option(
        None, "--output", "-o",
        help=(
            "JSON file to write. Default, under the current folder: benchmarks/results/bench-<mode>.json for "
            "every section, bench-<mode>-<sections>.json for --only, with -external for --server-url."
        ),
    ),
    only: list[str] = typer.Option(
        None, "--only", help="Run only these sections (repeatable): tokens, grading, env, websocket. Default: all, or websocket with --server-url."
    ),
    server_url: str = typer.Option(
        None,
        "--server-url",
        help=(
            "Load this server instead of starting `ree serve` (websocket section): any OpenEnv "
            "WebSocket server on this machine, e.g. the reference environment, for a side-by-side "
            "run with the same workload. http://127.0.0.1:8001 or ws://127.0.0.1:8001/ws."
        ),
    ),
    server_pid: int = typer.Option(
        None, "--server-pid", help="Process id of the --server-url server, to read its CPU time and memory."
    ),
) -> None:
    """Benchmark token counting, grading, the in-process environment and `ree serve` over WebSocket.

    Prints tables, checks the performance targets (docs/performance.md) and writes JSON describing the machine. Loops are bounded in count and time, and the server listens on 127.0.0.1 only.
    """
    from rich.console import Console

    from reasoning_economics.bench.config import BenchConfig
    from reasoning_economics.jsonl import write_json
    from reasoning_economics.bench.suite import run_suite
    from reasoning_economics.errors import ConfigError

    sections = sections_to_run(only, server_url)
    if server_url is not None and "websocket" not in sections:
        raise typer.BadParameter("--server-url is for the websocket section; add --only websocket")
    target = {"server_url": server_url, "server_pid": server_pid}
    try:
        config = BenchConfig.quick(sections=sections, **target) if quick else BenchConfig.full(sections=sections, **target)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if config.server_url is not None and (problem := unreachable(config.server_url)) is not None:
        raise typer.BadParameter(f"{problem}; start that server first", param_hint="--server-url")
    path = output or default_output(config)
    try:
        check_output_file(path)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console = Console()
    if not console.is_terminal:  # piped output: room for the wide WebSocket table
        console = Console(width=160)
    command = shlex.join(
        [
            "ree", "bench", *(["--quick"] if quick else []), *[f"--only={name}" for name in only or ()],
            *([f"--server-url={server_url}"] if server_url else []),
            *([f"--server-pid={server_pid}"] if server_pid else []),
        ]
    )  # fmt: skip
    payload = run_suite(config, console, command=command)
    try:
        write_json(path, payload)
    except OSError as exc:  # the disk filled up or the folder changed during the run
        console.print(f"ree bench: {unwritable(path, exc)}", style="red", markup=False)
        raise typer.Exit(2) from exc
    console.print(f"wrote {path}", markup=False)
    if payload["failed_sections"]:
        console.print(f"[red]failed sections: {', '.join(payload['failed_sections'])}[/]")
        raise typer.Exit(1)


def sections_to_run(only: list[str] | None, server_url: str | None) -> tuple[str, ...]:
    """``--only``'s sections once each, in the order given; without it every section, or only
    the websocket section when another server is loaded (the others never touch it)."""
    from reasoning_economics.bench.config import SECTIONS

    if only:
        return tuple(dict.fromkeys(only))
    return ("websocket",) if server_url is not None else SECTIONS


def default_output(config) -> Path:
    """Where a run writes without --output: a partial run or another server's numbers must not
    replace the published whole run (benchmarks/results/bench-full.json, docs/performance.md's tables)."""
    from reasoning_economics.bench.config import SECTIONS

    name = f"bench-{config.mode}"
    if tuple(config.sections) != SECTIONS:
        name += "-" + "-".join(config.sections)
    if config.server_url is not None:
        name += "-external"
    return Path("benchmarks/results") / f"{name}.json"


def check_output_file(path: Path) -> None:
    """Raise :class:`ConfigError` unless the JSON file ``path`` can be written, creating its
    folder: checked before the run, so that minutes of measuring are not lost to a typo."""
    from reasoning_economics.errors import ConfigError
    from reasoning_economics.evaluation.results import make_output_dir
    from reasoning_economics.jsonl import temporary_sibling

    if path.is_dir():
        raise ConfigError(f"--output {str(path)!r} is a directory; name a JSON file")
    if path.exists() and not path.is_file():
        return  # a device or a pipe (/dev/stdout): written into as it is, no file made beside it
    make_output_dir(path.parent, "--output")
    probe = temporary_sibling(path)  # a name like the one write_json writes first
    try:
        probe.open("x").close()
        probe.unlink()
    except OSError as exc:
        raise ConfigError(unwritable(path, exc)) from exc


def unwritable(path: Path, exc: OSError) -> str:
    """The error line of an --output file that cannot be written (it named the temporary file)."""
    return f"--output {str(path)!r}: cannot write it ({exc.strerror or exc})"


def unreachable(ws_url: str, timeout_s: float = 5.0) -> str | None:
    """Why no WebSocket server answers at ``ws_url``, or None: said in one line before any
    measuring, instead of a traceback from the load client's first session, or a failed
    section after the others' minutes (a listener that is not a WebSocket server there)."""
    import asyncio
    import socket
    from urllib.parse import urlsplit

    from reasoning_economics.bench.env_websocket import check_answers

    parts = urlsplit(ws_url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        return f"nothing answers at {parts.hostname}:{port} ({exc.strerror or exc})"
    try:
        asyncio.run(check_answers(ws_url, open_timeout=timeout_s))
    except ConnectionError as exc:
        return str(exc)
    return None
