"""The runner with a real (tiny, randomly initialised) transformers model built offline.

The model writes noise; what is checked is the machinery around it: the environment counts
with the model's own tokenizer, per-step limits are honoured, prefix continuation works in
anytime mode, and each mode's records are complete.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from reasoning_economics.evaluation.config import EvalConfig  # noqa: E402
from reasoning_economics.evaluation.report import write_report  # noqa: E402
from reasoning_economics.evaluation.results import read_results  # noqa: E402
from reasoning_economics.evaluation.runner import run_evaluation  # noqa: E402


def test_episode_mode_counts_in_the_models_tokenizer_and_honours_step_limits(tiny_model, tmp_path):
    from reasoning_economics import tokens

    spec = f"hf:{tiny_model}"
    config = EvalConfig(policy=spec, episodes=2, questions=2, max_tokens_per_step=12, budget=30, concurrency=2)
    summary = run_evaluation(config, tmp_path / "run", show_progress=False)
    units = read_results(tmp_path / "run")
    assert [u["index"] for u in units] == [0, 1]
    counter = tokens.get_counter(str(tiny_model))
    answered = 0
    for unit in units:
        assert unit["tokenizer_name"] == str(tiny_model)
        assert unit["total_budget"] == 30
        assert 1 <= len(unit["steps"]) <= 2
        for step in unit["steps"]:
            answered += 1
            # the step limit is min(per-step limit, budget left), and the model kept to it
            assert step["step_token_limit"] == min(12, step["remaining_before"])
            assert step["completion_tokens"] <= step["step_token_limit"]
            assert step["tokens_counted"] == counter.count(step["response"])
            assert step["tokens_used"] == min(step["tokens_counted"], step["remaining_before"])
    assert summary["answers"] == answered
    assert summary["accuracy"]["total"] == 4


def test_problem_and_anytime_modes_with_prefix_continuation(tiny_model, tmp_path):
    spec = f"hf:{tiny_model}"
    problem = run_evaluation(
        EvalConfig(policy=spec, mode="problem", episodes=1, questions=2, samples=2, max_tokens_per_step=8),
        tmp_path / "problem", show_progress=False,
    )
    assert problem["answers"] == 4 and problem["samples_per_problem"] == 2
    anytime = run_evaluation(
        EvalConfig(policy=spec, mode="anytime", episodes=1, questions=2, anytime_max_budget=8,
                   anytime_num_budgets=2, summary_tokens=4),
        tmp_path / "anytime", show_progress=False,
    )
    assert anytime["anytime"]["budgets"] == [4, 8]
    assert len(anytime["anytime"]["accuracy"]) == 2
    for unit in read_results(tmp_path / "anytime"):
        for entry in unit["problems"]:
            assert [cell["budget"] for cell in entry["by_budget"]] == [4, 8]
            for cell in entry["by_budget"]:
                assert cell["thinking_tokens"] == min(entry["thinking_tokens"], cell["budget"])
                assert len(cell["summaries"]) == 1
                assert cell["summaries"][0]["tokens"] <= 4
    # the report of a real model's runs renders too
    comparison, report = write_report([tmp_path / "problem", tmp_path / "anytime"], tmp_path / "cmp")
    assert report.is_file() and set(comparison["runs"]) == {"problem", "anytime"}
    assert json.loads((tmp_path / "cmp" / "summary.json").read_text())["runs"]["anytime"]["mode"] == "anytime"


@pytest.mark.slow
def test_short_real_smollm2_run(tmp_path, monkeypatch):
    """The embedded model through ``ree eval`` (what ``make demo`` runs, smaller)."""
    pytest.importorskip("gguf")
    from typer.testing import CliRunner

    from reasoning_economics import tokens
    from reasoning_economics.cli import app

    monkeypatch.setenv("REE_CACHE_DIR", str(tmp_path / "cache"))  # the saved tokenizer goes here
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["eval", "--episodes", "2", "--questions", "2", "--max-tokens-per-step", "24", "--no-progress",
              "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "report:" in result.output
    units = read_results(out)
    counter = tokens.get_counter(units[0]["tokenizer_name"])
    for unit in units:
        assert unit["budget_source"] == "tokenizer_native"
        for step in unit["steps"]:
            assert step["completion_tokens"] <= step["step_token_limit"] <= 24
            assert step["tokens_counted"] == counter.count(step["response"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["answers"] == sum(len(u["steps"]) for u in units)
    assert (out / "report.html").stat().st_size > 10_000
