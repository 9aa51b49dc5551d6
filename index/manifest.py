"""The article manifest: one entry per fully stored article (content hash, source, chunk count), kept in the
`<collection>_articles` Chroma collection.

Writing an entry is the commit point of an ingest: an article without one is re-ingested in full next time (the
write order is in index/store.py). Ingest reads the manifest to skip unchanged articles and to find the articles a
file, URL or feed stored before.
"""
from __future__ import annotations

from typing import Any, Sequence

from index.articles import SourceFile
from index.paging import IN_BATCH, PAGE, batches

MANIFEST_SUFFIX = "_articles"

Entry = dict[str, Any]


class Manifest:
    """The manifest collection: read before an ingest decides what to write, written last (`commit`)."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def entries(self, article_ids: Sequence[str]) -> dict[str, Entry]:
        """Entries (content hash, source, counts) of the given articles that are fully stored."""
        out: dict[str, Entry] = {}
        for batch in batches(list(article_ids), PAGE):
            got = self.collection.get(ids=batch, include=["metadatas"])
            out.update(zip(got["ids"], got["metadatas"]))
        return out

    def by_text(self, text_hashes: Sequence[str]) -> dict[str, Entry]:
        """Stored articles whose text hash is among these (to skip the same story under another name)."""
        out: dict[str, Entry] = {}
        for batch in batches(list(dict.fromkeys(text_hashes)), IN_BATCH):
            got = self.collection.get(where={"text_hash": {"$in": batch}}, include=["metadatas"])
            for aid, meta in zip(got["ids"], got["metadatas"]):
                out[meta["text_hash"]] = {**meta, "id": aid}
        return out

    def from_files(self, files: Sequence[SourceFile]) -> dict[str, Entry]:
        """Entries of the articles stored from these files: by the file's resolved path, or, for entries of older
        stores that lack it, by the name the file shows."""
        out: dict[str, Entry] = {}
        for field, values in (("source_key", [f.key for f in files]), ("source", [f.name for f in files])):
            for batch in batches(values, IN_BATCH):
                got = self.collection.get(where={field: {"$in": batch}}, include=["metadatas"])
                out.update((aid, m) for aid, m in zip(got["ids"], got["metadatas"])
                           if field == "source_key" or not m.get("source_key"))
        return out

    def count_by_source(self, keys: Sequence[str]) -> dict[str, int]:
        """How many articles are stored from each of these sources (files, URLs, feeds), by source_key."""
        counts = dict.fromkeys(keys, 0)
        for batch in batches(list(counts), IN_BATCH):
            for meta in self.collection.get(where={"source_key": {"$in": batch}}, include=["metadatas"])["metadatas"]:
                counts[meta["source_key"]] += 1
        return counts

    def count(self) -> int:
        """How many articles are fully stored."""
        return self.collection.count()

    def all(self) -> dict[str, Entry]:
        """Every entry, by article id."""
        got = self.collection.get(include=["metadatas"])
        return dict(zip(got["ids"], got["metadatas"]))

    def commit(self, entries: dict[str, Entry]) -> None:
        """Record articles as fully stored, after their chunks, keyword rows and change log entries."""
        if entries:
            ids = list(entries)
            self.collection.upsert(ids=ids, embeddings=[[1.0]] * len(ids), metadatas=[entries[i] for i in ids])

    def delete(self, article_ids: Sequence[str]) -> None:
        self.collection.delete(ids=list(article_ids))
