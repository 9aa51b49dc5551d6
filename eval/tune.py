"""Leave-one-week-out for the ranking constants: choose each on eight RealTime QA weeks, score it on the ninth.

    python -m eval.tune ../shared/realtimeqa-dev [--store DIR] [--json OUT]

Tuning on all the dev weeks did not carry over to weeks nobody tuned on, so a constant earns its place only when
the value chosen without a week beats turning it off *on that week*. For each constant, one at a time around the
defaults, every candidate value is run once over all questions (retrieval only, as_of each question's date);
then for each week the value with the best mean (recall@1 + recall@5) / 2 on the other eight weeks is scored on
it. The report gives, per constant: the values chosen per fold, held-out recall@1/@5 with the spread over weeks,
and the same for the constant turned off (its neutral value) and for today's default.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from eval.realtimeqa import load_questions, run_project
from index.settings import Settings, offline_environment

KS = (1, 5)
# each constant: (its neutral value, the candidates tried). The neutral value turns the idea off: what the
# constant must beat held out.
CANDIDATES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "rrf_k": (60, (5, 10, 20, 60)),
    "article_support": (0.0, (0.0, 0.25, 0.5, 1.0)),
    "lede_boost": (0.0, (0.0, 0.1, 0.25, 0.5)),
    "as_of_half_life_days": (0.0, (0.0, 7.0, 14.0, 30.0)),
    "recency_floor": (1.0, (0.3, 0.5, 0.7, 1.0)),
    "candidates": (20, (20, 40, 80)),
}


def fold_scores(per_value: Mapping[Any, Sequence[dict[str, float]]], weeks: Sequence[str], default: Any
                ) -> tuple[list[Any], list[dict[str, float]]]:
    """Leave one week out: for each week, the value best on the other weeks (ties: the default, then the first
    listed), and its recall on the held-out week. Rows carry 'week' and recall@k."""
    chosen, held_out = [], []
    values = sorted(per_value, key=lambda v: v != default)
    for week in weeks:
        def objective(value: Any) -> float:
            rows = [r for r in per_value[value] if r["week"] != week]
            return sum((r["recall@1"] + r["recall@5"]) / 2 for r in rows) / max(len(rows), 1)

        best = max(values, key=objective)   # max keeps the first of equals: the default when it ties
        chosen.append(best)
        held_out.append(week_recall(per_value[best], week))
    return chosen, held_out


def week_recall(rows: Sequence[dict[str, float]], week: str) -> dict[str, float]:
    mine = [r for r in rows if r["week"] == week]
    return {f"recall@{k}": sum(r[f"recall@{k}"] for r in mine) / max(len(mine), 1) for k in KS}


def summarise(folds: Sequence[dict[str, float]]) -> str:
    """Mean over the weeks (each week weighs the same), with the lowest and highest week."""
    parts = []
    for k in KS:
        values = [f[f"recall@{k}"] for f in folds]
        parts.append(f"@{k} {statistics.fmean(values):.3f} [{min(values):.2f}-{max(values):.2f}]")
    return "  ".join(parts)


def run_variant(assistant, questions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-question gold recall (retrieval only, as_of each question's date), each row with its week."""
    week = {q["id"]: q["as_of"] for q in questions}
    return [{**r, "week": week[r["id"]]} for r in run_project(assistant, list(questions), use_as_of=True,
                                                               answer=False).rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with articles.jsonl and questions.jsonl")
    parser.add_argument("--store", type=Path, help="store of the folder's articles (built there if empty)")
    parser.add_argument("--only", nargs="*", help="constants to study (default: all)")
    parser.add_argument("--json", type=Path, help="write every run's per-question rows here")
    args = parser.parse_args(argv)
    offline_environment()
    from index.embedder import make_embedder
    from index.ingest import ingest, progress_bar
    from index.store import open_store
    from qa.assistant import Assistant

    base = Settings.from_env()
    tmp = tempfile.TemporaryDirectory(prefix="newsqa-tune-")
    settings = base.replace(store_dir=args.store or Path(tmp.name) / "store")
    store, embedder = open_store(settings), make_embedder(settings)
    if store.stats().chunks == 0:
        ingest([args.folder / "articles.jsonl"], settings, store, embedder, progress=progress_bar())
    questions = load_questions(args.folder)
    weeks = sorted({q["as_of"] for q in questions})
    print(f"{len(questions)} questions over {len(weeks)} weeks; held-out recall, mean over weeks [worst-best week]")
    dump: dict[str, Any] = {}
    for name, (neutral, values) in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        default = getattr(base, name)
        per_value = {}
        for value in dict.fromkeys((default, neutral, *values)):
            assistant = Assistant.from_settings(settings.replace(**{name: value}), store, embedder)
            per_value[value] = run_variant(assistant, questions)
        chosen, held_out = fold_scores({v: per_value[v] for v in dict.fromkeys((default, neutral, *values))},
                                       weeks, default)
        off = [week_recall(per_value[neutral], w) for w in weeks]
        fixed = [week_recall(per_value[default], w) for w in weeks]
        print(f"\n{name} (default {default}, off {neutral}); chosen per fold: {chosen}")
        print(f"  chosen held out  {summarise(held_out)}")
        print(f"  default          {summarise(fixed)}")
        print(f"  off              {summarise(off)}")
        dump[name] = {"chosen": chosen, "held_out": held_out, "off": off, "default": fixed,
                      "rows": {str(v): rows for v, rows in per_value.items()}}
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
