"""``ree eval --server`` notices a server whose settings are not the run's, whatever changed.

Every observation carries the environment's ``env_config_digest`` (a fingerprint of its whole
EnvConfig); ``run.json`` records unit 0's as ``first_episode.env_config_digest`` and every unit
its own. A unit served under another digest is refused before it is appended, an episode reset
under another is refused before any answer is generated, and ``--resume`` refuses a server
whose digest differs, even when the questions, budget and first question are the same (reward
weights and budget mode are not visible otherwise). ``--soft``, ``--questions`` and
``--max-tokens-per-step`` do not apply with ``--server`` (the server's own settings do) and are refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("uvicorn")

from reasoning_economics.cli import app  # noqa: E402
from reasoning_economics.env import EnvConfig  # noqa: E402
from reasoning_economics.errors import ConfigError  # noqa: E402
from reasoning_economics.evaluation.config import EvalConfig  # noqa: E402
from reasoning_economics.evaluation.modes import episode as episode_mode  # noqa: E402
from reasoning_economics.evaluation.results import (  # noqa: E402
    ResultsWriter,
    RunMismatchError,
    read_results,
    unit_mismatch,
)
from reasoning_economics.evaluation.runner import _save_unit, run_evaluation  # noqa: E402

SPEC = "oracle:accuracy=0.6,tokens=40,tokens_per_difficulty=80"

# Settings a server exposes no other way: the same 3 questions, budgets and first question.
HIDDEN_CHANGES = [{"beta": 0.5}, {"gamma": 0.3}, {"hard_cap_mode": False}, {"lambda_ep": 0.0}]


def _files(run: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(run.iterdir())}


def _eval_args(server_url: str, out: Path, *more: str) -> list[str]:
    return ["eval", "--policy", SPEC, "--server", server_url, "--out", str(out), "--no-progress", *more]


@pytest.mark.parametrize("change", HIDDEN_CHANGES, ids=lambda change: next(iter(change)))
def test_resume_against_a_server_with_other_hidden_settings_is_refused(change, start_server, tmp_path):
    first = start_server(env_config=EnvConfig(num_questions=3))
    out = tmp_path / "run"
    runner = CliRunner()
    made = runner.invoke(app, _eval_args(first.base_url, out, "--episodes", "2"))
    assert made.exit_code == 0, made.output
    digest = json.loads((out / "run.json").read_text())["first_episode"]["env_config_digest"]
    assert digest and all(unit["env_config_digest"] == digest for unit in read_results(out))
    first.stop()
    restarted = start_server(first.port, env_config=EnvConfig(num_questions=3, **change))
    before = _files(out)
    resumed = runner.invoke(app, _eval_args(restarted.base_url, out, "--episodes", "4", "--resume"))
    assert resumed.exit_code == 2, resumed.output
    assert "env_config_digest" in resumed.output and "other settings" in resumed.output, resumed.output
    assert _files(out) == before  # nothing appended, run.json not rewritten


def test_a_run_from_before_the_digest_still_resumes_against_the_same_settings(start_server, tmp_path):
    first = start_server(env_config=EnvConfig(num_questions=3))
    out = tmp_path / "run"
    runner = CliRunner()
    assert runner.invoke(app, _eval_args(first.base_url, out, "--episodes", "2")).exit_code == 0
    # run.json and results.jsonl as versions before the digest wrote them
    stored = json.loads((out / "run.json").read_text())
    del stored["first_episode"]["env_config_digest"]
    (out / "run.json").write_text(json.dumps(stored))
    units = [{k: v for k, v in unit.items() if k != "env_config_digest"} for unit in read_results(out)]
    (out / "results.jsonl").write_text("".join(json.dumps(unit) + "\n" for unit in units))
    first.stop()
    again = start_server(first.port, env_config=EnvConfig(num_questions=3))
    resumed = runner.invoke(app, _eval_args(again.base_url, out, "--episodes", "4", "--resume"))
    assert resumed.exit_code == 0, resumed.output
    assert [u["index"] for u in read_results(out)] == [0, 1, 2, 3]
    assert json.loads((out / "run.json").read_text())["first_episode"]["env_config_digest"]


def test_a_unit_served_under_other_settings_is_not_appended(start_server, tmp_path):
    """The check every unit passes before it is saved, with units from two real servers that
    differ only in a reward weight (the proxy that switched servers mid-run)."""
    ours = start_server(env_config=EnvConfig(num_questions=3))
    other = start_server(env_config=EnvConfig(num_questions=3, beta=0.5))
    run_evaluation(EvalConfig(policy=SPEC, episodes=2, server=ours.base_url), tmp_path / "ours", show_progress=False)
    run_evaluation(EvalConfig(policy=SPEC, episodes=2, server=other.base_url), tmp_path / "other", show_progress=False)
    run_config = json.loads((tmp_path / "ours" / "run.json").read_text())
    own_units, foreign_units = read_results(tmp_path / "ours"), read_results(tmp_path / "other")
    # Same questions, budgets and first question: only the digest tells them apart.
    assert [u["total_budget"] for u in own_units] == [u["total_budget"] for u in foreign_units]
    assert all(unit_mismatch(unit, run_config) is None for unit in own_units)
    for unit in foreign_units:
        assert "env_config_digest" in (unit_mismatch(unit, run_config) or "")
    target = tmp_path / "target"
    target.mkdir()
    with ResultsWriter(target) as writer:
        _save_unit(writer, own_units[0], run_config)
        with pytest.raises(RunMismatchError, match="changed its settings during the run.*--resume"):
            _save_unit(writer, foreign_units[1], run_config)
    assert [u["index"] for u in read_results(target)] == [0]


def test_a_server_switched_mid_run_stops_the_run_at_the_next_reset(start_server, monkeypatch, tmp_path):
    """New connections reach another server after unit 0 (what a proxy or a restart does):
    the run stops before the first episode reset there is answered, with unit 0 saved."""
    ours = start_server(env_config=EnvConfig(num_questions=3))
    other = start_server(env_config=EnvConfig(num_questions=3, beta=0.5))
    opened = []
    real_open = episode_mode.open_session

    def switching_open(config, tokenizer_name):
        opened.append(config.server)
        # 1: describe unit 0, 2: unit 0 itself; later sessions reach the other server
        url = ours.base_url if len(opened) <= 2 else other.base_url
        return real_open(EvalConfig(**{**config.__dict__, "server": url}), tokenizer_name)

    monkeypatch.setattr(episode_mode, "open_session", switching_open)
    config = EvalConfig(policy=SPEC, episodes=4, concurrency=1, server=ours.base_url)
    with pytest.raises(RunMismatchError, match=r"unit 1 was served under other environment settings.*--resume"):
        run_evaluation(config, tmp_path / "run", show_progress=False)
    assert [u["index"] for u in read_results(tmp_path / "run")] == [0]


def test_a_server_asking_other_questions_says_so_to_a_scripted_policy(start_server, tmp_path):
    """The server's questions are not the ones --dataset gives at that seed: a scripted policy
    (which answers from the gold answer) cannot answer, and the error says why."""
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps({"question": f"What is {k} + 977?", "answer": str(k + 977)}) + "\n"
                                for k in range(8)))  # fmt: skip
    server = start_server(env_config=EnvConfig(num_questions=3, dataset=f"file:{problems}"))
    config = EvalConfig(policy=SPEC, episodes=2, server=server.base_url, dataset="builtin")
    with pytest.raises(RunMismatchError, match="serves other questions than this run expects"):
        run_evaluation(config, tmp_path / "run", show_progress=False)


@pytest.mark.parametrize("dataset", ["builtin", "server's"])
def test_unanswered_questions_are_rebuilt_only_from_the_servers_own_questions(dataset, start_server, tmp_path):
    """The questions the budget never reached are rebuilt from the seed on this side, when the
    server asked the rebuild's questions up to there; from another dataset they are unknown
    (None), rather than the local dataset's, which the server did not ask."""
    from reasoning_economics.evaluation.sessions import RemoteSession
    from reasoning_economics.problems import create_source, sample_episode

    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps({"question": f"What is {k} + 977?", "answer": str(k + 977)}) + "\n"
                                for k in range(8)))  # fmt: skip
    served = f"file:{problems}"
    server = start_server(env_config=EnvConfig(num_questions=3, dataset=served))
    local = served if dataset == "server's" else dataset
    session = RemoteSession(server.base_url, token=None, tokenizer_name=None, total_budget=20, dataset=local)
    try:
        observation = session.reset(seed=4)
        while not observation.done:  # 12 tokens an answer: two of the three questions fit
            observation = session.step("So the answer is " + "1 2 3 4 5 6 " + "\\boxed{980}", {})
        answered = len(observation.history)
        unanswered = session.unanswered(observation)
    finally:
        session.close()
    assert 0 < answered < 3
    if dataset == "builtin":
        assert unanswered is None
    else:
        assert unanswered == sample_episode(create_source(served), 3, 4)[answered:]


@pytest.mark.parametrize(
    "flags, named",
    [(["--soft"], "--soft"), (["--max-tokens-per-step", "64"], "--max-tokens-per-step"),
     (["--max-tokens-per-step", "192"], "--max-tokens-per-step"),
     # The server's number of questions was used and the one asked for kept nowhere, in silence.
     (["--questions", "2"], "--questions"), (["-k", "4"], "--questions")],
)  # fmt: skip
def test_flags_a_server_does_not_apply_are_refused(flags, named, start_server, tmp_path):
    server = start_server(env_config=EnvConfig(num_questions=2))
    out = tmp_path / "run"
    refused = CliRunner().invoke(app, [*_eval_args(server.base_url, out, "--episodes", "1"), *flags])
    assert refused.exit_code == 2, refused.output
    assert named in refused.output and "server's own" in refused.output, refused.output
    assert not out.exists()


def test_eval_config_refuses_settings_a_server_does_not_apply():
    with pytest.raises(ConfigError, match="server's own budget mode"):
        EvalConfig(server="http://127.0.0.1:1", hard_cap_mode=False)
    with pytest.raises(ConfigError, match="server's own per-step token limit"):
        EvalConfig(server="http://127.0.0.1:1", max_tokens_per_step=64)
    with pytest.raises(ConfigError, match="server's own number of questions per episode"):
        EvalConfig(server="http://127.0.0.1:1", questions=3)
    assert EvalConfig(hard_cap_mode=False, max_tokens_per_step=64).max_tokens_per_step == 64
    assert EvalConfig(server="http://127.0.0.1:1").hard_cap_mode


def test_run_json_of_a_server_run_holds_only_the_settings_the_client_applies(start_server, tmp_path):
    """The server's own per-step limit, budget mode and grading timeout apply, and the client
    cannot know them: run.json recorded the client's defaults (192 tokens a step, hard mode),
    and ree report then compared those with an in-process run's."""
    from reasoning_economics.evaluation.report import compare, load_runs

    server = start_server(env_config=EnvConfig(num_questions=2, max_tokens_per_step=100))
    remote, local = tmp_path / "remote", tmp_path / "local"
    run_evaluation(EvalConfig(policy=SPEC, episodes=1, budget=1000, server=server.base_url), remote, show_progress=False)
    stored = json.loads((remote / "run.json").read_text())
    assert not {"max_tokens_per_step", "hard_cap_mode", "grading_timeout"} & set(stored), stored
    assert stored["questions"] == 2  # what the server served
    assert read_results(remote)[0]["steps"][0]["step_token_limit"] == 100  # the limit that applied
    # The same environment in-process: nothing to warn about (before: "max_tokens_per_step 192 vs 100").
    in_process = EvalConfig(policy=SPEC, episodes=1, budget=1000, questions=2, max_tokens_per_step=100)
    run_evaluation(in_process, local, show_progress=False)
    assert compare(load_runs([remote, local]), baseline=load_runs([local])[0])["warnings"] == []
    # A run.json of an earlier version, with the client's defaults, still resumes.
    (remote / "run.json").write_text(json.dumps({**stored, "max_tokens_per_step": 192, "hard_cap_mode": True}))
    more = ("--episodes", "2", "--budget", "1000", "--resume")
    resumed = CliRunner().invoke(app, _eval_args(server.base_url, remote, *more))
    assert resumed.exit_code == 0, resumed.output
    assert [u["index"] for u in read_results(remote)] == [0, 1]
