"""A persistent, incremental BM25 keyword index (SQLite FTS5) beside the vector store.

Chroma stays the source of truth; this is a derived index kept in step on every write and checked against
Chroma's chunk count when opened, so a crash between the two writes is repaired instead of served stale. With a
shared Chroma server it also follows other processes' writes through the change log (index/sync.py).
"""
from __future__ import annotations

import math
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Sequence

from index.terms import terms

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,
                                   article_id TEXT NOT NULL, date_num INTEGER NOT NULL, sketch BLOB);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_date ON chunks(date_num);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(terms, tokenize='unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, row);
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS taken (article_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
"""
# (chunk id, article id, date_num, text[, sketch of its vector or None]): index/sketches.py
Row = tuple[str, str, int, str] | tuple[str, str, int, str, bytes | None]
MAX_QUERY_TERMS = 32


class LexicalIndex:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        if "sketch" not in [c[1] for c in self._db.execute("PRAGMA table_info(chunks)")]:   # made before sketches
            self._db.execute("ALTER TABLE chunks ADD COLUMN sketch BLOB")
        self._doc_count: int | None = None
        self._own_writes = 0
        # searches read through a connection of their own (WAL readers do not wait for one another): a keyword
        # search, which can take 100+ ms at 1M chunks, does not hold up a vector search's date lookups
        self._reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._read_lock = threading.Lock()

    def generation(self) -> tuple[int, int]:
        """Changes whenever this index is written, by this process or another (SQLite's data_version), so
        copies derived from the store (index/vectors.py) know when to reload."""
        with self._lock:
            return self._own_writes, self._db.execute("PRAGMA data_version").fetchone()[0]

    def date_range(self) -> tuple[int | None, int | None]:
        """(oldest, newest) date_num of the indexed chunks; (None, None) when there are none."""
        with self._lock:   # two queries: SQLite answers a lone min() or max() from the index, both at once by a scan
            return (self._db.execute("SELECT min(date_num) FROM chunks").fetchone()[0],
                    self._db.execute("SELECT max(date_num) FROM chunks").fetchone()[0])

    def count_between(self, date_min: int | None, date_max: int | None) -> int:
        """How many indexed chunks are dated within the inclusive range (an open end is unbounded)."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks WHERE date_num BETWEEN ? AND ?",
                                    (date_min or 0, date_max or 99991231)).fetchone()[0]

    def ids_between(self, date_min: int | None, date_max: int | None) -> list[str]:
        """Ids of the indexed chunks dated within the inclusive range."""
        with self._lock:
            return [cid for (cid,) in self._db.execute("SELECT id FROM chunks WHERE date_num BETWEEN ? AND ?",
                                                       (date_min or 0, date_max or 99991231))]

    def sketches_between(self, date_min: int | None, date_max: int | None) -> list[tuple[str, bytes | None]]:
        """(chunk id, sketch or None when not known yet) of the indexed chunks dated within the inclusive range."""
        with self._lock:
            return self._db.execute("SELECT id, sketch FROM chunks WHERE date_num BETWEEN ? AND ?",
                                    (date_min or 0, date_max or 99991231)).fetchall()

    def set_sketches(self, sketches: dict[str, bytes]) -> None:
        """Record sketches of chunks indexed without one (a keyword index made before sketches)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("UPDATE chunks SET sketch=? WHERE id=?", [(s, c) for c, s in sketches.items()])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def dates_of(self, ids: Sequence[str]) -> dict[str, int]:
        """chunk id -> date_num of those of these chunks that are indexed."""
        out: dict[str, int] = {}
        with self._lock:
            for start in range(0, len(ids), 900):   # under SQLite's limit on bound parameters
                part = list(ids[start:start + 900])
                marks = ",".join("?" * len(part))
                out.update(self._db.execute(f"SELECT id, date_num FROM chunks WHERE id IN ({marks})", part))
        return out

    def dates(self) -> dict[str, int]:
        """chunk id -> date_num for every indexed chunk."""
        with self._lock:
            return dict(self._db.execute("SELECT id, date_num FROM chunks"))

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._reader.close()
            self._db.close()

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def add(self, rows: Iterable[Row]) -> None:
        """Insert or replace (chunk id, article id, date_num, text[, sketch]) rows in one transaction."""
        self.replace_articles([], rows)

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        self.replace_articles(article_ids, [])

    def replace_articles(self, article_ids: Sequence[str], rows: Iterable[Row]) -> None:
        """Drop these articles' rows and insert `rows` in one transaction, so a search sees the old rows or the
        new ones, never neither (how another process's rewrite of an article is taken in: index/sync.py)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for aid in article_ids:
                    old = self._db.execute("SELECT rowid FROM chunks WHERE article_id=?", (aid,)).fetchall()
                    self._db.executemany("DELETE FROM fts WHERE rowid=?", old)
                    self._db.execute("DELETE FROM chunks WHERE article_id=?", (aid,))
                for chunk_id, article_id, date_num, text, *sketch in rows:
                    old = self._db.execute("SELECT rowid FROM chunks WHERE id=?", (chunk_id,)).fetchone()
                    if old:
                        self._db.execute("DELETE FROM fts WHERE rowid=?", old)
                        self._db.execute("DELETE FROM chunks WHERE rowid=?", old)
                    cur = self._db.execute("INSERT INTO chunks(id, article_id, date_num, sketch) VALUES (?,?,?,?)",
                                           (chunk_id, article_id, date_num, sketch[0] if sketch else None))
                    self._db.execute("INSERT INTO fts(rowid, terms) VALUES (?,?)",
                                     (cur.lastrowid, " ".join(terms(text))))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._doc_count = None
            self._own_writes += 1

    def mark(self, name: str) -> int | None:
        """A number kept with the index (how far it has followed a change log: index/sync.py), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM marks WHERE name=?", (name,)).fetchone()
            return row[0] if row else None

    def set_mark(self, name: str, value: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO marks(name, value) VALUES (?,?)", (name, value))

    def stamps(self) -> dict[str, int]:
        """article id -> the change-log stamp of its version this index holds, for the recent changes it keeps
        (index/sync.py: so a reopened index does not re-read what it already took in)."""
        with self._lock:
            return dict(self._db.execute("SELECT article_id, at FROM taken"))

    def keep_stamps(self, stamps: dict[str, int], forget_until: int | None = None) -> None:
        """Record these stamps, and forget those at or before `forget_until`, in one transaction."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO taken(article_id, at) VALUES (?,?)", stamps.items())
            if forget_until is not None:
                self._db.execute("DELETE FROM taken WHERE at <= ?", (forget_until,))
            self._db.execute("COMMIT")

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM fts")
            self._db.execute("DELETE FROM chunks")
            self._db.execute("DELETE FROM marks")
            self._db.execute("DELETE FROM taken")
            self._doc_count = None
            self._own_writes += 1

    def search(self, question: str, limit: int, date_min: int | None = None,
               date_max: int | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) for chunks sharing terms with the question, in a date range."""
        query_terms = list(dict.fromkeys(terms(question)))[:MAX_QUERY_TERMS]
        if not query_terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in query_terms)
        sql = ("SELECT c.id, bm25(fts) AS s FROM fts JOIN chunks c ON c.rowid = fts.rowid "
               "WHERE fts MATCH ? AND c.date_num BETWEEN ? AND ? ORDER BY s LIMIT ?")
        with self._read_lock:
            rows = self._reader.execute(sql, (match, date_min or 0, date_max or 99991231, limit)).fetchall()
        return [(cid, -score) for cid, score in rows]

    def idf(self, query_terms: Iterable[str]) -> dict[str, float]:
        """BM25-style inverse document frequency of stemmed terms over all chunks (unknown terms get the max)."""
        wanted = list(dict.fromkeys(query_terms))
        with self._lock:
            if self._doc_count is None:
                self._doc_count = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            n = max(self._doc_count, 1)
            found = {}
            if wanted:
                marks = ",".join("?" * len(wanted))
                found = dict(self._db.execute(f"SELECT term, doc FROM vocab WHERE term IN ({marks})", wanted))
        return {t: math.log(1 + (n - found.get(t, 0) + 0.5) / (found.get(t, 0) + 0.5)) for t in wanted}
