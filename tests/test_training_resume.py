"""``ree train --resume``: a resumed run keeps the settings it was started with.

The run directory's ``train_config.json`` is the run's record. Resuming fills every setting not
given from it (not from the defaults), refuses a given setting that contradicts it (``error:``,
exit 2, nothing on disk changed), and lets only the settings of ``RESUME_MAY_CHANGE`` (steps,
logging and saving frequency, ...) take new values. Runs use the tiny random chat model.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from typer.testing import CliRunner  # noqa: E402

from reasoning_economics.cli import app  # noqa: E402
from reasoning_economics.errors import ConfigError  # noqa: E402
from reasoning_economics.training.config import RESUME_MAY_CHANGE  # noqa: E402

# Small enough that a step takes well under a second on one CPU thread.
SMALL = ["--num-generations", "2", "--max-step-tokens", "8", "--num-questions", "2", "--set", "total_budget=16"]


def ree(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def snapshot(directory):
    """Every file under ``directory`` with its bytes and modification time."""
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("trl")
    from reasoning_economics.training.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def length_run(tiny_model, tmp_path_factory, one_torch_thread_module):
    """One step of the length recipe, learning rate 0.01: settings far from the defaults."""
    out = tmp_path_factory.mktemp("runs") / "length"
    result = ree("train", "--model", tiny_model, "--recipe", "length", "--steps", "1", "--learning-rate", "0.01",
                 "--seed", "3", *SMALL, "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "checkpoint-1").is_dir()
    return out


@pytest.fixture(scope="module")
def one_torch_thread_module():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_resume_without_repeating_the_options_continues_the_stored_settings(length_run, tmp_path):
    import shutil

    from reasoning_economics.training.logs import read_training_log

    run = tmp_path / "run"
    shutil.copytree(length_run, run)  # the module's run stays as it was for the other tests
    stored = json.loads((run / "train_config.json").read_text())

    # The README's form: only the directory, the new step count and --resume.
    result = ree("train", "-o", run, "--steps", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert "trained 1 step, to step 2 in" in result.output

    now = json.loads((run / "train_config.json").read_text())
    assert now["recipe"] == "length" and now["model"] == stored["model"]  # not the defaults (episode, smollm2)
    assert (now["learning_rate"], now["seed"], now["num_generations"]) == (0.01, 3, 2)
    assert now["steps"] == 2 and now["resume"] is True
    assert {k: v for k, v in now.items() if k not in ("steps", "resume", "output_dir")} == {
        k: v for k, v in stored.items() if k not in ("steps", "resume", "output_dir")
    }
    records = read_training_log(run)
    assert [r["step"] for r in records] == [1, 2]
    assert "rewards/efficiency/mean" in records[-1]["metrics"]  # step 2 trained the length recipe too
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["global_step"] == 2 and summary["resumed_from"].endswith("checkpoint-1")


@pytest.mark.parametrize(
    "args, named",
    [
        (["--model", "smollm2"], "model='smollm2'"),  # was a RuntimeError traceback after the config was rewritten
        (["--recipe", "episode"], "recipe='episode'"),  # was a silent switch of recipe in mid-run
        (["--learning-rate", "0.001"], "learning_rate=0.001 (the run has 0.01)"),
        (["--set", "seed=4"], "seed=4 (the run has 3)"),
        (["--set", "env.hard_cap_mode=false"], "env={'hard_cap_mode': False} (the run has {})"),
        (["--resume-from", "CHECKPOINT", "--set", "length_alpha=0.5"], "length_alpha=0.5"),
    ],
)
def test_a_conflicting_setting_is_refused_and_nothing_changes(length_run, args, named):
    args = [str(length_run / "checkpoint-1") if a == "CHECKPOINT" else a for a in args]
    before = snapshot(length_run)
    config_bytes = (length_run / "train_config.json").read_bytes()
    resume = [] if "--resume-from" in args else ["--resume"]
    result = ree("train", "-o", length_run, "--steps", "3", *resume, *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --resume: "), result.output
    assert named in lines[0] and "may change on resume" in lines[0]
    assert (length_run / "train_config.json").read_bytes() == config_bytes
    assert snapshot(length_run) == before


def test_a_conflict_from_a_config_file_is_refused_too(length_run, tmp_path):
    before = snapshot(length_run)
    path = tmp_path / "train.yaml"
    path.write_text("recipe: length\nlearning_rate: 0.01\nmax_step_tokens: 16\n")  # the last one differs
    result = ree("train", "-c", path, "-o", length_run, "--resume")
    assert result.exit_code == 2 and "max_step_tokens=16 (the run has 8)" in result.output
    assert snapshot(length_run) == before


def test_settings_equal_to_the_stored_ones_and_those_that_may_change_are_accepted(length_run, tiny_model, tmp_path):
    assert "steps" in RESUME_MAY_CHANGE and "save_steps" in RESUME_MAY_CHANGE and "logging_steps" in RESUME_MAY_CHANGE
    path = tmp_path / "train.yaml"
    path.write_text("recipe: length\nlearning_rate: 1.0e-2\n")  # YAML reads "1.0e-2" as text: compared as a number
    result = ree("train", "--print-config", "-c", path, "-o", length_run, "--resume", "--model", tiny_model,
                 "--steps", "5", "--set", "save_steps=2", "--set", "logging_steps=2")  # fmt: skip
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.output)
    assert (resolved["recipe"], resolved["seed"], resolved["steps"], resolved["save_steps"]) == ("length", 3, 5, 2)
    assert resolved["logging_steps"] == 2 and resolved["output_dir"] == str(length_run)


def test_resume_from_a_checkpoint_of_another_run_takes_that_runs_settings(length_run, tmp_path):
    fork = tmp_path / "fork"
    result = ree("train", "--print-config", "-o", fork, "--resume-from", length_run / "checkpoint-1", "--steps", "4")
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.output)
    assert (resolved["recipe"], resolved["learning_rate"], resolved["steps"]) == ("length", 0.01, 4)
    assert resolved["output_dir"] == str(fork) and not fork.exists()


def test_resume_without_stored_settings_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing"
    result = ree("train", "-o", missing, "--resume")
    assert result.exit_code == 2
    assert result.output.startswith("error: --resume:") and "does not exist" in result.output
    assert not missing.exists()

    bare = tmp_path / "bare"
    (bare / "checkpoint-1").mkdir(parents=True)  # a checkpoint but no record of the run's settings
    result = ree("train", "-o", bare, "--resume")
    assert result.exit_code == 2 and "no train_config.json in" in result.output
    assert [p.name for p in bare.iterdir()] == ["checkpoint-1"]


def test_a_checkpoint_of_another_model_is_an_error_line_and_keeps_the_settings(tiny_model, length_run, tmp_path):
    from reasoning_economics.training.tiny import build_tiny_model

    wider = build_tiny_model(tmp_path / "wider", hidden_size=48)
    run = tmp_path / "wide"
    done = ree("train", "--model", wider, "--recipe", "length", "--steps", "1", *SMALL, "-o", run)
    assert done.exit_code == 0, done.output
    config_bytes = (run / "train_config.json").read_bytes()
    result = ree("train", "-o", run, "--resume-from", length_run / "checkpoint-1", "--steps", "2")
    assert result.exit_code == 2, result.output
    assert f"error: checkpoint {str(length_run / 'checkpoint-1')!r} does not fit model {str(wider)!r}" in result.output
    assert (run / "train_config.json").read_bytes() == config_bytes


def test_ctrl_c_says_how_to_resume(tmp_path, monkeypatch):
    from reasoning_economics.training import runner

    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "train", interrupted)
    out = tmp_path / "run"
    result = ree("train", "-o", out, "--steps", "3")
    assert result.exit_code == 130
    assert "interrupted: no checkpoint was saved" in result.output and "nothing to resume" in result.output

    out.mkdir()
    (out / "train_config.json").write_text("{}")  # training had begun: the run can start over
    result = ree("train", "-o", out, "--steps", "30")
    assert f"no checkpoint was saved in {out} yet; start the run over with ree train -o {out} --resume --steps 30" in result.output

    for step in (2, 10):  # complete checkpoints: the trainer writes trainer_state.json last
        (out / f"checkpoint-{step}").mkdir(parents=True)
        (out / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    result = ree("train", "-o", out, "--steps", "30")
    assert result.exit_code == 130
    assert f"the last checkpoint is {out / 'checkpoint-10'}" in result.output  # by number, not by name
    # The steps asked for, not the stored ones: those of the run's last start, maybe fewer.
    assert f"continue with ree train -o {out} --resume --steps 30" in result.output


def test_a_resume_with_nothing_to_train_says_so_and_changes_nothing(length_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(length_run, run)
    before = snapshot(run)
    # Before, the model was loaded and final/ rewritten, and the command said "trained 1 steps".
    for args in ((), ("--steps", "1")):
        result = ree("train", "-o", run, "--resume", *args)
        assert result.exit_code == 0, result.output
        assert "nothing to train: the run is already at step 1 of --steps 1" in result.output
        assert "trained" not in result.output
    assert snapshot(run) == before


def test_help_shows_the_defaults():
    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())  # rich wraps the help column
    for shown in ("smollm2", "episode", "100", "runs/train", "0", "4", "64", "1e-05", "auto", "colocate",
                  "no-vllm", "no-lora", "on", "the recipe's"):  # fmt: skip
        assert f"[default: {shown}]" in text or f"[default: ({shown})]" in text, shown
    assert "keeps the run's value" in text  # --resume says where the left-out settings come from


def test_training_again_into_a_run_without_resume_is_refused_and_changes_nothing(length_run):
    # It started over in the directory: a new train_config.json, and a second experiment's
    # lines appended to the first one's train_log.jsonl.
    before = snapshot(length_run)
    result = ree("train", "--model", "smollm2", "--steps", "1", "-o", length_run)
    assert result.exit_code == 2, result.output
    assert "already holds a training run; pass --resume" in result.output
    assert snapshot(length_run) == before


def test_a_run_resumed_to_more_steps_trains_what_an_uninterrupted_run_trains(tiny_model, tmp_path, monkeypatch,
                                                                              one_torch_thread_module):  # fmt: skip
    # Resumed from 1 step to 3, it trained seed 0 twice and never seed 2 (TRL shuffled the
    # dataset by its size, which --steps sets), and its step 2 ran at learning rate 0 (the
    # 1-step schedule's last value, held by the checkpoint's optimizer).
    from reasoning_economics.training.logs import read_training_log
    from reasoning_economics.training.rollout import EpisodeRollout, episode_seed

    seeds_trained: list[list[int]] = []
    play = EpisodeRollout.__call__

    def recording(self, prompts, trainer):
        seeds_trained.append(sorted({episode_seed(p) for p in prompts}))
        return play(self, prompts, trainer)

    monkeypatch.setattr(EpisodeRollout, "__call__", recording)
    common = ["--model", tiny_model, "--learning-rate", "0.01", "--groups-per-step", "1", *SMALL]

    result = ree("train", *common, "--steps", "3", "-o", tmp_path / "whole")
    assert result.exit_code == 0, result.output
    uninterrupted, seeds_trained[:] = list(seeds_trained), []
    assert sorted(s for step in uninterrupted for s in step) == [0, 1, 2]  # one group per step, no seed twice

    run = tmp_path / "resumed"
    assert ree("train", *common, "--steps", "1", "-o", run).exit_code == 0
    result = ree("train", "-o", run, "--steps", "3", "--resume")
    assert result.exit_code == 0, result.output
    assert seeds_trained == uninterrupted

    whole = {r["step"]: r["learning_rate"] for r in read_training_log(tmp_path / "whole")}
    resumed = {r["step"]: r["learning_rate"] for r in read_training_log(run)}
    assert (whole[2], whole[3]) == pytest.approx((0.01 * 2 / 3, 0.01 / 3))  # linear decay over 3 steps
    assert (resumed[2], resumed[3]) == pytest.approx((whole[2], whole[3]))


def test_a_run_that_died_before_logging_a_step_can_be_started_again(tiny_model, tmp_path, one_torch_thread_module):
    from reasoning_economics.training.runner import holds_a_training_run

    out = tmp_path / "run"
    unreachable = ["--env-url", "http://127.0.0.1:9", "--env-tokenizer", "qwen3"]  # fails in the first step
    served = ["--num-generations", "2", "--max-step-tokens", "8", "--set", "total_budget=16"]  # the server sets the questions
    died = ree("train", "--model", tiny_model, "--steps", "1", *served, *unreachable, "-o", out)
    assert died.exit_code != 0
    assert (out / "train_config.json").is_file() and not any(out.glob("checkpoint-*"))

    # It answered "already holds a training run" to a start and "no checkpoint-*" to --resume.
    started = ree("train", "--model", tiny_model, "--steps", "1", *SMALL, "-o", out)
    assert started.exit_code == 0, started.output
    assert json.loads((out / "train_config.json").read_text())["env_url"] is None
    assert (out / "checkpoint-1").is_dir()

    logged = tmp_path / "logged"  # a run that logged a step is kept, checkpoint or not
    logged.mkdir()
    (logged / "train_log.jsonl").write_text('{"step": 1}\n')
    assert holds_a_training_run(logged)


def test_a_run_stopped_before_its_first_checkpoint_starts_over_on_resume(tiny_model, tmp_path, one_torch_thread_module):
    from reasoning_economics.training.logs import read_training_log

    out = tmp_path / "run"
    first = ree("train", "--model", tiny_model, "--recipe", "length", "--steps", "1", *SMALL, "-o", out)
    assert first.exit_code == 0, first.output
    for saved in (out / "checkpoint-1", out / "final"):  # as if stopped after logging step 1, before saving
        shutil.rmtree(saved)
    (out / "checkpoint-1").mkdir()  # and a save cut short: no trainer_state.json
    logged = (out / "train_log.jsonl").read_text().splitlines()
    assert len(logged) == 1

    # A start refuses the folder (it holds a run); --resume refused it too (no checkpoint).
    assert ree("train", "--model", tiny_model, "--steps", "1", *SMALL, "-o", out).exit_code == 2
    resumed = ree("train", "-o", out, "--resume", "--steps", "2")
    assert resumed.exit_code == 0, resumed.output
    assert "saved no checkpoint before it stopped; it starts over from step 0" in resumed.output
    assert (out / "checkpoint-2" / "trainer_state.json").is_file() and (out / "final").is_dir()
    assert json.loads((out / "train_config.json").read_text())["recipe"] == "length"  # the stored settings
    lines = (out / "train_log.jsonl").read_text().splitlines()
    assert lines[0] == logged[0] and len(lines) == 3  # the old line kept, steps 1 and 2 logged again
    assert [record["step"] for record in read_training_log(out)] == [1, 2]

    empty = tmp_path / "empty"
    empty.mkdir()
    from reasoning_economics.training.config import TrainConfig
    from reasoning_economics.training.runner import train

    with pytest.raises(ConfigError, match="no complete checkpoint-.* and no run settings to start over with"):
        train(TrainConfig(model=str(tiny_model), output_dir=str(empty), resume=True))
