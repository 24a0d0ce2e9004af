#!/usr/bin/env python
"""How long a session's worker-graded steps take while other sessions flood the grading
workers with exponent towers (the measurements in docs/deployment.md, "What the server serves").

Starts ``ree serve`` on 127.0.0.1 with "Expand $(x+k)^2$." problems, which only a math-verify
worker decides. ``--attackers`` clients send towers nonstop, each a new one, so every tower
costs a worker its CPU budget. After ``--warm-up`` seconds, one more session plays a whole
episode answering ``\\boxed{(x+k)^2}``; its step latencies are the result. Usage::

    python benchmarks/grading_under_attack.py --attackers 40
    python benchmarks/grading_under_attack.py --attackers 40 --new-session-per-tower
    python benchmarks/grading_under_attack.py --attackers 0     # the same episode, no attack

Every loop is bounded: attackers stop when the episode ends, and the run gives up after
``--limit`` seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from websockets.sync.client import connect

from reasoning_economics.bench.server_process import ServerProcess
from reasoning_economics.bench.symbolic_problems import unexpanded_answer, write_symbolic_problems_config


def tower(attacker: int, n: int) -> str:
    """A tower no other attacker sends, which a worker computes on until its CPU budget is spent
    (a larger base in the second tower fails at once on the worker's memory limit instead)."""
    top = 2 + attacker + 1000 * n
    return f"\\boxed{{9^{{9^{{9^{{9^{{{top}}}}}}}}} - 2^{{2^{{2^{{2^{{2^{{2}}}}}}}}}}}}"


def exchange(ws, message: dict, timeout: float) -> dict:
    ws.send(json.dumps(message))
    return json.loads(ws.recv(timeout=timeout))


def reset_message(seed: int) -> dict:
    return {"type": "reset", "data": {"seed": seed, "tokenizer_name": "qwen3", "total_budget": 10**7}}


class Attack:
    """``attackers`` threads sending towers until :meth:`stop`; ``graded`` counts the replies."""

    def __init__(self, url: str, attackers: int, new_session_per_tower: bool, limit: float) -> None:
        self.url, self.new_session_per_tower, self.limit = url, new_session_per_tower, limit
        self.graded = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(index,), daemon=True) for index in range(attackers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.limit)

    def _count(self) -> None:
        with self._lock:
            self.graded += 1

    def _run(self, index: int) -> None:
        try:
            if self.new_session_per_tower:
                for n in range(10**6):
                    if self._stop.is_set():
                        return
                    with connect(self.url, open_timeout=30) as ws:
                        exchange(ws, reset_message(index), self.limit)
                        exchange(ws, {"type": "step", "data": {"response": tower(index, n)}}, self.limit)
                        self._count()
            else:
                with connect(self.url, open_timeout=30) as ws:
                    exchange(ws, reset_message(index), self.limit)
                    for n in range(10**6):
                        if self._stop.is_set():
                            return
                        reply = exchange(ws, {"type": "step", "data": {"response": tower(index, n)}}, self.limit)
                        self._count()
                        if reply["data"].get("done"):
                            exchange(ws, reset_message(index), self.limit)
        except Exception as error:  # the server stopping at the end closes these connections
            if not self._stop.is_set():
                self.errors.append(f"attacker {index}: {type(error).__name__}: {error}")


def play_symbolic_episode(url: str, limit: float) -> list[dict]:
    """One episode answering each question with the unexpanded square; a record per step."""
    steps = []
    with connect(url, open_timeout=30) as ws:
        reply = exchange(ws, reset_message(99), limit)
        while not reply["data"]["done"]:
            answer = unexpanded_answer(reply["data"]["observation"]["question"])
            started = time.perf_counter()
            reply = exchange(ws, {"type": "step", "data": {"response": answer}}, limit)
            if reply["type"] != "observation":
                raise RuntimeError(f"the measured session got {reply}")
            entry = reply["data"]["observation"]["history"][-1]
            steps.append({"seconds": time.perf_counter() - started, "correct": entry["was_correct"], "reason": entry["grade_reason"]})
    return steps


def measure(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="ree-attack-") as folder:
        directory = Path(folder)
        server_args = [
            "--config", str(write_symbolic_problems_config(directory, args.questions)),
            "--grading-timeout", str(args.grading_timeout), "--max-sessions", str(max(64, 2 * args.attackers)),
        ]  # fmt: skip
        env = {"REE_GRADING_WORKERS": str(args.workers)}
        with ServerProcess(server_args, log_path=directory / "serve.log", env=env) as server:
            attack = Attack(server.ws_url, args.attackers, args.new_session_per_tower, args.limit)
            attack.start()
            time.sleep(args.warm_up if args.attackers else 0)
            graded_before = attack.graded
            started = time.perf_counter()
            try:
                steps = play_symbolic_episode(server.ws_url, args.limit)
            finally:
                episode_seconds = time.perf_counter() - started
                graded_during = attack.graded - graded_before
                attack.stop()
    latencies = [step["seconds"] for step in steps]
    return {
        "attackers": args.attackers,
        "new_session_per_tower": args.new_session_per_tower,
        "workers": args.workers,
        "grading_timeout_s": args.grading_timeout,
        "warm_up_s": args.warm_up,
        "towers_graded_in_warm_up": graded_before,
        "towers_graded_during_episode": graded_during,
        "episode_seconds": episode_seconds,
        "step_p50_s": statistics.median(latencies),
        "step_max_s": max(latencies),
        "steps": steps,
        "all_correct": all(step["correct"] for step in steps),
        "attacker_errors": attack.errors[:5],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attackers", type=int, default=40, help="clients sending towers nonstop (default 40)")
    parser.add_argument(
        "--new-session-per-tower", action="store_true", help="each attacker opens a new session for every tower"
    )
    parser.add_argument("--workers", type=int, default=2, help="grading workers (REE_GRADING_WORKERS, default 2)")
    parser.add_argument("--grading-timeout", type=float, default=3.0, help="ree serve --grading-timeout (default 3)")
    parser.add_argument("--warm-up", type=float, default=15.0, help="seconds of attack before the episode (default 15)")
    parser.add_argument("--questions", type=int, default=10, help="questions in the measured episode (default 10)")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds any one reply may take (default 300)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    if args.attackers < 0 or args.workers < 1 or args.questions < 1 or args.warm_up < 0:
        parser.error("--attackers and --warm-up must be >= 0, --workers and --questions >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = measure(args)
    mode = "a new session per tower" if args.new_session_per_tower else "sessions sending towers nonstop"
    print(f"{args.attackers} attackers ({mode}), {args.workers} workers, --grading-timeout {args.grading_timeout:g}")
    print(f"  towers graded in the {args.warm_up:g} s warm-up: {result['towers_graded_in_warm_up']}")
    print(
        f"  measured episode: {result['episode_seconds']:.1f} s; step p50 {result['step_p50_s']:.2f} s, "
        f"max {result['step_max_s']:.2f} s; towers graded meanwhile: {result['towers_graded_during_episode']}; "
        f"all answers graded correct: {result['all_correct']}"
    )
    for error in result["attacker_errors"]:
        print(f"  {error}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["all_correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
