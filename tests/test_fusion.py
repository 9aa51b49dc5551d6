"""Rank fusion, recency weighting and per-article diversity: the pure parts of ranking."""
from __future__ import annotations

import datetime as dt

import pytest

from qa.fusion import article_support, reciprocal_rank_fusion, recency_factor, top_per_group


RRF_K = 60


def test_rrf_sums_weighted_reciprocal_ranks():
    scores = reciprocal_rank_fusion({"vector": ["a", "b"], "bm25": ["b", "c"]}, {"vector": 1.0, "bm25": 0.5}, k=RRF_K)
    assert scores["a"] == pytest.approx(1 / (RRF_K + 1))
    assert scores["b"] == pytest.approx(1 / (RRF_K + 2) + 0.5 / (RRF_K + 1))
    assert scores["c"] == pytest.approx(0.5 / (RRF_K + 2))
    assert max(scores, key=scores.get) == "b"   # found by both beats first in one


def test_rrf_with_one_ranking_keeps_its_order():
    scores = reciprocal_rank_fusion({"vector": ["x", "y", "z"]}, k=RRF_K)
    assert sorted(scores, key=scores.get, reverse=True) == ["x", "y", "z"]


@pytest.mark.parametrize("age_days, expected", [(0, 1.0), (7, 0.75), (14, 0.625), (10_000, 0.5)])
def test_recency_factor_halves_towards_the_floor(age_days, expected):
    as_of = dt.date(2022, 6, 16)
    assert recency_factor(as_of - dt.timedelta(days=age_days), as_of, 7.0) == pytest.approx(expected, abs=1e-6)


def test_recency_never_rewards_the_future():
    as_of = dt.date(2022, 6, 16)
    assert recency_factor(as_of + dt.timedelta(days=3), as_of, 7.0) == 1.0


def test_top_per_group_spreads_over_articles():
    groups = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C"}
    assert top_per_group(["a1", "a2", "a3", "b1", "c1"], groups, 2, 4) == ["a1", "a2", "b1", "c1"]


def test_article_support_lets_an_article_about_the_story_beat_a_digest():
    scores = {"digest": 1.0, "story-1": 0.9, "story-2": 0.8}
    articles = {"digest": "D", "story-1": "S", "story-2": "S"}
    supported = article_support(scores, articles, 0.5)
    assert supported["story-1"] == pytest.approx(0.9 + 0.5 * 0.8)
    assert supported["story-2"] == pytest.approx(0.8 + 0.5 * 0.9)
    assert supported["digest"] == 1.0
    assert max(supported, key=supported.get) == "story-1"


def _passage(chunk_id: str, article_id: str):
    from qa.results import Passage
    return Passage(chunk_id=chunk_id, article_id=article_id, text=chunk_id, title="", date="2022-01-01", source="")


def test_merged_windows_rank_a_passage_found_in_both_first_and_keep_the_article_cap():
    from qa.ranking import DEFAULT
    from qa.retrieval import merge_passages

    narrow = [_passage("a1", "a"), _passage("b1", "b"), _passage("c1", "c")]
    later = [_passage("d1", "d"), _passage("b1", "b"), _passage("a2", "a"), _passage("a3", "a")]
    merged = [p.chunk_id for p in merge_passages([narrow, later], top_k=5)]
    assert merged[0] == "b1"                          # in both lists
    assert merged[1:3] == ["a1", "d1"]                # ties keep the first list's order
    assert sum(cid.startswith("a") for cid in merged) == DEFAULT.per_article and len(merged) == 5
    assert merge_passages([narrow, []], top_k=2) == narrow[:2]
