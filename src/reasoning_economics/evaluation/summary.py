"""From the units of ``results.jsonl`` to ``summary.json``: every metric of one run.

The summary is recomputed from the results each time (``ree eval`` at the end, ``ree report``
on demand), so it always matches the file. The record formats are those the modes write
(:mod:`reasoning_economics.evaluation.modes`); everything here is a pure function of them.

Answers are flattened to *answer samples* first: one per step in ``episode`` mode, one per
sample in ``problem`` mode and one per question in ``anytime`` mode, its answer at the largest
budget (the one whose accuracy the run reports; the tokens are the thinking tokens kept there).
Every token and behaviour metric is computed on that flat list, the mode-specific ones (budget
use, pass@k, the anytime curve, with its tokens at each budget) on the units. Behaviour (reflection, reasoning patterns) is a property of a reasoning trace,
counted once per trace: an anytime question's one trace is cut at every budget.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from reasoning_economics.evaluation import behaviour, metrics
from reasoning_economics.problems.record import Problem
from reasoning_economics.rewards.reflection import THINK_END

TIERS = ("easy", "medium", "hard")


def difficulty_tier(difficulty: float) -> str:
    """``easy`` / ``medium`` / ``hard``: the tiers of :attr:`Problem.difficulty_tier`."""
    # Read through the property itself so the thresholds live in one place.
    return Problem.difficulty_tier.fget(SimpleNamespace(difficulty=float(difficulty)))


@dataclass(frozen=True)
class AnswerSample:
    """One graded answer, whatever the mode. ``text`` and ``thinking_tokens`` are those of the
    reasoning trace it comes from, which ``trace`` names (its place in the run)."""

    problem_type: str
    difficulty: float
    tokens: int
    thinking_tokens: int
    correct: bool
    text: str
    extracted: str | None
    finish_reason: str | None
    trace: tuple[int, ...]

    @property
    def tier(self) -> str:
        return difficulty_tier(self.difficulty)


def answer_samples(units: Sequence[dict[str, Any]]) -> list[AnswerSample]:
    """The flat list of graded answers of a run (see the module docstring)."""
    samples: list[AnswerSample] = []
    for u, unit in enumerate(units):
        mode = unit.get("mode", "episode")
        if mode == "episode":
            for s, step in enumerate(unit["steps"]):
                samples.append(
                    AnswerSample(
                        step["problem_type"], step["difficulty"], step["tokens_counted"], step["thinking_tokens"],
                        step["correct"], step["response"], step.get("extracted"), step.get("finish_reason"), (u, s),
                    )
                )
        elif mode == "problem":
            for p, problem in enumerate(unit["problems"]):
                for s, sample in enumerate(problem["samples"]):
                    samples.append(
                        AnswerSample(
                            problem["problem_type"], problem["difficulty"], sample["tokens"], sample["thinking_tokens"],
                            sample["correct"], sample["response"], sample.get("extracted"), sample.get("finish_reason"),
                            (u, p, s),
                        )
                    )
        elif mode == "anytime":
            for p, problem in enumerate(unit["problems"]):
                if not problem["by_budget"]:
                    continue
                # The largest budget's answer, the one whose accuracy the run reports: pooling
                # every budget's cut paired a mean over all budgets with that accuracy, and ranked
                # the budget caps, not the questions, against difficulty.
                cell = problem["by_budget"][-1]
                summary = cell["summaries"][0] if cell["summaries"] else {}
                samples.append(
                    AnswerSample(
                        problem["problem_type"], problem["difficulty"], cell["thinking_tokens"],
                        problem["thinking_tokens"], cell["score"] >= 0.5, _anytime_reasoning(problem),
                        summary.get("extracted"), _anytime_finish_reason(problem, cell), (u, p),
                    )
                )
        else:
            raise ValueError(f"unknown mode {mode!r} in unit {unit.get('index')}")
    return samples


def _anytime_reasoning(problem: dict[str, Any]) -> str:
    """An anytime question's reasoning trace as the behaviour measures read it: its thinking,
    closed again with the ``</think>`` the mode split it at (the record keeps the text before
    it). Without the tag, :func:`behaviour.answer_in_reasoning` took the thinking for a whole
    answer and looked for the forced answer only before its last line: a one-line thought
    that derived the answer read as unfaithful."""
    thinking = problem["thinking"]
    return thinking + THINK_END if THINK_END in problem.get("response", "") else thinking


def _anytime_finish_reason(problem: dict[str, Any], cell: dict[str, Any]) -> str | None:
    """``"length"`` when an anytime question's thinking was cut at the largest budget (``cell``),
    ``"stop"`` when it was kept whole, None when unknown (no finish reason, no ``</think>``).

    The thought's own finish reason says whether the *response* hit ``b_max``: a thinking model
    that closed its thinking and was cut in the answer after it read as a cut thought. Records
    without the ``truncated`` flag fall back to that finish reason."""
    truncated = cell.get("truncated")
    if truncated is None or (problem.get("finish_reason") is None and not problem.get("finished")):
        return problem.get("finish_reason")
    return "length" if truncated else "stop"


def _tier_order(keys: Sequence[str]) -> list[str]:
    return [t for t in TIERS if t in keys] + sorted(k for k in keys if k not in TIERS)


def _group_summary(samples: Sequence[AnswerSample]) -> dict[str, Any]:
    tokens = [s.tokens for s in samples]
    stats = metrics.token_stats(tokens)
    return {
        "tokens": stats,
        "accuracy": metrics.rate([s.correct for s in samples]).to_dict(),
        "accuracy_per_1k_tokens": metrics.accuracy_per_1k_tokens(sum(s.correct for s in samples), sum(tokens)),
        **behaviour_summary(samples),
    }


def behaviour_summary(samples: Sequence[AnswerSample]) -> dict[str, Any]:
    """Reflection, reasoning-pattern and faithfulness measures of some answer samples.

    Rates are per 1000 *thinking* tokens (the whole response when it has no ``</think>``);
    ``share_reflecting`` is the share of samples with at least one self-reflection keyword or
    REA-RL reflection (methods.md §7). Each reasoning trace counts once, however many answers
    it gave (an anytime question's, one per budget); identical answers sampled apart count apart.
    """
    unique = list({s.trace: s for s in samples}.values())
    thinking_tokens = sum(s.thinking_tokens for s in unique)
    reflections = [behaviour.reflection_counts(s.text) for s in unique]
    patterns = [behaviour.reasoning_pattern_counts(s.text) for s in unique]
    faithful = [behaviour.answer_in_reasoning(s.text, s.extracted) for s in samples]
    return {
        "reflection": {
            "rea_rl_per_1k": metrics.per_1k(sum(r["rea_rl"] for r in reflections), thinking_tokens),
            "self_reflection_per_1k": metrics.per_1k(sum(r["self_reflection"] for r in reflections), thinking_tokens),
            "share_reflecting": _share([r["rea_rl"] + r["self_reflection"] > 0 for r in reflections]),
        },
        "patterns_per_1k": {
            name: metrics.per_1k(sum(p[name] for p in patterns), thinking_tokens)
            for name in behaviour.REASONING_PATTERNS
        },
        "faithfulness": metrics.rate([f for f in faithful if f is not None]).to_dict(),
    }


def _share(flags: Sequence[bool]) -> float | None:
    """The share of true ``flags``; None when there is none (unknown, not 0 of 0)."""
    return metrics.rate(flags).value if flags else None


def summarize(units: Sequence[dict[str, Any]], run_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json`` of a run: its config, the overall metrics, the breakdowns by difficulty
    tier and problem type, and the mode's own measures (``budget``, ``pass_at_k``, ``anytime``)."""
    run_config = dict(run_config or {})
    mode = run_config.get("mode") or (units[0].get("mode") if units else "episode")
    samples = answer_samples(units)
    overall = _group_summary(samples)
    summary: dict[str, Any] = {
        "run": run_config,
        "mode": mode,
        "units": len(units),
        "answers": len(samples),
        "tokens_per_question": overall["tokens"],
        "accuracy_per_1k_tokens": overall["accuracy_per_1k_tokens"],
        "reflection": overall["reflection"],
        "patterns_per_1k": overall["patterns_per_1k"],
        "faithfulness": overall["faithfulness"],
        "spearman_tokens_difficulty": metrics.spearman_rho(
            [s.tokens for s in samples], [s.difficulty for s in samples]
        ),
        "truncation_rate": _share([s.finish_reason == "length" for s in samples if s.finish_reason]),
    }
    by_tier = metrics.group_values([s.tier for s in samples], list(samples))
    summary["by_difficulty"] = {tier: _group_summary(by_tier[tier]) for tier in _tier_order(list(by_tier))}
    by_type = metrics.group_values([s.problem_type for s in samples], list(samples))
    summary["by_problem_type"] = {name: _group_summary(group) for name, group in by_type.items()}
    # No question asked (an empty results.jsonl): accuracy is unknown (None), not 0 of 0.
    if mode == "episode":
        accuracy = _episode_accuracy(units)
        summary["accuracy"] = accuracy.to_dict() if accuracy.total else None
        _count_unanswered(summary, units)
        summary["budget"] = budget_summary(units)
        summary["reward"] = reward_summary(units)
    elif mode == "problem":
        summary["accuracy"] = overall["accuracy"] if samples else None
        summary.update(problem_mode_summary(units, samples))
    elif mode == "anytime":
        summary["anytime"] = anytime_summary(units)
        problems = [p for u in units for p in u["problems"] if p["by_budget"]]
        final = _accuracy_at_largest_budget(problems)
        summary["accuracy"] = final.to_dict() if final.total else None
        summary["accuracy_per_1k_tokens"] = _per_1k_at_largest_budget(problems)
        # Accuracy counts the summaries at the largest budget, per tier and type as overall (the
        # answer samples hold one flag a question: right when half its summaries are).
        for key, group_of in (("by_difficulty", lambda p: difficulty_tier(p["difficulty"])),
                              ("by_problem_type", lambda p: p["problem_type"])):  # fmt: skip
            groups = metrics.group_values([group_of(p) for p in problems], problems)
            for name, group in groups.items():
                summary[key][name]["accuracy"] = _accuracy_at_largest_budget(group).to_dict()
                summary[key][name]["accuracy_per_1k_tokens"] = _per_1k_at_largest_budget(group)
    return summary


def _accuracy_at_largest_budget(problems: Sequence[dict[str, Any]]) -> metrics.Proportion:
    """Anytime mode: the share of right summaries at the largest budget, the mean of the
    questions' scores there (each question has as many summaries). Counting summaries, not
    rounding the mean times the questions, keeps a half-right question at 0.5."""
    last_cells = [p["by_budget"][-1] for p in problems if p["by_budget"]]
    correct = sum(sum(1 for summary in cell["summaries"] if summary["correct"]) for cell in last_cells)
    return metrics.wilson_interval(correct, sum(len(cell["summaries"]) for cell in last_cells))


def _per_1k_at_largest_budget(problems: Sequence[dict[str, Any]]) -> float | None:
    """Anytime mode: right answers per 1000 thinking tokens at the largest budget, a question
    counting the share of its summaries that are right there."""
    last_cells = [p["by_budget"][-1] for p in problems]
    return metrics.accuracy_per_1k_tokens(
        math.fsum(cell["score"] for cell in last_cells), sum(cell["thinking_tokens"] for cell in last_cells)
    )


def _count_unanswered(summary: dict[str, Any], units: Sequence[dict[str, Any]]) -> None:
    """Episode mode: the questions the budget never reached count as wrong in their tier and
    type, as in the overall accuracy (a policy that starved the hard questions read 100% on
    the ones it answered). Each group gains ``unanswered``; a tier no answer reached gets a group
    of its own. Units that do not know their unanswered questions (see the episode record) add
    none."""
    unanswered = [q for unit in units for q in (unit.get("unanswered") or ())]
    for key, group_of in (("by_difficulty", lambda q: difficulty_tier(q["difficulty"])),
                          ("by_problem_type", lambda q: q["problem_type"])):  # fmt: skip
        groups = summary[key]
        missing = metrics.group_values([group_of(q) for q in unanswered], unanswered)
        for name in missing.keys() - groups.keys():
            groups[name] = _group_summary([])
        for name, group in groups.items():
            answered = group["accuracy"]
            group["unanswered"] = skipped = len(missing.get(name, ()))
            group["accuracy"] = metrics.wilson_interval(answered["successes"], answered["total"] + skipped).to_dict()
        if key == "by_difficulty":
            summary[key] = {tier: groups[tier] for tier in _tier_order(list(groups))}


def _episode_accuracy(units: Sequence[dict[str, Any]]) -> metrics.Proportion:
    # Unanswered questions (the budget ran out) count as wrong, as in the environment.
    correct = sum(sum(1 for s in u["steps"] if s["correct"]) for u in units)
    total = sum(u["num_questions"] for u in units)
    return metrics.wilson_interval(correct, total)


def budget_summary(units: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How episodes spent their budget.

    - ``utilisation``: mean of ``spent / total_budget`` over episodes;
    - ``overspend_rate``: share of steps whose response cost more tokens than were left
      (hard mode charged only what was left; soft mode charged it all and penalised it);
    - ``early_termination_rate``: share of episodes that ended before every question was
      answered (the budget ran out);
    - ``questions_answered``: mean per episode; ``unanswered_rate``: unanswered / questions.
    """
    if not units:
        return {"utilisation": None, "overspend_rate": None, "early_termination_rate": None,
                "questions_answered": None, "unanswered_rate": None, "total_budget": None}
    utilisation = [u["spent_budget"] / u["total_budget"] for u in units if u["total_budget"] > 0]
    steps = [s for u in units for s in u["steps"]]
    overspent = [s["tokens_counted"] > max(s["remaining_before"], 0) for s in steps]
    early = [len(u["steps"]) < u["num_questions"] for u in units]
    questions = sum(u["num_questions"] for u in units)
    return {
        "utilisation": metrics.mean_or_none(utilisation),
        "overspend_rate": metrics.rate(overspent).value if steps else None,
        "early_termination_rate": metrics.rate(early).value,
        "questions_answered": metrics.mean_or_none([len(u["steps"]) for u in units]),
        "unanswered_rate": (questions - len(steps)) / questions if questions else None,
        "total_budget": metrics.mean_or_none([u["total_budget"] for u in units]),
    }


def reward_summary(units: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean episode return (the sum of step rewards, the episode bonus included) and mean step reward."""
    returns = [u["total_reward"] for u in units]
    step_rewards = [s["reward"] for u in units for s in u["steps"]]
    return {
        "episode_return": metrics.mean_or_none(returns),
        "episode_return_std": _std(returns),
        "step_reward": metrics.mean_or_none(step_rewards),
    }


def _std(values: Sequence[float]) -> float | None:
    # statistics computes in exact fractions: squares of rewards near 1e308 overflowed floats.
    return statistics.pstdev(values) if values else None


def problem_mode_summary(units: Sequence[dict[str, Any]], samples: Sequence[AnswerSample]) -> dict[str, Any]:
    """Unbiased pass@k for k = 1, 2, 4, ... up to the samples per problem, and accuracy against
    response length in five bins of (nearly) equal size."""
    counts = [
        (len(p["samples"]), sum(1 for s in p["samples"] if s["correct"])) for u in units for p in u["problems"]
    ]
    n_min = min((n for n, _ in counts), default=0)
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= n_min} | ({n_min} if n_min else set()))
    problems = [p for u in units for p in u["problems"] if len(p["samples"]) > 1]
    identical = [len({s["response"] for s in p["samples"]}) == 1 for p in problems]
    return {
        "samples_per_problem": n_min,
        "problems": len(counts),
        # 1.0 with a greedy policy: pass@k then equals pass@1; sample with temperature > 0.
        "identical_samples_rate": metrics.rate(identical).value if identical else None,
        "pass_at_k": {str(k): metrics.mean_pass_at_k(counts, k) for k in ks},
        "accuracy_by_length": metrics.accuracy_by_length_bins(
            [s.tokens for s in samples], [s.correct for s in samples]
        ) if samples else [],
    }


def anytime_summary(units: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy at each budget of the support (a question's score at a budget is the mean over
    its summaries, methods.md §5), the anytime score (their mean: the area under the curve
    with the uniform prior) and the overthinking count (questions right at a smaller budget
    and wrong at a larger one; a question is right at a budget when at least half its
    summaries are), overall and by difficulty tier."""
    problems = [p for u in units for p in u["problems"]]
    budgets = units[0]["budgets"] if units else []
    if not problems:
        return {"budgets": budgets, "accuracy": [], "anytime_score": None, "overthinking_count": 0,
                "questions": 0, "by_difficulty": {}}

    def curve(group: Sequence[dict[str, Any]]) -> dict[str, Any]:
        scores = [[cell["score"] for cell in p["by_budget"]] for p in group]
        accuracy = [math.fsum(row[j] for row in scores) / len(scores) for j in range(len(budgets))]
        right = [[score >= 0.5 for score in row] for row in scores]
        return {
            "accuracy": accuracy,
            "anytime_score": metrics.anytime_score(accuracy),
            "overthinking_count": metrics.overthinking_count(right),
            "questions": len(group),
            "mean_thinking_tokens": math.fsum(p["thinking_tokens"] for p in group) / len(group),
            # the thinking tokens kept at each budget: the curve's x, as accuracy is its y
            "tokens": [math.fsum(p["by_budget"][j]["thinking_tokens"] for p in group) / len(group)
                       for j in range(len(budgets))],
        }

    by_tier = metrics.group_values([difficulty_tier(p["difficulty"]) for p in problems], problems)
    return {
        "budgets": budgets,
        **curve(problems),
        "by_difficulty": {tier: curve(by_tier[tier]) for tier in _tier_order(list(by_tier))},
    }


def with_baseline(summary: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """``summary`` plus a ``vs_baseline`` entry: token reduction (%) and accuracy change (points),
    each None where either run lacks the measure (no answers)."""
    result = dict(summary)
    result["vs_baseline"] = {
        "baseline": baseline.get("run", {}).get("name"),
        **metrics.compare_to_baseline(
            _accuracy_value(summary), summary["tokens_per_question"]["mean"],
            _accuracy_value(baseline), baseline["tokens_per_question"]["mean"],
        ),
    }
    return result


def _accuracy_value(summary: dict[str, Any]) -> float | None:
    accuracy = summary.get("accuracy")
    return accuracy["value"] if accuracy else None
