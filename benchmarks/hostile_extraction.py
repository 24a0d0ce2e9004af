#!/usr/bin/env python
"""Time final-answer extraction on hostile one-megabyte responses.

Extraction runs in the server process (only math-verify runs in workers), so what a hostile
response costs here is CPU every other session shares. Each shape is a response of about
1,000,000 characters, the default ``max_response_chars``. Usage::

    python benchmarks/hostile_extraction.py            # best of 3 per shape
    python benchmarks/hostile_extraction.py --repeat 5 --json benchmarks/results/hostile-extraction.json
"""

from __future__ import annotations

SIZE = 1_000_000


def shapes() -> dict[str, str]:
    """Hostile responses of about ``SIZE`` characters, by name."""
    return {
        "plain words": ("a " * SIZE)[:SIZE],
        "8 unclosed boxes, then letters": ("\\boxed{" * 8 + "a" * SIZE)[:SIZE],
        "8 unclosed boxes, then braces": ("\\boxed{" * 8 + "{" * SIZE)[:SIZE],
        "8 unclosed boxes, then backslashes": ("\\boxed{" * 8 + "\\x" * SIZE)[:SIZE],
        "9,000 unclosed boxes": ("\\boxed{" + "a" * 100) * 9_000,
        "a megabyte of unclosed boxes": ("\\boxed{" * SIZE)[:SIZE],
        "a megabyte of closed boxes": ("\\boxed{1}" * SIZE)[:SIZE],
        "dollars": "$" * SIZE,
        "a phrase, then dollars": "answer is " + "$" * SIZE,
        "8 phrases, then dollars": "answer is " * 8 + "$" * SIZE,
        "phrases and dollars": ("answer is " + "$" * 1_000) * 990,
        "unclosed \\( after phrases": "answer is \\(" * 83_000,
        # A sentence's last number after a long run of spaces: the rejected-word check read the
        # run anchored at its end in quadratic time (0.9 s).
        "a rejected word, then spaces": ("a " * SIZE)[: SIZE - 9_527] + "The answer is really not" + " " * 9_500 + "x 5",
        "a box holding boxes": "\\boxed{" + "\\fbox{1}" * ((SIZE - 8) // 8) + "}",
        # Each of the last 8 phrases read 10,000 "$" after it, and keeping the last 8 of 115,000
        # phrases took 40 ms of match objects (220 ms in all).
        "phrases, then 8 before dollars": ("answer: " * SIZE)[: SIZE - 80_064] + ("Answer: " + "$" * 10_000) * 8,
    }


def main() -> None:
    from reasoning_economics.bench.hostile_text import arguments

    args = arguments(__doc__)

    from reasoning_economics.bench.hostile_text import best_ms, write_shapes
    from reasoning_economics.grading.extraction import extract_final_answer

    results = {}
    for name, text in shapes().items():
        best = best_ms(extract_final_answer, text, args.repeat)
        results[name] = {"chars": len(text), "best_ms": round(best, 1)}
        print(f"{name:36s} {len(text):>9,} chars  {best:8.1f} ms")
    if args.json is not None:
        write_shapes(args.json, args.repeat, results)


if __name__ == "__main__":
    main()
