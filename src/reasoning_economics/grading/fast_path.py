"""Verdicts that need no symbolic algebra, decided in the caller's process in microseconds.

Each rule answers only when its verdict is certain to agree with math-verify's (two on purpose
do not: a decimal percent for the same gold number, which math-verify takes only for an
integer, and numbers far apart relative to a gold under 5e-7, which math-verify's rounding to
6 places takes as equal); otherwise it returns None and the pair goes to a grading worker.
That keeps a typical step far from the process round trip without changing any verdict.
"""

from __future__ import annotations

from reasoning_economics.grading.normalize import choice_letter, clean, exact_number, plain_words

# math-verify compares floats rounded to 6 places; closer values than this are left to it.
NUMERIC_SETTLE_GAP = 1e-4


def decide(predicted: str, gold: str) -> tuple[bool, str] | None:
    """(correct, reason) when the pair can be settled exactly here, else None."""
    cleaned_pred, cleaned_gold = clean(predicted), clean(gold)
    if cleaned_pred == cleaned_gold:
        return True, "identical"
    gold_letter = choice_letter(gold)
    if gold_letter is not None:
        pred_letter = choice_letter(predicted)
        if pred_letter is not None:
            return pred_letter == gold_letter, "choice"
    gold_words = plain_words(gold)
    if gold_words is not None and len(gold_words) > 1:
        pred_words = plain_words(predicted)
        if pred_words is not None:
            return pred_words == gold_words, "text"
    if "%" in cleaned_gold:
        return None
    if "%" in cleaned_pred:
        # "12.5%" for gold 12.5 (a "what percent" question): math-verify takes "50%" for 50 but
        # not "12.5%" for 12.5. Anything else with a percent sign is left to it.
        value = exact_number(cleaned_pred.removesuffix("%"))
        if value is not None and value == exact_number(cleaned_gold):
            return True, "equal_number"
        return None
    gold_value, pred_value = exact_number(cleaned_gold), exact_number(cleaned_pred)
    if gold_value is None or pred_value is None:
        return None
    if gold_value == pred_value:
        return True, "equal_number"
    # Relative to the gold: math-verify rounds to 6 decimal places, so "0.0" matched every gold under
    # 5e-7 (6.67e-11, 1/3628800) and "0.0000003" both 2e-7 and 4.8e-7.
    if abs(gold_value - pred_value) > NUMERIC_SETTLE_GAP * (abs(gold_value) or 1):
        return False, "different_number"
    return None
