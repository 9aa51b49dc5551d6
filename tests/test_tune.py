"""Leave-one-week-out selection (eval.tune): a value is chosen without the week it is scored on."""
from __future__ import annotations

from eval.tune import fold_scores


def rows(hits: dict[str, float]) -> list[dict]:
    return [{"week": week, "recall@1": hit, "recall@5": hit} for week, hit in hits.items()]


def test_each_week_is_scored_with_the_value_the_other_weeks_chose():
    per_value = {10: rows({"w1": 1.0, "w2": 1.0, "w3": 0.0}),    # the default: best on two weeks of three
                 60: rows({"w1": 0.0, "w2": 0.0, "w3": 1.0})}
    chosen, held_out = fold_scores(per_value, ["w1", "w2", "w3"], default=10)
    assert chosen == [10, 10, 10]                                   # w3's own result never chooses for w3
    assert [f["recall@1"] for f in held_out] == [1.0, 1.0, 0.0]


def test_a_tie_keeps_the_default():
    per_value = {0.5: rows({"w1": 1.0, "w2": 0.0}), 0.0: rows({"w1": 1.0, "w2": 0.0})}
    chosen, _ = fold_scores(per_value, ["w1", "w2"], default=0.5)
    assert chosen == [0.5, 0.5]
