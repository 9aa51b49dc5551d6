"""Exact vector search over a date range, from an in-memory copy of the store's vectors sorted by date.

Why: a date window is the common case (every question asked "as of" a day), and Chroma's `where` filter on the
date cost 30-40 ms a query at 10k chunks here, against ~10 ms unfiltered (measured by eval/bench.py and in
the issue 6 note). Sorted by date, a window is one contiguous slice: a bisect and a matrix-vector product
over only the chunks in the window, exact rather than approximate. Chroma stays the store and the source of
the vectors; this copy is brought up to date whenever the keyword index reports a write (see Store). A window
that holds every chunk (a question asked as of today) is no filter at all: Store sends it to Chroma's own
index, unfiltered.

The copy is also saved beside the store (`save`, after every ingest) and memory-mapped by the next process
(`load_saved`): reading 97k vectors back from Chroma took ~6 s, the first dated question's wait. A saved copy is
checked against the chunks the keyword index holds, not trusted: a chunk id names its content (see
index/chunking.chunk_id), so rows whose ids are still indexed are reused and only the others fetched (`refresh`).
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

FORMAT = 1
Fetch = Callable[[list[str]], Iterable[tuple[list[str], np.ndarray]]]  # ids -> pages of (ids found, vectors)
Generation = Callable[[], object]       # changes whenever the store is written (LexicalIndex.generation)
Dates = Callable[[], dict[str, int]]    # chunk id -> date_num of every indexed chunk (LexicalIndex.dates)


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


def refresh(dates: dict[str, int], saved: DateSortedVectors | None, fetch: Fetch) -> DateSortedVectors:
    """The copy for the chunks indexed now (`dates`: chunk id -> date_num): the saved copy itself when it holds
    exactly them, else its rows still wanted plus the others from `fetch`, written straight into their rows (the
    peak is one matrix and one page). Chunks the vector store does not hold yet (being written) are left out."""
    order = sorted(dates, key=lambda cid: (dates[cid], cid))
    if saved is not None and saved.ids == tuple(order):
        return saved
    known = saved.row_of if saved is not None and len(saved) else {}
    row_of = {cid: row for row, cid in enumerate(order)}
    filled = np.zeros(len(order), dtype=bool)
    matrix = np.zeros((len(order), saved.matrix.shape[1]), dtype=np.float32) if known else None
    if known:
        pairs = [(row, known[cid]) for row, cid in enumerate(order) if cid in known]
        if pairs:
            rows = np.fromiter((r for r, _ in pairs), dtype=np.int64, count=len(pairs))
            matrix[rows] = saved.matrix[np.fromiter((k for _, k in pairs), dtype=np.int64, count=len(pairs))]
            filled[rows] = True
    for ids, page in fetch([cid for cid in order if cid not in known]):
        if not len(ids):
            continue
        page = np.asarray(page, dtype=np.float32)
        if matrix is None:
            matrix = np.zeros((len(order), page.shape[1]), dtype=np.float32)
        rows = np.fromiter((row_of[cid] for cid in ids), dtype=np.int64, count=len(ids))
        matrix[rows] = page
        filled[rows] = True
    if matrix is None:
        return DateSortedVectors.from_sorted([], [], np.zeros((0, 0), dtype=np.float32))
    if not filled.all():
        keep = np.flatnonzero(filled)
        order, matrix = [order[r] for r in keep], matrix[keep]
    return DateSortedVectors.from_sorted(order, [dates[cid] for cid in order], matrix)


def save(vectors: DateSortedVectors, path: Path, encoder: str) -> None:
    """Write the copy beside the store: the matrix under a new name, then `path` (ids, dates, encoder, the
    matrix's name) replaced atomically, so a reader sees the old copy or the new one, never half of each."""
    path = Path(path)
    name = f"{path.stem}-{uuid.uuid4().hex[:12]}.npy"
    partial = path.parent / f".{name}.{os.getpid()}.tmp"
    with open(partial, "wb") as out:
        np.save(out, np.ascontiguousarray(vectors.matrix, dtype=np.float32))
    partial.replace(path.parent / name)
    head = path.parent / f".{path.name}.{os.getpid()}.tmp"
    head.write_text(json.dumps({"format": FORMAT, "encoder": encoder, "matrix": name, "ids": list(vectors.ids),
                                "dates": list(vectors.dates)}))
    head.replace(path)
    for old in path.parent.glob(f"{path.stem}-{'?' * 12}.npy"):   # earlier copies (a reader that mapped one keeps it)
        if old.name != name:
            old.unlink(missing_ok=True)


def load_saved(path: Path, encoder: str) -> DateSortedVectors | None:
    """The saved copy with its matrix memory-mapped (pages load as searches touch them), or None when there is
    none, it is unreadable, or another encoder made it."""
    try:
        head = json.loads(Path(path).read_text())
        if head.get("format") != FORMAT or head.get("encoder") != encoder:
            return None
        matrix = np.load(Path(path).parent / head["matrix"], mmap_mode="r")
        ids, dates = tuple(head["ids"]), tuple(head["dates"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if matrix.ndim != 2 or matrix.shape[0] != len(ids) or len(dates) != len(ids):
        return None
    return DateSortedVectors(ids, dates, matrix, {cid: row for row, cid in enumerate(ids)})


class DateVectorCopy:
    """The store's date-sorted copy: loaded on the first dated search (`current`), reloaded after any write to the
    store (a new `generation`), saved beside the store after an ingest (`save`) for the next process to map."""

    def __init__(self, path: Path, encoder: str, generation: Generation, dates: Dates, fetch: Fetch) -> None:
        self.path, self.encoder = Path(path), encoder
        self._generation, self._dates, self._fetch = generation, dates, fetch
        self._cached: tuple[object, DateSortedVectors] | None = None
        self._lock = threading.Lock()

    def loaded(self) -> DateSortedVectors | None:
        """The copy this process holds, however old (its similarities serve any chunk it knows), or None."""
        cached = self._cached
        return cached[1] if cached is not None else None

    def current(self) -> DateSortedVectors:
        """The copy for the store as it is now, loaded (once, under a lock) when the store has changed."""
        generation = self._generation()
        cached = self._cached
        if cached is None or cached[0] != generation:
            with self._lock:
                cached = self._cached
                if cached is None or cached[0] != generation:
                    cached = (generation, self._load())
                    self._cached = cached
        return cached[1]

    def save(self) -> None:
        """Bring the saved copy up to date (after a write), without keeping it in this process."""
        with self._lock:
            self._load()

    def _load(self) -> DateSortedVectors:
        """The saved copy, memory-mapped, when it holds exactly the indexed chunks (ids and dates from the keyword
        index, no Chroma round trip); else updated with the vectors it lacks and saved again."""
        saved = load_saved(self.path, self.encoder)
        fresh = refresh(self._dates(), saved, self._fetch)
        if fresh is not saved:
            save(fresh, self.path, self.encoder)
        return fresh
