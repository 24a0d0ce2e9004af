"""A bounded, thread-safe LRU of verdicts: the same (answer, gold) pair is graded once.

Bounded by bytes as well as entries: keys hold the answers, which a client chooses. Bounded
by count alone, it held 65,536 answers of 2,000 emoji each (8 KB apiece as Python strings),
520 MB, part of a server's growth from 270 MB to 1.4 GB under them.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 65_536
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""About twice what 65,536 verdicts on short answers take (about 500 bytes each), so the count
bounds those and the bytes bound long ones: about 7,900 of the longest non-ASCII answers
(8.5 KB each)."""
ENTRY_OVERHEAD_BYTES = 120
"""The ordered dict's hash slot and linked-list node for one entry, which ``getsizeof`` of the
key and value leaves out."""


def approximate_bytes(item: object) -> int:
    """Memory held by ``item`` and, for a tuple, by its parts; shared parts (the gold answer of
    many keys) are counted each time, which errs towards evicting early."""
    if isinstance(item, tuple):
        return sys.getsizeof(item) + sum(approximate_bytes(part) for part in item)
    return sys.getsizeof(item)


class VerdictCache(Generic[V]):
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        """The entries' approximate size (:func:`approximate_bytes` plus the per-entry overhead)."""
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: V) -> None:
        size = approximate_bytes(key) + approximate_bytes(value) + ENTRY_OVERHEAD_BYTES
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self.bytes -= replaced[1]
            if size > self.max_bytes:
                return  # it would evict everything else and still not fit
            self._entries[key] = (value, size)
            self.bytes += size
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, evicted_size) = self._entries.popitem(last=False)
                self.bytes -= evicted_size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
