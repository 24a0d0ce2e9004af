"""``ree report``: comparing runs, the baseline deltas, and a report.html whose figures are real images."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from typer.testing import CliRunner

from reasoning_economics.cli import app

pytest.importorskip("matplotlib")

RUN_ARGS = ["--episodes", "3", "--questions", "3", "--budget", "100000", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two oracle runs that are always right: "short" answers in 40 tokens, "long" in 80."""
    root = tmp_path_factory.mktemp("runs")
    runner = CliRunner()
    for name, tokens in (("short", 40), ("long", 80)):
        result = runner.invoke(
            app, ["eval", "--policy", f"oracle:accuracy=1.0,tokens={tokens}", *RUN_ARGS, "--out", str(root / name)]
        )
        assert result.exit_code == 0, result.output
    return root


def embedded_images(report_html: str) -> dict[str, bytes]:
    found = re.findall(r"<figure id='(\w+)'><img alt='[^']*' src='data:image/png;base64,([^']+)'", report_html)
    return {key: base64.b64decode(data) for key, data in found}


def assert_real_image(png: bytes) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    width, height = image.size
    assert width > 100 and height > 100
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 10  # drawn, not a blank canvas


def test_report_compares_two_runs_against_a_baseline(runs, tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        app, ["report", str(runs / "short"), str(runs / "long"), "--baseline", str(runs / "long"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "vs baseline" in result.output and "50.0% fewer" in result.output
    comparison = json.loads((out / "summary.json").read_text())
    assert comparison["baseline"] == "long"
    versus = comparison["runs"]["short"]["vs_baseline"]
    # 80 -> 40 tokens per question is 50% fewer, at the same (perfect) accuracy
    assert versus["token_reduction_pct"] == pytest.approx(50.0)
    assert versus["accuracy_change_points"] == pytest.approx(0.0)
    assert "vs_baseline" not in comparison["runs"]["long"]
    # The baseline is among the runs: its column says so, as when it is given apart.
    header = re.search(r"<thead>(.*?)</thead>", (out / "report.html").read_text(), re.DOTALL).group(1)
    assert "<th>long (baseline)</th>" in header and "<th>short</th>" in header
    # "short" is as accurate and cheaper, so it alone is on the frontier
    assert comparison["pareto_frontier"] == ["short"]
    images = embedded_images((out / "report.html").read_text())
    assert {"accuracy_vs_tokens", "tokens_by_difficulty", "budget_pacing", "reflection_by_difficulty",
            "reward_distribution"} <= set(images)
    for png in images.values():
        assert_real_image(png)


def test_eval_writes_its_own_report_and_a_single_run_report_reproduces_the_summary(runs, tmp_path):
    summary = json.loads((runs / "short" / "summary.json").read_text())
    assert summary["tokens_per_question"]["mean"] == 40.0
    assert summary["accuracy"]["value"] == 1.0
    assert (runs / "short" / "report.html").is_file()
    result = CliRunner().invoke(app, ["report", str(runs / "short"), "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again["accuracy"] == summary["accuracy"]
    assert again["tokens_per_question"] == summary["tokens_per_question"]


def test_anytime_and_training_runs_add_their_figures(runs, tmp_path):
    from reasoning_economics.training.logs import TRAIN_LOG_NAME, log_record

    anytime = tmp_path / "anytime"
    result = CliRunner().invoke(
        app, ["eval", "--policy", "oracle:accuracy=0.5,tokens=50", "--mode", "anytime", "--episodes", "1",
              "--questions", "2", "--anytime-max-budget", "64", "--no-progress", "--out", str(anytime)]
    )
    assert result.exit_code == 0, result.output
    trained = tmp_path / "trained"
    trained.mkdir()
    with (trained / TRAIN_LOG_NAME).open("w") as handle:
        for step, reward in ((1, 0.1), (2, 0.4), (3, 0.3)):
            record = log_record(step, step / 3, step * 2.0, {"reward": reward, "loss": 1.0 / step,
                                                               "episode/accuracy": reward})
            handle.write(json.dumps(record) + "\n")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["report", str(anytime), str(trained), str(runs / "short"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    images = embedded_images((out / "report.html").read_text())
    assert {"anytime_curve", "training_curves", "accuracy_vs_tokens"} <= set(images)
    for png in images.values():
        assert_real_image(png)
    comparison = json.loads((out / "summary.json").read_text())
    assert comparison["runs"]["anytime"]["anytime"]["budgets"] == [16, 32, 48, 64]


def test_report_errors_are_clear(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["report", str(empty)])
    assert result.exit_code == 2
    assert "neither evaluation results" in result.output
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a directory" in missing.output


def test_run_names_that_look_like_markup_are_printed_as_written(tmp_path):
    # rich reads "[bold]" as a style and "[/x]" as a closing tag: folder names are text.
    runner = CliRunner()
    names = ["exp[bold]", "exp[v2]"]
    for name in names:
        result = runner.invoke(
            app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=40", *RUN_ARGS, "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        assert f"{tmp_path / name / 'results.jsonl'}" in result.output.replace("\n", "")
    result = runner.invoke(app, ["report", *(str(tmp_path / name) for name in names), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "metric" in line)
    assert "exp[bold]" in header and "exp[v2]" in header


def test_report_out_that_cannot_be_a_directory_is_a_clear_error(runs, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for out, message in (
        (afile, "exists and is not a directory"),
        (afile / "sub", "a folder on its path is a file"),
    ):
        result = CliRunner().invoke(app, ["report", str(runs / "short"), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert f"error: --out {str(out)!r}" in result.output and message in result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert afile.read_text() == "not a folder"


def test_runs_of_different_modes_compared_without_a_baseline_are_warned_about(runs, tmp_path):
    sampled = tmp_path / "sampled"
    made = CliRunner().invoke(app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=40", "--mode", "problem",
                                    "--samples", "2", "--episodes", "1", "--questions", "2", "--no-progress",
                                    "--out", str(sampled)])  # fmt: skip
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(app, ["report", str(runs / "short"), str(sampled), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    (warning,) = json.loads((tmp_path / "cmp" / "summary.json").read_text())["warnings"]
    assert "different modes ('short' (episode), 'sampled' (problem))" in warning
    same = CliRunner().invoke(app, ["report", str(runs / "short"), str(runs / "long"), "--out", str(tmp_path / "same")])
    assert same.exit_code == 0, same.output
    assert json.loads((tmp_path / "same" / "summary.json").read_text())["warnings"] == []


def test_a_comparison_is_never_written_over_one_of_its_runs(runs, tmp_path):
    short = runs / "short"
    before = {name: (short / name).read_bytes() for name in ("summary.json", "report.html")}
    for args in ([str(short), str(runs / "long")], [str(runs / "long"), "--baseline", str(short)]):
        result = CliRunner().invoke(app, ["report", *args, "--out", str(short)])
        assert result.exit_code == 2, result.output
        assert f"--out {str(short)!r} is the run 'short" in result.output and "Traceback" not in result.output
    assert {name: (short / name).read_bytes() for name in before} == before
    # One run, written into itself, is its own summary again: ree eval does just that.
    result = CliRunner().invoke(app, ["report", str(short), "--out", str(short)])
    assert result.exit_code == 0, result.output
    assert json.loads((short / "summary.json").read_text()) == json.loads(before["summary.json"])


def test_an_empty_run_has_no_numbers_and_as_baseline_compares_nothing(runs, tmp_path):
    # A run killed before its first episode: results.jsonl exists and is empty.
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "results.jsonl").write_text("")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        app, ["report", str(runs / "short"), str(empty), "--baseline", str(empty), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output  # the report stands; the baseline is only warned about
    assert "warning: baseline 'empty' has no answers" in result.output.replace("\n", " ")
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.output.splitlines() if line.count("│") == 4}
    assert rows["answers"] == ["9", "0"]
    assert rows["accuracy [95% CI]"][1] == "-" and rows["tokens / question (mean)"] == ["40.0", "-"]
    assert rows["vs baseline: accuracy"] == ["-", "-"] and rows["vs baseline: tokens"] == ["-", "-"]
    comparison = json.loads((out / "summary.json").read_text())
    assert comparison["runs"]["empty"]["accuracy"] is None
    assert comparison["runs"]["empty"]["tokens_per_question"]["mean"] is None
    assert comparison["runs"]["short"]["vs_baseline"] == {
        "baseline": "empty", "token_reduction_pct": None, "accuracy_change_points": None
    }
    assert len(comparison["warnings"]) == 1 and "'empty' has no answers" in comparison["warnings"][0]
    assert "Warning: baseline &#x27;empty&#x27; has no answers" in (out / "report.html").read_text()


def _training_run(path, rewards=((1, 0.1), (2, 0.4), (3, 0.3))):
    """A run directory as ree train leaves it, as far as ree report reads it: a train_log.jsonl."""
    from reasoning_economics.training.logs import TRAIN_LOG_NAME, log_record

    path.mkdir(parents=True)
    with (path / TRAIN_LOG_NAME).open("w") as handle:
        for step, reward in rewards:
            logs = {"reward": reward, "loss": 1.0 / step, "episode/accuracy": reward,
                    "episode/tokens_per_question": 100.0 + step}
            handle.write(json.dumps(log_record(step, step / 3, step * 2.0, logs)) + "\n")
    return path


def test_one_training_run_gets_its_own_report_by_default(tmp_path, monkeypatch):
    # README: `ree report runs/smoke   # training curves`, with no --out.
    monkeypatch.chdir(tmp_path)
    _training_run(tmp_path / "runs" / "t2")
    result = CliRunner().invoke(app, ["report", "runs/t2"])
    assert result.exit_code == 0, result.output
    assert "error" not in result.output
    summary = json.loads((tmp_path / "runs" / "t2" / "summary.json").read_text())
    assert "runs" not in summary  # one run: its own summary, not a comparison
    assert summary["run"] == {"name": "t2", "kind": "training"}
    assert summary["training"]["steps"] == 3 and summary["training"]["logged_steps"] == 3
    assert summary["training"]["first"]["reward"] == 0.1 and summary["training"]["last"]["reward"] == 0.3
    assert "training_curves" in embedded_images((tmp_path / "runs" / "t2" / "report.html").read_text())
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.output.splitlines() if line.count("│") == 3}
    assert rows["mode"] == "train" and rows["train: steps"] == "3"
    assert rows["train: reward (first -> last)"] == "0.100 -> 0.300"
    assert rows["train: tokens / question (first -> last)"] == "101.0 -> 103.0"
    assert "accuracy [95% CI]" not in rows  # no evaluation metrics: no column of "-"
    assert "t2 is a training run" in " ".join(result.output.split())
    assert not (tmp_path / "ree-report").exists()


def test_training_and_evaluation_runs_side_by_side(runs, tmp_path):
    trained = _training_run(tmp_path / "trained")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["report", str(runs / "short"), str(trained), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.output.splitlines() if line.count("│") == 4}
    assert rows["mode"] == ["episode", "train"]
    assert rows["tokens / question (mean)"] == ["40.0", "-"]
    assert rows["train: steps"] == ["-", "3"]
    comparison = json.loads((out / "summary.json").read_text())
    assert comparison["runs"]["trained"]["training"]["last"]["loss"] == pytest.approx(1 / 3)
    # A comparison still never goes into one of its runs, a training run included.
    refused = CliRunner().invoke(app, ["report", str(runs / "short"), str(trained), "--out", str(trained)])
    assert refused.exit_code == 2 and "is the run 'trained'" in refused.output


def test_tokenizer_names_of_one_vocabulary_are_not_a_difference(runs, tmp_path):
    # oracle counts in "qwen3"; an openai: run of Qwen/Qwen3-0.6B in the same vocabulary.
    runner = CliRunner()
    hub = tmp_path / "hub-name"
    result = runner.invoke(
        app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=40", *RUN_ARGS, "--tokenizer", "Qwen/Qwen3-0.6B",
              "--out", str(hub)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((hub / "run.json").read_text())["tokenizer_name"] == "Qwen/Qwen3-0.6B"
    llama = tmp_path / "llama"
    result = runner.invoke(
        app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=40", *RUN_ARGS, "--tokenizer",
              "meta-llama/Llama-3.1-8B-Instruct", "--out", str(llama)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "cmp"
    result = runner.invoke(
        app, ["report", str(hub), str(llama), "--baseline", str(runs / "short"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert len(warnings) == 1, warnings
    assert "'llama'" in warnings[0] and "tokenizer_name 'meta-llama/Llama-3.1-8B-Instruct' vs 'qwen3'" in warnings[0]
    assert "warning: run 'hub-name'" not in " ".join(result.output.split())


def test_a_write_cut_short_leaves_the_earlier_report_whole(runs, tmp_path):
    # Written in place, a report cut short by a full disk or a file-size limit replaced the
    # good one with a page without its end, and summary.json left its temporary file behind.
    import resource
    import shutil
    import subprocess
    import sys

    run = tmp_path / "short"
    shutil.copytree(runs / "short", run)
    before = {path.name: path.read_bytes() for path in run.iterdir()}
    limit = len(before["report.html"]) // 2

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    for target in (run, tmp_path / "elsewhere"):  # the run's own report, and a new one
        done = subprocess.run(
            [sys.executable, "-m", "reasoning_economics.cli", "report", str(run), "--out", str(target)],
            capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "cannot write report.html (File too large)" in done.stderr and "Traceback" not in done.stderr
        assert not list(target.glob("*.tmp"))
        assert not (target / "report.html").exists() or target == run
    assert {path.name: path.read_bytes() for path in run.iterdir()} == before


def test_a_tier_no_answer_reached_is_drawn_without_tokens(tmp_path):
    # Episode mode: the one hard question was never reached, so its tier has an accuracy (0 of
    # 1) and no tokens; the figures draw the other tiers and leave its bar empty.
    from reasoning_economics.evaluation.plots import RunData, reflection_by_difficulty, tokens_by_difficulty
    from reasoning_economics.evaluation.report import _breakdown_rows
    from reasoning_economics.evaluation.summary import summarize

    step = {"difficulty": 0.1, "problem_type": "gcd", "remaining_before": 100, "tokens_counted": 90,
            "tokens_used": 90, "thinking_tokens": 90, "correct": True, "response": "wait\n\\boxed{6}",
            "extracted": "6", "reward": 1.0, "finish_reason": "stop"}  # fmt: skip
    unit = {"index": 0, "mode": "episode", "total_budget": 100, "num_questions": 2, "spent_budget": 90,
            "total_reward": 1.0, "steps": [step],
            "unanswered": [{"question_id": "q2", "problem_type": "gcd", "difficulty": 0.9}]}  # fmt: skip
    summary = summarize([unit], {"mode": "episode", "name": "starved"})
    assert list(summary["by_difficulty"]) == ["easy", "hard"]
    run = RunData("starved", tmp_path, summary, [unit])
    for figure in (tokens_by_difficulty, reflection_by_difficulty):
        assert_real_image(figure([run]))
    rows = {row[0]: row for row in _breakdown_rows(summary, "by_difficulty")}
    assert rows["hard"][1:4] == ["0", "1", "0.000 [0.00, 0.79]"]


def _with_returns(source, target, returns):
    """A copy of run ``source`` whose episodes returned ``returns``, each step half of it."""
    import shutil

    shutil.copytree(source, target)
    units = [json.loads(line) for line in (target / "results.jsonl").read_text().splitlines()]
    for unit, value in zip(units, returns, strict=True):
        unit["total_reward"] = value
        for step in unit["steps"]:
            step["reward"] = value / 2
    (target / "results.jsonl").write_text("".join(json.dumps(unit) + "\n" for unit in units))
    return target


def test_returns_near_the_float_limit_are_summarised_and_reported_not_drawn(runs, tmp_path):
    # fsum overflowed (a traceback), then numpy's bins and matplotlib's axis limits did.
    run = _with_returns(runs / "short", tmp_path / "huge", [1e308, 1e308, -1e308])
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    reward = json.loads((run / "summary.json").read_text())["reward"]
    assert reward["episode_return"] == pytest.approx(1e308 / 3)
    # by hand: deviations of 2/3, 2/3 and -4/3 of 1e308, variance 8/9 of its square
    assert reward["episode_return_std"] == pytest.approx(1e308 * (2 * 2**0.5 / 3))
    assert reward["step_reward"] == pytest.approx(1e308 / 6)
    assert_real_image(embedded_images((run / "report.html").read_text())["reward_distribution"])


def test_equal_large_returns_get_one_bin_around_them(runs, tmp_path):
    # The pad of 0.5 vanished in rounding at 1e20: numpy refused the empty range.
    run = _with_returns(runs / "short", tmp_path / "equal", [1e20, 1e20, 1e20])
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert_real_image(embedded_images((run / "report.html").read_text())["reward_distribution"])


def test_histogram_edges_by_hand():
    from reasoning_economics.evaluation.plots import histogram_edges

    assert histogram_edges(0.0, 2.0, count=4) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert histogram_edges(3.0, 3.0) == [2.5, 3.5]
    low, high = histogram_edges(1e20, 1e20)
    assert low < 1e20 < high and high - low == pytest.approx(2e11)
