"""The vector index: the `<collection>` Chroma collection of chunks (text, metadata, vector), and the typed view of
what it returns.

Chroma is the source of truth for chunks; the keyword index (index/lexical.py) and the date-sorted copy
(index/vectors.py) are derived from what this index holds. Writes are split into Chroma's largest batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from index.chunking import Chunk
from index.lexical import Row
from index.paging import PAGE, batches
from index.sketches import sketch

DEFAULT_MAX_BATCH = 5000   # when the client does not say (Chroma servers and clients before get_max_batch_size)


@dataclass(frozen=True)
class ChunkMeta:
    """What the store keeps beside a chunk's text (Chunk.metadata() written, read back typed)."""

    article_id: str
    date: str            # ISO date of the article
    title: str = ""
    source: str = ""     # the shown name of the file it came from
    url: str = ""
    position: int = 0    # chunk number within the article (0: its lede)
    start: int = 0       # character span in the article's text
    end: int = 0

    @classmethod
    def read(cls, meta: dict[str, Any]) -> "ChunkMeta":
        return cls(article_id=str(meta.get("article_id", "")), date=str(meta.get("date", "")),
                   title=str(meta.get("title", "")), source=str(meta.get("source", "")), url=str(meta.get("url", "")),
                   position=int(meta.get("position", 0)), start=int(meta.get("start", 0)), end=int(meta.get("end", 0)))


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    meta: ChunkMeta
    similarity: float | None = None  # cosine similarity to the query, when it came from a vector search


def date_where(date_min: int | None, date_max: int | None) -> dict[str, Any] | None:
    """A Chroma filter on the numeric date; None when the range is open on both ends."""
    parts = []
    if date_min:
        parts.append({"date_num": {"$gte": date_min}})
    if date_max:
        parts.append({"date_num": {"$lte": date_max}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def keyword_rows(got: dict[str, Any]) -> list[Row]:
    """Keyword index rows of chunks as Chroma's get returns them (ids, documents, metadatas, and embeddings when
    included: then with their sketches)."""
    vectors = got.get("embeddings")
    sketches = [sketch(v) for v in vectors] if vectors is not None and len(vectors) else [None] * len(got["ids"])
    return [(cid, m["article_id"], m["date_num"], f"{m.get('title', '')}\n{doc}", s)
            for cid, doc, m, s in zip(got["ids"], got["documents"], got["metadatas"], sketches)]


class ChromaVectorIndex:
    """Chunks in one Chroma collection: written by ingest (`add`, `upsert`, `delete_articles`), searched by
    retrieval (`query`, `chunks`), read back whole to rebuild the derived indexes (`keyword_rows`, `vectors`)."""

    def __init__(self, collection: Any, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.collection = collection
        self.max_batch = max_batch

    @property
    def metadata(self) -> dict[str, Any]:
        """The collection's own metadata (the embedder and encoder that built it)."""
        return self.collection.metadata or {}

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self.collection.modify(metadata=metadata)

    def count(self) -> int:
        return self.collection.count()

    def get(self, **kwargs: Any) -> Any:
        """Chroma's get, as is (ids, where, include, limit, offset): for tests, the bench, and the methods below."""
        return self.collection.get(**kwargs)

    def query(self, *, vector: Sequence[float], limit: int, where: dict[str, Any] | None,
              ids: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `limit` nearest chunks matching `where` (and among `ids`, when
        given), best first."""
        got = self.collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=limit,
                                    where=where, ids=ids, include=["distances"])
        return [(cid, 1.0 - dist) for cid, dist in zip(got["ids"][0], got["distances"][0])]

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Insert or replace chunks with their vectors."""
        for start in range(0, len(chunks), self.max_batch):
            part = chunks[start:start + self.max_batch]
            self.collection.upsert(ids=[c.id for c in part],
                                   embeddings=[list(v) for v in vectors[start:start + len(part)]],
                                   documents=[c.text for c in part], metadatas=[c.metadata() for c in part])

    def upsert(self, ids: list[str], embeddings: Any, documents: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Insert or replace rows as Chroma holds them (moving stored chunks to a new article id)."""
        for start in range(0, len(ids), self.max_batch):
            end = start + self.max_batch
            self.collection.upsert(ids=ids[start:end], embeddings=embeddings[start:end],
                                   documents=documents[start:end], metadatas=metadatas[start:end])

    def delete_articles(self, article_ids: list[str]) -> int:
        """Delete every chunk of these articles; returns how many there were."""
        got = self.get(where={"article_id": {"$in": article_ids}}, include=[])
        for part in batches(got["ids"], self.max_batch):
            self.collection.delete(ids=part)
        return len(got["ids"])

    def keyword_rows(self, article_ids: list[str]) -> list[Row]:
        """Keyword index rows of these articles' chunks as stored now (none for an article removed)."""
        return keyword_rows(self.get(where={"article_id": {"$in": article_ids}},
                                     include=["documents", "metadatas", "embeddings"]))

    def all_keyword_rows(self, stored: int) -> Iterable[list[Row]]:
        """Keyword index rows of all `stored` chunks, a page at a time (to rebuild the keyword index)."""
        for offset in range(0, stored, PAGE):
            yield keyword_rows(self.get(include=["documents", "metadatas", "embeddings"], limit=PAGE,
                                        offset=offset))

    def vectors(self, ids: list[str]) -> Iterable[tuple[list[str], np.ndarray]]:
        """(ids found, their vectors) a page at a time (to build the date-sorted copy)."""
        for batch in batches(ids, PAGE):
            got = self.get(ids=batch, include=["embeddings"])
            yield got["ids"], np.asarray(got["embeddings"], dtype=np.float32)

    def chunks(self, ids: Sequence[str], with_vectors: bool) -> Any:
        """Texts and metadata (and vectors, if asked) of these chunks, as Chroma's get returns them."""
        return self.get(ids=list(ids), include=["documents", "metadatas"] + (["embeddings"] * with_vectors))
