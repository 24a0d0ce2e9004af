"""``TrainConfig``: every setting of ``ree train``, from the CLI, a YAML/TOML file, or Python.

A config file holds the same keys as the dataclass (flat), for example::

    # train.yaml
    model: smollm2
    recipe: episode
    steps: 50
    num_generations: 8
    num_questions: 5
    env:            # any EnvConfig field
      hard_cap_mode: true
      dataset: builtin

Values given on the command line override the file's, which override the defaults.

Resuming (``resume`` set) starts instead from the run's stored ``train_config.json``
(:func:`resume_config`): settings left out keep their stored values, settings given that
differ from them are refused, except the few of :data:`RESUME_MAY_CHANGE`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_economics.config_files import read_config_file
from reasoning_economics.errors import ConfigError, validation_problems
from reasoning_economics.jsonl import write_json
from reasoning_economics.server_url import check_server_url

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
VLLM_MODES = ("colocate", "server")
SCALE_REWARDS = ("group", "batch", "none")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")
ADVANTAGE_ESTIMATORS = ("grpo", "rloo", "reward_to_go", "brpo")
CONFIG_NAME = "train_config.json"
MAX_SEED = 2**32 - 1
"""numpy's seeding takes no more: 2^32 passed and failed after the model had loaded."""
MAX_STEPS = 1_000_000
"""The episode dataset holds a seed per group of every step: a billion steps filled 24 GB."""
"""The resolved settings a run stores in its directory (read back by ``--resume``)."""
RESUME_MAY_CHANGE = (
    "steps", "save_steps", "save_total_limit", "logging_steps", "log_completions",
    "gradient_checkpointing", "vllm_server_base_url", "vllm_gpu_memory_utilization",
)  # fmt: skip
"""Settings a resumed run may give new values: how long to train, how often to log and save,
and how to spend memory or reach the vLLM server. Every other setting decides what is trained
and must stay the run's (``output_dir`` and ``resume`` say where and whether to resume)."""


@dataclass
class TrainConfig:
    """Settings of one training run. Defaults are small enough for a CPU smoke run.

    Groups: what to train (model, recipe, steps), the environment (num_questions, env, env_url,
    total_budget), generation, GRPO, recipe knobs, backend (vLLM, LoRA, precision) and output.
    """

    # what to train
    model: str = "smollm2"
    recipe: str = "episode"
    steps: int = 100
    seed: int = 0
    # the environment
    num_questions: int = 3
    env: dict[str, Any] = field(default_factory=dict)
    env_url: str | None = None
    env_tokenizer: str | None = None
    total_budget: int | None = None
    observation_feedback: bool = True
    system_prompt: str | None = "default"  # "default": the environment's SYSTEM_PROMPT; None: the template's
    # generation
    max_step_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    # GRPO
    num_generations: int = 4
    groups_per_step: int = 1
    gradient_accumulation_steps: int = 1
    num_iterations: int = 1
    learning_rate: float = 1e-5
    beta: float = 0.0
    epsilon: float = 0.2
    max_grad_norm: float = 1.0
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    advantage: str | None = None
    # recipes
    reflection_weight: float = 0.0
    length_alpha: float = 0.1
    revisions_per_group: int | None = None
    revision_answer_tokens: int = 256
    anytime_num_budgets: int = 4
    anytime_max_budget: int | None = None
    anytime_prior: str = "uniform"
    summaries_per_budget: int = 4
    summary_tokens: int = 118
    # backend
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    vllm_server_base_url: str | None = None
    vllm_gpu_memory_utilization: float = 0.3
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | str = "all-linear"
    gradient_checkpointing: bool = True
    precision: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    # output
    output_dir: str = "runs/train"
    save_steps: int | None = None
    save_total_limit: int | None = 2
    logging_steps: int = 1
    log_completions: bool = False
    resume: bool | str = False

    def __post_init__(self) -> None:
        positive = (
            "steps", "num_questions", "max_step_tokens", "num_generations", "groups_per_step",
            "gradient_accumulation_steps", "num_iterations", "revision_answer_tokens",
            "anytime_num_budgets", "summaries_per_budget", "summary_tokens", "lora_r", "lora_alpha",
            "logging_steps",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= {2 if name == 'num_generations' else 1}, got {value!r}")
        if self.num_generations < 2:
            raise ConfigError(
                f"num_generations must be >= 2: a GRPO group compares samples, got {self.num_generations}"
            )
        group_completions = self.groups_per_step * self.num_generations
        if group_completions % self.gradient_accumulation_steps:
            # Checked here, not when TRL builds its batches: that came after the model had loaded.
            raise ConfigError(
                f"groups_per_step x num_generations ({group_completions}) must be divisible by "
                f"gradient_accumulation_steps ({self.gradient_accumulation_steps})"
            )
        for name in ("save_steps", "total_budget", "anytime_max_budget", "revisions_per_group", "save_total_limit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be an integer >= 1 or unset, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be an integer from 0 to {MAX_SEED} (numpy seeds the trainer with it), got {self.seed!r}")
        if self.steps > MAX_STEPS:
            raise ConfigError(f"steps must be at most {MAX_STEPS:,}, got {self.steps!r}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int):
            raise ConfigError(f"top_k must be an integer, got {self.top_k!r}")
        for flag in dataclasses.fields(self):
            # A --set value is parsed from text: "maybe" is a string, not a switch.
            if flag.type == "bool" and not isinstance(getattr(self, flag.name), bool):
                raise ConfigError(f"{flag.name} must be true or false, got {getattr(self, flag.name)!r}")
        for name, low, high in (
            ("temperature", 0.0, 100.0),
            ("top_p", 0.0, 1.0),
            ("learning_rate", 0.0, 1.0),
            ("beta", 0.0, 100.0),
            ("epsilon", 0.0, 10.0),
            ("max_grad_norm", 0.0, 1e6),
            ("reflection_weight", 0.0, 100.0),
            ("length_alpha", 0.0, 1.0),
            ("lora_dropout", 0.0, 1.0),
            ("vllm_gpu_memory_utilization", 0.0, 1.0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ConfigError(f"{name} must be a number in [{low}, {high}], got {value!r}")
        if self.temperature == 0:
            raise ConfigError("temperature must be > 0: GRPO needs sampled, different responses")
        if self.top_k < 0:
            raise ConfigError(f"top_k must be >= 0 (0 disables it), got {self.top_k}")
        for name, allowed in (
            ("precision", PRECISIONS),
            ("vllm_mode", VLLM_MODES),
            ("scale_rewards", SCALE_REWARDS),
            ("loss_type", LOSS_TYPES),
            ("device", ("auto", "cpu", "cuda")),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        from reasoning_economics.rewards.anytime import BUDGET_PRIORS

        # Checked whatever the recipe: an unknown name is a mistake, not a knob another recipe reads.
        if self.anytime_prior not in BUDGET_PRIORS:
            raise ConfigError(
                f"anytime_prior: unknown budget prior {self.anytime_prior!r}; known: {', '.join(BUDGET_PRIORS)}"
            )
        if self.advantage is not None and self.advantage not in ADVANTAGE_ESTIMATORS:
            raise ConfigError(
                f"advantage must be one of {', '.join(ADVANTAGE_ESTIMATORS)} or unset (the recipe's); "
                f"got {self.advantage!r}"
            )
        if self.env_url is not None:  # before the model loads, not when the first rollout connects
            check_server_url(self.env_url, "env_url")
        if not isinstance(self.env, dict):
            raise ConfigError(f"env must be a mapping of EnvConfig fields, got {type(self.env).__name__}")
        if "num_questions" in self.env:
            raise ConfigError("set num_questions at the top level, not under env")
        if self.env_url is not None:
            self._refuse_server_owned_settings()
        for name in ("model", "recipe", "output_dir"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        from reasoning_economics.training.recipes import RECIPES  # here: the recipes read TrainConfig

        if self.recipe not in RECIPES:
            raise ConfigError(f"unknown recipe {self.recipe!r}; known: {', '.join(RECIPES)}")
        if self.recipe == "reflection" and self.revisions_per_group is not None:
            # Each revision rewrites its own original; the rollout found out only in the first step.
            if self.revisions_per_group > self.num_generations // 2:
                raise ConfigError(
                    f"revisions_per_group ({self.revisions_per_group}) must be at most num_generations // 2 "
                    f"({self.num_generations // 2}): each revision of a group needs its own original"
                )
        self._check_env()

    @property
    def response_token_limit(self) -> int:
        """The most tokens one response may take: the anytime recipe's largest budget
        (``anytime_max_budget``, by default ``max_step_tokens``), else ``max_step_tokens``."""
        if self.recipe == "anytime" and self.anytime_max_budget is not None:
            return self.anytime_max_budget
        return self.max_step_tokens

    def _refuse_server_owned_settings(self) -> None:
        """With ``env_url`` the server's environment settings apply: an ``env`` mapping or a
        ``num_questions`` of its own was silently ignored (as ``ree eval --server`` refuses ``--questions``)."""
        given = [f"env.{name}" for name in sorted(self.env)]
        if self.num_questions != TrainConfig.num_questions:
            given.insert(0, f"num_questions={self.num_questions}")
        if given:
            raise ConfigError(
                f"{', '.join(given)}: with env_url the server's environment settings apply, so these would be "
                "ignored; drop them, or start the server with them (ree serve --config env.toml)"
            )

    def _check_env(self) -> None:
        """The ``env`` settings checked as EnvConfig checks them, before any model is loaded
        (a misspelled field failed only after it, as a pydantic traceback)."""
        from pydantic import ValidationError

        from reasoning_economics.env.config import EnvConfig

        try:
            EnvConfig(**{**self.env, "num_questions": self.num_questions})
        except ValidationError as exc:
            raise ConfigError(f"invalid env settings: {validation_problems(exc, limit=5, field_prefix='env.')}") from None
        if "max_tokens_per_step" in self.env or self.env_url is not None:
            return  # the user's own limit, checked above, or a server's environment
        # The run gives the environment its per-response limit as max_tokens_per_step; one the
        # environment refuses was a pydantic traceback after the config had been accepted.
        try:
            EnvConfig(**{**self.env, "num_questions": self.num_questions, "max_tokens_per_step": self.response_token_limit})
        except ValidationError as exc:
            source = "anytime_max_budget" if self.response_token_limit != self.max_step_tokens else "max_step_tokens"
            problem = validation_problems(exc, limit=1).partition(": ")[2]
            raise ConfigError(
                f"{source}={self.response_token_limit} is not a per-response limit the environment accepts "
                f"(its max_tokens_per_step: {problem})"
            ) from None

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a flat mapping, rejecting unknown keys with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training setting(s) {unknown}; known: {', '.join(sorted(known))}")
        values = dict(values)
        for f in dataclasses.fields(cls):
            # YAML 1.1 reads "3e-6" as a string; a float setting means a number.
            if isinstance(f.default, float) and isinstance(values.get(f.name), str):
                try:
                    values[f.name] = float(values[f.name])
                except ValueError:
                    raise ConfigError(f"{f.name} must be a number, got {values[f.name]!r}") from None
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"invalid training settings: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
        """Defaults, then the file at ``path`` (YAML or TOML), then ``overrides``."""
        return cls.from_mapping(given_settings(path, overrides))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict(), sort_keys=True)


def _layer(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``values`` updated by ``overrides``; an ``env`` mapping is merged key by key."""
    values = dict(values)
    for key, value in overrides.items():
        if key == "env" and isinstance(value, dict) and isinstance(values.get("env"), dict):
            values["env"] = {**values["env"], **value}
        else:
            values[key] = value
    return values


def given_settings(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings given explicitly: the file at ``path``, then ``overrides`` (no defaults)."""
    values: dict[str, Any] = read_config_file(path) if path is not None else {}
    return _layer(values, overrides or {})


def resume_wanted(values: dict[str, Any]) -> bool:
    """Whether the settings ``values`` ask to resume (``resume``: true, "latest" or a checkpoint)."""
    return values.get("resume") not in (None, False, "false")


def stored_config_path(values: dict[str, Any]) -> Path:
    """The ``train_config.json`` of the run that ``values`` resume: the output directory's or,
    for a given checkpoint (``--resume-from``) when the output directory has none, the one of the
    checkpoint's run.

    Raises:
        ConfigError: neither exists (nothing says how the run was set up).
    """
    output_dir = Path(values.get("output_dir") or TrainConfig.output_dir)
    path = output_dir / CONFIG_NAME
    resume = values.get("resume")
    if not path.is_file() and isinstance(resume, str) and resume not in ("true", "latest"):
        beside = Path(resume).parent / CONFIG_NAME
        if beside.is_file():
            return beside
    if path.is_file():
        return path
    if not output_dir.exists():
        raise ConfigError(
            f"--resume: {str(output_dir)!r} does not exist: no run and no checkpoint to resume; "
            "start the run without --resume"
        )
    raise ConfigError(
        f"--resume: no {CONFIG_NAME} in {str(output_dir)!r}, so the settings of the run to continue are "
        "unknown (ree train stores them when a run starts); start the run without --resume"
    )


def resume_config(values: dict[str, Any]) -> TrainConfig:
    """The settings of a resumed run: the stored ones (:func:`stored_config_path`) updated by the
    settings given in ``values`` (file, ``--set``, options).

    Reads only, so a refused resume changes nothing on disk.

    Raises:
        ConfigError: no stored settings, or a given setting outside :data:`RESUME_MAY_CHANGE`
            differs from the stored one (one line naming each, with both values).
    """
    path = stored_config_path(values)
    try:
        stored_values = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--resume: cannot read the run's settings {str(path)!r}: {exc}") from None
    if not isinstance(stored_values, dict):
        raise ConfigError(f"--resume: the run's settings {str(path)!r} are not a mapping")
    try:
        stored = TrainConfig.from_mapping(stored_values)
    except ConfigError as exc:
        raise ConfigError(f"--resume: the run's settings {str(path)!r} are invalid: {exc}") from None
    # The run directory is where it is now, whatever the stored path says (a moved run resumes).
    here = {"output_dir": str(values.get("output_dir") or TrainConfig.output_dir)}
    config = TrainConfig.from_mapping(_layer(_layer(stored.to_dict(), here), values))
    ignored = {*RESUME_MAY_CHANGE, "output_dir", "resume"}
    conflicts = [
        f"{f.name}={getattr(config, f.name)!r} (the run has {getattr(stored, f.name)!r})"
        for f in dataclasses.fields(TrainConfig)
        if f.name not in ignored and getattr(config, f.name) != getattr(stored, f.name)
    ]
    if conflicts:
        raise ConfigError(
            f"--resume: the run in {str(path.parent)!r} was started with other settings: {'; '.join(conflicts)}. "
            "Leave them out to keep the run's, or train a new run in another directory; "
            f"only {', '.join(RESUME_MAY_CHANGE)} may change on resume"
        )
    return config


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"key=value"`` from ``--set``; the value is read as YAML (numbers, booleans, lists).
    ``env.key=value`` sets one EnvConfig field.

    >>> parse_assignment("learning_rate=3e-6")
    ('learning_rate', 3e-06)
    >>> parse_assignment("env.hard_cap_mode=false")
    ('env', {'hard_cap_mode': False})
    """
    import yaml

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects KEY=VALUE, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read the value of {key!r}: {exc}") from exc
    if key.startswith("env."):
        return "env", {key[4:]: value}
    return key, value
