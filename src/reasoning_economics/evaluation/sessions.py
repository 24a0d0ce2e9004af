"""One episode of the environment, in-process or on a ``ree serve`` instance, behind one interface.

The runner drives many sessions at once; each holds one episode. Both kinds return
:class:`~reasoning_economics.env.models.ReasonBudgetObservation` objects and know the current
:class:`~reasoning_economics.problems.Problem` (scripted policies answer from it):

- :class:`LocalSession` reads it from the environment;
- :class:`RemoteSession` rebuilds the episode's questions locally from the seed (the sampler
  gives the same questions for the same seed in any process) and uses a question only when its
  text matches what the server sent, so a server with another dataset is never misread.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from reasoning_economics.problems import Problem

logger = logging.getLogger(__name__)


class EpisodeSession(Protocol):
    """One episode: ``reset`` once, then ``step`` until the observation says done."""

    def reset(self, seed: int) -> Any: ...

    def step(self, response: str, metadata: dict[str, Any]) -> Any: ...

    def problem(self, observation: Any) -> Problem | None: ...

    def unanswered(self, observation: Any) -> list[Problem] | None:
        """The questions a finished episode never asked (the budget ran out); None when unknown."""
        ...

    def close(self) -> None: ...


class LocalSession:
    """An in-process :class:`ReasonBudgetEnvironment` (its own instance: episodes never share state)."""

    def __init__(self, env_config: Any, *, tokenizer_name: str | None, total_budget: int | None) -> None:
        from reasoning_economics.env import ReasonBudgetEnvironment

        self.env = ReasonBudgetEnvironment(env_config)
        self.tokenizer_name = tokenizer_name
        self.total_budget = total_budget

    def reset(self, seed: int) -> Any:
        return self.env.reset(seed=seed, tokenizer_name=self.tokenizer_name, total_budget=self.total_budget)

    def step(self, response: str, metadata: dict[str, Any]) -> Any:
        from reasoning_economics.env import ReasonBudgetAction

        return self.env.step(ReasonBudgetAction(response=response, metadata=metadata))

    def problem(self, observation: Any) -> Problem | None:
        if observation.done:
            return None
        return self.env.problems[observation.step_idx]

    def unanswered(self, observation: Any) -> list[Problem] | None:
        return self.env.problems[len(observation.history):]

    def close(self) -> None:
        """Nothing to release."""


class RemoteSession:
    """An episode on a ``ree serve`` instance through :class:`reasoning_economics.client.ReasonBudgetClient`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        tokenizer_name: str | None,
        total_budget: int | None,
        dataset: str,
    ) -> None:
        from reasoning_economics.client import ReasonBudgetClient

        self.client = ReasonBudgetClient(base_url=base_url, token=token)
        self.client.__enter__()
        self.tokenizer_name = tokenizer_name
        self.total_budget = total_budget
        self.dataset = dataset
        self._problems: list[Problem] | None = None

    def reset(self, seed: int) -> Any:
        kwargs: dict[str, Any] = {"seed": seed}
        if self.tokenizer_name is not None:
            kwargs["tokenizer_name"] = self.tokenizer_name
        if self.total_budget is not None:
            kwargs["total_budget"] = self.total_budget
        result = self.client.reset(**kwargs)
        observation = _observation_of(result)
        self._problems = self._local_problems(observation, seed)
        return observation

    def step(self, response: str, metadata: dict[str, Any]) -> Any:
        from reasoning_economics.env.models import ReasonBudgetAction

        return _observation_of(self.client.step(ReasonBudgetAction(response=response, metadata=metadata)))

    def _local_problems(self, observation: Any, seed: int) -> list[Problem] | None:
        from reasoning_economics.problems import create_source, sample_episode

        count = int(observation.metadata.get("num_questions") or observation.questions_remaining)
        try:
            return sample_episode(create_source(self.dataset), count, seed)
        except Exception as exc:  # noqa: BLE001 - a dataset we cannot build here only means no local problems
            # Only scripted policies need the problem (they answer from the gold answer); they say so.
            logger.warning("cannot rebuild the questions of seed %d from %r locally: %s", seed, self.dataset, exc)
            return None

    def problem(self, observation: Any) -> Problem | None:
        if observation.done or not self._problems or observation.step_idx >= len(self._problems):
            return None
        candidate = self._problems[observation.step_idx]
        return candidate if candidate.question == observation.question else None

    def unanswered(self, observation: Any) -> list[Problem] | None:
        """The local rebuild's questions after the answered ones, when the server asked the
        rebuild's questions up to there (the same ids in the same places); else None."""
        asked = [entry.get("question_id") for entry in observation.history]
        if self._problems is None or len(self._problems) < len(asked):
            return None
        if [problem.id for problem in self._problems[: len(asked)]] != asked:
            return None
        return self._problems[len(asked):]

    def served_other_question(self, observation: Any) -> bool:
        """Whether the server asked a question the local rebuild of the episode does not hold
        at that place (another dataset or settings on the server); False when nothing could be
        rebuilt here, so nothing can be compared."""
        if observation.done or not self._problems:
            return False
        if observation.step_idx >= len(self._problems):
            return True
        return self._problems[observation.step_idx].question != observation.question

    def close(self) -> None:
        self.client.__exit__(None, None, None)


def _observation_of(result: Any) -> Any:
    """The observation of a client result, with ``reward`` and ``done`` set from the result
    (OpenEnv's wire format carries them beside the observation)."""
    observation = result.observation
    updates = {}
    if getattr(result, "reward", None) is not None and observation.reward is None:
        updates["reward"] = result.reward
    if getattr(result, "done", False) and not observation.done:
        updates["done"] = True
    return observation.model_copy(update=updates) if updates else observation
