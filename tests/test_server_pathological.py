"""Pathological answers against a live server: exponent towers, huge factorials, thousands
of nested braces and 10 MB responses are bounded by the grading timeout or the size limit,
and other sessions are served while one of them is stuck in a grade."""

from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import connect

from reasoning_economics.bench.symbolic_problems import square_base, unexpanded_answer
from reasoning_economics.server.settings import load_env_config

from ws_messages import exchange

GRADING_TIMEOUT = 3.0
TOWER = "\\boxed{9^{9^{9^{9^{9}}}} - 2^{2^{2^{2^{2^{2^{2}}}}}}}"


@pytest.fixture(scope="module")
def symbolic_config(tmp_path_factory, symbolic_problems_config):
    config = symbolic_problems_config(tmp_path_factory.mktemp("pathological"))
    return load_env_config(config, grading_timeout=GRADING_TIMEOUT)


def expanded_square(question: str) -> str:
    """The gold answer of "Expand $(x+k)^2$.", worked out from the question."""
    k = square_base(question)
    return f"x^2 + {2 * k}x + {k * k}"


def test_a_session_stuck_in_a_grade_does_not_hold_up_the_others(start_server, symbolic_config):
    # With a 9 s grading timeout math-verify gives up on the tower after its own 3 s alarm.
    server = start_server(env_config=symbolic_config.model_copy(update={"grading_timeout": 9.0}))
    with connect(server.ws_url, open_timeout=30) as stuck, connect(server.ws_url, open_timeout=30) as other:
        exchange(stuck, {"type": "reset", "data": {"seed": 1, "tokenizer_name": "qwen3", "total_budget": 100_000}})
        reply = exchange(other, {"type": "reset", "data": {"seed": 2, "tokenizer_name": "qwen3", "total_budget": 100_000}})
        stuck.send(json.dumps({"type": "step", "data": {"response": TOWER}}))
        # A whole episode on the other session, its first steps at least while the tower is being
        # graded (how many fit in math-verify's 3 s depends on the machine).
        answered_while_stuck, verdict = 0, None
        for _ in range(10):
            answer = expanded_square(reply["data"]["observation"]["question"])
            reply = exchange(other, {"type": "step", "data": {"response": f"\\boxed{{{answer}}}"}})
            assert reply["type"] == "observation" and reply["data"]["observation"]["history"][-1]["was_correct"]
            if verdict is None:
                try:
                    verdict = json.loads(stuck.recv(timeout=0))
                except TimeoutError:
                    answered_while_stuck += 1
        assert reply["data"]["done"] is True
        assert answered_while_stuck >= 3
        if verdict is None:
            verdict = json.loads(stuck.recv(timeout=120))  # it ends, bounded: a wrong answer
        assert verdict["type"] == "observation", verdict
        assert verdict["data"]["observation"]["history"][0]["was_correct"] is False


@pytest.mark.parametrize(
    "response",
    [
        "\\boxed{100000!}",
        "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}",
        "\\boxed{" + "\\frac{1}{" * 2000 + "2" + "}" * 2000 + "}",
        "(" * 20_000 + "\\boxed{x^2+2x+1}",
    ],
    ids=["huge-factorial", "nested-braces", "nested-fractions", "unbalanced-parentheses"],
)
def test_pathological_answers_are_graded_within_the_timeout_and_charged_once(start_server, symbolic_config, response):
    server = start_server(env_config=symbolic_config, warm_up=False)
    with connect(server.ws_url, open_timeout=30) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 3, "tokenizer_name": "qwen3", "total_budget": 1_000_000}})
        reply = exchange(ws, {"type": "step", "data": {"response": response}})
        assert reply["type"] == "observation", reply
        entry = reply["data"]["observation"]["history"][0]
        assert entry["was_correct"] is False
        state = exchange(ws, {"type": "state"})["data"]
        assert state["questions_answered"] == 1 and state["spent_budget"] == entry["tokens_used"] > 0
        assert exchange(ws, {"type": "step", "data": {"response": "\\boxed{0}"}})["type"] == "observation"


def test_a_10_mb_response_is_refused_by_the_size_limit_and_the_episode_goes_on(live_server):
    with connect(live_server.ws_url, open_timeout=30, max_size=None) as ws:
        exchange(ws, {"type": "reset", "data": {"seed": 3, "tokenizer_name": "qwen3"}})
        before = exchange(ws, {"type": "state"})
        reply = exchange(ws, {"type": "step", "data": {"response": "9" * 10_000_000}})
        assert reply["type"] == "error" and reply["data"]["code"] == "RESPONSE_TOO_LARGE"
        assert exchange(ws, {"type": "state"}) == before


def test_many_sessions_stuck_in_grades_do_not_hold_up_steps_that_need_no_worker(tmp_path):
    # 40 sessions wait on one grading worker. Before, they held all 32 step threads, and
    # another session's plain numeric answers (graded in-process, no worker) waited for a
    # thread behind them: ~4 s a step against ~1 ms.
    from reasoning_economics.bench.server_process import ServerProcess

    problems = tmp_path / "numeric.jsonl"
    problems.write_text("".join(
        json.dumps({"question": f"What is {40 - k} + {2 + k}?", "answer": "42", "type": "arithmetic"}) + "\n"
        for k in range(20)
    ))  # fmt: skip
    config = tmp_path / "env.toml"
    config.write_text(f'dataset = "file:{problems}"\nnum_questions = 10\n')
    args = ["--no-warm-up", "--config", str(config), "--grading-timeout", "3", "--max-sessions", "64"]
    with ServerProcess(args, log_path=tmp_path / "serve.log", env={"REE_GRADING_WORKERS": "1"}) as server:
        stuck = [connect(server.ws_url, open_timeout=30) for _ in range(40)]
        try:
            for index, ws in enumerate(stuck):
                exchange(ws, {"type": "reset", "data": {"seed": index, "tokenizer_name": "qwen3", "total_budget": 10**6}})
                tower = f"\\boxed{{9^{{9^{{9^{{9^{{{index + 2}}}}}}}}} - 2^{{2^{{2^{{2^{{2^{{2}}}}}}}}}}}}"
                ws.send(json.dumps({"type": "step", "data": {"response": tower}}))
            with connect(server.ws_url, open_timeout=30) as other:
                reply = exchange(other, {"type": "reset", "data": {"seed": 99, "tokenizer_name": "qwen3"}})
                while not reply["data"]["done"]:
                    reply = exchange(other, {"type": "step", "data": {"response": "\\boxed{42}"}})
                    assert reply["type"] == "observation" and reply["data"]["observation"]["history"][-1]["was_correct"]
            # The whole episode was played while the single worker graded at most a few towers.
            graded = sum(_has_reply(ws) for ws in stuck)
            assert graded <= 3, f"{graded} towers were graded before the other session's 11 messages were answered"
        finally:
            for ws in stuck:
                ws.close()


def _has_reply(ws) -> bool:
    try:
        ws.recv(timeout=0)
    except TimeoutError:
        return False
    return True


def test_sessions_sending_towers_nonstop_do_not_hold_up_another_sessions_symbolic_answers(
    tmp_path, symbolic_problems_config
):
    # Three sessions keep a tower (a CPU second of a worker each) waiting for the one worker at
    # all times. First come, first served, each of another session's symbolic answers waited
    # behind all three (~3 s a step); handed out by least recent use, it waits at most for the
    # tower being graded.
    import threading

    from reasoning_economics.bench.server_process import ServerProcess

    args = ["--no-warm-up", "--config", str(symbolic_problems_config(tmp_path)), "--grading-timeout", "2"]
    graded = [0, 0, 0]
    stop = threading.Event()

    def send_towers(index: int, url: str) -> None:
        with connect(url, open_timeout=30) as ws:
            exchange(ws, {"type": "reset", "data": {"seed": index, "tokenizer_name": "qwen3", "total_budget": 10**7}})
            for n in range(2, 10_000):
                if stop.is_set():
                    return
                # Unique, and computed on for the whole CPU budget (see benchmarks/grading_under_attack.py).
                tower = f"\\boxed{{9^{{9^{{9^{{9^{{{index + 1000 * n}}}}}}}}} - 2^{{2^{{2^{{2^{{2}}}}}}}}}}"
                reply = exchange(ws, {"type": "step", "data": {"response": tower}})
                graded[index] += 1
                if reply["data"]["done"]:
                    exchange(ws, {"type": "reset", "data": {"seed": index, "tokenizer_name": "qwen3", "total_budget": 10**7}})

    with ServerProcess(args, log_path=tmp_path / "serve.log", env={"REE_GRADING_WORKERS": "1"}) as server:
        attackers = [threading.Thread(target=send_towers, args=(i, server.ws_url)) for i in range(3)]
        for attacker in attackers:
            attacker.start()
        try:
            deadline = time.monotonic() + 60
            while min(graded) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert min(graded) >= 1, graded
            with connect(server.ws_url, open_timeout=30) as other:
                reply = exchange(other, {"type": "reset", "data": {"seed": 99, "tokenizer_name": "qwen3"}})
                before = sum(graded)
                while not reply["data"]["done"]:
                    answer = unexpanded_answer(reply["data"]["observation"]["question"])
                    reply = exchange(other, {"type": "step", "data": {"response": answer}})
                    entry = reply["data"]["observation"]["history"][-1]
                    assert (entry["was_correct"], entry["grade_reason"]) == (True, "equivalent"), entry
                during = sum(graded) - before
        finally:
            stop.set()
            for attacker in attackers:
                attacker.join(60)
    print(f"towers graded during the other session's episode: {during}")
    assert during <= 10 + 2, f"{during} towers were graded during the other session's 10 steps"
