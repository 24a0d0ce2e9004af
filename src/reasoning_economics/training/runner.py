"""``train(config)``: assemble model, environment, recipe and ``EnvGRPOTrainer``, then train.

A run directory holds::

    train_config.json      the resolved TrainConfig (what ``--resume`` continues with)
    train_log.jsonl        one line per logging step (see reasoning_economics.training.logs)
    checkpoint-<step>/     TRL/transformers checkpoints (model, optimizer, scheduler, RNG, state)
    final/                 the trained model (or LoRA adapter) and tokenizer
    train_summary.json     steps, wall time, the last log line
    runs/                  TensorBoard events, when tensorboard is installed
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError, require
from reasoning_economics.evaluation.results import make_output_dir
from reasoning_economics.jsonl import write_json
from reasoning_economics.training.config import CONFIG_NAME, TrainConfig
from reasoning_economics.training.logs import TRAIN_LOG_NAME, make_jsonl_callback, read_training_log


@dataclass(frozen=True)
class TrainResult:
    """Where a finished run put its outputs, and how long it took."""

    output_dir: Path
    log_path: Path
    final_dir: Path
    checkpoints: list[Path]
    global_step: int
    steps_trained: int
    wall_time_s: float
    last_log: dict[str, Any] | None


def _precision(config: TrainConfig, cuda: bool) -> dict[str, bool]:
    if config.precision == "auto":
        import torch

        bf16 = cuda and torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": False}
    if config.precision in ("bf16", "fp16") and not cuda:
        raise ConfigError(f"precision {config.precision!r} needs a GPU; use fp32 on CPU")
    return {"bf16": config.precision == "bf16", "fp16": config.precision == "fp16"}


def _use_cuda(config: TrainConfig) -> bool:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no GPU is available")
    return config.device != "cpu" and torch.cuda.is_available()


def check_output_dir(output_dir: Path) -> None:
    """Raise :class:`ConfigError` when ``output_dir`` cannot become the run directory: it is a
    file, lies under a file, or its nearest existing folder is not writable.

    Creates nothing, so a bad ``-o`` fails at once, before seconds of imports and model loading,
    and a run that fails on another setting later leaves no empty folder behind.
    """
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"output_dir {str(output_dir)!r} exists and is not a directory")
    existing = output_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"output_dir {str(output_dir)!r}: {str(existing)!r} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"output_dir {str(output_dir)!r}: cannot create it in {str(existing)!r} (not writable)")


def holds_a_training_run(output_dir: Path) -> bool:
    """Whether ``output_dir`` holds a run's log lines or checkpoints.

    Settings alone (``train_config.json``, written when training begins) are a run that died
    before it logged or saved anything: nothing to lose and nothing to resume, so a new start
    may reuse the directory (refusing it left a folder neither a start nor --resume accepted).
    """
    if not output_dir.is_dir():
        return False
    if any(output_dir.glob("checkpoint-*")):
        return True
    log = output_dir / TRAIN_LOG_NAME
    if not log.exists():
        return False
    try:
        with log.open() as handle:
            return any(line.strip() for line in handle)
    except OSError:
        return True  # unreadable: not known to be empty, so not overwritten


def complete_checkpoints(output_dir: Path) -> list[Path]:
    """The ``checkpoint-<step>`` folders of ``output_dir`` that hold a ``trainer_state.json``, by step.

    The trainer writes that file after the weights and optimizer: a Ctrl-C while it saved left
    a folder without it, which --resume picked as the latest and then could not read."""
    if not output_dir.is_dir():
        return []
    found = (
        path for path in output_dir.glob("checkpoint-*")
        if path.name.split("-")[-1].isdigit() and (path / "trainer_state.json").is_file()
    )  # fmt: skip
    return sorted(found, key=lambda path: int(path.name.split("-")[-1]))


def resumes_from_latest(config: TrainConfig) -> bool:
    """Whether ``config`` resumes from its output directory's last checkpoint (``--resume``), not
    from a checkpoint it names (``--resume-from``) nor not at all."""
    return config.resume is True or config.resume in ("true", "latest")


def _resume_checkpoint(config: TrainConfig, output_dir: Path) -> str | None:
    if config.resume is False:
        return None
    if not resumes_from_latest(config):
        path = Path(config.resume)
        if not path.is_dir():
            raise ConfigError(f"checkpoint {config.resume!r} does not exist")
        return str(path)
    checkpoints = complete_checkpoints(output_dir)
    if checkpoints:
        return str(checkpoints[-1])
    if starts_over_on_resume(output_dir):
        return None
    raise ConfigError(f"--resume: no complete checkpoint-* directory in {str(output_dir)!r}, and no run settings to start over with")


def starts_over_on_resume(output_dir: Path) -> bool:
    """Whether ``--resume`` in ``output_dir`` trains from step 0: the run stored its settings but
    was stopped before its first complete checkpoint.

    Its log lines stay; the run logs the same steps again and :func:`read_training_log` keeps
    the last line per step. (A start refused such a folder as holding a run, and --resume as
    holding no checkpoint, so neither could go on.)"""
    return (output_dir / CONFIG_NAME).is_file() and not complete_checkpoints(output_dir)


def checkpoint_step(checkpoint: str | None) -> int:
    """The step a checkpoint was saved at (its ``trainer_state.json``), 0 for none."""
    if checkpoint is None:
        return 0
    try:
        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
        return int(state["global_step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--resume: cannot read the step of checkpoint {checkpoint!r}: {exc}") from None


def episode_budget(config: TrainConfig, recipe: Any) -> int | None:
    """The total budget every episode is reset with: ``total_budget`` when set; for a
    single-question recipe, its per-response limit (the environment's own budget, budget_ratio x
    the question's tokens, capped responses near 4x the question instead); else None (the
    environment's)."""
    if config.total_budget is not None:
        return config.total_budget
    return recipe.max_step_tokens if recipe.single_question else None


def _check_server_serves_one_question(config: TrainConfig) -> None:
    """Raise :class:`ConfigError` unless the server at ``env_url`` serves episodes of one
    question, as a single-question recipe needs. In-process such a recipe sets the number itself;
    a server's own applies, and the rollout played whole episodes of it with the budget of one
    answer, silently. One reset, before the model loads."""
    from reasoning_economics.training.sessions import RemoteSession

    session = RemoteSession(config.env_url)
    try:
        turn = session.reset(seed=config.seed, tokenizer_name=config.env_tokenizer, total_budget=None)
    finally:
        session.close()
    served = turn.metadata.get("num_questions")
    if isinstance(served, int) and served != 1:
        raise ConfigError(
            f"recipe {config.recipe!r} plays one question per episode, but the server at {config.env_url} "
            f"serves episodes of {served}: start it with num_questions = 1 in its --config"
        )


def build_trainer(config: TrainConfig) -> tuple[Any, Any]:
    """The ``EnvGRPOTrainer`` and the episode rollout for ``config`` (nothing trained yet)."""
    from reasoning_economics.training.recipes import build_recipe

    # The recipe is checked before anything slow (TRL's import, the model): a bad recipe
    # setting then fails in a second instead of after the model has loaded.
    recipe = build_recipe(config)
    require("trl", "train")
    require("datasets", "train")
    from trl import GRPOConfig

    from reasoning_economics.env import SYSTEM_PROMPT, EnvConfig
    from reasoning_economics.problems import create_source
    from reasoning_economics.training.episodes import EpisodeOptions
    from reasoning_economics.training.models import load_policy, lora_config
    from reasoning_economics.training.rollout import EpisodeRollout, episode_dataset
    from reasoning_economics.training.sessions import SessionPool, session_factory
    from reasoning_economics.training.trainer import EnvGRPOTrainer
    output_dir = Path(config.output_dir)
    cuda = _use_cuda(config)
    precision = _precision(config, cuda)
    if config.use_vllm:
        # Checked before anything is loaded: a missing vLLM names its extra, then the GPU.
        require("vllm", "vllm")
        if not cuda:
            raise ConfigError("--use-vllm needs a GPU; on CPU, training generates with transformers")
    env_values = dict(config.env)
    env_values["num_questions"] = 1 if recipe.single_question else config.num_questions
    # The prompt tells the policy its per-answer limit; make it the limit it really gets.
    env_values.setdefault("max_tokens_per_step", recipe.max_step_tokens)
    env_config = None if config.env_url else EnvConfig(**env_values)
    if env_config is not None:
        # Built now (sources are cached, so the environment reuses it), before the model loads:
        # a missing or empty dataset failed at the first step, after the run folder was made.
        create_source(env_config.dataset, **env_config.dataset_config)
    elif recipe.single_question:
        _check_server_serves_one_question(config)
    # /sys, /proc, a full or read-only disk: what check_output_dir cannot foresee.
    make_output_dir(output_dir, option="output_dir")

    policy = load_policy(config.model, trust_remote_code=config.trust_remote_code)

    counting_name = config.env_tokenizer or policy.counting_name
    if counting_name is None and config.env_url is None:
        # The environment counts tokens in the policy's own tokenizer, saved where it can load it.
        tokenizer_dir = output_dir / "policy_tokenizer"
        policy.tokenizer.save_pretrained(tokenizer_dir)
        counting_name = str(tokenizer_dir.resolve())
    sessions = SessionPool(session_factory(env_config, config.env_url))
    options = EpisodeOptions(
        max_step_tokens=recipe.max_step_tokens,
        tokenizer_name=counting_name,
        total_budget=episode_budget(config, recipe),
        feedback=config.observation_feedback,
    )
    system_prompt = SYSTEM_PROMPT if config.system_prompt == "default" else config.system_prompt
    rollout = EpisodeRollout(sessions, options, plan=recipe.plan, shaping=recipe.shaping, system_prompt=system_prompt)

    group_completions = config.groups_per_step * config.num_generations  # TrainConfig checked it divides
    episode_tokens = recipe.max_step_tokens * env_values["num_questions"]
    if config.recipe == "reflection":
        episode_tokens += config.revision_answer_tokens
    args = GRPOConfig(
        output_dir=str(output_dir),
        max_steps=config.steps,
        per_device_train_batch_size=group_completions // config.gradient_accumulation_steps,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_generations=config.num_generations,
        num_iterations=config.num_iterations,
        max_completion_length=episode_tokens,
        learning_rate=config.learning_rate,
        beta=config.beta,
        epsilon=config.epsilon,
        max_grad_norm=config.max_grad_norm,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        reward_weights=recipe.reward_weights,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k or None,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps or config.steps,
        save_total_limit=config.save_total_limit,
        report_to=["tensorboard"] if importlib.util.find_spec("tensorboard") else [],
        seed=config.seed,
        use_cpu=not cuda,
        gradient_checkpointing=config.gradient_checkpointing,
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        vllm_server_base_url=config.vllm_server_base_url,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        log_completions=config.log_completions,
        # In dataset order, episode k is seed + k whatever the dataset's size; TRL's shuffle
        # permuted by size, so a run resumed with a larger --steps repeated some seeds and
        # skipped others instead of training those an uninterrupted run trains.
        shuffle_dataset=False,
        dataloader_num_workers=0,
        **precision,
    )
    dataset = episode_dataset(config.steps * config.groups_per_step, base_seed=config.seed)
    peft_config = (
        lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
        if config.lora
        else None
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using 'rollout_func'")
        trainer = EnvGRPOTrainer(
            model=policy.model,
            reward_funcs=recipe.reward_funcs,
            args=args,
            train_dataset=dataset,
            processing_class=policy.tokenizer,
            rollout_func=rollout,
            peft_config=peft_config,
            callbacks=[make_jsonl_callback(output_dir / TRAIN_LOG_NAME), _scheduled_learning_rate_callback()],
            advantage=recipe.advantage,
            brpo_prior=recipe.brpo_prior,
            extra_metrics=recipe.extra_metrics,
        )
    return trainer, rollout


def _scheduled_learning_rate_callback() -> Any:
    """A callback that sets each parameter group's learning rate to the rebuilt scheduler's
    value when training begins, after a resumed checkpoint has loaded.

    The checkpoint's optimizer holds the learning rate its own schedule reached (0 at the end of
    a linear one), and the first resumed step used it before the scheduler, rebuilt for the new
    ``steps``, stepped once. ``base_lr x lr_lambda(last_epoch)`` is what an uninterrupted run of
    ``steps`` uses at that step. On a fresh run it is the rate already set.
    """
    from transformers import TrainerCallback

    class ScheduledLearningRate(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            optimizer, scheduler = kwargs.get("optimizer"), kwargs.get("lr_scheduler")
            scheduler = getattr(scheduler, "scheduler", scheduler)  # accelerate may wrap it
            lr_lambdas = getattr(scheduler, "lr_lambdas", None)
            if optimizer is None or not lr_lambdas:
                return
            rates = [base * rate(scheduler.last_epoch) for base, rate in zip(scheduler.base_lrs, lr_lambdas)]
            for group, rate in zip(optimizer.param_groups, rates):
                group["lr"] = rate
            # What the trainer logs as the step's learning_rate (get_last_lr) until the scheduler steps.
            scheduler._last_lr = rates

    return ScheduledLearningRate()


def _save_config_callback(config: TrainConfig, path: Path) -> Any:
    """A callback that stores ``config`` at ``path`` when training begins: after a resumed run's
    checkpoint has loaded (a checkpoint that does not fit leaves the stored settings alone), and
    before the first step (a run stopped at any step can be resumed with them)."""
    from transformers import TrainerCallback

    class SaveTrainConfig(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                config.save(path)

    return SaveTrainConfig()


def _result(output_dir: Path, global_step: int, *, steps_trained: int, wall: float) -> TrainResult:
    log_path = output_dir / TRAIN_LOG_NAME
    records = read_training_log(log_path) if log_path.is_file() else []
    return TrainResult(
        output_dir=output_dir,
        log_path=log_path,
        final_dir=output_dir / "final",
        checkpoints=sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1])),
        global_step=global_step,
        steps_trained=steps_trained,
        wall_time_s=wall,
        last_log=records[-1] if records else None,
    )


def train(config: TrainConfig) -> TrainResult:
    """Run ``config`` to the end (resuming when asked) and save the final model; see the module docstring."""
    output_dir = Path(config.output_dir)
    check_output_dir(output_dir)
    if config.resume is False and holds_a_training_run(output_dir):
        # Starting over in it overwrote the run's train_config.json and appended a second
        # experiment's lines to its train_log.jsonl, as ree eval refuses to do with results.
        raise ConfigError(
            f"output_dir {str(output_dir)!r} already holds a training run; pass --resume to continue it, "
            "or choose another -o"
        )
    resume_from = _resume_checkpoint(config, output_dir)
    resumed_at = checkpoint_step(resume_from)
    if resumed_at >= config.steps:
        # Loading the model to train nothing rewrote final/ and said "trained 1 steps".
        return _result(output_dir, resumed_at, steps_trained=0, wall=0.0)
    started = time.monotonic()
    trainer, rollout = build_trainer(config)
    trainer.add_callback(_save_config_callback(config, output_dir / CONFIG_NAME))
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    except RuntimeError as exc:
        if resume_from is None or "loading state_dict" not in str(exc):
            raise
        what = " ".join(line.strip() for line in str(exc).strip().splitlines()[:2])[:300]
        raise ConfigError(
            f"checkpoint {resume_from!r} does not fit model {config.model!r} ({what}); "
            "resume with the model the checkpoint was trained from"
        ) from None
    finally:
        rollout.close()
    final_dir = output_dir / "final"
    trainer.save_model(str(final_dir))
    trainer.processing_class.save_pretrained(str(final_dir))
    wall = time.monotonic() - started
    step = trainer.state.global_step
    result = _result(output_dir, step, steps_trained=step - resumed_at, wall=wall)
    summary = {
        "global_step": result.global_step,
        "wall_time_s": round(wall, 2),
        "resumed_from": resume_from,
        "checkpoints": [p.name for p in result.checkpoints],
        "last_log": result.last_log,
    }
    write_json(output_dir / "train_summary.json", summary, sort_keys=True)
    return result
