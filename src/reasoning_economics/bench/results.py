"""What a benchmark section returns: a table for people, data for JSON, and targets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A goal from issue 7, checked against one measured number."""

    name: str
    measured: float
    limit: float
    unit: str
    higher_is_better: bool = False
    strict: bool = False
    """The goal excludes its limit (p99 < 50 ms), as issue 7 words it."""

    @property
    def met(self) -> bool | None:
        """Whether the goal is met; None when nothing was measured (a level that did not run,
        server memory without --server-pid), which is not a miss."""
        if math.isnan(self.measured):
            return None
        if self.strict:
            return self.measured > self.limit if self.higher_is_better else self.measured < self.limit
        return self.measured >= self.limit if self.higher_is_better else self.measured <= self.limit

    @property
    def comparison(self) -> str:
        return (">" if self.higher_is_better else "<") + ("" if self.strict else "=")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": None if math.isnan(self.measured) else round(self.measured, 4),
            "limit": self.limit,
            "unit": self.unit,
            "comparison": self.comparison,
            "met": self.met,
        }


@dataclass
class SectionResult:
    """One section's outcome. ``rows`` line up with ``columns``; ``data`` goes to JSON as is."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = math.nan
    """Wall time the section took, set by the suite."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "seconds": self.seconds,
            "data": self.data,
            "targets": [target.as_dict() for target in self.targets],
            "notes": self.notes,
        }
