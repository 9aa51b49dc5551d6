"""The Chroma store (embedded or client/server): chunks with vectors, an article manifest, and the BM25 index.

Each part has its own module: the vector index (index/vector_index.py), the manifest (index/manifest.py), the
keyword index (index/lexical.py) and its change log (index/sync.py), the date-sorted copy (index/vectors.py).
This module composes them, owns the order of writes across them, and chooses the store (`make_store`).

Write order per article is chunks -> keyword index -> change log -> manifest entry. The manifest entry is the
commit point: an article without one is re-ingested in full next time, its leftovers deleted first. The change log
entry tells other processes sharing a Chroma server to re-read the article (index/sync.py).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

import numpy as np

from index.articles import SourceFile
from index.chunking import Chunk, chunk_id
from index.dates import iso_from_number
from index.errors import StoreError
from index.lexical import LexicalIndex
from index.manifest import MANIFEST_SUFFIX, Entry, Manifest
from index.paging import IN_BATCH, batches
from index.settings import Settings, offline_environment
from index.sketches import sketch
from index.sync import CHANGES_SUFFIX, ChangeLog, Follower, now_ms
from index.vector_index import (DEFAULT_MAX_BATCH, ChromaVectorIndex, ChunkMeta, StoredChunk, date_where,
                                keyword_rows)
from index.vectors import DateSortedVectors, DateVectorCopy
from index.window_search import ServerWindowSearch

__all__ = ["ChunkMeta", "ChunkSearch", "Store", "StoreError", "StoreStats", "StoredChunk", "date_where",
           "lexical_path", "make_store", "open_store"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreStats:
    articles: int
    chunks: int
    first_date: str | None
    last_date: str | None


class ChunkSearch(Protocol):
    """What retrieval (qa/retrieval.py) needs of a store, per question: both searches over a date range, then the
    texts of their hits in one call. The seam for other stores (one serving several machines); Store implements it."""

    def vector_search(self, vector: Sequence[float], limit: int, date_min: int | None = None,
                      date_max: int | None = None) -> list[tuple[str, float]]: ...

    def keyword_search(self, question: str, limit: int, date_min: int | None = None,
                       date_max: int | None = None) -> list[tuple[str, float]]: ...

    def get_chunks(self, ids: Sequence[str], query: Sequence[float] | None = None) -> dict[str, StoredChunk]: ...


class Store:
    """The store as the rest of the code sees it, composed of its parts: `chunks` (the vector index), `lexical`
    (the keyword index, with `changes` and a follower to keep it in step), `articles` (the manifest) and
    `date_copy` (the date-sorted vectors). It owns the write order across them and the choice of search."""

    def __init__(self, client: Any, settings: Settings, lexical_path: Path) -> None:
        self.settings = settings
        self._client = client
        meta = {"hnsw:space": "cosine", "embed_model": settings.embed_model, "embed_backend": settings.embed_backend}
        try:
            chunks = client.get_or_create_collection(settings.collection, metadata=meta, embedding_function=None)
            articles = client.get_or_create_collection(settings.collection + MANIFEST_SUFFIX, embedding_function=None)
            self.changes = ChangeLog(client.get_or_create_collection(settings.collection + CHANGES_SUFFIX,
                                                                     embedding_function=None))
        except Exception as exc:  # chromadb raises many types; the user needs one clear line
            raise StoreError(f"cannot open the Chroma collection {settings.collection!r}: {exc}") from exc
        built_with = (chunks.metadata or {}).get("embed_model")
        if built_with and built_with != settings.embed_model:
            raise StoreError(f"the store was built with the embedder {built_with!r}, but NEWSQA_EMBED_MODEL is "
                             f"{settings.embed_model!r}: use that model or a new NEWSQA_STORE_DIR")
        # the encoder that built the vectors; stores from before it was recorded were built by torch, then the default
        self.encoder: str = (chunks.metadata or {}).get("embed_backend") or \
            ("torch" if chunks.count() else settings.embed_backend)
        try:
            self.lexical = LexicalIndex(lexical_path)
        except Exception as exc:
            raise StoreError(f"cannot open the keyword index at {lexical_path}: {exc}") from exc
        max_batch = getattr(client, "get_max_batch_size", lambda: DEFAULT_MAX_BATCH)() or DEFAULT_MAX_BATCH
        self.chunks = ChromaVectorIndex(chunks, max_batch)
        self.articles = Manifest(articles)
        vectors_file = lexical_path.with_name(lexical_path.stem.replace("keywords-", "vectors-", 1) + ".json")
        self.date_copy = DateVectorCopy(vectors_file, self.encoder, self.lexical.generation, self.lexical.dates,
                                        self.chunks.vectors)
        # other processes write to a server too: follow its change log. An embedded store's keyword index is
        # shared on disk by every process using the folder, so it needs no log reading (the log is still written)
        self._follower = Follower(self.changes, self.lexical, self.chunks.keyword_rows, settings.sync_interval_s) \
            if settings.chroma_host else None
        # a server's date windows are searched on the server, planned from the keyword index's dates: no copy of
        # the vectors in each app process (index/window_search.py); an embedded store keeps its in-process copy
        self.server_windows = ServerWindowSearch(self.chunks, self.lexical) if settings.chroma_host else None
        self.sync_lexical()

    # --- the manifest (index/manifest.py) ---------------------------------------------------------------------
    def manifest(self, article_ids: Sequence[str]) -> dict[str, Entry]:
        """Manifest entries (content hash, source, counts) of the given articles that are fully stored."""
        return self.articles.entries(article_ids)

    def articles_by_text(self, text_hashes: Sequence[str]) -> dict[str, Entry]:
        """Stored articles whose text hash is among these (to skip the same story under another name)."""
        return self.articles.by_text(text_hashes)

    def articles_from_files(self, files: Sequence[SourceFile]) -> dict[str, Entry]:
        """Manifest entries of the articles stored from these files (see Manifest.from_files)."""
        return self.articles.from_files(files)

    def count_by_source(self, keys: Sequence[str]) -> dict[str, int]:
        """How many articles the store holds from each of these sources (files, URLs, feeds), by source_key."""
        return self.articles.count_by_source(keys)

    def all_articles(self) -> dict[str, Entry]:
        return self.articles.all()

    def commit_articles(self, entries: dict[str, Entry]) -> None:
        """Record articles as fully stored (the commit point of an ingest)."""
        self.articles.commit(entries)

    # --- writing ------------------------------------------------------------------------------------------
    def check_encoder(self, backend: str | None) -> None:
        """Refuse to write vectors of another encoder than the one that built the store (they would mix)."""
        if backend and backend != self.encoder:
            raise StoreError(f"the store at {self.settings.store_dir} was built with the {self.encoder} encoder, not "
                             f"{backend}: ingest with NEWSQA_EMBED_BACKEND={self.encoder}, or into a new "
                             "NEWSQA_STORE_DIR")
        meta = self.chunks.metadata
        if backend and not meta.get("embed_backend"):   # made before the encoder was recorded: record it now
            self.chunks.set_metadata({**{k: v for k, v in meta.items() if not k.startswith("hnsw:")},
                                      "embed_backend": self.encoder})

    def rekey_article(self, old_id: str, new_id: str, manifest_extra: dict[str, Any]) -> None:
        """Move a stored article to a new id with its vectors (no re-embedding): new rows first, then the old
        ones go, so a crash in between leaves an old copy that the next ingest of its file removes."""
        got = self.chunks.get(where={"article_id": old_id}, include=["embeddings", "documents", "metadatas"])
        metas = [{**m, "article_id": new_id} for m in got["metadatas"]]
        ids = [chunk_id(new_id, m["content_hash"], m["position"]) for m in metas]
        self.chunks.upsert(ids, got["embeddings"], got["documents"], metas)
        self.lexical.add(keyword_rows({"ids": ids, "documents": got["documents"], "metadatas": metas,
                                       "embeddings": got["embeddings"]}))
        self._changed([new_id])
        entry = self.manifest([old_id]).get(old_id)
        if entry is not None:
            self.commit_articles({new_id: {**entry, **manifest_extra}})
        self.remove_articles([old_id])

    def add_chunks(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Write chunks to the vector index, then the keyword index, then the change log (the manifest entry
        follows, from ingest, once all of an article's chunks are in)."""
        self.chunks.add(chunks, vectors)
        self.lexical.add((c.id, c.article_id, c.date_num, f"{c.title}\n{c.text}", sketch(v))
                         for c, v in zip(chunks, vectors))
        self._changed([c.article_id for c in chunks])

    def remove_articles(self, article_ids: Sequence[str]) -> int:
        """Delete the articles' chunks, keyword rows and manifest entries; returns the chunks deleted."""
        removed = 0
        for batch in batches(list(article_ids), IN_BATCH):
            deleted = self.chunks.delete_articles(batch)
            removed += deleted
            self.lexical.remove_articles(batch)
            if deleted:
                self._changed(batch)
            self.articles.delete(batch)
        return removed

    def _changed(self, article_ids: Sequence[str]) -> None:
        """Log that these articles' chunks changed, after the change, for the other processes (index/sync.py)."""
        logged = self.changes.record(article_ids)
        if self._follower is not None:
            self._follower.taken_in(logged)

    def sync_lexical(self) -> None:
        """At open: take in the change log since this keyword index last followed it (server mode), then rebuild
        the index from Chroma if the two still disagree (a crash, a log entry missed, a first open)."""
        started = now_ms()
        follower = self._follower
        if follower is not None:
            follower.follow(force=True)
        stored = self.chunks.count()
        rebuild = self.lexical.count() != stored
        if rebuild:
            log.info("rebuilding the keyword index from %d stored chunks", stored)
            self.lexical.clear()
            for rows in self.chunks.all_keyword_rows(stored):
                self.lexical.add(rows)
        if follower is not None and (rebuild or follower.position is None):
            follower.start(started)   # what was written before `started` is in the index; later writes are logged

    def catch_up(self) -> None:
        """Take in what other processes wrote to the server, when the last check is older than sync_interval_s:
        called before each search, so it costs one small call at most every few seconds (none when embedded)."""
        if self._follower is not None:
            self._follower.follow()

    # --- reading ------------------------------------------------------------------------------------------
    def vector_search(self, vector: Sequence[float], limit: int, date_min: int | None = None,
                      date_max: int | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest chunks dated within the range, best first; the texts
        are fetched afterwards with get_chunks, in one round trip with the keyword hits."""
        if limit <= 0:  # (an empty collection answers with empty lists; counting first cost a round trip a query)
            return []
        self.catch_up()
        if (date_min or date_max) and self.server_windows is not None:
            return self.server_windows.search(vector, limit, date_min, date_max)
        if (date_min or date_max) and self.settings.date_vectors:
            first, last = self.lexical.date_range()
            if first is not None and ((date_min and date_min > first) or (date_max and date_max < last)):
                return self.date_vectors().search(np.asarray(vector, dtype=np.float32), limit, date_min, date_max)
            if first is not None:   # the window holds every chunk (as_of today): Chroma's index, unfiltered
                date_min = date_max = None
        return self.chunks.query(vector=vector, limit=limit, where=date_where(date_min, date_max))

    def keyword_search(self, question: str, limit: int, date_min: int | None = None,
                       date_max: int | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the chunks sharing terms with the question, dated within the range."""
        self.catch_up()
        return self.lexical.search(question, limit, date_min, date_max)

    def idf(self, query_terms: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency of stemmed terms over all chunks (the extractive answer's weights)."""
        return self.lexical.idf(query_terms)

    def date_vectors(self) -> DateSortedVectors:
        """The date-sorted copy of the stored vectors, reloaded from Chroma after any write to the store."""
        return self.date_copy.current()

    @property
    def uses_date_copy(self) -> bool:
        """Whether date windows are searched over the in-process copy (embedded stores; a server searches them)."""
        return self.settings.date_vectors and self.server_windows is None

    def finish_writes(self) -> None:
        """After a run of writes (ingest and removal call this): an embedded store saves its date-sorted copy, so
        the next dated question maps it instead of reading every vector back from Chroma; a server's keyword
        index moves its change-log mark past this process's own writes, so reopening it does not re-read them."""
        if self.uses_date_copy:
            self.date_copy.save()
        if self._follower is not None:
            self._follower.follow(force=True)

    def get_chunks(self, ids: Sequence[str], query: Sequence[float] | None = None) -> dict[str, StoredChunk]:
        """Stored chunks by id; with a query vector, each carries its cosine similarity to it."""
        if not ids:
            return {}
        cached = self.date_copy.loaded() if query is not None else None
        got = self.chunks.chunks(ids, with_vectors=query is not None and cached is None)
        sims: dict[str, float] = {}
        if query is not None:
            q = np.asarray(query, dtype=np.float32)
            if cached is not None:
                sims = cached.similarity(q, got["ids"])
            elif len(got["ids"]):
                sims = dict(zip(got["ids"], (np.asarray(got["embeddings"], dtype=np.float32) @ q).tolist()))
        return {cid: StoredChunk(cid, doc, ChunkMeta.read(meta), sims.get(cid) if query is not None else None)
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])}

    def stats(self) -> StoreStats:
        """Counts from Chroma and the date span from the keyword index: a few small calls whatever the archive's
        size (every page load asks), instead of reading every manifest entry."""
        first, last = self.lexical.date_range()
        return StoreStats(articles=self.articles.count(), chunks=self.chunks.count(),
                          first_date=iso_from_number(first) if first else None,
                          last_date=iso_from_number(last) if last else None)

    def close(self) -> None:
        self.lexical.close()


def lexical_path(settings: Settings) -> Path:
    """The keyword index lives in store_dir, one file per collection (and per server, in client/server mode)."""
    where = f"{settings.chroma_host}-{settings.chroma_port}-" if settings.chroma_host else ""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{where}{settings.collection}")
    return settings.store_dir / f"keywords-{name}.sqlite3"


def make_store(settings: Settings) -> Store:
    """The one place a store is chosen: a Chroma server when chroma_host is set, else a persistent folder."""
    offline_environment()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.server import connect

    store_dir = settings.store_dir
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        probe = store_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StoreError(f"the store folder {store_dir} is not writable ({exc.strerror}); "
                         "set NEWSQA_STORE_DIR to a folder you can write") from None
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            client = connect(settings, chroma_settings)
        else:
            client = chromadb.PersistentClient(path=str(store_dir), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as exc:
        where = (f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} is unreachable"
                 if settings.chroma_host else f"the store at {store_dir} cannot be opened")
        raise StoreError(f"{where}: {exc}") from None
    return Store(client, settings, lexical_path(settings))


open_store = make_store   # the name callers have used since the start; both stay public
