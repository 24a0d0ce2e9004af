#!/usr/bin/env python
"""How a WebSocket session fares while clients flood ``POST /reset`` (the table in
docs/deployment.md, "HTTP resets").

Starts ``ree serve`` on 127.0.0.1 (extra server arguments after ``--``). One session, in a
process of its own, sends ``state`` every ``--interval`` seconds and times each answer; meanwhile
this process sends resets over raw sockets, either ``--burst N`` at once for ``--rounds``
rounds, or ``--clients C`` clients resetting back to back for ``--seconds``. Usage::

    python benchmarks/http_reset_flood.py --burst 500 --rounds 2
    python benchmarks/http_reset_flood.py --clients 200 --seconds 8 --json benchmarks/results/http-reset-flood.json
    python benchmarks/http_reset_flood.py --burst 500 -- --max-http-resets 1000   # effectively unlimited

Every loop is bounded in count and time; each connection gives up after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from reasoning_economics.bench.server_process import ServerProcess

RESET_BODY = json.dumps({"tokenizer_name": "Qwen/Qwen3-0.6B"}).encode()


def reset_request(port: int) -> bytes:
    head = (
        f"POST /reset HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(RESET_BODY)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + RESET_BODY


async def one_reset(port: int, timeout: float) -> str:
    """The status code of one reset on a new connection ("error: ..." when there is none)."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(reset_request(port))
                status_line = await reader.readline()
                await reader.read()  # the rest, until the server closes
            finally:
                writer.close()
        parts = status_line.split()
        return parts[1].decode() if len(parts) > 1 else "error: no status line"
    except (OSError, TimeoutError) as exc:
        return f"error: {type(exc).__name__}"


async def burst(port: int, size: int, rounds: int, timeout: float) -> tuple[Counter, list[float]]:
    statuses: Counter = Counter()
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        statuses.update(await asyncio.gather(*(one_reset(port, timeout) for _ in range(size))))
        durations.append(time.perf_counter() - started)
    return statuses, durations


async def sustained(port: int, clients: int, seconds: float, timeout: float) -> tuple[Counter, list[float]]:
    statuses: Counter = Counter()
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < stop_at:
            status = await one_reset(port, timeout)
            statuses[status] += 1
            if status == "503":
                await asyncio.sleep(0.01)  # a polite client waits; Retry-After says 1 s

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return statuses, [time.perf_counter() - started]


def watch_session(ws_url: str, interval: float, ready, stop, results) -> None:
    """In a process of its own: one session sending ``state`` until ``stop`` is set; puts
    ``(wall-clock time sent, seconds to the answer)`` of each on ``results``."""
    from websockets.sync.client import connect

    latencies = []
    with connect(ws_url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 1}}))
        ws.recv(timeout=30)
        ready.set()
        while not stop.is_set():
            sent, started = time.time(), time.perf_counter()
            ws.send(json.dumps({"type": "state"}))
            ws.recv(timeout=60)
            latencies.append((sent, time.perf_counter() - started))
            time.sleep(interval)
    results.put(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--burst", type=int, default=500, help="resets sent at once, per round (default 500)")
    load.add_argument("--clients", type=int, help="clients resetting back to back instead of bursts")
    parser.add_argument("--rounds", type=int, default=2, help="bursts, one after another (default 2)")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long --clients flood (default 8)")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between the session's states")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one reset may take before it is an error")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("server_args", nargs="*", help="after --: extra arguments for ree serve")
    args = parser.parse_args()
    for name in ("burst", "rounds", "seconds", "interval", "timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    if args.clients is not None and args.clients <= 0:
        parser.error("--clients must be positive")

    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as directory:
        with ServerProcess(args.server_args, log_path=Path(directory) / "serve.log") as server:
            ready, stop, results = context.Event(), context.Event(), context.Queue()
            watcher = context.Process(target=watch_session, args=(server.ws_url, args.interval, ready, stop, results))
            watcher.start()
            if not ready.wait(60):
                watcher.kill()
                sys.exit("the watching session did not start within 60 s")
            time.sleep(0.2)  # the session is in its rhythm before the flood starts
            if args.clients is None:
                flood = burst(server.port, args.burst, args.rounds, args.timeout)
                load_text = f"{args.burst} resets at once, {args.rounds} rounds"
            else:
                flood = sustained(server.port, args.clients, args.seconds, args.timeout)
                load_text = f"{args.clients} clients resetting back to back for {args.seconds:g} s"
            flood_started = time.time()
            statuses, durations = asyncio.run(flood)
            flood_ended = time.time()
            stop.set()
            latencies = results.get(timeout=120)
            watcher.join(30)
            healthy = server.healthy()

    # The states in flight while the flood lasted: before it they answer in a millisecond.
    milliseconds = sorted(
        1000 * seconds for sent, seconds in latencies if sent <= flood_ended and sent + seconds >= flood_started
    )
    print(f"load: {load_text}; server arguments: {' '.join(args.server_args) or '(defaults)'}")
    print("flood took " + ", ".join(f"{value:.2f} s" for value in durations))
    print("replies: " + ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items())))
    state = (
        {"count": len(milliseconds), "p50": statistics.median(milliseconds), "mean": statistics.fmean(milliseconds),
         "max": milliseconds[-1]}
        if milliseconds else {"count": 0, "p50": None, "mean": None, "max": None}
    )  # fmt: skip
    if milliseconds:
        print(
            f"session state during the flood: {state['count']} answered, p50 {state['p50']:.1f} ms, "
            f"mean {state['mean']:.1f} ms, max {state['max']:.1f} ms"
        )
    else:
        print("session state during the flood: none in flight (the flood was over within --interval)")
    print(f"server healthy afterwards: {healthy}")
    if args.json is not None:
        from reasoning_economics.bench.machine import describe_machine

        result = {
            "machine": describe_machine(), "load": load_text, "server_args": args.server_args,
            "flood_seconds": durations, "replies": dict(statuses),
            "state_during_flood_ms": state,
            "healthy_afterwards": healthy,
        }  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
