"""Date windows searched on the server (index/window_search.py): the plan, exact results, and the as_of check.

The searches run against a real Chroma collection (embedded: the same calls a server answers) and a real keyword
index; tests/test_chroma_server.py runs the store against a real `chroma run`."""
from __future__ import annotations

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from index.lexical import LexicalIndex
from index.sketches import sketch
from index.vector_index import ChromaVectorIndex
from index.window_search import Plan, ServerWindowSearch, plan


@pytest.mark.parametrize("limit, in_window, stored, expected", [
    (40, 0, 1000, Plan("empty")),
    (40, 150, 150, Plan("overfetch", (40,))),                   # a small store, all in the window: no filter
    (40, 1000, 1000, Plan("overfetch", (40,))),                 # the window holds everything: no filter at all
    (40, 99_900, 100_000, Plan("overfetch", (140,))),           # as of yesterday: the top 40 + the 100 left out
    (40, 300, 100_000, Plan("fetch")),                          # a day of a large archive: its vectors
    (40, 1_500, 100_000, Plan("sketch")),                       # a few days: a shortlist of them by sketch
    (40, 50_000, 100_000, Plan("overfetch", (160, 640, 2000))), # half of it: grow from what the share predicts
    (40, 25_000, 1_000_000, Plan("overfetch", (2000,))),        # a thin share of a huge one: one try, then `where`
])
def test_the_plan_follows_the_windows_size_and_what_it_leaves_out(limit, in_window, stored, expected):
    assert plan(limit, in_window, stored, max_fetch=2_000, max_k=2_000) == expected


N, DIM = 600, 16
DATES = [20220101 + int(d) for d in np.random.default_rng(0).integers(0, 28, N)]
VECTORS = np.random.default_rng(1).normal(size=(N, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """A Chroma collection of N random chunks over 28 days and the keyword index holding their dates."""
    folder = tmp_path_factory.mktemp("windows")
    client = chromadb.PersistentClient(path=str(folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("windows", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    ids = [f"c{i}" for i in range(N)]
    collection.add(ids=ids, embeddings=VECTORS, documents=[f"text {i}" for i in ids],
                   metadatas=[{"date_num": d, "article_id": f"a{i}"} for i, d in enumerate(DATES)])
    lexical = LexicalIndex(folder / "keywords.sqlite3")
    lexical.add((cid, f"a{i}", d, f"text {cid}", sketch(v)) for i, (cid, d, v) in enumerate(zip(ids, DATES, VECTORS)))
    yield ChromaVectorIndex(collection), lexical
    lexical.close()


def exact(query: np.ndarray, limit: int, lo: int | None, hi: int | None) -> list[str]:
    unit = VECTORS / np.linalg.norm(VECTORS, axis=1, keepdims=True)
    rows = [i for i, d in enumerate(DATES) if (lo is None or d >= lo) and (hi is None or d <= hi)]
    return [f"c{i}" for i in sorted(rows, key=lambda i: -float(unit[i] @ query))[:limit]]


@pytest.mark.parametrize("window, max_fetch, max_k, how", [
    ((None, 20220127), 20_000, 2_000, "overfetch"),   # leaves out one day: top limit + that day
    ((20220105, 20220106), 20_000, 50, "fetch"),      # two days: their vectors read and compared here
    ((20220110, None), 10, 50, "overfetch"),          # most of the month, too many to fetch: grow k
    ((20220103, 20220103), 10, 30, "where"),          # a day, fetch and over-fetch both capped low: the filter
])
def test_every_plan_finds_exactly_the_nearest_chunks_in_the_window(parts, window, max_fetch, max_k, how):
    chunks, lexical = parts
    taken = []
    search = ServerWindowSearch(chunks, lexical, max_fetch, max_k, on_plan=taken.append)
    for seed in range(5):
        query = np.random.default_rng(10 + seed).normal(size=DIM).astype(np.float32)
        query /= np.linalg.norm(query)
        got = search.search(query, 8, *window)
        assert [cid for cid, _ in got] == exact(query, 8, *window)
    if how == "where":   # over-fetch was tried first and came short; the filter found the rest
        assert taken[-1].how == "overfetch"
    else:
        assert taken[-1].how == how


def test_a_hit_the_keyword_index_does_not_know_is_dated_by_the_server_and_dropped_if_later(parts, tmp_path):
    """Another process wrote a chunk dated after the window and this one has not caught up: as_of still holds."""
    chunks, lexical = parts
    query = np.random.default_rng(99).normal(size=DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    chunks.collection.add(ids=["late", "early"], embeddings=np.stack([query, query]), documents=["late", "early"],
                          metadatas=[{"date_num": 20220301, "article_id": "late"},
                                     {"date_num": 20220102, "article_id": "early"}])
    try:
        got = [cid for cid, _ in ServerWindowSearch(chunks, lexical).search(query, 5, None, 20220127)]
        assert "late" not in got and got[0] == "early"   # the same vector as the query, dated inside
    finally:
        chunks.collection.delete(ids=["late", "early"])


def test_a_window_whose_ids_include_a_chunk_removed_since_is_still_searched(parts):
    """Another process removed a chunk this keyword index still lists: reading the window's vectors by id simply
    does not return it, and the result is still exact."""
    chunks, lexical = parts
    lexical.add([("gone", "a-gone", 20220106, "text gone")])
    taken = []
    try:
        query = np.random.default_rng(7).normal(size=DIM).astype(np.float32)
        query /= np.linalg.norm(query)
        got = ServerWindowSearch(chunks, lexical, 20_000, 50, on_plan=taken.append).search(query, 8, 20220105,
                                                                                            20220106)
        assert taken[-1].how == "fetch" and [cid for cid, _ in got] == exact(query, 8, 20220105, 20220106)
    finally:
        lexical.remove_articles(["a-gone"])


class CountingReads:
    """The chunk index, counting the ids whose vectors a search reads."""

    def __init__(self, chunks: ChromaVectorIndex) -> None:
        self.chunks, self.read = chunks, []

    def get(self, ids, include):
        self.read.append(len(ids))
        return self.chunks.get(ids=ids, include=include)


def test_a_window_searched_by_sketch_reads_only_a_shortlist_and_finds_the_near_ones(tmp_path):
    """384-dimension vectors: ten chunks near the question among 1,000 in the window (and 3,000 outside it).
    The sketch plan reads SHORTLIST x limit vectors, not the window's 1,000, and returns the exact top 8."""
    from index.window_search import SHORTLIST

    rng = np.random.default_rng(3)
    query = rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    vectors = rng.normal(size=(4000, 384)).astype(np.float32)
    vectors[:10] = query + 0.05 * rng.normal(size=(10, 384))   # the near ones, inside the window
    vectors[1000:1010] = query                                  # nearer still, but after the window
    dates = [20220110] * 1000 + [20220120] * 3000
    ids = [f"c{i}" for i in range(4000)]
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("sketched", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    collection.add(ids=ids, embeddings=vectors, documents=ids,
                   metadatas=[{"date_num": d, "article_id": cid} for cid, d in zip(ids, dates)])
    lexical = LexicalIndex(tmp_path / "keywords.sqlite3")
    lexical.add((cid, cid, d, cid, sketch(v)) for cid, d, v in zip(ids, dates, vectors))
    reads, taken = CountingReads(ChromaVectorIndex(collection)), []
    got = ServerWindowSearch(reads, lexical, on_plan=taken.append).search(query, 8, None, 20220115)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert taken[-1].how == "sketch" and reads.read == [SHORTLIST * 8]
    assert [cid for cid, _ in got] == [f"c{i}" for i in np.argsort(-(unit[:1000] @ query))[:8]]
    exact = ServerWindowSearch(reads, lexical).exact(query, 8, None, 20220115)   # the whole window read
    assert [cid for cid, _ in exact] == [cid for cid, _ in got] and reads.read[-1] == 1000
    lexical.close()


def test_chunks_indexed_before_sketches_are_always_read_and_then_get_one(parts, tmp_path):
    """A keyword index from before sketches: its chunks have none; a sketch search reads them all (exact),
    records their sketches, and the next search reads only the shortlist."""
    from index.window_search import SHORTLIST

    chunks, _ = parts
    lexical = LexicalIndex(tmp_path / "old.sqlite3")
    lexical.add((f"c{i}", f"a{i}", d, "text") for i, d in enumerate(DATES))   # no sketches
    reads = CountingReads(chunks)
    search = ServerWindowSearch(reads, lexical, max_k=10)   # no over-fetching: the sketch plan
    query = VECTORS[0] / np.linalg.norm(VECTORS[0])
    window = (20220101, 20220114)
    in_window = lexical.count_between(*window)
    assert in_window > SHORTLIST * 2
    assert [cid for cid, _ in search.search(query, 2, *window)] == exact(query, 2, *window)
    assert reads.read == [in_window]
    assert all(s is not None for _, s in lexical.sketches_between(*window))
    search.search(query, 2, *window)
    assert reads.read[-1] == SHORTLIST * 2
    lexical.close()


def test_a_keyword_index_from_before_sketches_opens_and_gains_the_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, article_id TEXT NOT NULL, "
               "date_num INTEGER NOT NULL)")
    db.execute("INSERT INTO chunks(id, article_id, date_num) VALUES ('c0', 'a0', 20220101)")
    db.commit()
    db.close()
    lexical = LexicalIndex(path)
    assert lexical.sketches_between(None, None) == [("c0", None)]
    lexical.close()


def test_an_empty_window_asks_the_server_nothing(parts):
    chunks, lexical = parts

    class Refuses:
        def query(self, **_):
            raise AssertionError("no query for an empty window")

    assert ServerWindowSearch(Refuses(), lexical).search(np.ones(DIM), 5, 20230101, 20230131) == []
    assert lexical.count_between(20230101, 20230131) == 0
