"""The ``builtin`` source: offline procedural problems from reasoning-gym.

Types, levels and the difficulty of each level are in
:mod:`reasoning_economics.problems.builtin_catalog`. A draw picks a level uniformly,
then an index in that level's pool; reasoning-gym builds item ``i`` of a dataset from
``Random(dataset_seed + i)`` alone, so a (type, level, index) triple names one problem
on every machine. Items are built lazily and kept in a per-process LRU cache; the pool
of a slow generator (``polynomial_equations``) is small enough for the cache to hold
whole, and is packaged for the default ``pool_seed`` (see
:mod:`~reasoning_economics.problems.builtin_packaged`); :meth:`BuiltinSource.warm_up`
fills the cache ahead of time.

Problems are graded by reasoning-gym's own scorer (``grader="reasoning_gym"``):
``grader_data = {"dataset": <reasoning-gym name>, "entry": <the reasoning-gym entry>}``
with the entry (question, answer, metadata) as generated, except that metadata values JSON
cannot encode are written as strings (see
:func:`~reasoning_economics.problems.builtin_packaged.json_safe`). Treat it as read-only:
the cached problem is shared by every episode that draws it.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems.base import ask_for_boxed, unknown_type_error
from reasoning_economics.problems.builtin_catalog import BUILTIN_TYPES, BUILTIN_TYPES_BY_NAME, BuiltinType
from reasoning_economics.problems.builtin_packaged import dataset_seed, generate_entries, packaged_entries
from reasoning_economics.problems.record import Problem

CACHE_SIZE = 4096
"""Problems cached per (type, level); pools no larger than this are cached whole."""

MAX_SKIPPED_ITEMS = 50
"""Consecutive unusable generator items (empty gold answer) tolerated before giving up."""


@dataclass(frozen=True)
class BuiltinConfig:
    """Options of the ``builtin`` source.

    Attributes:
        types: the reasoning-gym types to serve (default: all of the catalog).
        pool_seed: base seed of the generators. Changing it gives a different, equally
            deterministic pool of problems, but not one disjoint from the default pool: a type
            with few distinct problems repeats them, and reasoning-gym seeds items
            consecutively, so pools whose seeds lie close share items (one pair in seeds
            1-2000 against 0). For a strictly held-out evaluation set, filter by question
            text or use a ``file`` source.
        warm_up: build the slow generators' pools when the source is built instead of on
            first draw (milliseconds from the packaged pools of the default
            ``pool_seed``, about 8 s with another); see :meth:`BuiltinSource.warm_up`.
    """

    types: tuple[str, ...] = tuple(t.name for t in BUILTIN_TYPES)
    pool_seed: int = 0
    warm_up: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.types, str) or not isinstance(self.types, (list, tuple)):
            raise ConfigError(f"builtin: types must be a list of type names, got {self.types!r}")
        object.__setattr__(self, "types", tuple(self.types))
        if not self.types:
            raise ConfigError("builtin: types must not be empty")
        # checked before the catalog lookup, which would hash a list and fail with a TypeError
        not_names = [t for t in self.types if not isinstance(t, str)]
        if not_names:
            raise ConfigError(f"builtin: types must be type names (strings), got {not_names!r}")
        unknown = [t for t in self.types if t not in BUILTIN_TYPES_BY_NAME]
        if unknown:
            raise ConfigError(f"builtin: unknown type(s) {unknown}; known: {', '.join(BUILTIN_TYPES_BY_NAME)}")
        if len(set(self.types)) != len(self.types):
            raise ConfigError(f"builtin: types lists a type twice: {list(self.types)}")
        if isinstance(self.pool_seed, bool) or not isinstance(self.pool_seed, int) or self.pool_seed < 0:
            raise ConfigError(f"builtin: pool_seed must be an integer >= 0, got {self.pool_seed!r}")
        if not isinstance(self.warm_up, bool):
            raise ConfigError(f"builtin: warm_up must be true or false, got {self.warm_up!r}")


def display_answer(gold: str) -> str:
    """The gold answer as a model would box it: reasoning-gym writes some answers in
    inline math (``$\\frac{3}{4}$``); the dollar signs are not part of the answer."""
    text = gold.strip()
    if len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        text = text[1:-1].strip()
    return text


class _LevelPool:
    """Problems of one (type, level): item ``index`` of a fixed reasoning-gym dataset."""

    def __init__(self, spec: BuiltinType, level: int, pool_seed: int) -> None:
        self.spec = spec
        self.level = level
        self.size = spec.pool_size
        seed = dataset_seed(pool_seed, spec.name, level)
        packaged = packaged_entries(spec.name, spec.levels[level], seed, self.size)
        self.packaged = packaged is not None
        if packaged is not None:
            self._entry = packaged.__getitem__
        else:
            self._entry = generate_entries(spec.name, spec.levels[level], seed, self.size)
        self.problem = functools.lru_cache(maxsize=min(self.size, CACHE_SIZE))(self._build)

    def _build(self, index: int) -> Problem:
        for skip in range(MAX_SKIPPED_ITEMS):
            item = (index + skip) % self.size
            entry: dict[str, Any] = self._entry(item)
            answer = display_answer(str(entry["answer"]))
            if answer:
                return Problem(
                    id=f"builtin/{self.spec.name}/{self.level}/{item}",
                    question=ask_for_boxed(entry["question"]),
                    answer=answer,
                    source="builtin",
                    problem_type=self.spec.name,
                    difficulty=self.spec.difficulties[self.level],
                    grader="reasoning_gym",
                    grader_data={"dataset": self.spec.name, "entry": entry},
                )
        raise ConfigError(
            f"builtin: {self.spec.name} level {self.level} gave {MAX_SKIPPED_ITEMS} items in a row "
            f"with an empty answer from index {index}; its settings are broken"
        )


class BuiltinSource:
    """reasoning-gym problems of several types and difficulty levels; see the module docstring."""

    name = "builtin"

    def __init__(self, config: BuiltinConfig | None = None) -> None:
        self.config = config or BuiltinConfig()
        self.problem_types = self.config.types
        self._pools = {
            name: tuple(
                _LevelPool(BUILTIN_TYPES_BY_NAME[name], level, self.config.pool_seed)
                for level in range(len(BUILTIN_TYPES_BY_NAME[name].levels))
            )
            for name in self.problem_types
        }
        if self.config.warm_up:
            self.warm_up()

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        pools = self._pools.get(problem_type)
        if pools is None:
            raise unknown_type_error(self.name, problem_type, self.problem_types)
        pool = pools[rng.randrange(len(pools))]
        return pool.problem(rng.randrange(pool.size))

    def problem(self, problem_type: str, level: int, index: int) -> Problem:
        """The problem at ``index`` of a type's level (what ``draw`` returns for that choice)."""
        pools = self._pools.get(problem_type)
        if pools is None:
            raise unknown_type_error(self.name, problem_type, self.problem_types)
        if not 0 <= level < len(pools):
            raise ConfigError(f"builtin: {problem_type} has levels 0..{len(pools) - 1}, not {level}")
        if not 0 <= index < pools[level].size:
            raise ConfigError(f"builtin: index {index} is outside 0..{pools[level].size - 1}")
        return pools[level].problem(index)

    def warm_up(self) -> int:
        """Build every problem of the pools the cache holds whole (the slow generators), so
        that later draws never wait on them. Takes milliseconds from packaged pools,
        about 8 s otherwise; returns the number built.
        Results do not depend on whether this ran: it only moves work earlier."""
        built = 0
        for pools in self._pools.values():
            for pool in pools:
                if pool.size <= CACHE_SIZE:
                    for index in range(pool.size):
                        pool.problem(index)
                    built += pool.size
        return built
