"""``ree train``: GRPO training in the environment (TRL), configured from the CLI and/or a file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from reasoning_economics.errors import ConfigError, ReasoningEconomicsError


def train(
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML, TOML or JSON file of settings."),
    model: Optional[str] = typer.Option(None, help="'smollm2' (embedded), a model directory, or a hub id."),
    recipe: Optional[str] = typer.Option(None, help="episode | length | reflection | anytime."),
    steps: Optional[int] = typer.Option(None, help="Optimizer steps to run."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="Run directory (logs, checkpoints)."),
    seed: Optional[int] = typer.Option(None, help="Base seed: episode seeds and the trainer's RNG."),
    num_generations: Optional[int] = typer.Option(None, "--num-generations", "-G", help="Episodes per group (G)."),
    groups_per_step: Optional[int] = typer.Option(None, help="Groups (distinct seeds) per optimizer step."),
    num_questions: Optional[int] = typer.Option(None, help="Questions per episode (episode recipe)."),
    max_step_tokens: Optional[int] = typer.Option(None, help="Most tokens per response."),
    learning_rate: Optional[float] = typer.Option(None, help="AdamW learning rate."),
    advantage: Optional[str] = typer.Option(None, help="grpo | rloo | reward_to_go | brpo; by default the recipe's."),
    env_url: Optional[str] = typer.Option(None, help="Train against a `ree serve` URL instead of in-process."),
    env_tokenizer: Optional[str] = typer.Option(None, help="Tokenizer name the environment counts with."),
    total_budget: Optional[int] = typer.Option(None, help="Fixed token budget per episode."),
    use_vllm: Optional[bool] = typer.Option(None, "--use-vllm/--no-vllm", help="Generate with vLLM (GPU)."),
    vllm_mode: Optional[str] = typer.Option(None, help="colocate | server."),
    vllm_server_base_url: Optional[str] = typer.Option(None, "--vllm-server-url", help="vLLM server (server mode)."),
    lora: Optional[bool] = typer.Option(None, "--lora/--no-lora", help="Train a LoRA adapter (peft)."),
    gradient_checkpointing: Optional[bool] = typer.Option(
        None, "--gradient-checkpointing/--no-gradient-checkpointing", help="Trade compute for memory."
    ),
    precision: Optional[str] = typer.Option(None, help="auto | fp32 | bf16 | fp16."),
    resume: bool = typer.Option(False, "--resume", help="Resume from the last checkpoint in the output directory."),
    resume_from: Optional[Path] = typer.Option(None, help="Resume from this checkpoint directory."),
    assignments: list[str] = typer.Option([], "--set", help="Any other setting: KEY=VALUE (repeatable; env.KEY too)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved settings and exit."),
) -> None:
    """Train a policy with GRPO on whole shared-budget episodes (TRL GRPOTrainer + rollout_func)."""
    # Before torch loads OpenMP: its busy-waiting threads make CPU generation up to ~10x slower
    # when the cores are shared with other work (SmolLM2, 64 tokens, 2 busy cores: 113 s active
    # vs 8 s passive). An explicit OMP_WAIT_POLICY wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from reasoning_economics.training.config import TrainConfig, parse_assignment

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
        overrides.update({k: v for k, v in flags.items() if v is not None})
        config = TrainConfig.load(config_file, overrides)
        if print_config:
            import json

            typer.echo(json.dumps(config.to_dict(), indent=2, sort_keys=True))
            return
        from reasoning_economics.training.recipes import ignored_settings
        from reasoning_economics.training.runner import train as run_training

        for name in ignored_settings(config):
            typer.echo(f"warning: {name}={getattr(config, name)!r} is ignored: recipe {config.recipe!r} does not read it", err=True)
        result = run_training(config)
    except ReasoningEconomicsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"trained {result.global_step} steps in {result.wall_time_s:.1f} s")
    typer.echo(f"log:         {result.log_path}")
    typer.echo(f"checkpoints: {', '.join(str(p) for p in result.checkpoints) or 'none'}")
    typer.echo(f"final model: {result.final_dir}")
    if result.last_log:
        last = result.last_log
        shown = ("reward", "accuracy", "tokens_per_question", "budget_utilization", "episode_length")
        typer.echo("last step:   " + ", ".join(f"{k}={last[k]:.4g}" for k in shown if last.get(k) is not None))
