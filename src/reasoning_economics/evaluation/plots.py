"""The report's figures, each a PNG (bytes) drawn with matplotlib's object API (no pyplot state,
no display: safe in threads and on headless machines).

Every function takes the runs to compare (:class:`RunData`) and returns None when none of
them holds what the figure shows (for example the anytime curve of episode-mode runs), so
the report simply leaves that figure out.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_economics.errors import require
from reasoning_economics.evaluation import metrics
from reasoning_economics.evaluation.summary import TIERS
from reasoning_economics.plotting import label, place_legend


@dataclass
class RunData:
    """One run as the report sees it: its name, directory, summary and raw units."""

    name: str
    path: Path
    summary: dict[str, Any] | None
    units: list[dict[str, Any]] = field(default_factory=list)
    training_log: Path | None = None
    partial_lines: int = 0
    """Lines of results.jsonl left out as cut off mid-write (a killed run's last line)."""

    @property
    def mode(self) -> str | None:
        return self.summary["mode"] if self.summary else None


def _figure(width: float = 7.0, height: float = 4.2, ncols: int = 1) -> tuple[Any, Any]:
    require("matplotlib", "report")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(1, ncols)
    return figure, axes


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


ACCURACY_LIMITS = (-0.02, 1.02)

def _finish(
    figure: Any,
    ax: Any,
    *,
    title: str,
    ylabel: str,
    xlabel: str | None = None,
    ylim: tuple[float, float] | None = None,
    grid_axis: str = "both",
) -> bytes:
    """Title, label, grid and legend a one-panel plot the same way as every other, and render it."""
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3, axis=grid_axis)
    place_legend(figure, ax)
    return _png(figure)


def _evaluated(runs: Sequence[RunData]) -> list[RunData]:
    return [run for run in runs if run.summary and run.summary.get("answers")]


def accuracy_vs_tokens(runs: Sequence[RunData]) -> bytes | None:
    """Accuracy (95% Wilson interval) against mean tokens per question, one point per run, with
    the Pareto frontier (no other run is both cheaper and more accurate) drawn through."""
    runs = [run for run in _evaluated(runs) if run.summary.get("accuracy")]
    if not runs:
        return None
    figure, ax = _figure()
    points = {}
    for run in runs:
        accuracy = run.summary["accuracy"]
        tokens = run.summary["tokens_per_question"]["mean"]
        points[run.name] = (tokens, accuracy["value"])
        ax.errorbar(
            [tokens], [accuracy["value"]],
            yerr=[[accuracy["value"] - accuracy["low"]], [accuracy["high"] - accuracy["value"]]],
            fmt="o", capsize=4, label=label(run.name),
        )
        ax.annotate(label(run.name), (tokens, accuracy["value"]), textcoords="offset points", xytext=(6, 6), fontsize=8)
    frontier = metrics.pareto_frontier(points)
    if len(frontier) > 1:
        ax.plot([points[n][0] for n in frontier], [points[n][1] for n in frontier], "k--", lw=1, label="Pareto frontier")
    return _finish(
        figure, ax, title="Accuracy against tokens", xlabel="mean tokens per question", ylabel="accuracy",
        ylim=ACCURACY_LIMITS,
    )


def tokens_by_difficulty(runs: Sequence[RunData]) -> bytes | None:
    """Mean tokens per question in each difficulty tier (bars) with the median (markers)."""
    runs = _evaluated(runs)
    tiers = [t for t in TIERS if any(t in run.summary["by_difficulty"] for run in runs)]
    if not tiers:
        return None
    figure, ax = _figure()
    width = 0.8 / len(runs)
    for k, run in enumerate(runs):
        xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(tiers))]
        groups = [run.summary["by_difficulty"].get(t) for t in tiers]
        # A tier with unanswered questions only (episode mode) has a group without tokens.
        means = [g["tokens"]["mean"] if g and g["tokens"]["count"] else 0.0 for g in groups]
        medians = [g["tokens"]["median"] if g and g["tokens"]["count"] else math.nan for g in groups]
        ax.bar(xs, means, width=width, label=label(run.name))
        ax.plot(xs, medians, "k_", markersize=12)
    ax.set_xticks(range(len(tiers)), tiers)
    return _finish(
        figure, ax, title="Tokens by difficulty", ylabel="tokens per question (bar: mean, dash: median)", grid_axis="y"
    )


def pacing_curve(units: Sequence[dict[str, Any]]) -> list[float]:
    """Mean share of the budget left before each question (1.0 before the first) and after the
    last, over episodes; an episode that stopped early keeps its final share afterwards."""
    episodes = [u for u in units if u.get("mode", "episode") == "episode" and u["total_budget"] > 0]
    if not episodes:
        return []
    length = max(u["num_questions"] for u in episodes)
    curves = []
    for unit in episodes:
        left = [1.0] + [
            (step["remaining_before"] - step["tokens_used"]) / unit["total_budget"] for step in unit["steps"]
        ]
        left += [left[-1]] * (length + 1 - len(left))
        curves.append(left)
    return [math.fsum(c[k] for c in curves) / len(curves) for k in range(length + 1)]


def budget_pacing(runs: Sequence[RunData]) -> bytes | None:
    """Share of the budget left before each question, averaged over episodes, against even pacing."""
    curves = [(run.name, pacing_curve(run.units)) for run in runs if run.mode == "episode"]
    curves = [(name, curve) for name, curve in curves if curve]
    if not curves:
        return None
    figure, ax = _figure()
    longest = max(len(curve) for _, curve in curves)
    ax.plot(range(longest), [1 - k / (longest - 1) for k in range(longest)], "k:", lw=1, label="even pacing")
    for name, curve in curves:
        ax.plot(range(len(curve)), curve, marker="o", markersize=3, label=label(name))
    # Soft mode may overspend: the share then goes below 0, and the axis follows it.
    lowest = min(0.0, *(min(curve) for _, curve in curves))
    return _finish(
        figure, ax, title="Budget pacing", xlabel="questions answered", ylabel="share of budget left",
        ylim=(lowest - 0.02, 1.02),
    )


def anytime_curve(runs: Sequence[RunData]) -> bytes | None:
    """Accuracy when the thinking is cut at each budget (anytime mode), with the anytime score."""
    runs = [run for run in _evaluated(runs) if run.mode == "anytime" and run.summary["anytime"]["accuracy"]]
    if not runs:
        return None
    figure, ax = _figure()
    for run in runs:
        anytime = run.summary["anytime"]
        ax.plot(anytime["budgets"], anytime["accuracy"], marker="o",
                label=f"{label(run.name)} (score {anytime['anytime_score']:.3f})")
    return _finish(
        figure, ax, title="Anytime accuracy", xlabel="thinking budget (tokens)", ylabel="accuracy", ylim=ACCURACY_LIMITS
    )


def reflection_by_difficulty(runs: Sequence[RunData]) -> bytes | None:
    """Reflection per 1k thinking tokens in each difficulty tier: REA-RL's words (left) and the
    self-reflection keywords of understand-r1-zero (middle); reasoning patterns (verification,
    backtracking, exploration) per 1k thinking tokens over all answers (right)."""
    runs = _evaluated(runs)
    tiers = [t for t in TIERS if any(t in run.summary["by_difficulty"] for run in runs)]
    if not tiers:
        return None
    figure, axes = _figure(width=13, ncols=3)
    width = 0.8 / len(runs)
    highest = 0.0
    for ax, key, title in (
        (axes[0], "rea_rl_per_1k", "REA-RL reflection words"),
        (axes[1], "self_reflection_per_1k", "self-reflection keywords"),
    ):
        for k, run in enumerate(runs):
            xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(tiers))]
            values = []
            for tier in tiers:
                group = run.summary["by_difficulty"].get(tier)
                values.append((group["reflection"][key] or 0.0) if group else 0.0)
            highest = max(highest, *values)
            ax.bar(xs, values, width=width, label=label(run.name))
        ax.set_xticks(range(len(tiers)), tiers)
        ax.set_ylabel("per 1k thinking tokens")
        ax.set_title(title)
    patterns = list(runs[0].summary["patterns_per_1k"])
    for k, run in enumerate(runs):
        xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(patterns))]
        values = [run.summary["patterns_per_1k"][name] or 0.0 for name in patterns]
        highest = max(highest, *values)
        axes[2].bar(xs, values, width=width, label=label(run.name))
    axes[2].set_xticks(range(len(patterns)), patterns)
    axes[2].set_title("reasoning patterns (all answers)")
    for ax in axes:
        ax.set_ylim(0, highest * 1.1 if highest > 0 else 1.0)
        ax.grid(alpha=0.3, axis="y")
        if highest == 0:
            ax.text(0.5, 0.5, "no keyword found", transform=ax.transAxes, ha="center", color="0.4")
    place_legend(figure, axes[0])
    return _png(figure)


def reward_distribution(runs: Sequence[RunData]) -> bytes | None:
    """Histogram of episode returns (step rewards plus the episode bonus), one per run."""
    data = [(run.name, [u["total_reward"] for u in run.units]) for run in runs if run.mode == "episode"]
    data = [(name, values) for name, values in data if values]
    if not data:
        return None
    figure, ax = _figure()
    low = min(min(values) for _, values in data)
    high = max(max(values) for _, values in data)
    if max(-low, high) > PLOTTABLE_RETURN:
        # matplotlib's axis limits overflow near 1e308: the report ended in a ValueError.
        note = f"episode returns from {low:.3g} to {high:.3g}: too large to draw"
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", color="0.4")
    else:
        edges = histogram_edges(low, high)
        for name, values in data:
            ax.hist(values, bins=edges, alpha=0.5, label=label(name))
    return _finish(figure, ax, title="Reward distribution", xlabel="episode return", ylabel="episodes")


PLOTTABLE_RETURN = 1e300
"""Episode returns of a larger magnitude (an edited results file, or huge reward weights) are
reported in the reward figure, not drawn."""


def histogram_edges(low: float, high: float, count: int = 20) -> list[float]:
    """``count`` equal bins from ``low`` to ``high``, or one bin around a single value (padded
    by 0.5, or by a billionth of it for large values, where 0.5 is lost to rounding and numpy
    refused the empty range)."""
    if not high > low:
        pad = max(0.5, abs(low) * 1e-9)
        low, high, count = low - pad, high + pad, 1
    step = (high - low) / count
    return [low + k * step for k in range(count)] + [high]


def pass_at_k_curves(runs: Sequence[RunData]) -> bytes | None:
    """Problem mode: unbiased pass@k against k (left) and accuracy against response length (right)."""
    runs = [run for run in _evaluated(runs) if run.mode == "problem" and run.summary.get("pass_at_k")]
    if not runs:
        return None
    figure, axes = _figure(width=10, ncols=2)
    for run in runs:
        ks = sorted(int(k) for k in run.summary["pass_at_k"])
        axes[0].plot(ks, [run.summary["pass_at_k"][str(k)] for k in ks], marker="o", label=label(run.name))
        bins = run.summary.get("accuracy_by_length") or []
        axes[1].plot([b["mean_tokens"] for b in bins], [b["accuracy"] for b in bins], marker="o", label=label(run.name))
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("k")
    axes[0].set_ylabel("pass@k")
    axes[0].set_title("pass@k")
    axes[1].set_xlabel("response tokens (bin mean)")
    axes[1].set_ylabel("accuracy")
    axes[1].set_title("Accuracy against length")
    for ax in axes:
        ax.set_ylim(*ACCURACY_LIMITS)
        ax.grid(alpha=0.3)
    place_legend(figure, axes[0])
    return _png(figure)


def training_curves(runs: Sequence[RunData]) -> bytes | None:
    """The training curves of the runs that hold a training log (``train_log.jsonl``)."""
    trained = [run for run in runs if run.training_log is not None]
    if not trained:
        return None
    from reasoning_economics.training.logs import plot_training_curves

    return plot_training_curves([run.training_log for run in trained], labels=[run.name for run in trained])


FIGURES = (
    ("accuracy_vs_tokens", "Accuracy against tokens", accuracy_vs_tokens),
    ("tokens_by_difficulty", "Tokens by difficulty", tokens_by_difficulty),
    ("budget_pacing", "Budget pacing", budget_pacing),
    ("anytime_curve", "Anytime curve", anytime_curve),
    ("reflection_by_difficulty", "Reflection by difficulty and reasoning patterns", reflection_by_difficulty),
    ("reward_distribution", "Reward distribution", reward_distribution),
    ("pass_at_k", "pass@k and accuracy against length", pass_at_k_curves),
    ("training_curves", "Training curves", training_curves),
)
"""(key, title, function) of every figure, in report order."""
