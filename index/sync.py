"""One archive, many processes: a change log kept in Chroma, so every process's keyword index (and the date-sorted
vectors derived from it) follows what any process wrote to a shared Chroma server, incrementally.

The log has one entry per article, keyed by its id and stamped with the writer's clock (ms) at its last write:
chunks added, replaced or removed. It grows with the articles, not with the writes. A writer stamps an entry
*after* changing the article's chunks, so a reader that sees the entry finds the new state; a reader re-reads the
article's chunks from Chroma, which makes replaying an entry harmless and the order of entries irrelevant.

Chroma has no counter to increment atomically, so the stamps are clocks: a reader asks for entries newer than
where its last read began (by its clock, or the newest stamp it saw if later) minus SLACK_MS (a writer's clock
may lag the others', and an entry is stamped just before its upsert lands) and skips those it already took in,
whose stamps it keeps in the keyword index's file (so a reopened index re-reads nothing it holds). Known limit: a writer whose clock lags by more than
SLACK_MS can go unseen until the next open, whose count check rebuilds the keyword index when Chroma and it
disagree.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from index.lexical import LexicalIndex, Row
from index.paging import IN_BATCH, PAGE, batches

CHANGES_SUFFIX = "_changes"
SLACK_MS = 30_000
MARK = "changes"       # the keyword index's mark: how far (a stamp) it has read the log
FOREVER = 2 ** 62


@dataclass(frozen=True)
class Change:
    article_id: str
    at: int   # ms since the epoch, by the writer's clock


def now_ms() -> int:
    return int(time.time() * 1000)


def to_take_in(changes: Iterable[Change], taken: dict[str, int]) -> list[str]:
    """Articles whose newest change this process has not taken in yet (`taken`: article id -> stamp)."""
    newest: dict[str, int] = {}
    for change in changes:
        newest[change.article_id] = max(change.at, newest.get(change.article_id, change.at))
    return [aid for aid, at in newest.items() if taken.get(aid, -1) < at]


def forget_before(taken: dict[str, int], oldest: int) -> dict[str, int]:
    """What a reader must still remember: stamps it may be shown again (newer than `oldest`)."""
    return {aid: at for aid, at in taken.items() if at > oldest}


class ChangeLog:
    """The `<collection>_changes` collection: written by every store, read by the processes sharing a server."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def record(self, article_ids: Sequence[str], at: int | None = None) -> list[Change]:
        """Stamp these articles as changed now (called after their chunks changed)."""
        ids = list(dict.fromkeys(article_ids))
        at = now_ms() if at is None else at
        for part in batches(ids, PAGE):
            self.collection.upsert(ids=part, embeddings=[[1.0]] * len(part), metadatas=[{"at": at}] * len(part))
        return [Change(aid, at) for aid in ids]

    def since(self, after: int) -> list[Change]:
        """Entries stamped after `after` (one small call when there are few)."""
        out: list[Change] = []
        while True:
            got = self.collection.get(where={"at": {"$gt": after}}, include=["metadatas"], limit=PAGE,
                                      offset=len(out))
            out += [Change(aid, int(meta["at"])) for aid, meta in zip(got["ids"], got["metadatas"])]
            if len(got["ids"]) < PAGE:
                return out


class Follower:
    """Keeps one keyword index in step with a change log, checking at most every `interval_s` seconds.

    `read_rows(article_ids)` returns the keyword rows of those articles as Chroma holds them now (none for an
    article removed)."""

    def __init__(self, log: ChangeLog, lexical: LexicalIndex, read_rows: Callable[[list[str]], list[Row]],
                 interval_s: float, clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = now_ms) -> None:
        self.log, self.lexical, self.read_rows = log, lexical, read_rows
        self.interval_s, self.clock, self.wall_ms = interval_s, clock, wall_ms
        self._taken: dict[str, int] = lexical.stamps()   # kept in the index's file: a reopened one re-reads none
        self._checked: float | None = None
        self._failed: tuple[float, Exception] | None = None   # (when, what) of the last check that failed
        self._lock = threading.Lock()

    @property
    def position(self) -> int | None:
        """The newest stamp taken in, kept in the keyword index's file (None: it never followed this log)."""
        return self.lexical.mark(MARK)

    def start(self, at: int) -> None:
        """Follow from `at` on: the keyword index holds everything written before it (it was just rebuilt)."""
        with self._lock:
            self.lexical.set_mark(MARK, at)
            self._taken.clear()
            self.lexical.keep_stamps({}, forget_until=FOREVER)

    def taken_in(self, changes: Iterable[Change]) -> None:
        """This process wrote these itself (its keyword index has them): no need to read them back."""
        with self._lock:
            self._remember(changes)

    def follow(self, force: bool = False) -> int:
        """Take in the changes since the last check, if one is due (or forced); returns the articles re-read.
        A caller that waited while a check failed gets that failure, not a second wait for a dead server (a
        question's keyword and vector searches both catch up, side by side)."""
        asked = self.clock()
        with self._lock:
            if self._failed is not None and self._failed[0] > asked:
                raise self._failed[1]
            if not (force or self._checked is None or self.clock() - self._checked >= self.interval_s):
                return 0
            position = self.position
            if position is None:
                return 0
            self._checked = self.clock()
            reading_from = self.wall_ms()
            try:
                changes = self.log.since(position - SLACK_MS)
                stale = to_take_in(changes, self._taken)
                for batch in batches(stale, IN_BATCH):
                    self.lexical.replace_articles(batch, self.read_rows(batch))
            except Exception as exc:
                self._failed = (self.clock(), exc)
                raise
            self._remember(changes)
            # the log is read up to when this read began (by this clock), not only up to its newest stamp: else
            # the last SLACK_MS of a busy ingest would be fetched again at every check, long after it ended
            newest = max([c.at for c in changes] + [reading_from, position])
            if newest > position:
                self.lexical.set_mark(MARK, newest)
            oldest = newest - SLACK_MS
            self._taken = forget_before(self._taken, oldest)
            self.lexical.keep_stamps({}, forget_until=oldest)
            return len(stale)

    def _remember(self, changes: Iterable[Change]) -> None:
        fresh = {}
        for change in changes:
            at = max(change.at, self._taken.get(change.article_id, change.at))
            if self._taken.get(change.article_id) != at:
                self._taken[change.article_id] = fresh[change.article_id] = at
        if fresh:
            self.lexical.keep_stamps(fresh)
