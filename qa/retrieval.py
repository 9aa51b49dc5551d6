"""Question -> ranked passages: vector search and BM25 within the date window, fused, then recency-weighted."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from typing import Sequence

import numpy as np

from index.dates import date_number
from index.embedder import Embedder
from index.settings import Settings
from index.store import ChunkSearch
from qa.dates import DateWindow
from qa.ranking import DEFAULT, Ranking
from qa.fusion import article_support, reciprocal_rank_fusion, recency_factor, top_per_group
from qa.results import Passage

QUERY_CACHE_SIZE = 64  # question vectors kept per retriever
KEYWORD_THREADS = 4    # keyword searches run beside the vector searches (SQLite and numpy/Chroma release the GIL)


def merge_passages(lists: Sequence[Sequence[Passage]], top_k: int, ranking: Ranking = DEFAULT) -> list[Passage]:
    """Ranked passage lists from different date windows as one: reciprocal-rank fused (a passage in several
    lists ranks higher), at most ranking.per_article passages an article. Each passage keeps its own list's score."""
    by_id: dict[str, Passage] = {}
    for passages in reversed(lists):   # the first list's copy of a passage wins
        by_id.update((p.chunk_id, p) for p in passages)
    fused = reciprocal_rank_fusion({str(i): [p.chunk_id for p in ps] for i, ps in enumerate(lists)},
                                   k=ranking.rrf_k)
    order = sorted(fused, key=fused.get, reverse=True)   # stable: ties keep the first list's order
    return [by_id[cid] for cid in top_per_group(order, {c: p.article_id for c, p in by_id.items()},
                                                ranking.per_article,
                                                top_k)]


class HybridRetriever:
    """Vector (Chroma) + keyword (FTS5 BM25) retrieval with date filters pushed into both searches."""

    def __init__(self, store: ChunkSearch, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.ranking = Ranking.from_settings(settings)
        # question vectors, so a refused answer's retry over wider dates (and a question asked again, by anyone on
        # the page) is not encoded twice; thread-safe and bounded
        self._encode = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed)
        # the keyword search runs while the vector search does: a question waits for the slower, not the sum
        self._keywords = ThreadPoolExecutor(KEYWORD_THREADS, thread_name_prefix="newsqa-keywords")

    def retrieve(self, question: str, window: DateWindow, top_k: int) -> list[Passage]:
        """The top_k passages dated inside the window; when its dates may name the event (`reports_until`),
        the reports up to that day compete too, the two searches fused by rank."""
        passages = self._search(question, window, top_k)
        if window.reports_until:
            later = self._search(question, replace(window, end=window.reports_until, reports_until=None), top_k)
            passages = merge_passages([passages, later], top_k, self.ranking)
        return passages

    def _search(self, question: str, window: DateWindow, top_k: int) -> list[Passage]:
        if window.empty:
            return []
        date_min = date_number(window.start) if window.start else None
        date_max = date_number(window.end) if window.end else None
        fetch = max(self.ranking.candidates, top_k * self.ranking.candidates_per_k)
        keywords = self._keywords.submit(self.store.keyword_search, question, fetch, date_min, date_max) \
            if self.settings.hybrid else None
        query = self._encode(question)
        rankings = {"vector": [cid for cid, _ in self.store.vector_search(query, fetch, date_min, date_max)]}
        if keywords is not None:
            rankings["bm25"] = [cid for cid, _ in keywords.result()]
        found = self.store.get_chunks(list(dict.fromkeys(rankings["vector"] + rankings.get("bm25", []))), query)
        rankings = {name: [cid for cid in ids if cid in found] for name, ids in rankings.items()}
        fused = reciprocal_rank_fusion(rankings, k=self.ranking.rrf_k)
        half_life = self._half_life(window)
        if half_life:
            for cid in fused:
                published = dt.date.fromisoformat(found[cid].meta.date)
                fused[cid] *= recency_factor(published, window.as_of, half_life, self.ranking.recency_floor)
        article_of = {cid: found[cid].meta.article_id for cid in fused}
        relevance = article_support(fused, article_of, self.ranking.article_support)
        # news puts the story's main fact first and digests mention it mid-article: an article's first chunk
        # (its lede) ranks higher. It is a prior about where stories are, not evidence that this chunk answers,
        # so the scores handed to the answer step stay without it.
        ranked = relevance
        if self.ranking.lede_boost:
            boosted = {cid: score * (1.0 + self.ranking.lede_boost) if found[cid].meta.position == 0
                       else score for cid, score in fused.items()}
            ranked = article_support(boosted, article_of, self.ranking.article_support)
        order = sorted(ranked, key=ranked.get, reverse=True)
        chosen = top_per_group(order, article_of, self.ranking.per_article, top_k)
        best = max(relevance.values(), default=1.0)
        return [Passage.from_stored(found[cid], score=relevance[cid] / best,
                                    similarity=float(found[cid].similarity or 0.0)) for cid in chosen]

    def _embed(self, question: str) -> np.ndarray:
        vector = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        vector.setflags(write=False)   # shared by every caller of the cache
        return vector

    def _half_life(self, window: DateWindow) -> float:
        """Time words ("this week", "latest") ask for strong recency; a question asked as of a given date
        gets a milder pull towards that date (news asked about "as of" a day is mostly that week's news)."""
        if window.recency:
            return self.ranking.recency_half_life_days
        if window.anchored:
            return self.ranking.as_of_half_life_days
        return 0.0

