"""The evaluation runner end to end with the scripted oracle, whose answers are known in advance.

The oracle's right/wrong draw depends only on (its seed, the request seed, the problem id) and
its length on the problem's difficulty, so every expected number below is computed from the
problems the sampler gives each seed and the runner's documented request seeds
(:func:`derive_seed`), independently of the runner.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reasoning_economics.cli import app
from reasoning_economics.errors import ConfigError
from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.metrics import pass_at_k
from reasoning_economics.evaluation.modes import derive_seed
from reasoning_economics.evaluation.results import read_results
from reasoning_economics.evaluation.runner import run_evaluation
from reasoning_economics.policies import create_policy
from reasoning_economics.problems import clear_source_cache, create_source, sample_episode

ORACLE = "oracle:accuracy=0.6,tokens=40,tokens_per_difficulty=60,seed=3"


def episode_problems(seed: int, episodes: int, questions: int):
    source = create_source("builtin")
    return [sample_episode(source, questions, seed + i) for i in range(episodes)]


def test_episode_mode_matches_the_oracle_known_accuracy_and_tokens(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["eval", "--policy", ORACLE, "--episodes", "4", "--questions", "3", "--seed", "11",
         "--budget", "100000", "--out", str(out), "--no-progress"],
        env={"COLUMNS": "400"},  # rich would break the temporary path of report.html
    )
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    oracle = create_policy(ORACLE)
    expected_correct, expected_tokens, spent = 0, [], []
    for i, problems in enumerate(episode_problems(11, 4, 3)):
        for k, problem in enumerate(problems):
            expected_correct += oracle.draws_correct(problem, derive_seed(11 + i, k))
            expected_tokens.append(oracle.planned_tokens(problem))
        spent.append(sum(oracle.planned_tokens(p) for p in problems))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy"]["successes"] == expected_correct
    assert summary["accuracy"]["total"] == 12
    assert summary["tokens_per_question"]["mean"] == pytest.approx(sum(expected_tokens) / 12)
    assert summary["budget"]["utilisation"] == pytest.approx(sum(s / 100000 for s in spent) / 4)
    assert summary["budget"]["early_termination_rate"] == 0.0
    assert summary["budget"]["overspend_rate"] == 0.0
    units = read_results(out)
    assert [u["index"] for u in units] == [0, 1, 2, 3]
    assert [u["seed"] for u in units] == [11, 12, 13, 14]
    for unit, problems in zip(units, episode_problems(11, 4, 3)):
        assert [s["question_id"] for s in unit["steps"]] == [p.id for p in problems]
        assert unit["budget_source"] == "client"
        assert unit["termination_reason"] == "all_answered"
    assert (out / "report.html").is_file()


def test_hard_budget_cuts_the_answer_and_ends_the_episode(tmp_path):
    # 150-token answers, 400 tokens: 150 + 150, then the third answer is cut at the 100 left
    # (no final answer, wrong) and the episode stops with the fourth question unanswered.
    config = EvalConfig(policy="oracle:accuracy=1.0,tokens=150", episodes=2, questions=4, budget=400)
    summary = run_evaluation(config, tmp_path / "run", show_progress=False)
    assert (summary["accuracy"]["successes"], summary["accuracy"]["total"]) == (4, 8)
    assert summary["budget"]["utilisation"] == pytest.approx(1.0)
    assert summary["budget"]["early_termination_rate"] == 1.0
    assert summary["budget"]["unanswered_rate"] == pytest.approx(0.25)
    assert summary["budget"]["overspend_rate"] == 0.0
    assert summary["truncation_rate"] == pytest.approx(1 / 3)
    for unit in read_results(tmp_path / "run"):
        assert unit["termination_reason"] == "budget_exhausted"
        assert [s["step_token_limit"] for s in unit["steps"]] == [192, 192, 100]
        assert [s["tokens_used"] for s in unit["steps"]] == [150, 150, 100]
        assert unit["steps"][2]["finish_reason"] == "length"
        fourth = sample_episode(create_source("builtin"), 4, unit["seed"])[3]
        assert unit["unanswered"] == [
            {"question_id": fourth.id, "problem_type": fourth.problem_type, "difficulty": fourth.difficulty}
        ]
    # The unanswered questions count as wrong in their tier and type too: the groups add up to
    # the 8 questions, not to the 6 answered (a policy starving hard questions read 100% there).
    tiers = summary["by_difficulty"].values()
    assert sum(g["accuracy"]["total"] for g in tiers) == 8
    assert sum(g["unanswered"] for g in tiers) == 2
    assert sum(g["accuracy"]["successes"] for g in tiers) == 4
    assert sum(g["accuracy"]["total"] for g in summary["by_problem_type"].values()) == 8


def test_problem_mode_pass_at_k_matches_the_oracle_draws(tmp_path):
    spec = "oracle:accuracy=0.5,tokens=30"
    config = EvalConfig(policy=spec, mode="problem", episodes=2, questions=3, samples=4, seed=5)
    summary = run_evaluation(config, tmp_path / "run", show_progress=False)
    oracle = create_policy(spec)
    counts = []
    for i, problems in enumerate(episode_problems(5, 2, 3)):
        for q, problem in enumerate(problems):
            counts.append((4, sum(oracle.draws_correct(problem, derive_seed(5 + i, q, j)) for j in range(4))))
    assert summary["accuracy"]["successes"] == sum(c for _, c in counts)
    assert summary["accuracy"]["total"] == 24
    for k in (1, 2, 4):
        assert summary["pass_at_k"][str(k)] == pytest.approx(sum(pass_at_k(n, c, k) for n, c in counts) / 6)
    assert summary["tokens_per_question"]["mean"] == pytest.approx(30.0)


def test_anytime_mode_cuts_thinking_at_each_budget_and_forces_answers(tmp_path):
    spec = "oracle:accuracy=0.5,tokens=100"
    config = EvalConfig(policy=spec, mode="anytime", episodes=2, questions=3, anytime_max_budget=256,
                        anytime_num_budgets=4, seed=2)
    summary = run_evaluation(config, tmp_path / "run", show_progress=False)
    budgets = [64, 128, 192, 256]
    oracle = create_policy(spec)
    rows = [
        [oracle.draws_correct(problem, derive_seed(2 + i, q, b, 0)) for b in budgets]
        for i, problems in enumerate(episode_problems(2, 2, 3))
        for q, problem in enumerate(problems)
    ]
    accuracy = [sum(row[j] for row in rows) / len(rows) for j in range(4)]
    overthinking = sum(any(row[a] and not row[b] for a in range(4) for b in range(a + 1, 4)) for row in rows)
    anytime = summary["anytime"]
    assert anytime["budgets"] == budgets
    assert anytime["accuracy"] == pytest.approx(accuracy)
    assert anytime["anytime_score"] == pytest.approx(sum(accuracy) / 4)
    assert anytime["overthinking_count"] == overthinking
    for unit in read_results(tmp_path / "run"):
        for problem in unit["problems"]:
            # the oracle thinks exactly 100 tokens: cut at 64, kept whole above
            assert [c["thinking_tokens"] for c in problem["by_budget"]] == [64, 100, 100, 100]
            assert [c["truncated"] for c in problem["by_budget"]] == [True, False, False, False]
    # each question's answer at the largest budget, 100 thinking tokens kept
    assert summary["answers"] == 6
    assert summary["tokens_per_question"]["mean"] == pytest.approx(100)
    assert anytime["tokens"] == pytest.approx([64, 100, 100, 100])


class FailingPolicy:
    """The oracle, except that generate call number ``fail_at`` raises (a crash mid-run)."""

    def __init__(self, spec: str, fail_at: int) -> None:
        self.inner = create_policy(spec)
        self.name, self.tokenizer_name = self.inner.name, self.inner.tokenizer_name
        self.supports_prefix, self.supports_logprobs = True, False
        self.calls, self.fail_at = 0, fail_at

    def generate(self, requests):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("simulated crash")
        return self.inner.generate(requests)

    def close(self):
        pass


def _without_ids(units):
    return [{k: v for k, v in unit.items() if k != "episode_id"} for unit in units]


def test_resume_after_a_crash_neither_loses_nor_repeats_episodes(tmp_path):
    spec = "oracle:accuracy=0.5,tokens=30"
    config = EvalConfig(policy=spec, episodes=5, questions=2, concurrency=1, seed=7)
    crashed = tmp_path / "crashed"
    # one episode at a time, two rounds each: call 5 is the first round of episode 2
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_evaluation(config, crashed, policy=FailingPolicy(spec, fail_at=5), show_progress=False)
    assert [u["index"] for u in read_results(crashed)] == [0, 1]
    with pytest.raises(ConfigError, match="--resume"):
        run_evaluation(config, crashed, show_progress=False)
    # a kill while writing leaves a partial last line: it is dropped and that unit runs again
    with (crashed / "results.jsonl").open("a") as handle:
        handle.write('{"index": 2, "seed": 9, "mode": "epis')
    summary = run_evaluation(config, crashed, resume=True, show_progress=False)
    resumed = read_results(crashed)
    assert [u["index"] for u in resumed] == [0, 1, 2, 3, 4]
    assert summary["units"] == 5
    fresh = tmp_path / "fresh"
    run_evaluation(config, fresh, show_progress=False)
    assert _without_ids(resumed) == _without_ids(read_results(fresh))
    # resuming a finished run does nothing; resuming with other settings is refused
    run_evaluation(config, crashed, resume=True, show_progress=False)
    assert len((crashed / "results.jsonl").read_text().splitlines()) == 5
    other = EvalConfig(policy=spec, episodes=5, questions=3, concurrency=1, seed=7)
    # Another number of questions draws other questions: named so, not "another dataset".
    with pytest.raises(ConfigError, match=r"questions: stored 2, now 3; .*unit 0's first question differs "
                                          r"\(another number of questions\)"):
        run_evaluation(other, crashed, resume=True, show_progress=False)
    # Another seed is named as the cause of another first question, not another dataset.
    reseeded = EvalConfig(policy=spec, episodes=5, questions=2, concurrency=1, seed=8)
    with pytest.raises(ConfigError, match=r"seed: stored 7, now 8; unit 0's first question differs \(another seed\)"):
        run_evaluation(reseeded, crashed, resume=True, show_progress=False)
    # without run.json nothing says which settings made the results: refused, and nothing written
    (crashed / "run.json").unlink()
    with pytest.raises(ConfigError, match="holds results but no run.json"):
        run_evaluation(other, crashed, resume=True, show_progress=False)
    assert not (crashed / "run.json").exists() and len(read_results(crashed)) == 5


@pytest.mark.parametrize("mode", ["problem", "anytime"])
def test_resume_refuses_a_dataset_file_changed_under_the_same_name(mode, tmp_path):
    # problem and anytime modes recorded no question of unit 0, so a resume after the file
    # changed appended units of the new questions to those of the old ones.
    dataset = tmp_path / "sums.jsonl"

    def write(operator):
        dataset.write_text("".join(json.dumps({"question": f"What is {k} {operator} {k}?", "answer": "0"}) + "\n"
                                   for k in range(8)))  # fmt: skip
        clear_source_cache()  # a process reads a file once; a new `ree eval` reads it again

    write("+")
    spec = "oracle:accuracy=1.0,tokens=20"
    extra = {"samples": 2} if mode == "problem" else {"anytime_max_budget": 32, "anytime_num_budgets": 2}
    config = EvalConfig(policy=spec, mode=mode, episodes=2, questions=3, dataset=f"file:{dataset}", **extra)
    run_evaluation(config, tmp_path / "run", show_progress=False)
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["first_episode"]["first_question"].startswith("What is ")
    write("-")
    longer = dataclasses.replace(config, episodes=4)
    before = (tmp_path / "run" / "results.jsonl").read_bytes()
    with pytest.raises(ConfigError, match=r"unit 0's first question differs \(another dataset, or the dataset's file changed\)"):
        run_evaluation(longer, tmp_path / "run", resume=True, show_progress=False)
    assert (tmp_path / "run" / "results.jsonl").read_bytes() == before
    write("+")
    run_evaluation(longer, tmp_path / "run", resume=True, show_progress=False)
    assert [unit["index"] for unit in read_results(tmp_path / "run")] == [0, 1, 2, 3]


def test_a_dataset_too_small_for_the_questions_leaves_no_run_folder(tmp_path):
    dataset = tmp_path / "two.jsonl"
    dataset.write_text("".join(json.dumps({"question": f"What is {k} + 1?", "answer": str(k + 1)}) + "\n" for k in range(2)))
    config = EvalConfig(policy="oracle:accuracy=1.0", mode="problem", episodes=1, questions=3, dataset=f"file:{dataset}")
    with pytest.raises(ConfigError):
        run_evaluation(config, tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_concurrent_batched_episodes_give_the_same_results_as_one_at_a_time(tmp_path):
    spec = "oracle:accuracy=0.7,tokens=20,tokens_per_difficulty=50"
    calls = []

    class CountingPolicy(FailingPolicy):
        def generate(self, requests):
            calls.append(len(requests))
            return super().generate(requests)

    batched = EvalConfig(policy=spec, episodes=6, questions=3, concurrency=4)
    run_evaluation(batched, tmp_path / "batched", policy=CountingPolicy(spec, fail_at=-1), show_progress=False)
    # 4 episodes per round while 4 are live, then the last 2: one policy call per round
    assert calls == [4, 4, 4, 2, 2, 2]
    run_evaluation(EvalConfig(policy=spec, episodes=6, questions=3, concurrency=1), tmp_path / "serial",
                   show_progress=False)
    assert _without_ids(read_results(tmp_path / "batched")) == _without_ids(read_results(tmp_path / "serial"))


def test_cli_rejects_bad_settings_with_clear_messages(tmp_path):
    runner = CliRunner()
    bad_mode = runner.invoke(app, ["eval", "--mode", "nope", "--out", str(tmp_path / "a")])
    assert bad_mode.exit_code == 2 and "unknown mode" in bad_mode.output
    server_problem = runner.invoke(
        app, ["eval", "--policy", "uniform", "--mode", "problem", "--server", "http://127.0.0.1:1", "--out", str(tmp_path / "b")]
    )
    assert server_problem.exit_code == 2 and "--server" in server_problem.output
    budget_problem = runner.invoke(app, ["eval", "--policy", "uniform", "--mode", "anytime", "--budget", "500",
                                         "--out", str(tmp_path / "d")])
    assert budget_problem.exit_code == 2 and "--budget" in budget_problem.output
    resume_without_out = runner.invoke(app, ["eval", "--policy", "uniform", "--resume"])
    assert resume_without_out.exit_code == 2 and "--out" in resume_without_out.output
    unknown_policy = runner.invoke(app, ["eval", "--policy", "nosuch", "--out", str(tmp_path / "c")])
    assert unknown_policy.exit_code == 2 and "unknown policy" in unknown_policy.output
    assert not (tmp_path / "c" / "results.jsonl").exists()


class ThinkingOracle(FailingPolicy):
    """A thinking model: reasoning in <think> (ending on a wrong boxed guess), then the oracle's answer."""

    THINKING = "<think>Wait, let me check: maybe \\boxed{-1}? No.</think>\n"

    def generate(self, requests):
        results = super().generate(requests)
        from reasoning_economics.policies.base import GenerationResult

        return [
            GenerationResult(self.THINKING + r.text, r.completion_tokens + 20, r.finish_reason) for r in results
        ]


def test_thinking_models_are_graded_on_the_visible_answer_and_charged_in_full(tmp_path):
    from reasoning_economics import tokens

    spec = "oracle:accuracy=1.0,tokens=30"
    config = EvalConfig(policy=spec, episodes=2, questions=2, budget=100000)
    summary = run_evaluation(config, tmp_path / "run", policy=ThinkingOracle(spec, fail_at=-1), show_progress=False)
    # the thinking ends on a wrong \boxed{-1}; only the visible answer is graded, so all are right
    assert summary["accuracy"]["value"] == 1.0
    counter = tokens.get_counter("qwen3")
    thinking = "Wait, let me check: maybe \\boxed{-1}? No."
    for unit in read_results(tmp_path / "run"):
        for step in unit["steps"]:
            assert step["response"].startswith(ThinkingOracle.THINKING)
            assert step["grading_response"] == step["response"][len(ThinkingOracle.THINKING) - 1 :]
            assert step["tokens_counted"] == counter.count(step["response"])
            assert step["thinking_tokens"] == counter.count(thinking)
    # "Wait ... check" chain once per answer (REA-RL), in the thinking tokens only
    total_thinking = 4 * counter.count(thinking)
    assert summary["reflection"]["rea_rl_per_1k"] == pytest.approx(1000 * 4 / total_thinking)


def test_thinking_tokens_count_the_text_the_reflection_counts_read():
    from reasoning_economics.evaluation.behaviour import reflection_counts
    from reasoning_economics.evaluation.modes.base import split_response

    # Two closing tags: the answer graded is after the last, the thinking (REA-RL's split, the
    # text the reflection counts read) before the first. The tokens were counted over
    # everything up to the last tag, a denominator for another text than the counts'.
    text = "<think>plan A</think> wait, but check that. </think> Final: \\boxed{4}"
    split = split_response(text)
    assert split.grading_response == " Final: \\boxed{4}"
    assert split.thinking == "plan A"
    assert reflection_counts(text)["rea_rl"] == 0  # "wait, but check" lies outside that thinking
    # one tag pair, or a template that opened <think> in the prompt: the same split as before
    assert split_response("<think>wait</think>\\boxed{4}").thinking == "wait"
    assert split_response("wait</think>\\boxed{4}").thinking == "wait"
    assert split_response("<think>still going").thinking == "still going"


SLOW_EVAL = """
import sys, time
from reasoning_economics.policies import register_policy
from reasoning_economics.policies.oracle import OracleConfig, OraclePolicy

class SlowOracle(OraclePolicy):
    def generate(self, requests):
        time.sleep(0.2)  # slow enough that the test can kill the run in the middle
        return super().generate(requests)

register_policy("slow_oracle", SlowOracle, OracleConfig)
from reasoning_economics.cli import app
app(sys.argv[1:])
"""


def test_resume_after_the_process_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    spec = "slow_oracle:accuracy=0.5,tokens=30"
    args = [sys.executable, "-c", SLOW_EVAL, "eval", "--policy", spec, "--episodes", "12", "--questions", "2",
            "--concurrency", "1", "--seed", "4", "--no-progress", "--out", str(out)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "results.jsonl"
    while process.poll() is None and (not results.exists() or len(results.read_text().splitlines()) < 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    finished_before = [u["index"] for u in read_results(out)]
    assert 2 <= len(finished_before) < 12
    assert finished_before == list(range(len(finished_before)))
    resumed = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    units = read_results(out)
    assert [u["index"] for u in units] == list(range(12))
    assert len(results.read_text().splitlines()) == 12
    # the resumed run equals an uninterrupted one
    fresh = tmp_path / "fresh"
    run_evaluation(EvalConfig(policy="oracle:accuracy=0.5,tokens=30", episodes=12, questions=2, seed=4),
                   fresh, show_progress=False)
    assert _without_ids(units) == _without_ids(read_results(fresh))


def test_soft_budget_charges_everything_and_counts_overspend(tmp_path):
    # soft mode: no clipping, no early stop. 4 x 150 tokens against 400: the third answer starts
    # with 100 left and the fourth with none, so 2 of 4 steps overspend and 600/400 is used.
    config = EvalConfig(policy="oracle:accuracy=1.0,tokens=150", episodes=1, questions=4, budget=400,
                        hard_cap_mode=False)
    summary = run_evaluation(config, tmp_path / "run", show_progress=False)
    assert summary["accuracy"]["value"] == 1.0
    assert summary["budget"]["utilisation"] == pytest.approx(1.5)
    assert summary["budget"]["overspend_rate"] == pytest.approx(0.5)
    assert summary["budget"]["early_termination_rate"] == 0.0
    (unit,) = read_results(tmp_path / "run")
    assert [s["overspend_tokens"] for s in unit["steps"]] == [0, 0, 50, 150]
    assert [s["step_token_limit"] for s in unit["steps"]] == [192, 192, 192, 192]


def test_cli_out_that_cannot_be_a_run_directory_is_a_clear_error(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    cases = [(afile, "exists and is not a directory"), (afile / "sub", "a folder on its path is a file")]
    if Path("/proc/self").is_dir():  # procfs accepts no new folders, even from root
        cases.append((Path("/proc/ree-run"), "cannot create the directory"))
    for out, message in cases:
        result = CliRunner().invoke(app, ["eval", "--policy", "uniform", "--episodes", "1", "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert f"error: --out {str(out)!r}" in result.output and message in result.output
        assert isinstance(result.exception, SystemExit), result.exception  # no OSError escaped


@pytest.mark.parametrize(
    "args, message",
    [
        (["--questions", "1001"], "questions must be at most 1,000, got 1001"),
        (["--max-tokens-per-step", "2000000"], "max_tokens_per_step must be at most 1,000,000, got 2000000"),
        (["--dataset", "file:{empty}"], "is empty: it holds no rows"),
        (["--mode", "problem", "--dataset", "file:{empty}"], "is empty: it holds no rows"),
    ],
)
def test_cli_settings_the_environment_refuses_fail_before_the_run_directory(args, message, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "run"
    args = [a.format(empty=empty) for a in args]
    # oracle runs in every mode (uniform reads the shared budget, so only episode mode takes it).
    result = CliRunner().invoke(app, ["eval", "--policy", "oracle", "--episodes", "1", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert not out.exists()  # nothing left behind to trip a later run without --resume


def test_eval_limits_are_the_environments():
    # EvalConfig checks the environment's bounds itself (so it can fail early); they must agree.
    from pydantic import ValidationError

    from reasoning_economics.env import EnvConfig
    from reasoning_economics.evaluation.config import MAX_QUESTIONS, MAX_TOKENS_PER_STEP

    EnvConfig(num_questions=MAX_QUESTIONS, max_tokens_per_step=MAX_TOKENS_PER_STEP)
    EvalConfig(questions=MAX_QUESTIONS, max_tokens_per_step=MAX_TOKENS_PER_STEP)
    for field, eval_field, limit in (
        ("num_questions", "questions", MAX_QUESTIONS), ("max_tokens_per_step", "max_tokens_per_step", MAX_TOKENS_PER_STEP)
    ):
        with pytest.raises(ValidationError):
            EnvConfig(**{field: limit + 1})
        with pytest.raises(ConfigError, match=f"{eval_field} must be at most"):
            EvalConfig(**{eval_field: limit + 1})
