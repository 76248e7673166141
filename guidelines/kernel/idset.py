"""A set of string ids at about 8 bytes each: membership over millions of ids in flat memory.

Why: a Python set of a million response ids costs about 100 bytes per id (the string, its
hash-table slot), the largest thing an evaluation of a million responses would keep. Here
each id is kept only as its 64-bit hash (Python's own, fixed for the process) in a sorted
array; recent hashes wait in a small set and are sorted in by the thousand. The array lives
in a private anonymous memory map that grows in place (mremap: no copy, no second array), so
the process holds 8 bytes per id and nothing more.

A hash says "maybe": two different ids share one with a chance of about 3 in 10^8 at a
million ids. ``might_contain`` is therefore a *maybe*; callers confirm a hit exactly or
take a slower exact path (responses.py re-reads the file; summary.py recounts).
"""
from __future__ import annotations

import mmap

import numpy as np

RECENT = 16_384            # hashes held in a plain set before they are sorted into the array
_FIRST_CAPACITY = 1 << 16  # ids; the map doubles (virtually) when full


class HashedIdSet:
    """Hashes of the ids added so far; ``might_contain`` answers with no false negatives."""

    def __init__(self) -> None:
        self._recent: set[int] = set()
        self._map: mmap.mmap | None = None
        self._sorted = np.empty(0, dtype=np.int64)  # a view of the first _n slots of the map
        self._n = 0

    def __len__(self) -> int:
        return self._n + len(self._recent)

    def add(self, key: str) -> None:
        self._recent.add(hash(key))
        if len(self._recent) >= RECENT:
            self._merge()

    def might_contain(self, key: str) -> bool:
        """False: ``key`` was never added. True: it was, or another id with the same hash was."""
        h = hash(key)
        if h in self._recent:
            return True
        if not self._n:
            return False
        i = int(np.searchsorted(self._sorted, h))
        return i < self._n and int(self._sorted[i]) == h

    def _merge(self) -> None:
        """Sort the recent hashes into the array (in place, growing the map if needed)."""
        n = self._n + len(self._recent)
        slots = self._slots(n)
        slots[self._n:n] = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
        slots[:n].sort()
        self._recent.clear()
        self._n = n
        self._sorted = slots[:n]

    def _slots(self, needed: int) -> np.ndarray:
        capacity = 0 if self._map is None else len(self._map) // 8
        if needed > capacity:
            capacity = max(_FIRST_CAPACITY, capacity)
            while capacity < needed:
                capacity *= 2
            self._sorted = np.empty(0, dtype=np.int64)  # no view may be alive while the map moves
            if self._map is None:
                self._map = _anonymous(capacity)
            else:
                try:
                    self._map.resize(capacity * 8)  # Linux: mremap, in place
                except (OSError, SystemError):  # no mremap here: a new map, copied once
                    old, self._map = self._map, _anonymous(capacity)
                    np.frombuffer(self._map, dtype=np.int64)[:self._n] = np.frombuffer(old, dtype=np.int64)[:self._n]
                    old.close()
        return np.frombuffer(self._map, dtype=np.int64)

    def close(self) -> None:
        """Give the memory back now (the set is empty afterwards)."""
        self._sorted = np.empty(0, dtype=np.int64)
        self._recent.clear()
        self._n = 0
        if self._map is not None:
            self._map.close()
            self._map = None


def _anonymous(ids: int) -> mmap.mmap:
    """Private anonymous memory for ``ids`` hashes: pages count only once written."""
    return mmap.mmap(-1, ids * 8, flags=mmap.MAP_PRIVATE)
