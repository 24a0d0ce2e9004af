"""Evaluation: run a policy in the environment, measure how it spends tokens, and report.

::

    from reasoning_economics.evaluation import EvalConfig, run_evaluation, write_report
    summary = run_evaluation(EvalConfig(policy="smollm2", episodes=8, questions=4), "runs/demo")
    write_report(["runs/demo"], "runs/demo")      # summary.json + report.html

- :mod:`~reasoning_economics.evaluation.runner`: the run loop (batched, resumable);
- :mod:`~reasoning_economics.evaluation.modes`: ``episode``, ``problem`` and ``anytime``;
- :mod:`~reasoning_economics.evaluation.results`: ``run.json`` and ``results.jsonl``, whose units
  :mod:`~reasoning_economics.evaluation.records` checks;
- :mod:`~reasoning_economics.evaluation.metrics` and
  :mod:`~reasoning_economics.evaluation.behaviour`: the metrics, as pure functions;
- :mod:`~reasoning_economics.evaluation.summary`: ``summary.json`` from the results;
- :mod:`~reasoning_economics.evaluation.plots` and :mod:`~reasoning_economics.evaluation.report`:
  figures, the terminal table and ``report.html``;
- :mod:`~reasoning_economics.text` (shared): untrusted text made safe to show.

Heavy dependencies (the environment, models, matplotlib) load only when used.
"""

from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.report import write_report
from reasoning_economics.evaluation.runner import run_evaluation
from reasoning_economics.evaluation.summary import summarize

__all__ = ["EvalConfig", "run_evaluation", "summarize", "write_report"]
