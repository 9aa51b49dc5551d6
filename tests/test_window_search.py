"""Date windows searched on the server (index/window_search.py): the plan, exact results, and the as_of check.

The searches run against a real Chroma collection (embedded: the same calls a server answers) and a real keyword
index; tests/test_chroma_server.py runs the store against a real `chroma run`."""
from __future__ import annotations

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from index.lexical import LexicalIndex
from index.vector_index import ChromaVectorIndex
from index.window_search import Plan, ServerWindowSearch, plan


@pytest.mark.parametrize("limit, in_window, stored, expected", [
    (40, 0, 1000, Plan("empty")),
    (40, 150, 150, Plan("overfetch", (40,))),                   # a small store, all in the window: no filter
    (40, 1000, 1000, Plan("overfetch", (40,))),                 # the window holds everything: no filter at all
    (40, 99_900, 100_000, Plan("overfetch", (140,))),           # as of yesterday: the top 40 + the 100 left out
    (40, 1_500, 100_000, Plan("fetch")),                        # a few days of a large archive: its vectors
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
    lexical.add((cid, f"a{i}", d, f"text {cid}") for i, (cid, d) in enumerate(zip(ids, DATES)))
    yield ChromaVectorIndex(collection), lexical
    lexical.close()


def exact(query: np.ndarray, limit: int, lo: int | None, hi: int | None) -> list[str]:
    unit = VECTORS / np.linalg.norm(VECTORS, axis=1, keepdims=True)
    rows = [i for i, d in enumerate(DATES) if (lo is None or d >= lo) and (hi is None or d <= hi)]
    return [f"c{i}" for i in sorted(rows, key=lambda i: -float(unit[i] @ query))[:limit]]


@pytest.mark.parametrize("window, max_fetch, max_k, how", [
    ((None, 20220127), 20_000, 2_000, "overfetch"),   # leaves out one day: top limit + that day
    ((20220105, 20220111), 20_000, 50, "fetch"),      # a week: its vectors read and compared here
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
                                                                                            20220111)
        assert taken[-1].how == "fetch" and [cid for cid, _ in got] == exact(query, 8, 20220105, 20220111)
    finally:
        lexical.remove_articles(["a-gone"])


def test_an_empty_window_asks_the_server_nothing(parts):
    chunks, lexical = parts

    class Refuses:
        def query(self, **_):
            raise AssertionError("no query for an empty window")

    assert ServerWindowSearch(Refuses(), lexical).search(np.ones(DIM), 5, 20230101, 20230131) == []
    assert lexical.count_between(20230101, 20230131) == 0
