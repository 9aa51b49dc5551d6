"""The in-memory, date-sorted vector copy that serves date-windowed searches (index/vectors.py, Store)."""
from __future__ import annotations

import numpy as np

from index.ingest import remove
from index.vectors import DateSortedVectors, DateVectorCopy

from conftest import SEEDS


def _toy(n: int = 200, dim: int = 16, seed: int = 0) -> tuple[list[str], list[int], np.ndarray]:
    rng = np.random.default_rng(seed)
    dates = [20220101 + int(d) for d in rng.integers(0, 28, n)]
    return [f"c{i}" for i in range(n)], dates, rng.normal(size=(n, dim)).astype(np.float32)


def _brute_force(ids, dates, vectors, query, limit, lo, hi):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = query / np.linalg.norm(query)
    rows = [i for i, d in enumerate(dates) if (lo is None or d >= lo) and (hi is None or d <= hi)]
    return [ids[i] for i in sorted(rows, key=lambda i: -float(unit[i] @ q))[:limit]]


def test_a_windowed_search_returns_exactly_the_nearest_chunks_inside_the_window():
    ids, dates, vectors = _toy()
    index = DateSortedVectors.build(ids, dates, vectors)
    query = np.random.default_rng(1).normal(size=16).astype(np.float32)
    for lo, hi in [(20220105, 20220112), (None, 20220110), (20220120, None), (None, None), (20220107, 20220107)]:
        got = index.search(query, 7, lo, hi)
        assert [cid for cid, _ in got] == _brute_force(ids, dates, vectors, query, 7, lo, hi)
        assert all((lo is None or dates[int(cid[1:])] >= lo) and (hi is None or dates[int(cid[1:])] <= hi)
                   for cid, _ in got)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_a_window_with_no_chunks_or_a_zero_limit_finds_nothing():
    index = DateSortedVectors.build(*_toy())
    query = np.ones(16, dtype=np.float32)
    assert index.search(query, 5, 20230101, 20231231) == []
    assert index.search(query, 0) == []
    assert DateSortedVectors.build([], [], np.zeros((0, 16))).search(query, 5) == []


def test_similarity_is_the_cosine_of_each_known_id_and_skips_unknown_ones():
    ids, dates, vectors = _toy(n=5)
    index = DateSortedVectors.build(ids, dates, vectors * 3.0)   # scale must not matter
    query = vectors[2]
    sims = index.similarity(query, ["c2", "nope", "c4"])
    assert set(sims) == {"c2", "c4"}
    assert abs(sims["c2"] - 1.0) < 1e-5
    expected = float(vectors[4] @ query / np.linalg.norm(vectors[4]) / np.linalg.norm(query))
    assert abs(sims["c4"] - expected) < 1e-5


def test_the_store_answers_a_date_window_as_chromas_filter_does(fresh_store, embedder):
    settings, store, ingest = fresh_store
    ingest(SEEDS)
    query = np.asarray(embedder.embed_query("Lachin checkpoint peace talks"), dtype=np.float32)
    windows = [(20230501, 20230503), (20230504, None), (None, 20230430), (20230101, 20231231)]
    for lo, hi in windows:
        ours = store.vector_search(query, 20, lo, hi)
        store.settings = settings.replace(date_vectors=False)
        chroma = store.vector_search(query, 20, lo, hi)
        store.settings = settings
        assert [cid for cid, _ in ours] == [cid for cid, _ in chroma]
        assert np.allclose([s for _, s in ours], [s for _, s in chroma], atol=1e-4)


def test_the_copy_follows_writes_to_the_store(fresh_store, embedder, seed_copy):
    settings, store, ingest = fresh_store
    first, second = sorted(seed_copy.iterdir())[:2]
    ingest(first)
    query = np.asarray(embedder.embed_query("peace talks"), dtype=np.float32)
    window = (20000101, 20991231)
    only_first = {cid for cid, _ in store.vector_search(query, 100, *window)}
    ingest(seed_copy)                                          # added
    both = {cid for cid, _ in store.vector_search(query, 100, *window)}
    assert only_first < both
    remove([second], store)                                    # removed
    assert {cid for cid, _ in store.vector_search(query, 100, *window)} == only_first


def test_a_window_holding_every_chunk_is_searched_by_chromas_index_and_a_narrower_one_in_memory(fresh_store,
                                                                                                 embedder):
    settings, store, ingest = fresh_store
    ingest(SEEDS)
    query = np.asarray(embedder.embed_query("peace talks"), dtype=np.float32)
    calls = []
    real_query = store.chunks.query
    store.chunks.query = lambda **kw: calls.append(kw) or real_query(**kw)
    store.vector_search(query, 5, None, 20991231)                  # as_of today: every chunk is before it
    assert len(calls) == 1 and calls[0]["where"] is None
    assert store.date_copy.loaded() is None                        # ...and the in-memory copy is never loaded
    store.vector_search(query, 5, 20230502, 20991231)              # only the May 4 article
    assert len(calls) == 1 and store.date_copy.loaded() is not None


def test_a_saved_copy_is_memory_mapped_back_and_refreshed_with_only_the_missing_rows(tmp_path):
    from index.vectors import load_saved, refresh, save

    ids, dates, vectors = _toy(n=50)
    by_id = dict(zip(ids, vectors))
    fetched: list[list[str]] = []

    def fetch(wanted):
        fetched.append(list(wanted))
        yield [c for c in wanted if c != "c7"], np.asarray([by_id[c] for c in wanted if c != "c7"])  # c7: unwritten

    first = refresh(dict(zip(ids[:40], dates[:40])), None, fetch)
    assert len(fetched[0]) == 40 and len(first) == 39 and "c7" not in first.row_of
    save(first, tmp_path / "vectors-news.json", "onnx")
    assert load_saved(tmp_path / "vectors-news.json", "torch") is None           # another encoder's copy
    saved = load_saved(tmp_path / "vectors-news.json", "onnx")
    assert isinstance(saved.matrix, np.memmap) and saved.ids == first.ids
    assert np.allclose(saved.matrix, first.matrix)
    wanted = {c: d for c, d in zip(ids, dates) if c not in ("c7", "c3")}          # c3 removed, 40-49 added
    assert refresh(wanted, saved, fetch) is not saved and sorted(fetched[1]) == sorted(ids[40:])
    same = {c: d for c, d in zip(ids[:40], dates[:40]) if c != "c7"}
    assert refresh(same, saved, fetch) is saved and len(fetched) == 2             # nothing to fetch
    query = vectors[11]
    assert [c for c, _ in refresh(wanted, saved, fetch).search(query, 5)] == \
        [c for c, _ in DateSortedVectors.build(list(wanted), list(wanted.values()),
                                               np.asarray([by_id[c] for c in wanted])).search(query, 5)]
    save(refresh(wanted, saved, fetch), tmp_path / "vectors-news.json", "onnx")
    assert len(list(tmp_path.glob("vectors-news-*.npy"))) == 1                   # the older matrix is gone


def test_the_copy_is_reloaded_only_after_a_write_and_then_from_the_saved_file(tmp_path):
    ids, dates, vectors = _toy(n=20)
    by_id = dict(zip(ids, vectors))
    generation, fetched = [0], []

    def fetch(wanted):
        fetched.append(list(wanted))
        yield list(wanted), np.asarray([by_id[c] for c in wanted])

    copy = DateVectorCopy(tmp_path / "vectors-news.json", "onnx", lambda: generation[0],
                          lambda: dict(zip(ids, dates)), fetch)
    assert copy.loaded() is None
    first = copy.current()
    assert copy.current() is first and copy.loaded() is first and len(fetched) == 1
    generation[0] += 1                                             # a write: reload, mapped from the saved copy
    again = copy.current()
    assert again is not first and isinstance(again.matrix, np.memmap) and again.ids == first.ids
    assert len(fetched) == 1


def test_ingest_saves_the_copy_so_a_new_process_maps_it_instead_of_reading_chroma(fresh_store):
    from index.store import open_store

    settings, store, ingest = fresh_store
    ingest(SEEDS)
    assert store.date_copy.loaded() is None                        # saved to disk, not kept in this process
    reopened = open_store(settings)
    reads = []
    real_get = reopened.chunks.get
    reopened.chunks.get = lambda **kw: reads.append(kw) or real_get(**kw)
    copy = reopened.date_vectors()
    assert isinstance(copy.matrix, np.memmap) and len(copy) == store.chunks.count()
    assert not [r for r in reads if "embeddings" in (r.get("include") or [])]
    reopened.close()
