"""Token bookkeeping of a multi-turn episode: which ids the policy wrote and which the environment did.

One GRPO sample is a whole episode. Its completion interleaves the policy's responses with the
environment's observations (the next question, rendered as a user turn)::

    prompt_ids:      <system> <user: question 1> <assistant header>
    completion_ids:  [response 1] [end of turn, <user: question 2>, <assistant header>] [response 2] ...
    env_mask:         1 1 ... 1    0 0 ...                                        0      1 1 ... 1

The responses are the exact ids the policy sampled (never re-tokenized), so their log-probabilities
are the ones that were sampled. The observation ids come from the tokenizer's own chat template:
:meth:`ChatFormat.observation_ids` renders a dummy exchange with and without the next user turn
and keeps the difference, the way TRL renders tool results. This needs a chat template that
closes each turn with one of the model's end-of-sequence ids (ChatML, Llama 3, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError

_DUMMY_USER = "1+1?"
_DUMMY_REPLY = "\\boxed{2}"


def render_observation(prompt: str, last_step: Mapping[str, Any] | None, feedback: bool = True) -> str:
    """The user turn for the next question: the environment's budget-aware ``prompt``, preceded
    (when ``feedback``) by one line on the previous answer, e.g.
    ``"Previous answer: correct (42 tokens charged)."``.

    >>> render_observation("Q2", {"was_correct": False, "tokens_used": 7})
    'Previous answer: incorrect (7 tokens charged).\\n\\nQ2'
    """
    if not feedback or not last_step:
        return prompt
    verdict = "correct" if last_step.get("was_correct") else "incorrect"
    return f"Previous answer: {verdict} ({int(last_step.get('tokens_used', 0))} tokens charged).\n\n{prompt}"


@dataclass
class ChatFormat:
    """Renders episode turns to token ids with a tokenizer's chat template.

    Args:
        tokenizer: a ``transformers`` tokenizer with a chat template.
        eos_token_ids: the ids that end a turn (TRL's ``trainer.eos_token_ids``).
        system_prompt: the system turn; None leaves it to the template's default.
    """

    tokenizer: Any
    eos_token_ids: Sequence[int]
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        if getattr(self.tokenizer, "chat_template", None) is None:
            raise ConfigError("the policy's tokenizer has no chat template; multi-turn episodes need one")
        self.eos_token_ids = tuple(int(i) for i in self.eos_token_ids)
        if not self.eos_token_ids:
            raise ConfigError("eos_token_ids must not be empty")
        self._end_of_turn = self._find_end_of_turn()

    def _messages(self, first_user: str) -> list[dict[str, str]]:
        if self.system_prompt is None:
            return [{"role": "user", "content": first_user}]
        from reasoning_economics.env.prompt import render_messages

        return render_messages(first_user, self.system_prompt)

    def _render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=add_generation_prompt, tokenize=True, return_dict=False
        )
        if ids and isinstance(ids[0], list):  # some processors return a batch of one
            ids = ids[0]
        return [int(i) for i in ids]

    def _dummy_exchange(self) -> list[dict[str, str]]:
        return [*self._messages(_DUMMY_USER), {"role": "assistant", "content": _DUMMY_REPLY}]

    def _find_end_of_turn(self) -> int:
        closed = self._render(self._dummy_exchange(), add_generation_prompt=False)
        positions = [i for i, t in enumerate(closed) if t in self.eos_token_ids]
        if not positions:
            raise ConfigError(
                "the chat template does not close the assistant turn with an end-of-sequence id "
                f"{list(self.eos_token_ids)}; cannot tell where an observation starts"
            )
        self._closed_prefix = closed[: positions[-1] + 1]
        return closed[positions[-1]]

    @property
    def end_of_turn_id(self) -> int:
        """The id that closes an assistant turn in this template."""
        return self._end_of_turn

    def prompt_ids(self, first_user: str) -> list[int]:
        """The episode prompt: system turn, the first question's user turn, the assistant header."""
        return self._render(self._messages(first_user), add_generation_prompt=True)

    def observation_ids(self, user_text: str, response_closed: bool) -> list[int]:
        """Ids between the end of one response and the start of the next: the end of the
        assistant turn (added here when the response was cut off before its end-of-turn id),
        the next user turn holding ``user_text``, and the assistant header.

        Args:
            user_text: the rendered observation (see :func:`render_observation`).
            response_closed: whether the response's last id already is an end-of-turn id.
        """
        messages = [*self._dummy_exchange(), {"role": "user", "content": user_text}]
        full = self._render(messages, add_generation_prompt=True)
        prefix = self._closed_prefix
        if full[: len(prefix)] != prefix:
            raise ConfigError("the chat template is not prefix-preserving: adding a user turn re-renders earlier turns")
        suffix = full[len(prefix) :]
        return suffix if response_closed else [self._end_of_turn, *suffix]
