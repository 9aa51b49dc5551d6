"""Every constant that orders passages and sentences, in one frozen object, with where each value came from.

Retrieval's knobs are user settings (NEWSQA_RRF_K, ...; their defaults live in index.settings) and are read from
there; the rest are fixed here. How each was chosen, and the leave-one-week-out study that decides whether a
constant earns its place (`python -m eval.tune`), are in docs/ranking.md. "RTQA" below is the RealTime QA dev
slice in ../shared/realtimeqa-dev (85 questions over nine weeks, 719 articles); "seeds" is eval/dataset.jsonl.
"""
from __future__ import annotations

from dataclasses import dataclass

from index.settings import Settings


@dataclass(frozen=True)
class Ranking:
    # --- retrieval: fusion of the vector and BM25 lists (qa/retrieval.py), from settings --------------------
    rrf_k: int                     # reciprocal-rank-fusion constant (settings.rrf_k); the vector and BM25
                                   # lists weigh the same
    candidates: int                # candidates each search fetches before fusion (at least top_k x 4)
    article_support: float         # share of an article's best other chunk added to a chunk's score
    lede_boost: float              # extra share for an article's first chunk
    recency_half_life_days: float  # "this week", "latest": strong recency
    as_of_half_life_days: float    # an explicit as_of: a mild pull towards that day (0: none)
    recency_floor: float           # an old article keeps at least this share of its score
    # --- retrieval, fixed ------------------------------------------------------------------------------------
    candidates_per_k: int = 4      # each search fetches top_k x this at least (the fused list needs depth)
    per_article: int = 2           # at most this many passages of one article, so top-k spans several articles
    # --- the extractive answer's sentence scorer (qa/extractive.py), fixed. Set by hand on the seeds, then
    # checked on RTQA (docs/ranking.md, "What was tried on the answer side") ----------------------------------
    max_sentences: int = 2            # sentences quoted
    second_sentence_ratio: float = 0.75   # a second sentence must score at least this share of the best
    neighbour_weight: float = 0.35    # a sentence inherits this share of its neighbours' term overlap
    type_bonus: float = 0.25          # the sentence holds the kind of thing asked for (a date for "when", ...)
    wrong_type_factor: float = 0.6    # "how many" answered by a sentence without a number
    passage_weight: float = 0.15      # how much the passage's retrieval score scales its sentences
    min_novel_words: int = 3          # a sentence must hold this many words beyond the question's...
    echo_factor: float = 0.3          # ...or keep only this share of its score (it merely restates the question)
    stale_penalty: float = 0.1        # a report STALE_DAYS older than the newest passage loses this share:
    grace_days: int = 7               # news is revised, so the later of two close sentences wins (none
    stale_days: int = 30              # within grace_days). RTQA: gold cited 0.73 -> 0.76, seeds unchanged

    @classmethod
    def from_settings(cls, settings: Settings) -> "Ranking":
        return cls(rrf_k=settings.rrf_k, candidates=settings.candidates,
                   article_support=settings.article_support, lede_boost=settings.lede_boost,
                   recency_half_life_days=settings.recency_half_life_days,
                   as_of_half_life_days=settings.as_of_half_life_days, recency_floor=settings.recency_floor)


DEFAULT = Ranking.from_settings(Settings())
