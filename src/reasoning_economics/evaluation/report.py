"""Reports: ``summary.json``, a rich table in the terminal and one self-contained ``report.html``.

``report.html`` embeds its figures as base64 PNGs and its styles inline, so the single file can
be mailed, archived or opened from anywhere. A run directory is read as ``ree eval`` wrote it
(``run.json`` + ``results.jsonl``); a directory that holds a training log (``train_log.jsonl``,
written by ``ree train``) adds its training curves, with or without evaluation results.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError, ResultsFileError
from reasoning_economics.evaluation import plots
from reasoning_economics.evaluation.plots import RunData
from reasoning_economics.evaluation.results import (
    IDENTITY_KEYS,
    REPORT_NAME,
    RESULTS_NAME,
    RUN_CONFIG_NAME,
    SUMMARY_NAME,
    make_output_dir,
    read_run_config,
    read_units_and_cut_lines,
    write_output_json,
    writing_output,
)
from reasoning_economics.evaluation.summary import summarize, with_baseline
from reasoning_economics.jsonl import write_text_atomically
from reasoning_economics.text import html_text, visible
from reasoning_economics.training.logs import TRAIN_LOG_NAME


def holds_a_run(path: str | Path) -> bool:
    """Whether ``path`` is a run directory: one with a run.json, results.jsonl or training log."""
    path = Path(path)
    return any((path / name).exists() for name in (RUN_CONFIG_NAME, RESULTS_NAME, TRAIN_LOG_NAME))


def load_run(path: str | Path, name: str | None = None) -> RunData:
    """Read one run directory; its summary is recomputed from ``results.jsonl``."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"run {str(path)!r} is not a directory")
    has_results = (path / RESULTS_NAME).is_file()
    training_log = path / TRAIN_LOG_NAME if (path / TRAIN_LOG_NAME).is_file() else None
    if not has_results and training_log is None:
        raise ConfigError(
            f"{path} holds neither evaluation results ({RESULTS_NAME}, from ree eval) nor a training log "
            f"({TRAIN_LOG_NAME}, from ree train)"
        )
    units, cut_lines = read_units_and_cut_lines(path) if has_results else ([], 0)
    run_config = read_run_config(path)
    stated_mode = run_config.get("mode")
    if units and stated_mode is not None and units[0].get("mode", "episode") != stated_mode:
        # The summary reads every unit as run.json's mode says: a KeyError deep inside otherwise.
        raise ResultsFileError(
            f"{path / RESULTS_NAME} holds {units[0].get('mode', 'episode')!r} units, but {RUN_CONFIG_NAME} "
            f"says mode {stated_mode!r}"
        )
    run_name = name or path.resolve().name
    run_config["name"] = run_name
    summary = summarize(units, run_config) if has_results else None
    return RunData(
        name=run_name, path=path, summary=summary, units=units, training_log=training_log, partial_lines=cut_lines
    )


def load_runs(paths: Sequence[str | Path]) -> list[RunData]:
    """Read several run directories, naming each by its directory (with parents added until
    the names are unique)."""
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise ConfigError("the same run directory is given twice")
    depth = 1
    while True:
        names = ["/".join(p.parts[-depth:]) for p in resolved]
        if len(set(names)) == len(names) or depth >= max(len(p.parts) for p in resolved):
            break
        depth += 1
    return [load_run(path, name) for path, name in zip(paths, names)]


def compare(runs: Sequence[RunData], baseline: RunData | None = None) -> dict[str, Any]:
    """The comparison ``summary.json``: each run's summary (with ``vs_baseline`` when a baseline
    with evaluation results is given) and the accuracy-vs-tokens Pareto frontier."""
    from reasoning_economics.evaluation.metrics import pareto_frontier

    summaries: dict[str, Any] = {}
    for run in runs:
        if run.summary is None:
            summaries[run.name] = {
                "run": {"name": run.name, "kind": "training"},
                "training_log": str(run.training_log),
                "training": training_summary(run.training_log),
            }
            continue
        summary = run.summary
        if baseline is not None and baseline.summary is not None and baseline.name != run.name:
            summary = with_baseline(summary, baseline.summary)
        if run.training_log is not None:
            summary = {**summary, "training": training_summary(run.training_log)}
        summaries[run.name] = summary
    points = {
        run.name: (run.summary["tokens_per_question"]["mean"], run.summary["accuracy"]["value"])
        for run in runs
        if run.summary and run.summary.get("accuracy") and run.summary.get("answers")
    }
    warnings = []
    read_runs = list(runs)
    if baseline is not None and all(run is not baseline for run in runs):
        read_runs.insert(0, baseline)
    for run in read_runs:
        if run.partial_lines:
            # Left out, not lost: a unit whose line was cut off runs again with --resume.
            warnings.append(
                f"{run.path / RESULTS_NAME}: {run.partial_lines} unreadable line(s) at the end (cut off when the "
                "run was killed while writing) are left out of these numbers; continue the run with its ree eval "
                "command plus --resume to redo that unit"
            )
    if baseline is not None and baseline.summary is not None and not baseline.summary["answers"]:
        # Not an error: the other runs' numbers stand, and a baseline still running its first
        # episode (or killed before it) gets answers later; but its comparisons show "-".
        warnings.append(
            f"baseline {baseline.name!r} has no answers yet, so the runs cannot be compared with it "
            "(an interrupted run continues with its ree eval command plus --resume)"
        )
    if baseline is not None and baseline.summary is not None:
        warnings.extend(_setting_warnings(runs, baseline))
    modes = {run.name: run.summary.get("mode") for run in runs if run.summary is not None}
    if baseline is None and len(set(modes.values())) > 1:
        # With a baseline, _setting_warnings names each run whose mode differs from it.
        listed = ", ".join(f"{name!r} ({mode})" for name, mode in modes.items())
        warnings.append(
            f"the runs were evaluated in different modes ({listed}): tokens and accuracy mean different "
            "things in each, and the accuracy-vs-tokens frontier puts them side by side"
        )
    return {
        "runs": summaries,
        "baseline": baseline.name if baseline else None,
        "pareto_frontier": pareto_frontier(points) if points else [],
        "warnings": warnings,
    }


TRAINING_CURVES = ("reward", "accuracy", "tokens_per_question", "budget_utilization", "episode_length", "loss")
"""The keys of a training log's records that a training summary reports (first and last step)."""


def training_summary(log_path: str | Path | None) -> dict[str, Any] | None:
    """What a training log (``train_log.jsonl``) says in brief: its last step, the number of
    logged steps, the seconds the last line records, and :data:`TRAINING_CURVES` at the first
    and the last logged step (None where no step is logged yet)."""
    from reasoning_economics.training.logs import read_training_log

    if log_path is None:
        return None
    records = read_training_log(log_path)
    if not records:
        return {"steps": 0, "logged_steps": 0, "time_s": None, "first": None, "last": None}

    def curves(record: dict[str, Any]) -> dict[str, Any]:
        return {key: record.get(key) for key in TRAINING_CURVES}

    return {
        "steps": records[-1]["step"],
        "logged_steps": len(records),
        "time_s": records[-1].get("time_s"),
        "first": curves(records[0]),
        "last": curves(records[-1]),
    }


COMPARED_SETTINGS = tuple(sorted(IDENTITY_KEYS - {"policy", "policy_options"}))
"""Settings a run and its baseline should share: the policy is what is compared, and any of
these changes what the numbers mean (another tokenizer counts other tokens, another seed or
dataset asks other questions, another budget or limit lets answers run longer)."""


def _setting_warnings(runs: Sequence[RunData], baseline: RunData) -> list[str]:
    base = (baseline.summary or {}).get("run") or {}
    warnings = []
    for run in runs:
        if run is baseline or run.summary is None:
            continue
        config = run.summary.get("run") or {}
        # A key only one side has (an older run.json, another mode's option) says nothing.
        differences = [
            f"{key} {config[key]!r} vs {base[key]!r}"
            for key in COMPARED_SETTINGS
            if key in config and key in base and _differ(key, config, base)
        ]
        units, base_units = run.summary.get("units"), (baseline.summary or {}).get("units")
        if isinstance(units, int) and isinstance(base_units, int) and units != base_units and units and base_units:
            # Unit i asks seed + i's questions: runs of other lengths averaged other questions.
            # (A run with none is warned about on its own.)
            differences.append(f"units {units} vs {base_units} (one answered questions the other did not)")
        if differences:
            warnings.append(
                f"run {run.name!r} and baseline {baseline.name!r} differ in {'; '.join(differences)}, "
                "so its comparison with the baseline measures more than the policy"
            )
    return warnings


def _differ(key: str, config: dict[str, Any], base: dict[str, Any]) -> bool:
    """Whether ``config`` and ``base`` differ in setting ``key`` in a way that changes the numbers.

    Tokenizer names count tokens alike when they resolve to the same built-in vocabulary
    (``qwen3`` and ``Qwen/Qwen3-0.6B``); ``--tokenizer`` itself (None: the policy's own) matters
    only through ``tokenizer_name``, the tokenizer that counted, where both runs record it."""
    if key == "tokenizer" and "tokenizer_name" in config and "tokenizer_name" in base:
        return False
    if key in ("tokenizer", "tokenizer_name"):
        return _vocabulary(config[key]) != _vocabulary(base[key])
    return config[key] != base[key]


def _vocabulary(name: Any) -> Any:
    """The built-in vocabulary ``name`` resolves to, or ``name`` itself (a local directory, a
    tokenizer outside the built-in families, None)."""
    from reasoning_economics import tokens

    if not isinstance(name, str):
        return name
    return tokens.builtin_vocabulary_for(name) or name


# ----------------------------------------------------------------------------- table


def _fmt(value: Any, spec: str = ".3f", suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:{spec}}{suffix}"
    return f"{value}{suffix}"


def _token_change(reduction: float | None) -> str:
    if reduction is None:
        return "-"
    return f"{reduction:.1f}% fewer" if reduction >= 0 else f"{-reduction:.1f}% more"


def table_rows(comparison: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header (``metric`` then one column per run) and rows (one per metric) of the comparison
    table, shared by the terminal and the HTML report. Runs are columns so the table stays
    readable in an 80-column terminal."""
    names = list(comparison["runs"])
    evaluated = any("answers" in comparison["runs"][name] for name in names)
    trained = [comparison["runs"][name].get("training") for name in names]
    metric_rows: list[tuple[str, list[str]]] = [
        ("mode", []), ("answers", []), ("accuracy [95% CI]", []), ("tokens / question (mean)", []),
        ("tokens / question (median)", []), ("budget used", []), ("overspend rate", []),
        ("early termination", []), ("rho(tokens, difficulty)", []), ("accuracy / 1k tokens", []),
        ("REA-RL reflection / 1k", []), ("self-reflection / 1k", []), ("faithful", []),
        ("episode return", []), ("pass@k (largest k)", []), ("anytime score", []), ("overthinking", []),
        ("vs baseline: tokens", []), ("vs baseline: accuracy", []),
    ]
    for name in names:
        s = comparison["runs"][name]
        if "answers" not in s:
            values = ["train"] + ["-"] * (len(metric_rows) - 1)
        else:
            accuracy = s.get("accuracy")
            budget = s.get("budget") or {}
            anytime = s.get("anytime") or {}
            vs = s.get("vs_baseline") or {}
            pass_k = s.get("pass_at_k") or {}
            largest_k = max(pass_k, key=int) if pass_k else None
            values = [
                s["mode"],
                str(s["answers"]),
                f"{accuracy['value']:.3f} [{accuracy['low']:.2f}, {accuracy['high']:.2f}]" if accuracy else "-",
                _fmt(s["tokens_per_question"]["mean"], ".1f"),
                _fmt(s["tokens_per_question"]["median"], ".1f"),
                _fmt(budget.get("utilisation"), ".1%"),
                _fmt(budget.get("overspend_rate"), ".1%"),
                _fmt(budget.get("early_termination_rate"), ".1%"),
                _fmt(s.get("spearman_tokens_difficulty"), "+.2f"),
                _fmt(s.get("accuracy_per_1k_tokens"), ".2f"),
                _fmt(s["reflection"]["rea_rl_per_1k"], ".2f"),
                _fmt(s["reflection"]["self_reflection_per_1k"], ".2f"),
                _fmt(s["faithfulness"]["value"] if s["faithfulness"]["total"] else None, ".1%"),
                _fmt((s.get("reward") or {}).get("episode_return"), ".3f"),
                f"pass@{largest_k} {pass_k[largest_k]:.3f}" if largest_k else "-",
                _fmt(anytime.get("anytime_score"), ".3f"),
                _fmt(anytime.get("overthinking_count")) if anytime else "-",
                _token_change(vs.get("token_reduction_pct")) if vs else "-",
                _fmt(vs.get("accuracy_change_points"), "+.1f", " points") if vs else "-",
            ]
        for (_, column), value in zip(metric_rows, values):
            column.append(value)
    if not evaluated:
        # Only training runs: a column of "-" per evaluation metric says nothing.
        metric_rows = metric_rows[:1]
    if any(trained):
        metric_rows.extend(_training_rows(trained))
    # A baseline given among the runs keeps its own name: the column still says which it is.
    baseline = comparison.get("baseline")
    header = [f"{name} (baseline)" if name == baseline and not name.endswith("(baseline)") else name for name in names]
    return ["metric", *header], [[label, *column] for label, column in metric_rows]


_TRAINING_ROWS = (
    ("reward", "train: reward (first -> last)", ".3f"),
    ("accuracy", "train: accuracy (first -> last)", ".3f"),
    ("tokens_per_question", "train: tokens / question (first -> last)", ".1f"),
    ("loss", "train: loss (first -> last)", ".4g"),
)


def _training_rows(trained: Sequence[dict[str, Any] | None]) -> list[tuple[str, list[str]]]:
    """Rows from the runs' training summaries (:func:`training_summary`; None: not trained):
    steps, and each curve at the first and the last logged step."""
    rows = [("train: steps", [_fmt(t["steps"]) if t else "-" for t in trained])]
    for key, label, spec in _TRAINING_ROWS:
        column = []
        for t in trained:
            first, last = ((t or {}).get("first") or {}).get(key), ((t or {}).get("last") or {}).get(key)
            if last is None:
                column.append("-")
            elif first is None or t["logged_steps"] == 1:
                column.append(_fmt(float(last), spec))
            else:
                column.append(f"{_fmt(float(first), spec)} -> {_fmt(float(last), spec)}")
        rows.append((label, column))
    return rows


def rich_table(comparison: dict[str, Any]) -> Any:
    """The comparison as a ``rich.table.Table`` (metrics down, runs across)."""
    from rich.markup import escape
    from rich.table import Table

    # Run names are folder names, which may hold "[...]" that rich would read as markup, and
    # escape sequences rich passes to the terminal as they are (colours, a new window title).
    header, rows = table_rows(comparison)
    table = Table(title="reasoning-economics evaluation")
    table.add_column(escape(visible(header[0])), no_wrap=True)
    for column in header[1:]:
        table.add_column(escape(visible(column)), overflow="fold", justify="right")
    for row in rows:
        table.add_row(*(escape(visible(str(cell))) for cell in row))
    return table


# ------------------------------------------------------------------------------ html

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;white-space:pre-wrap}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}img{max-width:100%;border:1px solid #eee}
pre{background:#f7f7f7;padding:.5rem;overflow-x:auto;font-size:.8rem}.note{color:#555;font-size:.85rem}
.warning{color:#8a5300;background:#fff4e0;padding:.25rem .5rem}
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html_text(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _breakdown_rows(summary: dict[str, Any], key: str) -> list[list[str]]:
    rows = []
    for group, g in summary.get(key, {}).items():
        acc = g["accuracy"]
        rows.append(
            [
                group,
                str(g["tokens"]["count"]),
                _fmt(g.get("unanswered")),
                f"{acc['value']:.3f} [{acc['low']:.2f}, {acc['high']:.2f}]",
                _fmt(g["tokens"]["mean"], ".1f"),
                _fmt(g["tokens"]["median"], ".1f"),
                _fmt(g["accuracy_per_1k_tokens"], ".2f"),
                _fmt(g["reflection"]["rea_rl_per_1k"], ".2f"),
                _fmt(g["reflection"]["self_reflection_per_1k"], ".2f"),
                _fmt(g["reflection"]["share_reflecting"], ".1%"),
                *(_fmt(v, ".2f") for v in g["patterns_per_1k"].values()),
            ]
        )
    return rows


_BREAKDOWN_HEADER = [
    "group", "answers", "unanswered", "accuracy [95% CI]", "tokens mean", "tokens median", "acc / 1k tok",
    "REA-RL reflect / 1k", "self-reflect / 1k", "share reflecting", "verification / 1k",
    "backtracking / 1k", "exploration / 1k",
]


def _clip(text: str | None, limit: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def example_answers(units: Sequence[dict[str, Any]], limit: int = 8) -> list[list[str]]:
    """The first few answers of a run, clipped, for reading what the model actually wrote."""
    rows: list[list[str]] = []
    for unit in units:
        if unit.get("mode", "episode") == "episode":
            items = [(s["question"], s["response"], s.get("gold"), s.get("extracted"), s["correct"], s["tokens_counted"])
                     for s in unit["steps"]]
        elif unit["mode"] == "problem":
            items = [(p["question"], p["samples"][0]["response"], p["gold"], p["samples"][0].get("extracted"),
                      p["samples"][0]["correct"], p["samples"][0]["tokens"]) for p in unit["problems"] if p["samples"]]
        else:
            items = [(p["question"], p["response"], p["gold"], None, p["by_budget"][-1]["score"], p["thinking_tokens"])
                     for p in unit["problems"]]
        for question, answer, gold, extracted, correct, tokens in items:
            rows.append([_clip(question, 160), _clip(answer, 400), _clip(gold, 40), _clip(extracted, 40),
                         str(correct), str(tokens)])
            if len(rows) >= limit:
                return rows
    return rows


def render_html(runs: Sequence[RunData], comparison: dict[str, Any]) -> str:
    """The whole report as one HTML string (figures embedded)."""
    header, rows = table_rows(comparison)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>reasoning-economics report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>reasoning-economics evaluation report</h1>",
        f"<p class='note'>Generated {html_text(time.strftime('%Y-%m-%d %H:%M:%S'))} for "
        f"{len(runs)} run(s): {html_text(', '.join(r.name for r in runs))}."
        + (f" Baseline: {html_text(comparison['baseline'])}." if comparison.get("baseline") else "")
        + "</p>",
        *(f"<p class='warning'>Warning: {html_text(text)}</p>" for text in comparison.get("warnings", [])),
        "<h2>Summary</h2>",
        _html_table(header, rows),
        "<p class='note'>Accuracy counts unanswered questions as wrong (episode mode). Tokens are counted "
        "in the run's tokenizer. rho is Spearman's rank correlation of tokens with difficulty. Reflection is "
        "REA-RL's chained keyword count per 1k thinking tokens. Faithful: the final answer already appears in "
        "the reasoning before the final statement.</p>",
    ]
    if comparison.get("pareto_frontier"):
        parts.append(
            "<p>Pareto frontier (accuracy vs tokens): " + html_text(" → ".join(comparison["pareto_frontier"])) + "</p>"
        )
    for key, title, function in plots.FIGURES:
        png = function(runs)
        if png is None:
            continue
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<h2>{html_text(title)}</h2><figure id='{key}'><img alt='{html_text(title)}' "
            f"src='data:image/png;base64,{data}'><figcaption>{html_text((function.__doc__ or '').strip())}"
            "</figcaption></figure>"
        )
    for run in runs:
        summary = comparison["runs"].get(run.name) or {}
        parts.append(f"<h2>Run {html_text(run.name)}</h2>")
        if "answers" in summary:
            parts.append("<h3>By difficulty</h3>" + _html_table(_BREAKDOWN_HEADER, _breakdown_rows(summary, "by_difficulty")))
            parts.append(
                "<h3>By problem type</h3>" + _html_table(_BREAKDOWN_HEADER, _breakdown_rows(summary, "by_problem_type"))
            )
            if summary.get("pass_at_k"):
                parts.append(
                    "<h3>pass@k</h3>"
                    + _html_table(["k", "pass@k"], [[k, f"{v:.3f}"] for k, v in summary["pass_at_k"].items()])
                )
            if summary.get("anytime") and summary["anytime"].get("accuracy"):
                anytime = summary["anytime"]
                parts.append(
                    "<h3>Anytime</h3>"
                    + _html_table(
                        ["budget", *map(str, anytime["budgets"]), "anytime score", "overthinking"],
                        [["accuracy", *(f"{a:.3f}" for a in anytime["accuracy"]),
                          f"{anytime['anytime_score']:.3f}", str(anytime["overthinking_count"])],
                         ["thinking tokens kept", *(f"{t:.1f}" for t in anytime["tokens"]), "", ""]],
                    )
                )
        examples = example_answers(run.units)
        if examples:
            parts.append(
                "<h3>Example answers</h3>"
                + _html_table(["question", "answer", "gold", "extracted", "correct", "tokens"], examples)
            )
        config = {k: v for k, v in (summary.get("run") or {}).items()}
        parts.append(
            f"<details><summary>Configuration and raw summary</summary><pre>{html.escape(json.dumps(summary if summary else config, indent=2, default=str))}</pre></details>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    run_paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    baseline: str | Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """Read runs (and a baseline), write ``summary.json`` and ``report.html`` into ``out_dir``.

    With a single run (and no baseline) ``summary.json`` is that run's summary, as ``ree eval``
    writes it (a training run's: its training log in brief, :func:`training_summary`), and may
    be written into the run itself; with several it is the comparison (:func:`compare`), which
    may not be written into one of the runs (ConfigError). Returns (comparison, html path).
    """
    if not run_paths:
        raise ConfigError("give at least one run directory")
    runs = load_runs(list(run_paths))
    baseline_run = None
    if baseline is not None:
        base_path = Path(baseline).resolve()
        baseline_run = next((run for run in runs if run.path.resolve() == base_path), None)
        if baseline_run is None:
            # Runs are keyed by name in the comparison: a run folder already called "x (baseline)"
            # took the baseline's column, so parents are added until the name is free.
            taken = {run.name for run in runs}
            depth = 1
            name = f"{base_path.name} (baseline)"
            while name in taken and depth < len(base_path.parts):
                depth += 1
                name = f"{'/'.join(base_path.parts[-depth:])} (baseline)"
            baseline_run = load_run(baseline, name=name)
            runs = [baseline_run, *runs]
        if baseline_run.summary is None:
            raise ConfigError(f"baseline {str(baseline)!r} has no evaluation results")
    writes_comparison = len(runs) != 1
    overwritten = next((run for run in runs if run.path.resolve() == Path(out_dir).resolve()), None)
    if writes_comparison and overwritten is not None:
        raise ConfigError(
            f"--out {str(out_dir)!r} is the run {overwritten.name!r}: the comparison would replace that run's "
            f"{SUMMARY_NAME} and {REPORT_NAME}; write it into another directory"
        )
    if overwritten is None and holds_a_run(out_dir):
        # Another run's summary.json would then hold numbers that are not its own.
        raise ConfigError(
            f"--out {str(out_dir)!r} holds another run (its {RUN_CONFIG_NAME}, {RESULTS_NAME} or {TRAIN_LOG_NAME}): "
            f"the report would replace that run's {SUMMARY_NAME} and {REPORT_NAME}; write it into another directory"
        )
    comparison = compare(runs, baseline_run)
    out = make_output_dir(out_dir)
    if not writes_comparison:
        # One run (an evaluation, a training run, or both in one folder): its own summary.
        write_output_json(out / SUMMARY_NAME, comparison["runs"][runs[0].name])
    else:
        write_output_json(out / SUMMARY_NAME, comparison)
    report_path = out / REPORT_NAME
    page = render_html(runs, comparison)
    with writing_output(report_path):
        write_text_atomically(report_path, page)
    return comparison, report_path
