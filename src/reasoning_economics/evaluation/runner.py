"""Run an evaluation: policy + mode + run directory -> ``results.jsonl`` and ``summary.json``.

::

    from reasoning_economics.evaluation import EvalConfig, run_evaluation
    summary = run_evaluation(EvalConfig(policy="oracle:accuracy=0.8,tokens=60", episodes=4), "runs/oracle")

Each finished unit is appended to ``results.jsonl`` (flushed and fsynced) the moment it is
done. With ``resume=True`` the units already in the file are skipped and the rest run, so an
interrupted run loses at most the units that were in flight. The summary is computed from the
whole file at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from reasoning_economics.errors import ConfigError, ServerError
from reasoning_economics.evaluation.config import EvalConfig
from reasoning_economics.evaluation.modes import RunContext, create_mode
from reasoning_economics.evaluation.results import (
    SUMMARY_NAME,
    ResultsWriter,
    changed_during_run,
    environment_at,
    prepare_run_dir,
    read_units,
    unit_mismatch,
    write_output_json,
)
from reasoning_economics.evaluation.summary import summarize
from reasoning_economics.policies.base import Policy


def resolve_tokenizer(config: EvalConfig, policy: Policy) -> str:
    """The tokenizer the environment counts with: ``--tokenizer``, else the policy's own, else
    the default vocabulary."""
    from reasoning_economics import tokens

    return config.tokenizer or getattr(policy, "tokenizer_name", None) or tokens.DEFAULT_TOKENIZER


def run_evaluation(
    config: EvalConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    policy: Policy | None = None,
    console: Any = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run ``config`` into ``out_dir`` and return the summary (also written to ``summary.json``).

    ``policy`` overrides ``config.policy`` with a ready policy object (the caller closes it);
    otherwise the policy is created from the spec and closed at the end.
    """
    from reasoning_economics import __version__, tokens

    out_dir = Path(out_dir)
    mode = create_mode(config.mode)
    owns_policy = policy is None
    if policy is None:
        from reasoning_economics.policies import create_policy

        policy = create_policy(config.policy, **config.policy_options)
    try:
        check_policy_runs_in_mode(config, policy)
        mode.check_policy(policy)
        tokenizer_name = resolve_tokenizer(config, policy)
        counter = tokens.get_counter(tokenizer_name)
        run_config = {
            **config.identity(),
            "name": out_dir.name,
            "tokenizer_name": tokenizer_name,
            "policy_name": getattr(policy, "name", config.policy),
            "version": __version__,
        }
        if config.mode == "anytime":
            run_config["anytime_budgets"] = mode.support(config)
        source = None
        if not config.server:
            from reasoning_economics.problems import create_source

            # Loaded before the run folder is made, so a missing, empty or malformed dataset
            # leaves none behind (sources are cached: the environment reuses this one).
            source = create_source(config.dataset)
        if config.mode == "episode":
            # What the environment (a server's settings win over the command line's) gives
            # unit 0, learnt before the run folder is made: an unreachable server or a refused
            # token fails here, and --resume compares it with what made the units on disk.
            first_episode = describe_first_episode(config, tokenizer_name)
            run_config["first_episode"] = first_episode
            run_config["questions"] = first_episode["num_questions"]
        else:
            # Unit 0's questions, drawn before the run folder is made (a dataset with too few
            # problems fails here): --resume compares the first with the one on disk, so a
            # dataset file changed under the same name cannot mix two question sets in one run.
            from reasoning_economics.problems import sample_episode

            run_config["first_episode"] = {
                "seed": config.seed,
                "num_questions": config.questions,
                "first_question": sample_episode(source, config.questions, config.seed)[0].question,
            }
        done = prepare_run_dir(out_dir, run_config, resume=resume)
        done_indices = {unit["index"] for unit in done}
        # Produced as the mode asks for them: a list of every index took memory for units
        # not yet run (13 GB for a billion episodes before the first one started).
        todo = (i for i in range(config.episodes) if i not in done_indices)
        todo_count = config.episodes - sum(1 for i in done_indices if i < config.episodes)
        with ResultsWriter(out_dir) as writer, _progress(console, show_progress) as progress:
            task = progress.add_task(
                escape(f"{config.mode} {config.policy[:24]}"),  # a policy spec is text, not markup
                total=todo_count * mode.answers_per_unit(config),
            )
            context = RunContext(
                config=config,
                policy=policy,
                tokenizer_name=tokenizer_name,
                counter=counter,
                emit=lambda record: _save_unit(writer, record, run_config),
                advance=lambda n: progress.advance(task, n),
                add_total=lambda n: progress.update(task, total=progress.tasks[0].total + n) if n else None,
                _source=source,
                env_config_digest=run_config.get("first_episode", {}).get("env_config_digest"),
            )
            mode.run(context, todo)
        units = read_units(out_dir)
        summary = summarize(units, run_config)
        write_output_json(out_dir / SUMMARY_NAME, summary)
        return summary
    finally:
        if owns_policy:
            policy.close()


def check_policy_runs_in_mode(config: EvalConfig, policy: Policy) -> None:
    """Raise :class:`ConfigError` when ``policy`` cannot run in ``config.mode``, before the run
    directory is made (the mode itself would only find out at the first answer, leaving a run
    behind that can never finish)."""
    name = getattr(policy, "name", config.policy)
    modes = getattr(policy, "eval_modes", None)
    if modes is not None and config.mode not in modes:
        raise ConfigError(
            f"policy {name!r} only runs in --mode {' or '.join(modes)}: it spends from the episode's shared "
            f"budget, which --mode {config.mode} does not have (use --mode episode, or another policy)"
        )


def describe_first_episode(config: EvalConfig, tokenizer_name: str) -> dict[str, Any]:
    """Reset unit 0's episode (seed ``config.seed``) and describe what it holds: what the
    environment, in-process or on the server, serves this run's units."""
    from reasoning_economics.evaluation.modes.episode import open_session

    session = open_session(config, tokenizer_name)
    try:
        observation = session.reset(config.seed)
    finally:
        session.close()
    meta = observation.metadata
    missing = [key for key in ("num_questions", "total_budget") if key not in meta]
    if missing:
        raise ServerError(
            f"{environment_at(config.server)} answered a reset without metadata {', '.join(missing)}, which "
            "ree eval records; is it a reasoning-economics server?",
            code="INVALID_REPLY",
        )
    return {
        "seed": config.seed,
        "num_questions": meta["num_questions"],
        "total_budget": meta["total_budget"],
        "budget_source": meta.get("budget_source"),
        "tokenizer_name": meta.get("tokenizer_name"),
        "first_question": observation.question,
        # The fingerprint of all the environment's settings (reward weights, budget mode,
        # dataset, ...), which a server exposes no other way; None from servers before it.
        "env_config_digest": meta.get("env_config_digest"),
    }


def _save_unit(writer: ResultsWriter, record: dict[str, Any], run_config: dict[str, Any]) -> None:
    problem = unit_mismatch(record, run_config)
    if problem is not None:
        # Appending it would mix two kinds of episode in one file, and every mean over them.
        raise changed_during_run(record["index"], problem, run_config.get("server"), writer.path)
    writer.append(record)


def _progress(console: Any, enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("answers"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )
