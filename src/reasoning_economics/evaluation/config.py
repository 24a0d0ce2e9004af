"""``EvalConfig``: every setting of ``ree eval``, validated on construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.grading.grader import MIN_TIMEOUT_S
# The environment's own limits, checked here so that a value past them fails before the policy
# loads and the run directory is made.
from reasoning_economics.limits import MAX_QUESTIONS, MAX_TOKENS_PER_STEP
from reasoning_economics.server_url import check_server_url

MODES = ("episode", "problem", "anytime")

DEFAULT_MAX_TOKENS_PER_STEP = 192
DEFAULT_QUESTIONS = 4

MAX_EPISODES = 1_000_000
"""Most units one run may hold. Far past any evaluation worth running, and low enough that a
mistyped count (an extra zero, or twenty) is refused at once rather than running for days."""

MAX_SEED = 2**63 - 1
"""Largest seed a unit may use: a server takes seeds as signed 64-bit integers, and an in-process
run is held to the same limit so that a command behaves alike with and without --server."""


SERVER_OWN_KEYS = ("max_tokens_per_step", "hard_cap_mode", "grading_timeout")
"""Environment settings a ``--server`` run neither sends nor applies: the server's own apply."""

SERVER_OWN_SETTING = (
    "{flag} does not apply with --server: the server's own {what} applies (set it where the server "
    "starts, in its EnvConfig; run.json records the server's settings as first_episode.env_config_digest). "
    "Drop {flag}, or drop --server to run the environment in-process"
)


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run.

    Unit ``i`` (an episode, or one episode's questions in ``problem``/``anytime`` mode) uses
    seed ``seed + i`` for ``i < episodes``, so runs are reproducible and resumable.

    Attributes:
        policy: policy spec (``smollm2``, ``hf:<dir>``, ``openai:<model>``, ``oracle:...``).
        policy_options: extra options for the policy (``base_url`` for ``openai:``).
        dataset: problem source spec (``builtin``, ``champ``, ``file:<path>``, mixtures).
        mode: ``episode`` (shared budget), ``problem`` (n samples each, pass@k) or ``anytime``.
        episodes: number of units, at most :data:`MAX_EPISODES`; the last unit's seed
            ``seed + episodes - 1`` must be at most :data:`MAX_SEED`.
        questions: questions per episode (the environment's ``num_questions``). With ``server``
            the server's own number applies, so only the default is accepted there.
        seed: base seed.
        budget: total budget per episode (the client budget); None lets the environment size it
            from the questions in the tokenizer (``budget_ratio`` x question tokens).
        tokenizer: tokenizer the environment counts with; None uses the policy's own
            (``policy.tokenizer_name``) or, failing that, the default vocabulary.
        max_tokens_per_step: generation limit per answer (the environment's per-step limit).
            With ``server`` the server's own limit applies (each answer is generated up to the
            observation's ``step_token_limit``), so only the default is accepted there.
        hard_cap_mode: the environment's hard (clip and stop) or soft (penalise) budget mode.
            With ``server`` the server's own mode applies, so only the default (hard) is accepted.
        concurrency: units run at once; their generations are batched into one call per round.
        samples: answers per question in ``problem`` mode.
        anytime_max_budget, anytime_num_budgets: the support ``b_j = j * b_max / S``.
        summaries_per_budget, summary_tokens: forced answers per truncation and their length.
        server: URL of a ``ree serve`` instance (episode mode); None runs the environment in-process.
        token: bearer token for the server.
        grading_timeout: seconds per grade in ``problem``/``anytime`` modes.
    """

    policy: str = "smollm2"
    policy_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    dataset: str = "builtin"
    mode: str = "episode"
    episodes: int = 8
    questions: int = DEFAULT_QUESTIONS
    seed: int = 0
    budget: int | None = None
    tokenizer: str | None = None
    max_tokens_per_step: int = DEFAULT_MAX_TOKENS_PER_STEP
    hard_cap_mode: bool = True
    concurrency: int = 8
    samples: int = 4
    anytime_max_budget: int = 256
    anytime_num_budgets: int = 4
    summaries_per_budget: int = 1
    summary_tokens: int = 48
    server: str | None = None
    token: str | None = None
    grading_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        for name in ("policy", "dataset"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
        positive = (
            "episodes", "questions", "max_tokens_per_step", "concurrency", "samples",
            "anytime_max_budget", "anytime_num_budgets", "summaries_per_budget", "summary_tokens",
        )
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        limits = (("episodes", MAX_EPISODES), ("questions", MAX_QUESTIONS), ("max_tokens_per_step", MAX_TOKENS_PER_STEP))
        for name, limit in limits:
            if getattr(self, name) > limit:
                raise ConfigError(f"{name} must be at most {limit:,}, got {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        last_seed = self.seed_of(self.episodes - 1)
        if last_seed > MAX_SEED:
            # Checked before the run starts: a server refused the first unit past the limit mid-run.
            raise ConfigError(
                f"seed {self.seed} with {self.episodes} episodes gives the last unit seed {last_seed}, past the "
                f"largest seed {MAX_SEED} (2**63 - 1); use --seed {MAX_SEED - self.episodes + 1} or lower"
            )
        if self.budget is not None and (isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1):
            raise ConfigError(f"budget must be a positive integer, got {self.budget!r}")
        if self.budget is not None and self.mode != "episode":
            raise ConfigError(
                f"--budget is the shared budget of an episode; mode {self.mode!r} has none "
                "(use --max-tokens-per-step, or --anytime-max-budget in anytime mode)"
            )
        if self.anytime_max_budget < self.anytime_num_budgets:
            raise ConfigError(
                f"anytime_max_budget ({self.anytime_max_budget}) must be >= anytime_num_budgets ({self.anytime_num_budgets})"
            )
        if self.server is not None:
            if self.mode != "episode":
                raise ConfigError(
                    f"--server runs episodes on a ree serve instance; mode {self.mode!r} samples problems "
                    "without a shared budget and grades in-process (drop --server)"
                )
            check_server_url(self.server, "server")
            if not self.hard_cap_mode:
                raise ConfigError(SERVER_OWN_SETTING.format(flag="--soft (hard_cap_mode=False)", what="budget mode"))
            if self.questions != DEFAULT_QUESTIONS:
                raise ConfigError(SERVER_OWN_SETTING.format(flag="--questions", what="number of questions per episode"))
            if self.max_tokens_per_step != DEFAULT_MAX_TOKENS_PER_STEP:
                raise ConfigError(
                    SERVER_OWN_SETTING.format(flag="--max-tokens-per-step", what="per-step token limit")
                )
        if not self.grading_timeout >= MIN_TIMEOUT_S:
            raise ConfigError(f"grading_timeout must be at least {MIN_TIMEOUT_S:g} s, got {self.grading_timeout!r}")

    def seed_of(self, index: int) -> int:
        """The seed of unit ``index``."""
        return self.seed + index

    def identity(self) -> dict[str, Any]:
        """What goes into ``run.json``: every setting the run reads (not the secret token or policy options, nor
        another mode's options; with ``server``, not the environment's own settings, which the
        server decides and ``first_episode.env_config_digest`` fingerprints)."""
        from reasoning_economics.policies.registry import option_roles

        data = dataclasses.asdict(self)
        data.pop("token")
        _, secret = option_roles(self.policy)  # an api_key given as -P was written into run.json
        data["policy_options"] = {k: v for k, v in self.policy_options.items() if k not in secret}
        if self.server is not None:
            # Only the defaults are accepted here, and nothing sends them: a run.json saying 192
            # tokens a step and hard mode misled when the server applied its own.
            for key in SERVER_OWN_KEYS:
                data.pop(key)
        if self.mode != "anytime":
            for key in ("anytime_max_budget", "anytime_num_budgets", "summaries_per_budget", "summary_tokens"):
                data.pop(key)
        if self.mode != "problem":
            data.pop("samples")
        return data
