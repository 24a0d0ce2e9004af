"""The benchmark suite behind ``ree bench`` (issue 7).

Sections, run in this order and each selectable with ``--only``:

- ``tokens``: tokens/s of each built-in vocabulary and of a full-size Hugging Face tokenizer
  built offline (the physical floor of counting);
- ``grading``: grades/s through the supervised math-verify pool, cold and warm cache;
- ``env``: the in-process environment over 10-question episodes of realistic 50-400-token
  responses: reset and step latency, steps/s, and step time over its bare counting+grading cost;
- ``websocket``: a real ``ree serve`` on 127.0.0.1 driven at 1-1,024 concurrent sessions:
  steps/s, p50/p99 step latency, errors, and server memory per idle session.

``run_suite(BenchConfig.quick())`` returns the JSON document that ``ree bench`` writes.
This package imports nothing heavy until a section runs.
"""

from reasoning_economics.bench.config import SECTIONS, BenchConfig

__all__ = ["SECTIONS", "BenchConfig"]
