"""Held-out check of ``grading.is_correct`` (issue 2, "Held-out check").

The cases live in ``tests/data/grading/*.jsonl``, one JSON object a line:
``{"response", "gold", "expected", "category", "source", "note"?}``.

- ``public_graders.jsonl``: transcribed from public graders' own test suites (Math-Verify,
  hendrycks MATH, Qwen2.5-Math, NeMo-Skills, inspect_ai, simple-evals); ``source`` names the
  repository and file. Long model outputs are abridged to the sentences carrying the answer.
- ``coverage.jsonl``: handwritten cases for the categories issue 2 lists (units, percentages,
  unicode minus, multiple-choice letters, ...), positive and near-miss negative.
- ``extraction.jsonl``: the extraction contract (last box, \\fbox, "The answer is",
  "Final Answer:", <answer> tags, boxes inside <think>, empty final box, bare answers).
- ``adversarial.jsonl``: hostile inputs that must be graded False without hanging; more,
  too large to store, are built below.

The bulk (all but adversarial) is one test that reports every disagreement grouped by
category and requires at least 98% agreement, the bar issue 2 sets. A label is changed only
when it is truly debatable, with the reason in the case's ``note``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parent / "data" / "grading"
BULK_FILES = ("public_graders.jsonl", "coverage.jsonl", "extraction.jsonl")
ADVERSARIAL_FILE = "adversarial.jsonl"
REQUIRED_FIELDS = {"response": str, "gold": str, "expected": bool, "category": str, "source": str}
OPTIONAL_FIELDS = {"note": str}
REQUIRED_AGREEMENT = 0.98
MIN_BULK_CASES = 400

# Categories issue 2 names explicitly; each must be exercised with correct and incorrect answers
# (or, for the extraction rules, at least a few cases).
CATEGORIES_WITH_BOTH_LABELS = (
    "fraction", "interval", "set", "tuple", "percent", "units", "thousands", "equation",
    "unicode_minus", "text", "multiple_choice", "roots_list", "matrix", "inequality",
    "complex", "degrees", "currency", "sqrt_pi", "sci_notation", "mixed_number", "expression",
    "big_number", "thinking", "answer_tags", "final_answer_anchor", "bare",
)
CATEGORIES_PRESENT = ("integer", "decimal", "negative", "latex_spacing", "trailing_punct", "formatting",
                      "boxed", "fbox", "answer_anchor", "empty_box", "near_miss", "gold_format")


def load_cases(file_name: str) -> list[dict]:
    cases = []
    with open(DATA_DIR / file_name, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            case = json.loads(line)
            case["where"] = f"{file_name}:{line_number}"
            cases.append(case)
    return cases


BULK_CASES = [case for name in BULK_FILES for case in load_cases(name)]
STORED_ADVERSARIAL_CASES = load_cases(ADVERSARIAL_FILE)


def _one_megabyte(unit: str) -> str:
    return unit * (1_000_000 // len(unit))


# Inputs too large to keep in the data files; every one must be graded False and finish.
# (id, response, gold)
GENERATED_ADVERSARIAL_CASES = [
    ("1MB-reasoning-then-wrong-box", _one_megabyte("reasoning ") + r"\boxed{41}", "42"),
    ("1MB-of-digits", _one_megabyte("9"), "9"),
    ("1MB-of-open-braces", _one_megabyte("{"), "1"),
    ("1MB-of-balanced-braces", "{" * 500_000 + "}" * 500_000, "1"),
    ("1MB-of-null-bytes", _one_megabyte("\x00"), "0"),
    ("1MB-of-unicode-then-box", _one_megabyte("∫") + r"\boxed{5}", "6"),
    ("1MB-unclosed-think", "<think>" + _one_megabyte("hmm "), "1"),
    ("1MB-of-code-payloads", _one_megabyte("__import__('os').system('echo pwned');"), "0"),
    ("50k-boxes", r"\boxed{1}" * 50_000, "2"),
    ("100k-term-sum", "1+" * 100_000 + "1", "3"),
    ("5000-nested-boxes", r"\boxed{" * 5_000 + "1" + "}" * 5_000, "2"),
    ("10000-nested-braces-in-box", r"\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}", "2"),
    ("2000-nested-fracs", r"\boxed{" + r"\frac{1}{" * 2_000 + "2" + "}" * 2_000 + "}", "7"),
    ("2000-nested-sqrts", r"\boxed{" + r"\sqrt{" * 2_000 + "2" + "}" * 2_000 + "}", "7"),
    ("500-level-exponent-tower", r"\boxed{" + "9^{" * 500 + "9" + "}" * 500 + "}", "9"),
    ("python-power-tower", "10**10**10**10", "1"),
    ("nested-parentheses", "(" * 20_000 + "1" + ")" * 20_000, "2"),
]


def _compact(text: str, limit: int = 90) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 25]}...<{len(text)} chars>...{shown[-15:]}"


def test_case_files_are_well_formed():
    """Schema, no duplicate (response, gold) pairs, enough cases, and every named category covered."""
    all_cases = BULK_CASES + STORED_ADVERSARIAL_CASES
    problems = []
    for case in all_cases:
        fields = set(case) - {"where"}
        missing = set(REQUIRED_FIELDS) - fields
        unknown = fields - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
        if missing or unknown:
            problems.append(f"{case['where']}: missing {sorted(missing)}, unknown {sorted(unknown)}")
            continue
        for field, kind in {**REQUIRED_FIELDS, **OPTIONAL_FIELDS}.items():
            if field in case and not isinstance(case[field], kind):
                problems.append(f"{case['where']}: {field} is {type(case[field]).__name__}, not {kind.__name__}")
        if not case["gold"].strip():
            problems.append(f"{case['where']}: empty gold")
        if not case["source"].strip() or not case["category"].strip():
            problems.append(f"{case['where']}: empty source or category")
    assert not problems, "\n".join(problems)

    pairs = Counter((case["response"], case["gold"]) for case in all_cases)
    duplicates = [pair for pair, count in pairs.items() if count > 1]
    assert not duplicates, f"duplicate (response, gold) pairs: {duplicates[:5]}"

    assert len(BULK_CASES) >= MIN_BULK_CASES
    assert {case["category"] for case in STORED_ADVERSARIAL_CASES} == {"adversarial"}
    assert not any(case["expected"] for case in STORED_ADVERSARIAL_CASES)
    assert not any(case["category"] == "adversarial" for case in BULK_CASES)

    labels = defaultdict(Counter)
    for case in BULK_CASES:
        labels[case["category"]][case["expected"]] += 1
    one_sided = [c for c in CATEGORIES_WITH_BOTH_LABELS if not (labels[c][True] and labels[c][False])]
    assert not one_sided, f"categories without both a correct and an incorrect case: {one_sided}"
    absent = [c for c in CATEGORIES_PRESENT if sum(labels[c].values()) < 2]
    assert not absent, f"categories with fewer than 2 cases: {absent}"
    # Every public case names the repository and file it came from.
    public = [case for case in BULK_CASES if case["where"].startswith("public_graders")]
    assert all("/" in case["source"] and ":" in case["source"] for case in public)


@pytest.mark.timeout(600)
def test_heldout_agreement_with_is_correct():
    """At least 98% of the held-out cases agree with their label; every disagreement is printed."""
    from reasoning_economics.grading import is_correct

    disagreements = defaultdict(list)
    for case in BULK_CASES:
        verdict = is_correct(case["response"], case["gold"])
        assert isinstance(verdict, bool), f"{case['where']}: is_correct returned {verdict!r}"
        if verdict != case["expected"]:
            disagreements[case["category"]].append(case)

    failed = sum(len(cases) for cases in disagreements.values())
    agreement = 1 - failed / len(BULK_CASES)
    lines = [f"agreement {agreement:.2%} ({len(BULK_CASES) - failed}/{len(BULK_CASES)}), disagreements by category:"]
    for category in sorted(disagreements, key=lambda c: -len(disagreements[c])):
        lines.append(f"  [{category}] {len(disagreements[category])}")
        for case in disagreements[category]:
            lines.append(
                f"    {case['where']} expected={case['expected']} gold={_compact(case['gold'], 40)} "
                f"response={_compact(case['response'])}"
            )
    report = "\n".join(lines)
    print(report)
    assert agreement >= REQUIRED_AGREEMENT, report
    # The README states the figure; it must stay true.
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    stated = re.search(r"agrees with all (\d+) labelled\s+cases", readme)
    assert stated is not None, "README no longer states the held-out agreement"
    assert (int(stated.group(1)), failed) == (len(BULK_CASES), 0), f"README says all {stated.group(1)} agree\n{report}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "case", STORED_ADVERSARIAL_CASES, ids=[f"{c['where'].split(':')[1]}-{c['note'][:40]}" for c in STORED_ADVERSARIAL_CASES]
)
def test_stored_adversarial_input_is_graded_false(case):
    from reasoning_economics.grading import is_correct

    assert is_correct(case["response"], case["gold"]) is False, case["note"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("response", "gold"), [(r, g) for _, r, g in GENERATED_ADVERSARIAL_CASES], ids=[i for i, _, _ in GENERATED_ADVERSARIAL_CASES]
)
def test_generated_adversarial_input_is_graded_false(response, gold):
    from reasoning_economics.grading import is_correct

    assert is_correct(response, gold) is False


@pytest.mark.timeout(120)
def test_code_in_a_response_is_graded_as_text_and_never_run(tmp_path):
    """Model output is data: payloads that would create a marker file if evaluated leave no trace."""
    from reasoning_economics.grading import is_correct

    marker = tmp_path / "pwned-marker"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        rf"\boxed{{__import__('os').system('touch {marker}')}}",
        f"The answer is __import__('pathlib').Path({str(marker)!r}).touch()",
        f"Final Answer: open({str(marker)!r}, 'w').write('0')",
        f"<answer>exec(\"open({str(marker)!r}, 'w')\")</answer>",
        f"(lambda: open({str(marker)!r}, 'w'))()",
        f"[open({str(marker)!r}, 'w') for _ in [0]]",
        f"globals()['__builtins__']['open']({str(marker)!r}, 'w')",
        f"<think>\\boxed{{__import__('subprocess').run(['touch', {str(marker)!r}])}}</think>",
    ]
    # The temporary path holds digits (pytest-N, ...0), so the gold is a value no path can spell.
    for payload in payloads:
        assert is_correct(payload, r"\frac{17}{3}") is False, payload
        assert not marker.exists(), f"payload was executed: {payload}"
