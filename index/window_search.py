"""Date-window vector search against a Chroma server, with no copy of the vectors in the app process.

Why not Chroma's own filters: on a `chroma run` server here, `where` on the date cost 300-550 ms a query at 100k
chunks and 4-6 s at 1M (it scans the metadata; a one-day window cost as much as a 90% one), and a query restricted
to `ids` ~2 s at 1M even for one id; an unfiltered query cost 4 ms at 100k and ~40 ms at 1M, and reading 1,000
chunks' vectors by id ~110 ms at 1M (docs/performance.md, "Server mode"). So a window is searched by what the
server does fast, planned from the dates the local keyword index already holds (index/lexical.py):

- a window that leaves out few chunks (e.g. as of yesterday): the unfiltered top `limit + left out`, then the
  left-out ones dropped: at least `limit` remain, exact up to HNSW's approximation (the query `k` stays <=
  OVERFETCH_MAX);
- a window of few chunks (<= SHORTLIST x limit): their vectors read by id and compared here: exact;
- a window of up to FETCH_MAX chunks: their one-bit sketches read from the keyword index (index/sketches.py),
  the SHORTLIST x limit nearest by Hamming distance read by id and compared exactly (a chunk indexed before
  sketches is always read, and its sketch recorded);
- otherwise the unfiltered top `k` for a `k` growing from what the window's share predicts, up to OVERFETCH_MAX,
  and then (rarely) the server's `where` filter, slow but exact.

Every hit's date is checked before it is returned, against the keyword index or, for a chunk written by another
process since this one last caught up, against the server's own metadata: as_of is never crossed, whatever the
plan. Chunks another process wrote since the last catch-up are missed by the fetch and sketch plans until the
next one (at most `sync_interval_s`, index/sync.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np

from index.lexical import LexicalIndex
from index.sketches import as_matrix, shortlist, sketch
from index.vector_index import ChromaVectorIndex, date_where
from index.vectors import DateSortedVectors

FETCH_MAX = 100_000    # chunks a window may have to be searched by its sketches (48 bytes each, read from SQLite)
SHORTLIST = 10         # vectors read by id per result asked for, nearest by sketch (~0.1 ms each at 1M)
OVERFETCH_MAX = 2_000  # unfiltered results asked for at most before falling back to the server's filter
SAFETY = 2.0           # over-fetch this many times what the window's share predicts, before growing
RESULTS_PER_FETCHED = 2  # an over-fetched result costs about half a fetched vector: below, fetching is cheaper


@dataclass(frozen=True)
class Plan:
    how: Literal["fetch", "sketch", "overfetch", "where", "empty"]
    fetch: tuple[int, ...] = ()    # for overfetch: the k of each attempt, in order


def plan(limit: int, in_window: int, stored: int, max_fetch: int = FETCH_MAX, max_k: int = OVERFETCH_MAX) -> Plan:
    """How to find the `limit` nearest of `in_window` chunks among `stored` (counts from the keyword index)."""
    if in_window <= 0:
        return Plan("empty")
    left_out = max(stored - in_window, 0)
    single = limit + left_out
    if single <= max_k and (single <= RESULTS_PER_FETCHED * in_window or in_window > max_fetch):
        return Plan("overfetch", (single,))
    if in_window <= max_fetch:
        return Plan("fetch" if in_window <= SHORTLIST * limit else "sketch")
    first = min(max_k, math.ceil(SAFETY * limit * stored / in_window))
    steps = [first]
    while steps[-1] < max_k:
        steps.append(min(max_k, steps[-1] * 4))
    return Plan("overfetch", tuple(steps))


def in_window(date: int | None, date_min: int | None, date_max: int | None) -> bool:
    return date is not None and (not date_min or date >= date_min) and (not date_max or date <= date_max)


class ServerWindowSearch:
    """Vector search over a date window on a Chroma server (see the module docstring for the plans)."""

    def __init__(self, chunks: ChromaVectorIndex, lexical: LexicalIndex, max_fetch: int = FETCH_MAX,
                 max_k: int = OVERFETCH_MAX, on_plan: Callable[[Plan], None] | None = None) -> None:
        self.chunks = chunks
        self.lexical = lexical
        self.max_fetch, self.max_k = max_fetch, max_k
        self.on_plan = on_plan    # for tests and the bench: which plan each search took

    def search(self, vector: Sequence[float], limit: int, date_min: int | None,
               date_max: int | None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `limit` nearest chunks dated within the range, best first."""
        chosen = plan(limit, self.lexical.count_between(date_min, date_max), self.lexical.count(), self.max_fetch,
                      self.max_k)
        if self.on_plan is not None:
            self.on_plan(chosen)
        if chosen.how == "empty":
            return []
        if chosen.how == "fetch":
            return self.exact(vector, limit, date_min, date_max)
        if chosen.how == "sketch":
            return self._sketched(vector, limit, date_min, date_max)
        hits: list[tuple[str, float]] = []
        for k in chosen.fetch:
            hits = self._dated(self.chunks.query(vector=vector, limit=k, where=None), date_min, date_max)
            if len(hits) >= limit:
                return hits[:limit]
        return self._dated(self.chunks.query(vector=vector, limit=limit, where=date_where(date_min, date_max)),
                           date_min, date_max)

    def exact(self, vector: Sequence[float], limit: int, date_min: int | None,
              date_max: int | None) -> list[tuple[str, float]]:
        """The `limit` nearest of every chunk in the window, all their vectors read (the fetch plan; what the
        scale bench measures the sketch plan against)."""
        return self._nearest(vector, limit, self.lexical.ids_between(date_min, date_max), date_min, date_max)

    def _sketched(self, vector: Sequence[float], limit: int, date_min: int | None,
                  date_max: int | None) -> list[tuple[str, float]]:
        """The `limit` nearest of the window's SHORTLIST x limit nearest by sketch, plus any chunk without one."""
        rows = self.lexical.sketches_between(date_min, date_max)
        known = [(cid, s) for cid, s in rows if s is not None]
        unknown = [cid for cid, s in rows if s is None]
        nearest = shortlist(sketch(vector), as_matrix([s for _, s in known]), SHORTLIST * limit)
        return self._nearest(vector, limit, [known[i][0] for i in nearest] + unknown, date_min, date_max,
                             record=set(unknown))

    def _nearest(self, vector: Sequence[float], limit: int, ids: list[str], date_min: int | None,
                 date_max: int | None, record: set[str] = frozenset()) -> list[tuple[str, float]]:
        """The `limit` nearest of these chunks, by their vectors read from the server (a chunk removed since the
        keyword index listed it is simply not returned) and dated by the server's metadata: the embedded store's
        exact window search, over just these rows. The sketches of the `record` ones are kept on the way."""
        got = self.chunks.get(ids=ids, include=["embeddings", "metadatas"])
        if not len(got["ids"]):
            return []
        if record:
            self.lexical.set_sketches({cid: sketch(v) for cid, v in zip(got["ids"], got["embeddings"])
                                       if cid in record})
        dates = [int(m.get("date_num", 0)) for m in got["metadatas"]]
        window = DateSortedVectors.build(got["ids"], dates, np.asarray(got["embeddings"], dtype=np.float32))
        return window.search(np.asarray(vector, dtype=np.float32), limit, date_min, date_max)

    def _dated(self, hits: list[tuple[str, float]], date_min: int | None,
               date_max: int | None) -> list[tuple[str, float]]:
        """The hits dated within the range, in order; a date the keyword index lacks is read from the server."""
        dates = self.lexical.dates_of([cid for cid, _ in hits])
        unknown = [cid for cid, _ in hits if cid not in dates]
        if unknown:
            got = self.chunks.get(ids=unknown, include=["metadatas"])
            dates.update({cid: int(m.get("date_num", 0)) for cid, m in zip(got["ids"], got["metadatas"])})
        return [(cid, sim) for cid, sim in hits if in_window(dates.get(cid), date_min, date_max)]
