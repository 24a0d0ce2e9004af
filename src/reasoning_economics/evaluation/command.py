"""``ree eval`` and ``ree report``."""

from __future__ import annotations

from pathlib import Path

import typer

from reasoning_economics.cli_options import given_on_command_line
from reasoning_economics.evaluation.config import DEFAULT_QUESTIONS, MAX_EPISODES, MODES, SERVER_OWN_SETTING


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def eval_command(
    ctx: typer.Context,
    policy: str = typer.Option(
        "smollm2", "--policy", "-p",
        help="Policy spec: smollm2 (embedded), hf:<dir|hub id>, openai:<model>, vllm:<model>, "
        "uniform, greedy_max, difficulty_oracle, oracle:accuracy=0.8,tokens=120.",
    ),
    dataset: str = typer.Option("builtin", "--dataset", "-d", help=(
        "Problem source: builtin, champ, metamathqa, numina_tir or file:<path> (.jsonl, .json, .parquet); "
        "a union a+b (every type of both, evenly mixed) or a weighted mixture a:0.7,b:0.3."
    )),
    mode: str = typer.Option(
        "episode", "--mode", "-m",
        help="episode: shared budget (main). problem: --samples answers per question, pass@k. "
        "anytime: thinking cut at each budget, answer forced, accuracy per budget.",
    ),
    episodes: int = typer.Option(
        8, "--episodes", "-n", min=1,
        help=f"Episodes (units), at most {MAX_EPISODES:,}; unit i uses seed SEED+i (SEED+episodes-1 at most 2**63-1).",
    ),
    questions: int = typer.Option(
        DEFAULT_QUESTIONS, "--questions", "-k", min=1, help="Questions per episode (not with --server: the server's number applies)."
    ),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Base seed."),
    out_text: str = typer.Option(
        None, "--out", "-o", help="Run directory; by default runs/<policy>-<mode>-seed<seed>-<time>."
    ),
    budget: int = typer.Option(
        None, "--budget", min=1,
        help="Total token budget per episode; by default 4 x the questions' tokens (the environment's budget_ratio)."
    ),
    max_tokens_per_step: int = typer.Option(
        None, "--max-tokens-per-step", min=1,
        help="Most tokens one answer may use (default 192; not with --server: the server's limit applies).",
    ),
    tokenizer: str = typer.Option(
        None, "--tokenizer", help="Tokenizer the environment counts with; by default the policy's own."
    ),
    soft: bool = typer.Option(
        False, "--soft",
        help="Soft budget: no clipping or early stop; overspend is penalised (not with --server: its mode applies).",
    ),
    concurrency: int = typer.Option(8, "--concurrency", "-c", min=1, help="Units run at once (generation is batched)."),
    samples: int = typer.Option(4, "--samples", min=1, help="problem mode only: answers per question."),
    anytime_max_budget: int = typer.Option(
        256, "--anytime-max-budget", min=1, help="anytime mode only: largest thinking budget b_max."
    ),
    anytime_budgets: int = typer.Option(4, "--anytime-budgets", min=1, help="anytime mode only: S budgets, b_j = j*b_max/S."),
    summaries: int = typer.Option(1, "--summaries", min=1, help="anytime mode only: forced answers per budget."),
    summary_tokens: int = typer.Option(48, "--summary-tokens", min=1, help="anytime mode only: most tokens per forced answer."),
    server: str = typer.Option(None, "--server", help="URL of a `ree serve` instance (episode mode)."),
    token: str = typer.Option(
        None, "--token", envvar="REE_TOKEN",
        help="Bearer token for --server (--token without --server is refused; REE_TOKEN is then unused).",
    ),
    base_url: str = typer.Option(None, "--base-url", help="openai: policies: the endpoint's base URL."),
    policy_option: list[str] = typer.Option(
        None, "--policy-option", "-P", metavar="KEY=VALUE",
        help="An option of the policy, repeatable: e.g. -P temperature=0.7 -P timeout=30 -P max_retries=2 for "
        "openai:<model>, or -P temperature=0.8 for hf:<dir> (values read as in oracle:accuracy=0.8 specs).",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted run in --out (refused where --out holds no run)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Evaluate a policy in the environment; write results.jsonl, summary.json and report.html.

    Each finished episode is appended to results.jsonl at once; --resume picks up where a killed run stopped. Prints the summary table and the path of the report.

    An option the run would not read is refused (exit status 2), as --soft is with --server: --samples outside problem mode, the anytime options (--anytime-max-budget, --anytime-budgets, --summaries, --summary-tokens) outside anytime mode, --token without --server.
    """
    from rich.console import Console

    from reasoning_economics.errors import (
        GradingError,
        PolicyEndpointError,
        ReasoningEconomicsError,
        ServerConnectionError,
    )
    from reasoning_economics.evaluation.config import DEFAULT_MAX_TOKENS_PER_STEP, EvalConfig
    from reasoning_economics.evaluation.report import rich_table, write_report
    from reasoning_economics.evaluation.results import RESULTS_NAME, RUN_CONFIG_NAME
    from reasoning_economics.evaluation.runner import run_evaluation

    if mode not in MODES:
        _fail(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    out = _output_path(out_text)
    console = Console(stderr=False)
    try:
        _refuse_unread_options(ctx, mode, server)
        config = EvalConfig(
            policy=policy,
            policy_options=_policy_options(policy_option or [], base_url),
            dataset=dataset,
            mode=mode,
            episodes=episodes,
            questions=questions,
            seed=seed,
            budget=budget,
            tokenizer=tokenizer,
            max_tokens_per_step=DEFAULT_MAX_TOKENS_PER_STEP if max_tokens_per_step is None else max_tokens_per_step,
            hard_cap_mode=not soft,
            concurrency=concurrency,
            samples=samples,
            anytime_max_budget=anytime_max_budget,
            anytime_num_budgets=anytime_budgets,
            summaries_per_budget=summaries,
            summary_tokens=summary_tokens,
            server=server,
            token=token,
        )
        if out is None and resume:
            _fail("--resume continues the run in --out: name it")
        if resume and not _holds_a_run(out):
            # A typo in --out would otherwise start a new run under the wrong name.
            what = "no such directory" if not out.exists() else f"no {RUN_CONFIG_NAME} or {RESULTS_NAME}"
            _fail(
                f"--resume: there is nothing to resume in {out} ({what}); check the path, or drop --resume "
                "to start a new run there"
            )
        run_dir = out or _default_run_dir(policy, mode, seed)
        try:
            run_evaluation(config, run_dir, resume=resume, console=console, show_progress=progress)
        except KeyboardInterrupt:
            typer.secho(
                f"interrupted: {_how_to_continue(run_dir, 'when you are ready')}",
                fg=typer.colors.YELLOW, err=True,
            )
            raise typer.Exit(code=130) from None
        except GradingError as exc:
            _fail(f"{exc}\n{_how_to_continue(run_dir, 'once grading works again (see the errors above, or the server log)')}")
        except PolicyEndpointError as exc:
            _fail(f"{exc}\n{_how_to_continue(run_dir, 'once the endpoint answers again')}")
        except ServerConnectionError as exc:
            if _token_refused(exc):
                # The server is up and said no: running again only helps with the right token.
                when = "with the server's token (--token TOKEN, or the REE_TOKEN environment variable)"
                _fail(f"{exc}\n{_how_to_continue(run_dir, when)}")
            _fail(f"{exc}\n{_how_to_continue(run_dir, 'once the server is back')}")
        comparison, report_path = write_report([run_dir], run_dir)
    except ReasoningEconomicsError as exc:
        _fail(str(exc))
    console.print(rich_table(comparison))
    summary = next(iter(comparison["runs"].values()))
    if summary.get("identical_samples_rate") == 1.0:
        console.print(
            "[yellow]every problem's samples are identical: the policy decodes greedily, so pass@k = pass@1. "
            "Sample with a temperature, e.g. --policy 'smollm2:temperature=0.8'.[/yellow]"
        )
    console.print(f"results: {run_dir / 'results.jsonl'}", markup=False)
    console.print(f"summary: {run_dir / 'summary.json'}", markup=False)
    console.print(f"report:  {report_path}", markup=False)


def report_command(
    runs: list[Path] = typer.Argument(..., help="Run directories written by ree eval (or ree train)."),
    baseline: Path = typer.Option(
        None, "--baseline", "-b", help="Run to compare against: token reduction % and accuracy change in points."
    ),
    out_text: str = typer.Option(
        None, "--out", "-o",
        help="Where to write report.html and summary.json; by default into the run itself when one run is "
        "given without --baseline (its own summary), else ./ree-report (a comparison, never written into a run). "
        "A directory holding another run is refused.",
    ),
) -> None:
    """Compare runs: a table in the terminal, summary.json and a self-contained report.html.

    Plots accuracy against tokens with the Pareto frontier, tokens by difficulty, budget pacing, the anytime curve, reflection by difficulty, the reward distribution and training curves. A training run (ree train's output directory) shows its training log in the table: steps, and reward, accuracy, tokens per question and loss at the first and the last logged step.
    """
    from rich.console import Console

    from reasoning_economics.errors import ReasoningEconomicsError
    from reasoning_economics.evaluation.report import rich_table, write_report
    from reasoning_economics.text import visible
    from reasoning_economics.training.logs import TRAIN_LOG_NAME

    out = _output_path(out_text)
    target = out or (runs[0] if len(runs) == 1 and baseline is None else Path("ree-report"))
    try:
        comparison, report_path = write_report(runs, target, baseline=baseline)
    except ReasoningEconomicsError as exc:
        _fail(str(exc))
    for warning in comparison["warnings"]:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    console = Console()
    console.print(rich_table(comparison))
    for name, summary in comparison["runs"].items():
        if "answers" not in summary:
            console.print(
                f"{visible(name)} is a training run: the table shows its {TRAIN_LOG_NAME} at the first and the last "
                f"logged step; the training curves are in {report_path}",
                markup=False,
            )
    console.print(f"summary: {target / 'summary.json'}", markup=False)
    console.print(f"report:  {report_path}", markup=False)


MODE_OPTIONS = {
    "samples": ("--samples", "problem"),
    "anytime_max_budget": ("--anytime-max-budget", "anytime"),
    "anytime_budgets": ("--anytime-budgets", "anytime"),
    "summaries": ("--summaries", "anytime"),
    "summary_tokens": ("--summary-tokens", "anytime"),
}
"""Parameter -> (flag, the one mode that reads it)."""


SERVER_OWNED_OPTIONS = {
    "questions": ("--questions", "number of questions per episode"),
    "max_tokens_per_step": ("--max-tokens-per-step", "per-step token limit"),
}
"""Parameter -> (flag, what the server sets instead) for the options refused with --server."""


def _refuse_unread_options(ctx: typer.Context, mode: str, server: str | None) -> None:
    """Raise ConfigError for an option given on the command line that this run would not read
    (a default, or REE_TOKEN from the environment, is not "given")."""
    from reasoning_economics.errors import ConfigError

    for name, (flag, reader) in MODE_OPTIONS.items():
        if given_on_command_line(ctx, name) and mode != reader:
            raise ConfigError(
                f"{flag} does not apply in {mode} mode: only {reader} mode reads it "
                f"(drop {flag}, or add --mode {reader})"
            )
    for name, (flag, what) in SERVER_OWNED_OPTIONS.items():
        if server and given_on_command_line(ctx, name):
            # Even the default value, named: the server's own setting applies, not this one.
            raise ConfigError(SERVER_OWN_SETTING.format(flag=flag, what=what))
    if given_on_command_line(ctx, "token") and not server:
        raise ConfigError(
            "--token is the bearer token for --server; without --server the environment runs in-process "
            "and needs none (drop --token, or add --server URL)"
        )


def _policy_options(items: list[str], base_url: str | None) -> dict[str, object]:
    """The policy's options from ``--policy-option KEY=VALUE`` flags and ``--base-url``."""
    from reasoning_economics.errors import ConfigError
    from reasoning_economics.policies.registry import parse_option_pairs

    # The whole value, commas included: one flag is one option.
    options = parse_option_pairs(items, label="--policy-option")
    if base_url:
        if "base_url" in options:
            raise ConfigError("base_url is given both as --base-url and as --policy-option: give it once")
        options["base_url"] = base_url
    return options


def _output_path(text: str | None) -> Path | None:
    """``--out`` as a path (None when not given); an empty one is refused, as it would name the
    current directory and scatter the run's files there (``-o .`` says that on purpose)."""
    if text is None:
        return None
    if not text.strip():
        _fail("--out is empty: name a directory (-o . for the current one)")
    return Path(text)


def _holds_a_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds something ``--resume`` can continue: a run.json, or results
    (which the run refuses, with its reason, when their run.json is gone)."""
    from reasoning_economics.evaluation.results import RESULTS_NAME, RUN_CONFIG_NAME

    results = run_dir / RESULTS_NAME
    return (run_dir / RUN_CONFIG_NAME).is_file() or (results.is_file() and results.stat().st_size > 0)


def _token_refused(exc: BaseException) -> bool:
    """Whether a connection failure is the server refusing the handshake with HTTP 401 or 403
    (no token, or a wrong one) rather than a server that cannot be reached."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        status = getattr(getattr(cause, "response", None), "status_code", None)
        if status in (401, 403):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _how_to_continue(run_dir: Path, when: str) -> str:
    """The line that says how to pick up a run stopped by an error outside it."""
    from reasoning_economics.evaluation.results import RESULTS_NAME, RUN_CONFIG_NAME

    if not (run_dir / RUN_CONFIG_NAME).is_file():
        return "nothing was written; run the command again " + when
    return (
        f"the run stopped: finished episodes are saved in {run_dir / RESULTS_NAME}; {when}, continue with "
        f"the same command plus --resume --out {run_dir}"
    )


def _default_run_dir(policy: str, mode: str, seed: int) -> Path:
    import time

    # A new directory per run, so running the same command twice never collides.
    return Path("runs") / f"{_slug(policy)}-{mode}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")[:60] or "run"
