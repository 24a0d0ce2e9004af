"""Typed errors. Every failure a user can cause maps to one of these, never to a bare crash."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


class ReasoningEconomicsError(Exception):
    """Base class of every error this package raises on purpose."""

    code = "ERROR"


class ConfigError(ReasoningEconomicsError, ValueError):
    """A configuration value is invalid."""

    code = "CONFIG_ERROR"


class UnknownTokenizerError(ReasoningEconomicsError, ValueError):
    """A tokenizer name is unknown, not allowed, or cannot be loaded."""

    code = "UNKNOWN_TOKENIZER"


class TokenizerNotAllowedError(UnknownTokenizerError):
    """The tokenizer exists but the operator has not allowed clients to name it."""

    code = "TOKENIZER_NOT_ALLOWED"


class DatasetUnavailableError(ReasoningEconomicsError, RuntimeError):
    """A problem source cannot be loaded (no hub access and no local file)."""

    code = "DATASET_UNAVAILABLE"


class UnknownNameError(ReasoningEconomicsError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    code = "UNKNOWN_NAME"

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidActionError(ReasoningEconomicsError, ValueError):
    """An action is malformed: wrong type, missing field, too large."""

    code = "INVALID_ACTION"


class EpisodeNotStartedError(ReasoningEconomicsError, RuntimeError):
    """step() or state was used before reset()."""

    code = "EPISODE_NOT_STARTED"


class EpisodeFinishedError(ReasoningEconomicsError, RuntimeError):
    """step() was called after the episode ended; call reset() to start a new one."""

    code = "EPISODE_FINISHED"


class GradingError(ReasoningEconomicsError, RuntimeError):
    """Grading failed for a reason other than the answer being wrong (worker died twice)."""

    code = "GRADING_ERROR"


class MissingExtraError(ReasoningEconomicsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    code = "MISSING_EXTRA"


def require(module: str, extra: str):
    """Import an optional dependency or raise MissingExtraError naming the extra to install."""
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is not installed; install it with: pip install 'reasoning-economics[{extra}]'"
        ) from exc


class RewardInputError(ReasoningEconomicsError, ValueError):
    """Inputs to a reward or advantage function are malformed: mismatched lengths, negative
    token counts, non-binary correctness, an empty group where one is required."""

    code = "REWARD_INPUT_ERROR"


class DatasetFormatError(ReasoningEconomicsError, ValueError):
    """A problem file or dataset lacks a required column or holds an invalid value
    (for example a difficulty outside [0, 1]); the message names the column and row."""

    code = "DATASET_FORMAT"


class PolicyError(ReasoningEconomicsError, RuntimeError):
    """A policy could not produce a generation (model failed to load, bad request for it)."""

    code = "POLICY_ERROR"


class PolicyEndpointError(PolicyError):
    """An OpenAI-compatible endpoint refused a request or kept failing after the retries.

    ``status`` is the last HTTP status (None for a connection failure); the message carries
    the server's own error text.
    """

    code = "POLICY_ENDPOINT_ERROR"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PolicyTimeoutError(PolicyEndpointError):
    """An endpoint did not answer within the policy's timeout, on every attempt."""

    code = "POLICY_TIMEOUT"


class ResultsFileError(ReasoningEconomicsError, ValueError):
    """An evaluation run directory holds a results or config file that cannot be read
    (a corrupt line other than a partial last one, or a unit recorded twice)."""

    code = "RESULTS_FILE"


class GradingInputError(ReasoningEconomicsError, TypeError):
    """A response or gold answer given to the grader is not a string, or its timeout is not a
    number of seconds from ``grading.grader.MIN_TIMEOUT_S`` to ``MAX_TIMEOUT_S``."""

    code = "GRADING_INPUT"


class TokenCountInputError(ReasoningEconomicsError, TypeError):
    """Text given to a token counter is not a ``str``, or holds a lone UTF-16 surrogate (not valid text)."""

    code = "TOKEN_COUNT_INPUT"


class ResponseTooLargeError(InvalidActionError):
    """A response (or its grading_response) is longer than the server's limit; the episode is untouched."""

    code = "RESPONSE_TOO_LARGE"


class EpisodeLogError(ReasoningEconomicsError, OSError):
    """The episode log cannot be opened or written (unwritable directory, disk full)."""

    code = "EPISODE_LOG_ERROR"


class ServerError(ReasoningEconomicsError, RuntimeError):
    """The environment server answered a request with a typed error that has no local class.

    ``code`` is the server's error code (for example ``INVALID_JSON``), ``details`` the rest
    of its error payload.
    """

    code = "SERVER_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.details = details or {}


class ServerCapacityError(ServerError):
    """The server already holds its maximum number of sessions; retry later or raise --max-sessions."""

    code = "CAPACITY_REACHED"


class SessionTimeoutError(ServerError):
    """The server closed a session that stayed silent longer than its --session-timeout."""

    code = "SESSION_TIMEOUT"


class ServerConnectionError(ReasoningEconomicsError, ConnectionError):
    """The environment server cannot be reached, refused the handshake (bad token), or dropped
    the connection; the message says which and where."""

    code = "CONNECTION_ERROR"


def describe(value: object, limit: int = 80) -> str:
    """A short, safe description of a client-supplied value for an error message.

    Never calls ``repr`` on containers: a deeply nested value would overflow the stack.
    """
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[:limit] + "..."
        return repr(shown.encode("utf-8", "backslashreplace").decode("utf-8"))
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value) if not isinstance(value, int) or abs(value) < 10**limit else "a huge int"
    return f"a value of type {type(value).__name__}"


def validation_problems(exc: Any, *, limit: int = 10, field_prefix: str = "", top_level: bool = False) -> str:
    """A pydantic ``ValidationError`` as ``"field.path: message; ..."``, its first ``limit`` errors.

    ``top_level`` names each error by its top-level field only (a union type's alternatives
    would otherwise read as fields of their own); an error of the whole value is ``value``.
    The values themselves are left out: they may be huge or hostile.
    """
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        location = error["loc"][:1] if top_level else error["loc"]
        problems.append(f"{field_prefix}{'.'.join(map(str, location)) or 'value'}: {error['msg']}")
    return "; ".join(problems)


MAX_UNKNOWN_KEYS_VALIDATED = 10
"""More unknown keys than this in a client's object are refused before pydantic sees them."""


def unknown_keys_problem(data: Any, known: Collection[str]) -> str | None:
    """What is wrong with ``data`` when it is a dict holding more than
    ``MAX_UNKNOWN_KEYS_VALIDATED`` keys outside ``known``, in short; else None.

    Pydantic makes one error of each unknown key, and listing them is what costs: 49,000 keys
    (a 500 KB message) took 0.2 s to list, on the event loop, to report ten of them. The
    length is compared first, so an object of a few keys costs one ``len``.
    """
    if type(data) is not dict or len(data) <= len(known) + MAX_UNKNOWN_KEYS_VALIDATED:
        return None
    unknown = [key for key in data if key not in known]
    if len(unknown) <= MAX_UNKNOWN_KEYS_VALIDATED:
        return None
    named = ", ".join(describe(key, limit=40) for key in unknown[:3])
    return f"{len(unknown):,} unknown fields ({named}, ...); the fields are {', '.join(known) or 'none'}"


def few_unknown_keys(model: Any, data: Any) -> Any:
    """``data``, for a pydantic model's "before" validator: or one validation error in its
    place when it holds many unknown keys (see :func:`unknown_keys_problem`)."""
    if type(data) is not dict or len(data) <= MAX_UNKNOWN_KEYS_VALIDATED:
        return data  # the check below could not refuse it: it runs on every action a step validates
    problem = unknown_keys_problem(data, model.__pydantic_fields__)
    if problem is not None:
        from pydantic_core import PydanticCustomError

        raise PydanticCustomError("unknown_fields", problem)
    return data


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone UTF-16 surrogate (JSON's "\\ud800" escape decodes to one): not valid text."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
