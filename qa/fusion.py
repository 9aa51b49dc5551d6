"""Rank fusion and recency weighting: pure functions, pinned by tests."""
from __future__ import annotations

import datetime as dt
from typing import Mapping, Sequence

def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float] | None = None,
                           *, k: int) -> dict[str, float]:
    """score(d) = sum over rankings r of weight_r / (k + rank_r(d)), ranks from 1; rank-based, so the
    incomparable scales of cosine similarity and BM25 never need calibrating against each other."""
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def recency_factor(published: dt.date, as_of: dt.date, half_life_days: float, floor: float = 0.5) -> float:
    """In (floor, 1]: 1 for an article of as_of's day, halving its distance to the floor every half-life.

    The floor keeps relevance in charge: a week-old article that answers the question still beats
    today's article that merely shares its topic.
    """
    age = max(0, (as_of - published).days)
    return floor + (1.0 - floor) * 0.5 ** (age / max(half_life_days, 1e-6))


def top_per_group(items: Sequence[str], group_of: Mapping[str, str], per_group: int, limit: int) -> list[str]:
    """The first `limit` items keeping at most `per_group` from each group (chunks per article), in order."""
    taken: dict[str, int] = {}
    out: list[str] = []
    for item in items:
        group = group_of[item]
        if taken.get(group, 0) < per_group:
            taken[group] = taken.get(group, 0) + 1
            out.append(item)
            if len(out) == limit:
                break
    return out


def article_support(scores: Mapping[str, float], article_of: Mapping[str, str], weight: float) -> dict[str, float]:
    """Each chunk's score plus `weight` x the best score among the other chunks of its article.

    An article about the story has several chunks that match; a digest that mentions it once has one. The
    bonus lets the former win the tie, without letting a long article win on length alone (only one other
    chunk counts).
    """
    best: dict[str, list[float]] = {}
    for cid, score in scores.items():
        top = best.setdefault(article_of[cid], [0.0, 0.0])
        if score > top[0]:
            top[0], top[1] = score, top[0]
        elif score > top[1]:
            top[1] = score
    out = {}
    for cid, score in scores.items():
        first, second = best[article_of[cid]]
        other = second if score == first else first
        out[cid] = score + weight * other
    return out
