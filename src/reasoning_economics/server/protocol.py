"""The WebSocket wire format: OpenEnv's messages, our typed errors.

Clients send ``{"type": "reset" | "step" | "state" | "close", "data": {...}}`` (OpenEnv's
``WS*Message`` models; the reference environment's clients send exactly these). The server
answers each message with exactly one frame:

- ``{"type": "observation", "data": {"observation": {...}, "reward": r, "done": d, "metadata": {...}}}``
  where, unlike OpenEnv's serializer, ``done`` and ``reward`` are also kept *inside*
  ``observation`` (the reference evaluator reads ``observation["done"]``);
- ``{"type": "state", "data": {...}}``;
- ``{"type": "error", "data": {"code": "UPPER_CASE", "message": "...", ...}}``.

Error codes: the protocol's own (below) and the ``code`` of every
:class:`~reasoning_economics.errors.ReasoningEconomicsError` the environment raises
(``EPISODE_FINISHED``, ``CONFIG_ERROR``, ``TOKENIZER_NOT_ALLOWED``, ``GRADING_ERROR``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

import pydantic_core
from pydantic import ValidationError

from reasoning_economics.errors import has_lone_surrogate

INVALID_JSON = "INVALID_JSON"
UNKNOWN_TYPE = "UNKNOWN_TYPE"
VALIDATION_ERROR = "VALIDATION_ERROR"
MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
BINARY_FRAME = "BINARY_FRAME"
CAPACITY_REACHED = "CAPACITY_REACHED"
SESSION_TIMEOUT = "SESSION_TIMEOUT"
INTERNAL_ERROR = "INTERNAL_ERROR"

MESSAGE_TYPES = ("reset", "step", "state", "close", "mcp")
MAX_ERROR_TEXT = 2000
MAX_VALIDATION_ERRORS = 10
MAX_LOCATION_PART_CHARS = 200
MAX_JSON_VALUES = 10_000
"""Most JSON values (strings, numbers, arrays, objects...) a message may hold; more is refused unparsed.

The size limit bounds bytes, not what parsing them costs: 16 MB of ``[{},{},...]`` is 5.3
million dicts, 1-1.5 s of the event loop that serves every session and about 400 MB while
the message is handled (a step holds its metadata while it is graded). Six clients sending
such steps in a loop kept another session's ``state`` waiting over 10 s and grew the server
to 2.4 GB. Below the size limit, values still cost about ten times what text does per byte
to parse: 100,000 of them (a 500 KB message) took 40 ms of the event loop, and eight clients
sending such messages held another session's replies 210 ms. A real message holds a dozen
values, its size being in one or two strings."""
MAX_NUMBER_DIGITS = 100
"""Most digits in a row a number in a long message may have; more is refused unparsed.

Python converts a JSON integer in time quadratic in its digits: 3,700 integers of 4,299 digits
(the longest Python reads) in a 16 MB message held the event loop 0.55 s, against 0.08 s for
the same bytes in one string, and kept every other session waiting about that long per
message. No field of the protocol needs more than 20 digits."""
# Every digit read as a 0, so that a run of digits is found as a substring, in C: a regex
# took 0.4 s on 16 MB of digit runs just short of the limit.
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * (MAX_NUMBER_DIGITS + 1)


class ProtocolError(Exception):
    """A message the protocol rejects before it reaches the environment."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def encode(message: dict[str, Any]) -> str:
    """A reply as JSON text. pydantic-core's encoder: the standard library's took 42 of the
    58 µs a mid-episode observation reply cost (12 µs now); anything it cannot encode is
    written as its ``str``."""
    return pydantic_core.to_json(message, fallback=str).decode("utf-8")


def error_reply(code: str, message: str, **details: Any) -> str:
    data = {"code": code, "message": message[:MAX_ERROR_TEXT], **details}
    return encode({"type": "error", "data": data})


def error_entries(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's error entries as ``loc``, ``msg`` and ``type`` only, at most
    ``MAX_VALIDATION_ERRORS`` of them: never the offending input, which may be megabytes
    long or a number JSON cannot write (``1e400`` parses as inf)."""
    return [
        {
            "loc": [_location_part(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in islice(errors, MAX_VALIDATION_ERRORS)
    ]


def _location_part(part: Any) -> int | str:
    """One step of an error's location; a key a client sent is cut to ``MAX_LOCATION_PART_CHARS``
    (an unknown key of a megabyte came back whole, in a reply of a megabyte)."""
    if isinstance(part, int) and not isinstance(part, bool):
        return part
    text = str(part)
    return text if len(text) <= MAX_LOCATION_PART_CHARS else f"{text[:MAX_LOCATION_PART_CHARS]}... ({len(text):,} characters)"


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return error_entries(exc.errors(include_url=False, include_input=False, include_context=False))


def validation_error(exc: ValidationError, what: str) -> ProtocolError:
    details = validation_details(exc)
    summary = "; ".join(f"{'.'.join(map(str, d['loc'])) or what}: {d['msg']}" for d in details)
    return ProtocolError(VALIDATION_ERROR, f"invalid {what}: {summary}", errors=details)


_UTF8_COUNT_CHARS = 1 << 20


def utf8_size(text: str, stop_over: int) -> int:
    """The bytes of ``text`` in UTF-8, as it came over the wire; counted a megabyte of
    characters at a time (encoded whole, 32 MB of emoji held another 32 MB), and only until
    the count passes ``stop_over``."""
    if text.isascii():
        return len(text)
    size = 0
    for start in range(0, len(text), _UTF8_COUNT_CHARS):
        size += len(text[start : start + _UTF8_COUNT_CHARS].encode("utf-8", "surrogatepass"))
        if size > stop_over:
            break
    return size


def parse_message(text: str, max_bytes: int) -> tuple[str, dict[str, Any]]:
    """``(type, message)`` of one text frame, or ProtocolError.

    The size in bytes is checked before parsing (counted in characters, a message of 4-byte
    characters passed at four times the limit), and deep nesting (which makes the JSON parser
    recurse) is an INVALID_JSON error, not a crash.
    """
    # A message of at most max_bytes / 4 characters fits whatever they are, and one of more
    # than max_bytes does not: only in between are its bytes counted.
    if len(text) * 4 <= max_bytes:
        size = 0
    elif len(text) > max_bytes:
        size = len(text)
    else:
        size = utf8_size(text, max_bytes)
    if size > max_bytes:
        raise ProtocolError(
            MESSAGE_TOO_LARGE,
            f"message has at least {size:,} bytes; this server accepts at most {max_bytes:,}. "
            "Nothing was done; the session goes on.",
        )
    if too_many_json_values(text, MAX_JSON_VALUES):
        raise ProtocolError(
            INVALID_JSON,
            f"invalid JSON: more than {MAX_JSON_VALUES:,} values; a message holds a few, with long text in "
            "strings. Nothing was done; the session goes on.",
        )
    if len(text) > MAX_JSON_VALUES and holds_a_long_number(text):
        raise ProtocolError(
            INVALID_JSON,
            f"invalid JSON: a number of more than {MAX_NUMBER_DIGITS} digits; no field takes one (long text goes "
            "in strings). Nothing was done; the session goes on.",
        )
    try:
        message = json.loads(text)
    except RecursionError:
        raise ProtocolError(INVALID_JSON, "invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ProtocolError(INVALID_JSON, f"invalid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError(
            VALIDATION_ERROR, f'a message must be a JSON object like {{"type": "step", "data": {{...}}}}, got {type(message).__name__}'
        )
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        shown = kind if isinstance(kind, str) else json.dumps(kind)[:50]
        raise ProtocolError(
            UNKNOWN_TYPE, f"unknown message type {shown!r}; expected one of: {', '.join(MESSAGE_TYPES[:4])}"
        )
    return kind, message


def too_many_json_values(text: str | bytes, limit: int) -> bool:
    """Whether the JSON ``text`` holds more than about ``limit`` values, found without parsing it.

    Values number at most one more than the commas and opening brackets outside strings. The
    common case is settled by counting them anywhere (a few ms for 16 MB, and not at all
    below ``limit`` characters). Only when that count is over the limit are strings set
    aside: escaped backslashes and quotes are dropped, so the quotes left delimit strings
    (in valid JSON; invalid JSON fails to parse anyway, no later than its first stray byte).
    """
    if len(text) <= limit:
        return False
    if isinstance(text, bytes):
        comma, square, curly, quote = b",", b"[", b"{", b'"'
    else:
        comma, square, curly, quote = ",", "[", "{", '"'

    def structural(part: Any) -> int:
        return part.count(comma) + part.count(square) + part.count(curly)

    if structural(text) <= limit:
        return False
    plain = _without_escaped_quotes(text)
    if plain.count(quote) > 2 * limit:  # each string is a value (or a key) of its own
        return True
    return sum(structural(outside) for outside in plain.split(quote)[::2]) > limit


def holds_a_long_number(text: str | bytes) -> bool:
    """Whether the JSON ``text`` holds a number with more than :data:`MAX_NUMBER_DIGITS`
    digits in a row, found without parsing it: digits inside strings are text, however many
    (as for :func:`too_many_json_values`, the quotes left once escaped ones are dropped delimit
    the strings)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    zeros = data.translate(_DIGITS_AS_ZEROS)
    if _LONG_NUMBER not in zeros:
        return False
    return any(_LONG_NUMBER in outside for outside in _without_escaped_quotes(zeros).split(b'"')[::2])


def _without_escaped_quotes(text: Any) -> Any:
    """``text`` without escaped backslashes and quotes, so that the quotes left delimit strings."""
    backslashes, escaped_quote = (b"\\\\", b'\\"') if isinstance(text, bytes) else ("\\\\", '\\"')
    return text.replace(backslashes, text[:0]).replace(escaped_quote, text[:0])


def observation_payload(observation: Any) -> dict[str, Any]:
    """OpenEnv's observation payload, with ``done`` and ``reward`` kept inside the observation too."""
    fields = observation.model_dump()
    return {
        "observation": fields,
        "reward": fields["reward"],
        "done": fields["done"],
        "metadata": fields["metadata"],
    }


def observation_reply(observation: Any, extra_metadata: dict[str, Any] | None = None) -> str:
    payload = observation_payload(observation)
    if extra_metadata:
        payload["metadata"] = {**payload["metadata"], **extra_metadata}
        payload["observation"]["metadata"] = payload["metadata"]
    return encode({"type": "observation", "data": payload})


def state_reply(state: Any) -> str:
    return encode({"type": "state", "data": state.model_dump()})


MCP_NO_TOOLS = -32601
MCP_PARSE_ERROR = -32700


def mcp_error(request_id: Any, code: int = MCP_NO_TOOLS, message: str = "") -> dict[str, Any]:
    """A JSON-RPC error answer to an MCP request: this environment has no MCP tools.

    The request's ``id`` is echoed only when JSON-RPC allows it and it can be written back
    (an int, or a string of valid text up to 255 characters); otherwise the answer's id is null.
    """
    valid_id = (isinstance(request_id, int) and not isinstance(request_id, bool)) or (
        isinstance(request_id, str) and len(request_id) <= 255 and not has_lone_surrogate(request_id)
    )
    return {
        "jsonrpc": "2.0",
        "id": request_id if valid_id else None,
        "error": {"code": code, "message": message or "this environment exposes no MCP tools; use reset/step/state"},
    }
