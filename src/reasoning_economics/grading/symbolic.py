"""math-verify equivalence, as run inside a grading worker process.

Only math-verify's LaTeX extraction is used: its plain-expression extraction goes through
``sympy.parse_expr``, which evaluates Python, and a model's answer must stay data. Both
sides are wrapped in ``\\boxed{}`` because that is how math-verify expects a bare answer
(gold included) to be marked; ``signal.alarm``-based inner timeouts work here because a
worker runs this in its main thread.
"""

from __future__ import annotations

from functools import lru_cache

_CONFIG = None


def _latex_config():
    global _CONFIG
    if _CONFIG is None:
        from math_verify import LatexExtractionConfig

        _CONFIG = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=True)]
    return _CONFIG


@lru_cache(maxsize=4096)
def _parse(answer: str, timeout: int):
    from math_verify import parse

    return parse(f"\\boxed{{{answer}}}", extraction_config=_latex_config(), parsing_timeout=timeout)


def equivalent(predicted: str, gold: str, timeout: int) -> bool:
    """Whether math-verify judges ``predicted`` equal to ``gold`` (both bare answers)."""
    from math_verify import verify

    gold_parsed = _parse(gold, timeout)
    if not gold_parsed:
        return predicted.strip() == gold.strip()
    predicted_parsed = _parse(predicted, timeout)
    if not predicted_parsed:
        return False
    return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=timeout))


def warm_up() -> None:
    """Import and exercise math-verify once so the first real grade is not the slow one."""
    equivalent("\\frac{1}{2}", "0.5", 5)
