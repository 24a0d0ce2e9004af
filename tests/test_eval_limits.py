"""Limits ``ree eval`` and ``ree report`` check before they start: option sizes that once ate
memory, policies that cannot run in a mode, seeds a server refuses, and output directories
that would lose or mix another run's files. Each refusal is one line, exit status 2, and leaves
no run directory behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reasoning_economics.cli import app
from reasoning_economics.errors import ConfigError
from reasoning_economics.evaluation.config import MAX_EPISODES, MAX_SEED, EvalConfig
from reasoning_economics.evaluation.modes import RunContext, create_mode
from reasoning_economics.evaluation.results import writing_output
from reasoning_economics.policies import create_policy
from reasoning_economics.policies import scripted
from reasoning_economics.policies.base import GenerationRequest
from reasoning_economics.problems.record import Problem

FAST = ["--questions", "1", "--no-progress"]


def eval_cli(out: Path | str, *args: str):
    return CliRunner().invoke(app, ["eval", "--out", str(out), *args])


def assert_refused(result, message: str, out: Path | None = None) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    if out is not None:
        assert not out.exists()  # refused before the run directory was made


# 1. Scripted policies' lengths ---------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, message",
    [
        ("oracle:tokens=1000000000", "tokens must be at most 1,000,000, got 1000000000"),
        ("oracle:tokens=99999999999999999999", "tokens must be at most 1,000,000, got 99999999999999999999"),
        ("oracle:tokens_per_difficulty=1000000000", "tokens_per_difficulty must be at most 1,000,000"),
        ("uniform:solve_tokens=1000001", "solve_tokens must be at most 1,000,000, got 1000001"),
    ],
)
def test_scripted_length_options_past_the_per_step_limit_are_refused(spec, message, tmp_path):
    out = tmp_path / "run"
    assert_refused(eval_cli(out, "--policy", spec, "--episodes", "1", *FAST), message, out)


def test_the_largest_allowed_length_is_accepted():
    policy = create_policy("oracle:tokens=1000000,tokens_per_difficulty=1000000")
    assert policy.config.tokens == scripted.MAX_PLANNED_TOKENS == 1_000_000


def test_a_plan_longer_than_the_limit_is_never_written_past_it(monkeypatch):
    """The text is built at most max_tokens long: a 1e9-token plan once took 15.8 GB."""
    targets: list[int] = []
    real_fit = scripted.fit_to_length

    def recording_fit(counter, target, tail=""):
        targets.append(target)
        return real_fit(counter, target, tail)

    monkeypatch.setattr(scripted, "fit_to_length", recording_fit)
    policy = create_policy("oracle:tokens=1000000")
    problem = Problem(id="p1", question="1+1?", answer="2", source="test", problem_type="arithmetic", difficulty=0.5)
    [result] = policy.generate([GenerationRequest(prompt="1+1?", max_tokens=50, seed=0, context={"problem": problem})])
    assert result.finish_reason == "length"
    assert result.completion_tokens == 50
    assert "boxed" not in result.text  # cut before the answer, as a real model would be
    assert targets and max(targets) <= 50


# 2. Episodes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("episodes", [str(MAX_EPISODES + 1), "99999999999999999999"])
def test_episodes_past_the_maximum_are_refused(episodes, tmp_path):
    out = tmp_path / "run"
    result = eval_cli(out, "--policy", "oracle", "--episodes", episodes, *FAST)
    assert_refused(result, f"episodes must be at most 1,000,000, got {episodes}", out)


def test_the_episode_maximum_is_in_the_help():
    result = CliRunner().invoke(app, ["eval", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "at most 1,000,000" in " ".join(result.output.split())
    assert EvalConfig(policy="oracle", episodes=MAX_EPISODES).episodes == MAX_EPISODES


@pytest.mark.parametrize("mode", ["episode", "problem", "anytime"])
def test_modes_take_unit_indices_only_as_they_run_them(mode):
    """Memory does not grow with units not yet run: the indices come from a generator."""
    config = EvalConfig(policy="oracle:tokens=20", mode=mode, episodes=3, questions=1, samples=1, concurrency=1,
                        anytime_max_budget=8, anytime_num_budgets=1)  # fmt: skip
    policy = create_policy(config.policy)
    pulled: list[int] = []

    def indices():
        for index in range(3):
            pulled.append(index)
            yield index

    drawn_when_emitted: list[tuple[int, int]] = []
    context = RunContext(
        config=config, policy=policy, tokenizer_name=policy.tokenizer_name, counter=policy.counter,
        emit=lambda record: drawn_when_emitted.append((record["index"], len(pulled))),
    )  # fmt: skip
    create_mode(mode).run(context, indices())
    assert drawn_when_emitted == [(0, 1), (1, 2), (2, 3)]


def test_a_run_hands_its_mode_the_indices_lazily(tmp_path, monkeypatch):
    from reasoning_economics.evaluation import runner

    real_create_mode = runner.create_mode
    seen: dict[str, object] = {}

    def spying_create_mode(name):
        mode = real_create_mode(name)
        real_run = mode.run

        def run(context, indices):
            seen["is_list"] = isinstance(indices, (list, tuple))
            real_run(context, indices)

        mode.run = run
        return mode

    monkeypatch.setattr(runner, "create_mode", spying_create_mode)
    config = EvalConfig(policy="oracle:tokens=20", episodes=2, questions=1)
    summary = runner.run_evaluation(config, tmp_path / "run", show_progress=False)
    assert seen == {"is_list": False}
    assert [json.loads(line)["index"] for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()] == [0, 1]
    assert summary["answers"] == 2


# 3. Budget baselines outside episode mode -----------------------------------------------------


@pytest.mark.parametrize("policy", ["uniform", "greedy_max", "difficulty_oracle"])
@pytest.mark.parametrize("mode", ["problem", "anytime"])
def test_budget_baselines_are_refused_outside_episode_mode(policy, mode, tmp_path):
    out = tmp_path / "run"
    result = eval_cli(out, "--policy", policy, "--mode", mode, "--episodes", "1", *FAST)
    assert_refused(result, f"policy {policy!r} only runs in --mode episode", out)
    assert "context['observation']" not in result.output


def test_anytime_mode_refuses_a_policy_without_prefixes_before_the_run_directory(tmp_path):
    # The mode's own check, asked by the runner first: nothing is sent to the endpoint (none listens).
    out = tmp_path / "run"
    result = eval_cli(
        out, "--policy", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "-P", "prefix_continuation=false",
        "--mode", "anytime", "--episodes", "1", *FAST,
    )  # fmt: skip
    assert_refused(result, "anytime mode forces a final answer by continuing a prefix; policy", out)
    assert "does not support prefixes (use --mode episode or --mode problem)" in result.output


# 5. Seeds a server refuses --------------------------------------------------------------------


def test_the_last_units_seed_must_fit_a_signed_64_bit_integer(tmp_path):
    with pytest.raises(ConfigError, match="last unit seed 9223372036854775808"):
        EvalConfig(policy="oracle", seed=MAX_SEED - 1, episodes=3)
    assert EvalConfig(policy="oracle", seed=MAX_SEED - 2, episodes=3).seed_of(2) == 2**63 - 1
    out = tmp_path / "run"
    result = eval_cli(out, "--policy", "oracle", "--seed", str(MAX_SEED - 1), "--episodes", "3", *FAST)
    assert_refused(result, "use --seed 9223372036854775805 or lower", out)


# 6. Output paths and unreadable results --------------------------------------------------------


def test_an_empty_out_is_refused_and_nothing_lands_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = eval_cli("", "--policy", "oracle", "--episodes", "1", *FAST)
    assert_refused(result, "--out is empty")
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--out", " "])
    assert_refused(result, "--out is empty")


def test_results_that_are_a_directory_get_a_hint_that_fits(tmp_path):
    out = tmp_path / "run"
    (out / "results.jsonl").mkdir(parents=True)
    result = eval_cli(out, "--policy", "oracle", "--episodes", "1", *FAST)
    assert_refused(result, "results.jsonl there is a directory; move it away")
    assert "free space" not in result.output
    assert not (out / "run.json").exists()

    with pytest.raises(ConfigError) as raised, writing_output(out / "results.jsonl", hint="free space"):
        raise IsADirectoryError(21, "Is a directory")
    assert "it is a directory; move it away" in str(raised.value) and "free space" not in str(raised.value)


# 4 and 6. Reports ------------------------------------------------------------------------------


@pytest.fixture
def two_runs(tmp_path):
    for name, tokens in (("a", 20), ("b", 30)):
        result = eval_cli(tmp_path / name, "--policy", f"oracle:tokens={tokens}", "--episodes", "2", *FAST)
        assert result.exit_code == 0, result.output
    return tmp_path / "a", tmp_path / "b"


def test_a_report_is_never_written_into_another_run(two_runs, tmp_path):
    a, b = two_runs
    before = {name: (b / name).read_bytes() for name in ("summary.json", "report.html")}
    assert_refused(CliRunner().invoke(app, ["report", str(a), "-o", str(b)]), f"--out {str(b)!r} holds another run")
    third = tmp_path / "c"
    assert eval_cli(third, "--policy", "oracle:tokens=10", "--episodes", "1", *FAST).exit_code == 0
    assert_refused(CliRunner().invoke(app, ["report", str(a), str(third), "-o", str(b)]), "holds another run")
    assert {name: (b / name).read_bytes() for name in before} == before

    # Still allowed: a run's own report, and a comparison into a folder that holds no run.
    assert CliRunner().invoke(app, ["report", str(a), "-o", str(a)]).exit_code == 0
    result = CliRunner().invoke(app, ["report", str(a), str(b), "-o", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert set(json.loads((tmp_path / "cmp" / "summary.json").read_text())["runs"]) == {"a", "b"}
    again = CliRunner().invoke(app, ["report", str(a), str(b), "-o", str(tmp_path / "cmp")])
    assert again.exit_code == 0, again.output


def test_a_cut_off_last_results_line_is_warned_about(two_runs):
    a, _ = two_runs
    results = a / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])  # killed while writing unit 1
    result = CliRunner().invoke(app, ["report", str(a)])
    assert result.exit_code == 0, result.output
    assert f"warning: {results}: 1 unreadable line(s)" in " ".join(result.output.split())
    assert json.loads((a / "summary.json").read_text())["answers"] == 1

    results.write_bytes(lines[0] + lines[1])
    whole = CliRunner().invoke(app, ["report", str(a)])
    assert whole.exit_code == 0 and "unreadable" not in whole.output
