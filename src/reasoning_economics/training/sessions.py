"""Environment sessions for rollouts: the environment in-process, or a ``ree serve`` server.

A session plays one episode at a time; a :class:`SessionPool` keeps one session per rollout
slot and reuses them across training steps (a server session is one WebSocket connection).
Both kinds return the same :class:`Turn`, so the episode loop does not care where the
environment runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Turn:
    """What the policy needs from one observation.

    ``last_step`` is the history entry of the question just answered (None after reset);
    ``question`` and ``question_id`` describe the question now asked (empty / None once done).
    """

    prompt: str
    question: str
    step_token_limit: int
    reward: float | None
    done: bool
    question_id: str | None
    last_step: dict[str, Any] | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def total_budget(self) -> int:
        return int(self.metadata.get("total_budget", 0))

    @property
    def spent_budget(self) -> int:
        return int(self.metadata.get("spent_budget", 0))


def as_turn(result: Any) -> Turn:
    """Normalise an observation (model, dict, or an OpenEnv ``StepResult`` wrapping one)."""
    reward = getattr(result, "reward", None)
    done = getattr(result, "done", None)
    observation = getattr(result, "observation", result)
    data: Mapping[str, Any]
    data = observation if isinstance(observation, Mapping) else observation.model_dump()
    metadata = dict(data.get("metadata") or {})
    history = data.get("history") or []
    reward = data.get("reward", reward) if data.get("reward") is not None else reward
    done = bool(data.get("done", False) or done)
    return Turn(
        prompt=str(data.get("prompt", "")),
        question=str(data.get("question", "")),
        step_token_limit=int(data.get("step_token_limit", 0)),
        reward=None if reward is None else float(reward),
        done=done,
        question_id=None if done else metadata.get("question_id"),
        last_step=dict(history[-1]) if history else None,
        metadata=metadata,
    )


class Session(Protocol):
    """One environment episode at a time."""

    def reset(self, *, seed: int, tokenizer_name: str | None, total_budget: int | None) -> Turn: ...

    def step(self, response: str, metadata: dict[str, str]) -> Turn: ...

    def close(self) -> None: ...


class InProcessSession:
    """A :class:`~reasoning_economics.env.ReasonBudgetEnvironment` in this process."""

    def __init__(self, env_config: Any) -> None:
        from reasoning_economics.env import ReasonBudgetEnvironment

        self.env = ReasonBudgetEnvironment(env_config)

    def reset(self, *, seed: int, tokenizer_name: str | None, total_budget: int | None) -> Turn:
        return as_turn(self.env.reset(seed=seed, tokenizer_name=tokenizer_name, total_budget=total_budget))

    def step(self, response: str, metadata: dict[str, str]) -> Turn:
        from reasoning_economics.env import ReasonBudgetAction

        return as_turn(self.env.step(ReasonBudgetAction(response=response, metadata=metadata)))

    def close(self) -> None:
        self.env.close()


class RemoteSession:
    """One session on a ``ree serve`` server, through :class:`reasoning_economics.client.ReasonBudgetClient`."""

    def __init__(self, base_url: str, **client_options: Any) -> None:
        from reasoning_economics.client import ReasonBudgetClient

        self.client = ReasonBudgetClient(base_url=base_url, **client_options).sync()
        self.client.connect()

    def reset(self, *, seed: int, tokenizer_name: str | None, total_budget: int | None) -> Turn:
        kwargs: dict[str, Any] = {"seed": seed}
        if tokenizer_name is not None:
            kwargs["tokenizer_name"] = tokenizer_name
        if total_budget is not None:
            kwargs["total_budget"] = total_budget
        return as_turn(self.client.reset(**kwargs))

    def step(self, response: str, metadata: dict[str, str]) -> Turn:
        from reasoning_economics.env.models import ReasonBudgetAction

        return as_turn(self.client.step(ReasonBudgetAction(response=response, metadata=metadata)))

    def close(self) -> None:
        self.client.close()


class SessionPool:
    """Sessions made on demand by ``factory`` and kept for reuse; ``take(n)`` returns n of them."""

    def __init__(self, factory: Callable[[], Session]) -> None:
        self.factory = factory
        self._sessions: list[Session] = []

    def take(self, n: int) -> list[Session]:
        while len(self._sessions) < n:
            self._sessions.append(self.factory())
        return self._sessions[:n]

    def close(self) -> None:
        for session in self._sessions:
            session.close()
        self._sessions.clear()


def session_factory(env_config: Any = None, env_url: str | None = None, **client_options: Any) -> Callable[[], Session]:
    """A factory of in-process sessions (``env_config``) or server sessions (``env_url``)."""
    if env_url is not None:
        return lambda: RemoteSession(env_url, **client_options)
    return lambda: InProcessSession(env_config)
