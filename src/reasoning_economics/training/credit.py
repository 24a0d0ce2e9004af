"""Credit assignment for episode batches: group advantages laid out over completion tokens.

Pure functions over plain lists (no torch). A batch holds consecutive groups of ``group_size``
samples; each function applies one method of :mod:`reasoning_economics.rewards.advantages` to
every group and returns one value per sample, or one value per span of each sample:

- :func:`rloo_by_group`: RLOO's leave-one-out advantage of each sample's total reward.
- :func:`reward_to_go_by_group`: the per-question reward-to-go with a group baseline
  (methods.md §6) of each response of each episode.
- :func:`brpo_by_group`: BRPO's advantage of each thinking segment (methods.md §5).

:func:`token_advantages` then spreads span values over a completion's token positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

from reasoning_economics.errors import ConfigError, describe
from reasoning_economics.rewards._validation import as_items, as_number
from reasoning_economics.rewards.advantages import reward_to_go_advantages, rloo
from reasoning_economics.rewards.anytime import brpo_advantages


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _groups(n: int, group_size: int) -> list[range]:
    # Checked as an int: 2.0 or "2" raised a bare TypeError from range() or "<", and True
    # passed as a group of one (every advantage 0, silently).
    if not _is_int(group_size) or group_size < 1 or n % group_size:
        raise ConfigError(f"{n} samples do not split into groups of {describe(group_size)}")
    return [range(start, start + group_size) for start in range(0, n, group_size)]


def _rewards_or_nan(rewards: Sequence[float]) -> list[float]:
    """The rewards as floats, NaN (an unscorable sample) kept; anything else that is not a
    finite number is a RewardInputError (a str or None raised a bare TypeError in math.isnan)."""
    return [
        float("nan") if isinstance(v, Real) and not isinstance(v, bool) and v != v else as_number(v, f"rewards[{i}]")
        for i, v in enumerate(as_items(rewards, "rewards", "numbers"))
    ]


def rloo_by_group(rewards: Sequence[float], group_size: int) -> list[float]:
    """RLOO advantages, group by group. A NaN reward (an unscorable sample) gets advantage 0 and
    is left out of its siblings' baselines."""
    rewards = _rewards_or_nan(rewards)
    advantages = [0.0] * len(rewards)
    for group in _groups(len(rewards), group_size):
        scored = [i for i in group if rewards[i] == rewards[i]]  # NaN is the one value unequal to itself
        for i, a in zip(scored, rloo([rewards[i] for i in scored])):
            advantages[i] = a
    return advantages


def reward_to_go_by_group(step_rewards: Sequence[Sequence[float]], group_size: int) -> list[list[float]]:
    """Per-question reward-to-go advantages ``A_{i,k} = G_{i,k} - mean_j G_{j,k}``, group by group;
    the result has the ragged shape of ``step_rewards`` (one value per answered question)."""
    rows = as_items(step_rewards, "step_rewards", "rows of rewards")  # None raised a bare TypeError at len()
    advantages: list[list[float]] = []
    for group in _groups(len(rows), group_size):
        advantages.extend(reward_to_go_advantages([rows[i] for i in group]))
    return advantages


def brpo_by_group(
    budget_scores: Sequence[Sequence[float]], prior: Sequence[float], group_size: int
) -> list[list[float]]:
    """BRPO advantages of each thinking segment, group by group (one value per budget)."""
    rows = as_items(budget_scores, "budget_scores", "rows of scores")  # None raised a bare TypeError at len()
    advantages: list[list[float]] = []
    for group in _groups(len(rows), group_size):
        advantages.extend(brpo_advantages([rows[i] for i in group], prior))
    return advantages


def token_advantages(values: Sequence[float], spans: Sequence[Sequence[int]], length: int) -> list[float]:
    """A list of ``length`` per-token advantages: ``values[k]`` on every position of
    ``spans[k] = [start, end)``, 0 elsewhere (observation and padding tokens, which the loss
    mask drops anyway). Spans must not overlap and must lie within ``length``."""
    if len(values) != len(spans):
        raise ConfigError(f"got {len(values)} advantage values for {len(spans)} spans")
    out = [0.0] * length
    last_end = 0
    for k, (value, span) in enumerate(zip(values, spans)):
        # Spans come from a rollout_func's fields: a float, a None or a triple raised a bare
        # TypeError or ValueError in the unpacking or the slice.
        pair = as_items(span, f"spans[{k}]", "two ints", error=ConfigError)
        if len(pair) != 2 or not all(_is_int(x) for x in pair):
            got = ", ".join(describe(x) for x in pair)
            raise ConfigError(f"spans[{k}] must be [start, end) as two ints, got [{got}]")
        start, end = int(pair[0]), int(pair[1])
        if not last_end <= start <= end <= length:
            raise ConfigError(f"span [{start}, {end}) is out of order or outside the {length} tokens")
        out[start:end] = [as_number(value, f"values[{k}]", error=ConfigError)] * (end - start)
        last_end = end
    return out


def segment_spans(response_span: Sequence[int], budgets: Sequence[int]) -> list[list[int]]:
    """The token ranges of the thinking segments of a response at ``response_span = [start, end)``:
    segment s covers response tokens ``[b_{s-1}, b_s)`` (with ``b_{-1} = 0``), clipped to the
    response, so a response that stopped early has empty late segments.

    >>> segment_spans([10, 25], [4, 8, 12, 16])
    [[10, 14], [14, 18], [18, 22], [22, 25]]
    """
    start, end = int(response_span[0]), int(response_span[1])
    spans, low = [], 0
    for budget in budgets:
        spans.append([min(start + low, end), min(start + int(budget), end)])
        low = int(budget)
    return spans
