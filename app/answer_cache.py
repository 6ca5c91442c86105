"""Encoded answers of heavy reads, kept for as long as the data they were read from is unchanged.

An answer is kept under its request's key with the data version it was read at (see
app.kept_reads), and only given back for that same version: a commit anywhere changes the
version, and what was kept before it is never served again (it is replaced, or falls out as
newer answers come in). The least recently used go first once the kept bytes pass the budget.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import NamedTuple

from cachetools import LRUCache


class Kept(NamedTuple):
    """A kept answer: its body, gzip-compressed (a large answer) or not."""

    body: bytes
    gzipped: bool = False


def _size(entry: tuple[Hashable, Kept]) -> int:
    return len(entry[1].body)


class AnswerCache:
    """Answers per key, each with the version it was read at; at most `max_bytes` in all.

    Safe to use from several threads: answers are kept from the worker threads that make them."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._kept: LRUCache[Hashable, tuple[Hashable, Kept]] = LRUCache(
            maxsize=max_bytes, getsizeof=_size
        )
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable) -> Kept | None:
        """The answer kept for `key` if it was read at `version`, else None."""
        with self._lock:
            found = self._kept.get(key)
        if found is None or found[0] != version:
            return None
        return found[1]

    def put(self, key: Hashable, version: Hashable, kept: Kept) -> None:
        """Keep an answer read at `version` for `key` (in place of what was kept for it),
        unless it alone is larger than the budget; the least recently used make room."""
        with self._lock:
            self._kept.pop(key, None)
            if len(kept.body) <= self.max_bytes:
                self._kept[key] = (version, kept)

    def kept_bytes(self) -> int:
        with self._lock:
            return int(self._kept.currsize)
