"""The training log: one JSON line per logging step, and the curves ``ree report`` draws from it.

Each line of ``<output_dir>/train_log.jsonl`` is an object with these keys (floats unless noted;
a key is null when the run's recipe does not produce it)::

    step                 int, optimizer steps done
    epoch                TRL's epoch counter
    time_s               seconds since training (or the resumed run) started
    reward               mean total reward of the step's samples (TRL's "reward")
    reward_std           its standard deviation
    accuracy             mean episode accuracy (correct answers / questions)
    tokens_per_question  mean tokens charged per answered question
    budget_utilization   mean spent / total budget
    episode_length       mean questions answered per episode
    episode_return       mean episode return (sum of step rewards)
    loss, grad_norm, learning_rate, entropy, kl, completion_length
    metrics              object: every metric TRL logged at that step, unrenamed

A resumed run appends to the same file, so a curve may step back in ``step`` where a run was
resumed from an earlier checkpoint; :func:`read_training_log` keeps the last line per step.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError, require

TRAIN_LOG_NAME = "train_log.jsonl"

LOG_FIELDS = {
    "reward": "reward",
    "reward_std": "reward_std",
    "accuracy": "episode/accuracy",
    "tokens_per_question": "episode/tokens_per_question",
    "budget_utilization": "episode/budget_utilization",
    "episode_length": "episode/length",
    "episode_return": "episode/return",
    "loss": "loss",
    "grad_norm": "grad_norm",
    "learning_rate": "learning_rate",
    "entropy": "entropy",
    "kl": "kl",
    "completion_length": "completions/mean_length",
}
"""JSONL key -> the TRL / trainer metric it is read from."""

CURVES = (
    ("reward", "reward"),
    ("accuracy", "accuracy"),
    ("tokens_per_question", "tokens per question"),
    ("budget_utilization", "budget utilisation"),
    ("episode_length", "questions answered"),
    ("loss", "loss"),
)


def log_record(step: int, epoch: float | None, time_s: float, logs: dict[str, Any]) -> dict[str, Any]:
    """One JSONL line from a trainer ``logs`` dict (see the module docstring)."""
    record: dict[str, Any] = {"step": int(step), "epoch": epoch, "time_s": round(float(time_s), 3)}
    for key, source in LOG_FIELDS.items():
        value = logs.get(source)
        record[key] = float(value) if isinstance(value, (int, float)) else None
    record["metrics"] = {k: v for k, v in logs.items() if isinstance(v, (int, float, str, bool)) or v is None}
    return record


def make_jsonl_callback(path: str | Path):
    """A ``transformers.TrainerCallback`` that appends one :func:`log_record` per logging step
    (the end-of-training summary, which has no step metrics, is not a step and is skipped)."""
    from transformers import TrainerCallback

    class JsonlLogCallback(TrainerCallback):
        def __init__(self) -> None:
            self.path = Path(path)
            self.started = time.monotonic()

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.monotonic()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or not state.is_world_process_zero or ("loss" not in logs and "reward" not in logs):
                return
            record = log_record(state.global_step, state.epoch, time.monotonic() - self.started, logs)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")

    return JsonlLogCallback()


def read_training_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a training log (a ``train_log.jsonl`` file or a run directory holding one),
    sorted by step, keeping the last record of each step."""
    path = Path(path)
    if path.is_dir():
        path = path / TRAIN_LOG_NAME
    if not path.is_file():
        raise ConfigError(f"no training log at {str(path)!r}")
    by_step: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            by_step[int(record["step"])] = record
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number} is not a training-log record: {exc}") from exc
    return [by_step[step] for step in sorted(by_step)]


def plot_training_curves(log_paths: str | Path | Sequence[str | Path], labels: Sequence[str] | None = None) -> bytes:
    """A PNG of the training curves (reward, accuracy, tokens per question, budget utilisation,
    questions answered, loss) of one or more runs, one line per run; returns the PNG bytes.

    Labels (by default each log's folder name) are drawn as written, never as TeX, cut to
    40 characters; over 8 runs, the legend goes beside the panels instead of over the first."""
    paths = [log_paths] if isinstance(log_paths, (str, Path)) else list(log_paths)
    if not paths:
        raise ConfigError("plot_training_curves needs at least one log")
    if labels is not None and len(labels) != len(paths):
        raise ConfigError(f"got {len(labels)} labels for {len(paths)} logs")
    runs = [read_training_log(p) for p in paths]
    require("matplotlib", "report")
    from matplotlib.figure import Figure

    from reasoning_economics.plotting import label, place_legend

    names = [label(name) for name in (labels if labels is not None else [_run_name(p) for p in paths])]

    figure = Figure(figsize=(13, 7), layout="constrained")
    axes = figure.subplots(2, 3).ravel()
    for ax, (key, title) in zip(axes, CURVES):
        for name, records in zip(names, runs):
            points = [(r["step"], r[key]) for r in records if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, label=name)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    place_legend(figure, axes[0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _run_name(path: str | Path) -> str:
    path = Path(path)
    return (path if path.is_dir() else path.parent).name or str(path)
