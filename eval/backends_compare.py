"""`python -m eval.backends_compare`: extractive vs generative backends, side by side, on the same questions.

    python -m eval.backends_compare                 # seed set (eval/dataset.jsonl), extractive vs llamacpp
    python -m eval.backends_compare --per-kind 3    # the first 3 questions of each kind (a CPU-friendly sample)
    python -m eval.backends_compare --realtimeqa ../shared/realtimeqa-dev --limit 20
    python -m eval.backends_compare --backends extractive,llamacpp,openai   # openai: NEWSQA_OPENAI_BASE_URL ...

Per backend: answer correct (every keyword of the reference in the answer text; a refusal is correct exactly
when the question is unanswerable), citation validity (qa.citations.check_answer on the final text against its
own citations), sentences pruned, refusals, fallbacks to the extractive answer, latency p50/p95. Prints a
Markdown table; --json writes the per-question rows. RealTime QA is read in place (never copied): its gold
articles and the articles listed for the chosen questions are ingested into a temporary store.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from eval.datasets import records
from eval.metrics import percentile
from index.settings import Settings, offline_environment

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "eval" / "dataset.jsonl"


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s*\[\d+\]", "", text)
    return " ".join(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text).split())


def correct(row: dict[str, Any], text: str, refused: bool) -> bool:
    """Every keyword (a list = any of its alternatives) in the answer; unanswerable ones must be refused."""
    if row.get("unanswerable"):
        return refused
    if refused:
        return False
    answer = normalise(text)
    return all(any(normalise(k) in answer for k in ([kw] if isinstance(kw, str) else kw)) for kw in row["keywords"])


def seed_questions(per_kind: int = 0) -> list[dict[str, Any]]:
    """The seed set; with per_kind, only the first `per_kind` questions of each kind (fact, date, ...)."""
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    if per_kind:
        kept, seen = [], Counter()
        for r in rows:
            seen[r["kind"]] += 1
            if seen[r["kind"]] <= per_kind:
                kept.append(r)
        rows = kept
    return [{"id": r["id"], "question": r["user_input"], "keywords": r.get("keywords", []),
             "unanswerable": r.get("kind") == "unanswerable", "as_of": r.get("as_of")} for r in rows]


def realtimeqa_questions(folder: Path, limit: int, distractors: int) -> tuple[list[dict[str, Any]], list[Path]]:
    """The first `limit` questions, and a temporary .jsonl of their gold articles plus `distractors` other
    articles (every k-th of the rest, so the same ones each run): a store small enough to build in minutes."""
    questions = records(folder / "questions.jsonl")[:limit]
    gold = {u.split("#")[0] for q in questions for u in q.get("gold_urls", [])}
    articles = records(folder / "articles.jsonl")
    is_gold = [a["url"].split("#")[0] in gold for a in articles]
    rest = [a for a, g in zip(articles, is_gold) if not g]
    step = max(1, len(rest) // max(distractors, 1))
    keep = [a for a, g in zip(articles, is_gold) if g] + rest[::step][:distractors]
    scratch = Path(tempfile.mkdtemp(prefix="newsqa-rtqa-")) / "articles.jsonl"
    scratch.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in keep))
    rows = [{"id": q["id"], "question": q["question"], "keywords": [q["answer"].strip("“”\"")],
             "unanswerable": False, "as_of": q["as_of"]} for q in questions]
    return rows, [scratch]


def run_backend(assistant, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from qa.citations import check_answer, evidence_text
    from qa.generative import embedding_similarity

    similarity = embedding_similarity(assistant.embedder)
    rows = []
    for q in questions:
        started = time.perf_counter()
        result = assistant.answer(q["question"], as_of=q.get("as_of"))
        seconds = time.perf_counter() - started
        sources = {c.number: evidence_text(c) for c in result.citations}
        numbered = [sources.get(n, "") for n in range(1, max(sources, default=0) + 1)]
        valid = result.refused or (bool(result.citations)
                                   and check_answer(result.text, numbered, similarity=similarity).valid)
        rows.append({"id": q["id"], "question": q["question"], "text": result.text, "refused": result.refused,
                     "correct": correct(q, result.text, result.refused), "citations_valid": valid,
                     "pruned": len(result.pruned), "fallback": bool(result.notice and "showing" in result.notice),
                     "notice": result.notice, "seconds": round(seconds, 3)})
        print(f"  {assistant.synthesizer.name:<10} {q['id']:<10} {seconds:5.1f}s correct={rows[-1]['correct']!s:<5} "
              f"pruned={rows[-1]['pruned']} {' '.join(result.text.split())[:90]}", file=sys.stderr)
    return rows


def summary(name: str, rows: list[dict[str, Any]]) -> str:
    n = len(rows)
    seconds = [r["seconds"] for r in rows]
    answered = [r for r in rows if not r["refused"]]
    share = lambda k, rs: f"{sum(r[k] for r in rs)}/{len(rs)}"  # noqa: E731
    return (f"| {name} | {share('correct', rows)} ({sum(r['correct'] for r in rows) / n:.0%}) | "
            f"{share('citations_valid', answered)} | {sum(r['pruned'] for r in rows)} "
            f"(in {sum(r['pruned'] > 0 for r in rows)} answers) | {sum(r['refused'] for r in rows)} | "
            f"{sum(r['fallback'] for r in rows)} | {percentile(seconds, 50):.2f} | {percentile(seconds, 95):.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="extractive,llamacpp")
    parser.add_argument("--realtimeqa", type=Path, help="folder of RealTime QA (read in place)")
    parser.add_argument("--limit", type=int, default=20, help="RealTime QA questions to ask")
    parser.add_argument("--per-kind", type=int, default=0, help="seed set: only the first N questions of each kind")
    parser.add_argument("--distractors", type=int, default=100, help="other RealTime QA articles in the store")
    parser.add_argument("--json", type=Path, help="write per-question rows here")
    args = parser.parse_args(argv)
    offline_environment()

    from index.embedder import make_embedder
    from index.ingest import ingest
    from index.store import open_store
    from qa.assistant import Assistant

    if args.realtimeqa:
        questions, paths = realtimeqa_questions(args.realtimeqa, args.limit, args.distractors)
        label = (f"RealTime QA, first {len(questions)} questions ({args.realtimeqa}; their gold articles + "
                 f"{args.distractors} others)")
    else:
        questions, paths = seed_questions(args.per_kind), [ROOT / "seeds"]
        label = f"seed set, {DATASET.relative_to(ROOT)}" + (f", first {args.per_kind} of each kind" if args.per_kind
                                                            else "")
    base = Settings.from_env(os.environ, store_dir=Path(tempfile.mkdtemp(prefix="newsqa-compare-")) / "store")
    embedder = make_embedder(base)
    store = open_store(base)
    ingest(paths, base, store, embedder)
    results: dict[str, list[dict[str, Any]]] = {}
    for backend in args.backends.split(","):
        settings = base.replace(backend=backend)
        assistant = Assistant.from_settings(settings, store, embedder)
        results[backend] = run_backend(assistant, questions)
    print(f"{label}: {len(questions)} questions\n")
    print("| backend | answer correct | citations valid (answered) | sentences pruned | refusals | fallbacks | "
          "p50 s | p95 s |")
    print("|---|---|---|---|---|---|---|---|")
    for backend, rows in results.items():
        print(summary(backend, rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
