"""``ree train``: GRPO training in the environment (TRL), configured from the CLI and/or a file."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional

import typer

from reasoning_economics.cli_options import given_on_command_line
from reasoning_economics.errors import ConfigError, ReasoningEconomicsError
from reasoning_economics.training.config import TrainConfig

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
"""What ``--help`` shows as each option's default: TrainConfig's own."""


def train(
    ctx: typer.Context,
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML, TOML or JSON file of settings."),
    model: str = typer.Option(_DEFAULTS["model"], help="'smollm2' (embedded), a model directory, or a hub id."),
    recipe: str = typer.Option(_DEFAULTS["recipe"], help="episode | length | reflection | anytime."),
    steps: int = typer.Option(
        _DEFAULTS["steps"], help="Optimizer steps to run, in all (a resumed run counts the steps already done)."
    ),
    output_dir: Path = typer.Option(
        Path(_DEFAULTS["output_dir"]), "--output-dir", "-o", help="Run directory (logs, checkpoints)."
    ),
    seed: int = typer.Option(_DEFAULTS["seed"], help="Base seed: episode seeds and the trainer's RNG."),
    num_generations: int = typer.Option(
        _DEFAULTS["num_generations"], "--num-generations", "-G", help="Episodes per group (G)."
    ),
    groups_per_step: int = typer.Option(
        _DEFAULTS["groups_per_step"], help="Groups (distinct seeds) per optimizer step."
    ),
    num_questions: int = typer.Option(_DEFAULTS["num_questions"], help="Questions per episode (episode recipe; not with --env-url, whose server's number applies)."),
    max_step_tokens: int = typer.Option(_DEFAULTS["max_step_tokens"], help="Most tokens per response."),
    learning_rate: float = typer.Option(_DEFAULTS["learning_rate"], help="AdamW learning rate."),
    advantage: Optional[str] = typer.Option(
        None, help="grpo | rloo | reward_to_go | brpo.", show_default="the recipe's"
    ),
    env_url: Optional[str] = typer.Option(
        None, help="Train against a `ree serve` URL (its environment settings apply; the single-question recipes need num_questions = 1 there).", show_default="none: the environment runs in-process"
    ),
    env_tokenizer: Optional[str] = typer.Option(
        None, help="Tokenizer name the environment counts with.", show_default="the policy's"
    ),
    total_budget: Optional[int] = typer.Option(
        None, help="Fixed token budget per episode.", show_default="the environment's, per episode"
    ),
    use_vllm: bool = typer.Option(_DEFAULTS["use_vllm"], "--use-vllm/--no-vllm", help="Generate with vLLM (GPU)."),
    vllm_mode: str = typer.Option(_DEFAULTS["vllm_mode"], help="colocate | server."),
    vllm_server_base_url: Optional[str] = typer.Option(
        None, "--vllm-server-url", help="vLLM server (server mode).", show_default="TRL's"
    ),
    lora: bool = typer.Option(_DEFAULTS["lora"], "--lora/--no-lora", help="Train a LoRA adapter (peft)."),
    gradient_checkpointing: bool = typer.Option(
        _DEFAULTS["gradient_checkpointing"], "--gradient-checkpointing/--no-gradient-checkpointing",
        help="Trade compute for memory.", show_default="on",  # the flag's name is cut short at 80 columns
    ),
    precision: str = typer.Option(_DEFAULTS["precision"], help="auto | fp32 | bf16 | fp16."),
    resume: bool = typer.Option(
        False, "--resume",
        help="Resume from the last checkpoint in the output directory with the run's stored settings: a "
        "setting left out keeps the run's value (not the default shown here); one given with another value "
        "is refused, except the step count and the saving, logging and memory settings. A run stopped before "
        "its first checkpoint starts over from step 0.",
    ),
    resume_from: Optional[Path] = typer.Option(
        None, help="Resume from this checkpoint directory (settings as with --resume)."
    ),
    assignments: list[str] = typer.Option([], "--set", help="Any other setting: KEY=VALUE (repeatable; env.KEY too)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved settings and exit."),
) -> None:
    """Train a policy with GRPO on whole shared-budget episodes (TRL GRPOTrainer + rollout_func)."""
    # Before torch loads OpenMP: its busy-waiting threads make CPU generation up to ~10x slower
    # when the cores are shared with other work (SmolLM2, 64 tokens, 2 busy cores: 113 s active
    # vs 8 s passive). An explicit OMP_WAIT_POLICY wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from reasoning_economics.training.config import given_settings, parse_assignment, resume_config, resume_wanted

    # Only the options given on the command line: the ones left out are filled by --config and
    # --set, then by the run's stored settings on resume, then by TrainConfig's defaults.
    flags = {
        "model": model,
        "recipe": recipe,
        "steps": steps,
        "output_dir": None if output_dir is None else str(output_dir),
        "seed": seed,
        "num_generations": num_generations,
        "groups_per_step": groups_per_step,
        "num_questions": num_questions,
        "max_step_tokens": max_step_tokens,
        "learning_rate": learning_rate,
        "advantage": advantage,
        "env_url": env_url,
        "env_tokenizer": env_tokenizer,
        "total_budget": total_budget,
        "use_vllm": use_vllm,
        "vllm_mode": vllm_mode,
        "vllm_server_base_url": vllm_server_base_url,
        "lora": lora,
        "gradient_checkpointing": gradient_checkpointing,
        "precision": precision,
        "resume": str(resume_from) if resume_from is not None else (True if resume else None),
    }
    given = {name for name in flags if given_on_command_line(ctx, name)}
    given |= {"resume"} if resume_from is not None else set()
    flags = {name: value for name, value in flags.items() if name in given and value is not None}
    try:
        overrides: dict = {}
        for text in assignments:
            key, value = parse_assignment(text)
            if key == "env":
                if not isinstance(value, dict):
                    raise ConfigError(f"--set env=... must be a mapping of EnvConfig fields, got {value!r}")
                overrides["env"] = {**overrides.get("env", {}), **value}
            else:
                overrides[key] = value
        overrides.update(flags)
        values = given_settings(config_file, overrides)
        # Resuming: what is left out comes from the run's train_config.json, not the defaults.
        config = resume_config(values) if resume_wanted(values) else TrainConfig.from_mapping(values)
        from reasoning_economics.training.recipes import build_recipe, ignored_settings

        # Checked before --print-config too: a settings file it printed was refused at the start.
        build_recipe(config)
        if print_config:  # its output is the settings' JSON alone, for other programs to read
            import json

            typer.echo(json.dumps(config.to_dict(), indent=2, sort_keys=True))
            return
        for name in ignored_settings(config):
            typer.echo(f"warning: {name}={getattr(config, name)!r} is ignored: recipe {config.recipe!r} does not read it", err=True)
        from reasoning_economics.training.runner import resumes_from_latest, starts_over_on_resume, train as run_training

        if resumes_from_latest(config) and starts_over_on_resume(Path(config.output_dir)):
            typer.echo(
                f"note: the run in {config.output_dir} saved no checkpoint before it stopped; "
                "it starts over from step 0 with its stored settings",
                err=True,
            )
        try:
            result = run_training(config)
        except KeyboardInterrupt:
            typer.echo(_interrupted_hint(Path(config.output_dir), config.steps), err=True)
            raise typer.Exit(130) from None
    except ReasoningEconomicsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if result.steps_trained == 0:
        typer.echo(
            f"nothing to train: the run is already at step {result.global_step} of --steps {config.steps} "
            "(pass a larger --steps to train further)"
        )
        return
    trained = f"{result.steps_trained} step{'s' if result.steps_trained != 1 else ''}"
    to_step = f", to step {result.global_step}" if result.global_step != result.steps_trained else ""
    typer.echo(f"trained {trained}{to_step} in {result.wall_time_s:.1f} s")
    typer.echo(f"log:         {result.log_path}")
    typer.echo(f"checkpoints: {', '.join(str(p) for p in result.checkpoints) or 'none'}")
    typer.echo(f"final model: {result.final_dir}")
    if result.last_log:
        last = result.last_log
        shown = ("reward", "accuracy", "tokens_per_question", "budget_utilization", "episode_length")
        typer.echo("last step:   " + ", ".join(f"{k}={last[k]:.4g}" for k in shown if last.get(k) is not None))


def _interrupted_hint(output_dir: Path, steps: int) -> str:
    """What to do after Ctrl-C: resume from the last checkpoint, when there is one, towards the
    same ``steps`` (the run's stored ones are those of the run's last start, which may be fewer)."""
    from reasoning_economics.training.runner import complete_checkpoints, starts_over_on_resume

    checkpoints = complete_checkpoints(output_dir)
    if starts_over_on_resume(output_dir):
        return (
            f"interrupted: no checkpoint was saved in {output_dir} yet; start the run over with "
            f"ree train -o {output_dir} --resume --steps {steps} (the run's stored settings apply)"
        )
    if not checkpoints:
        return f"interrupted: no checkpoint was saved in {output_dir} yet, so there is nothing to resume"
    return (
        f"interrupted: the last checkpoint is {checkpoints[-1]}; continue with "
        f"ree train -o {output_dir} --resume --steps {steps} (the run's stored settings apply to the rest)"
    )
