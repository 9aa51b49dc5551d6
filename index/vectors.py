"""Exact vector search over a date range, from an in-memory copy of the store's vectors sorted by date.

Why: a date window is the common case (every question asked "as of" a day), and Chroma's `where` filter on the
date cost 30-40 ms a query at 10k chunks here, against ~10 ms unfiltered (measured by eval/bench.py and in
the issue 6 note). Sorted by date, a window is one contiguous slice: a bisect and a matrix-vector product
over only the chunks in the window, exact rather than approximate. Chroma stays the store and the source of
the vectors; this copy is rebuilt from it whenever the keyword index reports a write (see Store). A window
that holds every chunk (a question asked as of today) is no filter at all: Store sends it to Chroma's own
index, unfiltered.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class DateSortedVectors:
    ids: tuple[str, ...]
    dates: tuple[int, ...]          # date_num (YYYYMMDD) per row, ascending
    matrix: np.ndarray              # float32, one unit-length row per id
    row_of: dict[str, int]

    @classmethod
    def build(cls, ids: Sequence[str], dates: Sequence[int], vectors: np.ndarray) -> DateSortedVectors:
        """Rows sorted by date (ties by id, so the order is reproducible), vectors normalised for cosine."""
        order = sorted(range(len(ids)), key=lambda i: (dates[i], ids[i]))
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)[order] if len(ids) else \
            np.zeros((0, 0), dtype=np.float32)
        return cls.from_sorted([ids[i] for i in order], [dates[i] for i in order], matrix)

    @classmethod
    def from_sorted(cls, ids: Sequence[str], dates: Sequence[int], matrix: np.ndarray) -> DateSortedVectors:
        """From rows already in (date, id) order; `matrix` is normalised in place, not copied (at 100k chunks a
        copy is 150 MB of peak memory)."""
        if len(matrix):
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            matrix /= norms
        return cls(tuple(ids), tuple(int(d) for d in dates), matrix, {cid: row for row, cid in enumerate(ids)})

    def __len__(self) -> int:
        return len(self.ids)

    def window(self, date_min: int | None, date_max: int | None) -> tuple[int, int]:
        """The rows [start, stop) whose date lies in the inclusive range (an open end is unbounded)."""
        start = bisect_left(self.dates, date_min) if date_min else 0
        stop = bisect_right(self.dates, date_max) if date_max else len(self.dates)
        return start, max(start, stop)

    def search(self, query: np.ndarray, limit: int, date_min: int | None = None,
               date_max: int | None = None) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the `limit` nearest rows dated within the range, best first."""
        start, stop = self.window(date_min, date_max)
        if limit <= 0 or stop == start:
            return []
        q = np.asarray(query, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        sims = self.matrix[start:stop] @ q
        if limit < len(sims):
            best = np.argpartition(-sims, limit - 1)[:limit]
        else:
            best = np.arange(len(sims))
        best = best[np.lexsort((best, -sims[best]))]   # by similarity, ties by row: deterministic
        return [(self.ids[start + i], float(sims[i])) for i in best]

    def similarity(self, query: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of the query to each known id (unknown ids are left out)."""
        rows = [(cid, self.row_of[cid]) for cid in ids if cid in self.row_of]
        if not rows:
            return {}
        q = np.asarray(query, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        sims = self.matrix[[r for _, r in rows]] @ q
        return {cid: float(s) for (cid, _), s in zip(rows, sims)}
