"""`python -m eval.realtimeqa DIR`: retrieval and answers on RealTime QA, side by side with plain LlamaIndex.

DIR holds articles.jsonl and questions.jsonl (the format of ../shared/realtimeqa-dev, read in place, never
copied). Prints one table: gold-article recall@1/3/5/10 from `retrieve`, the reference answer inside the top
1/5 passages (answer@k: another outlet's story answers too), gold article among the answer's
citations, reference answer inside the cited passages, refusals, citations after as_of, latency p50/p95 -- for
the project with as_of, without it, and for a plain LlamaIndex pipeline (SentenceSplitter 256 -> the same
embedder -> Chroma -> vector top-k, no dates). Also asks the questions of a store holding only seeds/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from eval.datasets import records
from eval.metrics import contains_all, percentile
from index.settings import Settings, SettingsError, offline_environment

KS = (1, 3, 5, 10)
ANSWER_KS = (1, 5)
ROOT = Path(__file__).resolve().parent.parent


TWIN_MIN_CHARS = 500  # shorter "articles" here are scraped ad surveys, not stories


def load_questions(folder: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Questions, each gold url set widened with its exact twins: ingest keeps one copy of identical text
    (a click-tracking url and the canonical one), so finding the twin is finding the gold article."""
    rows = records(folder / "questions.jsonl")
    twins: dict[str, set[str]] = {}
    by_url: dict[str, str] = {}
    for record in records(folder / "articles.jsonl"):
        text = " ".join(record["text"].split())
        if len(text) >= TWIN_MIN_CHARS:
            twins.setdefault(text, set()).add(record["url"])
            by_url[record["url"]] = text
    for row in rows:
        row["gold_urls"] = sorted({t for g in row["gold_urls"] for t in twins.get(by_url.get(g, ""), {g})} |
                                  set(row["gold_urls"]))
    return rows[:limit] if limit else rows


def squad_normalise(text: str) -> list[str]:
    """The benchmark's (SQuAD's) normalisation of a short answer: lower case, ASCII punctuation removed (curly
    quotes stay, as the benchmark scores them), no a/an/the."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def exact_match(prediction: str, reference: str) -> float:
    return float(bool(prediction) and squad_normalise(prediction) == squad_normalise(reference))


def token_f1(prediction: str, reference: str) -> float:
    from collections import Counter

    pred, ref = squad_normalise(prediction), squad_normalise(reference)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


NUMBER_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                                 "thirteen fourteen fifteen sixteen seventeen eighteen nineteen "
                                                 "twenty".split())}


def short_holds(prediction: str, reference: str) -> float:
    """1 if the short answer holds the reference (normalised; a number written as a word counts as its digits:
    'six months' holds '6'). Right, if not an exact match: 'more than $6 billion' for '$6 billion'."""
    def norm(text: str) -> str:
        return " ".join(NUMBER_WORDS.get(w, w) for w in squad_normalise(text))

    return float(bool(prediction) and f" {norm(reference)} " in f" {norm(prediction)} ")


def recall_at(ranked_urls: Sequence[str], gold: set[str], k: int) -> float:
    """1 if a gold article is among the articles of the top-k passages."""
    return float(any(u in gold for u in ranked_urls[:k]))


def answer_at(texts: Sequence[str], answer: str, k: int) -> float:
    """1 if the reference answer is inside one of the top-k passages: another outlet's article on the same story
    answers as well as the gold one, which gold-article recall cannot see."""
    return float(any(contains_all(t, [answer]) for t in texts[:k]))


@dataclass
class Run:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        n = max(len(self.rows), 1)
        out = {f"recall@{k}": sum(r[f"recall@{k}"] for r in self.rows) / n for k in KS if self.rows and f"recall@{k}" in self.rows[0]}
        out.update({f"answer@{k}": sum(r[f"answer@{k}"] for r in self.rows) / n for k in ANSWER_KS
                    if self.rows and f"answer@{k}" in self.rows[0]})
        for key in ("gold_cited", "answer_in_citations", "refused", "short_em", "short_f1", "refused_before_gold",
                    "answered_elsewhere", "neighbour_quoted"):
            if self.rows and key in self.rows[0]:
                out[key] = sum(r[key] for r in self.rows) / n
        shown = [r for r in self.rows if r.get("short_answer")]
        if self.rows and "short_answer" in self.rows[0] and "refused" in self.rows[0]:
            answered = [r for r in self.rows if not r["refused"]]
            out["short_shown"] = len(shown) / max(len(answered), 1)
            out["short_right_shown"] = sum(r["short_contains"] for r in shown) / max(len(shown), 1)
        if not self.rows or "ms" not in self.rows[0]:
            return out
        if self.rows and "after_as_of" in self.rows[0]:
            out["citations_after_as_of"] = sum(r["after_as_of"] for r in self.rows)
        latencies = [r["ms"] for r in self.rows]
        out["p50_ms"], out["p95_ms"] = percentile(latencies, 50), percentile(latencies, 95)
        return out


def run_project(assistant, questions: list[dict[str, Any]], use_as_of: bool, answer: bool = True,
                progress: bool = False) -> Run:
    from tqdm import tqdm

    run = Run("project, as_of" if use_as_of else "project, no as_of")
    for q in tqdm(questions, desc=run.name, unit="q", file=sys.stderr, disable=not progress):
        as_of = q["as_of"] if use_as_of else None
        gold = set(q["gold_urls"])
        passages, _ = assistant.retrieve(q["question"], as_of=as_of, top_k=max(KS))
        urls = [p.url for p in passages]
        row = {"id": q["id"], **{f"recall@{k}": recall_at(urls, gold, k) for k in KS},
               **{f"answer@{k}": answer_at([p.text for p in passages], q["answer"], k) for k in ANSWER_KS}}
        if answer:
            started = time.perf_counter()
            result = assistant.answer(q["question"], as_of=as_of)
            row["ms"] = (time.perf_counter() - started) * 1000
            cited = " ".join(c.text for c in result.citations)
            row.update(gold_cited=float(any(c.url in gold for c in result.citations)),
                       answer_in_citations=float(contains_all(cited, [q["answer"]])),
                       refused=float(result.refused), answer=result.text[:300],
                       short_answer=result.short_answer, short_em=exact_match(result.short_answer, q["answer"]),
                       short_f1=token_f1(result.short_answer, q["answer"]),
                       short_contains=short_holds(result.short_answer, q["answer"]),
                       after_as_of=sum(c.date > q["as_of"] for c in result.citations) if use_as_of else 0)
        run.rows.append(row)
    return run


def gold_dates(folder: Path) -> dict[str, str]:
    """url -> ISO publication date of every article."""
    return {a["url"]: a["publish_date"].replace("/", "-") for a in records(folder / "articles.jsonl")
            if a.get("publish_date")}


def run_before_gold(assistant, questions: list[dict[str, Any]], dates: dict[str, str], progress: bool = False) -> Run:
    """Each question asked as of the day before its earliest gold article: the article that answers is not there
    yet. Right is a refusal, or the reference found in another article's quote (another outlet may have had it
    first); wrong is a quote of a sentence that does not hold the reference (a same-topic neighbour)."""
    import datetime as dt

    from tqdm import tqdm

    run = Run("asked the day before the gold article")
    for q in tqdm(questions, desc=run.name, unit="q", file=sys.stderr, disable=not progress):
        known = sorted(dates[u] for u in q["gold_urls"] if u in dates)
        if not known:
            continue
        as_of = (dt.date.fromisoformat(known[0]) - dt.timedelta(days=1)).isoformat()
        result = assistant.answer(q["question"], as_of=as_of)
        holds = not result.refused and contains_all(" ".join(c.text for c in result.citations), [q["answer"]])
        run.rows.append({"id": q["id"], "as_of": as_of, "refused_before_gold": float(result.refused),
                         "answered_elsewhere": float(holds),
                         "neighbour_quoted": float(not result.refused and not holds), "answer": result.text[:200]})
    return run


def run_published(folder: Path, questions: list[dict[str, Any]], name: str = "gpt3-gcs-generate") -> Run | None:
    """The benchmark's own published predictions for these questions (GPT-3 reading Google search results),
    scored as ours are; None when the folder has none."""
    path = folder / "published" / f"{name}.jsonl"
    if not path.exists():
        return None
    predictions = {r["id"]: r["prediction"] for r in (json.loads(line) for line in path.read_text().splitlines()
                                                      if line.strip())}
    run = Run("GPT-3 + Google (published)")
    for q in questions:
        prediction = predictions.get(q["id"], "")
        run.rows.append({"id": q["id"], "short_em": exact_match(prediction, q["answer"]),
                         "short_f1": token_f1(prediction, q["answer"])})
    return run


def format_table(runs: Sequence[Run]) -> str:
    summaries = [(r.name, r.summary()) for r in runs]
    keys = list(dict.fromkeys(k for _, s in summaries for k in s))
    width = max(len(name) for name, _ in summaries) + 2
    lines = ["metric".ljust(24) + "".join(name.rjust(width) for name, _ in summaries)]
    for key in keys:
        cells = []
        for _, s in summaries:
            value = s.get(key)
            cells.append(("-" if value is None else f"{value:.0f}" if key.endswith("_ms") or key.startswith("citations")
                          else f"{value:.2f}").rjust(width))
        lines.append(key.ljust(24) + "".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.realtimeqa", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with articles.jsonl and questions.jsonl")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--store", type=Path, help="reuse this store folder (default: a temporary one)")
    parser.add_argument("--baseline-store", type=Path, help="reuse this folder for the LlamaIndex baseline")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain LlamaIndex pipeline")
    parser.add_argument("--backend", help="answer backend (NEWSQA_BACKEND; default extractive). A generative one "
                                          "reads every question's passages: ~12 s a question with llamacpp here")
    parser.add_argument("--as-of-only", action="store_true", help="skip the run without as_of")
    parser.add_argument("--before-gold", action="store_true",
                        help="also ask each question the day before its answering article was published")
    parser.add_argument("--output", type=Path, default=ROOT / "eval" / "results" / "realtimeqa.json")
    args = parser.parse_args(argv)
    offline_environment()
    from index.embedder import make_embedder, model_path, store_encoder
    from index.ingest import ingest, progress_bar
    from index.store import open_store
    from qa.assistant import Assistant

    tmp = tempfile.TemporaryDirectory(prefix="newsqa-rtqa-")
    try:
        settings = Settings.from_env(os.environ, store_dir=args.store or Path(tmp.name) / "store", judge="none",
                                     backend=args.backend)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    store = open_store(settings)
    settings = store_encoder(settings, store.encoder)
    embedder = make_embedder(settings)
    started = time.perf_counter()
    report = ingest([args.folder / "articles.jsonl"], settings, store, embedder, progress=progress_bar())
    print(f"ingest: {report.summary()} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    assistant = Assistant.from_settings(settings, store, embedder)
    questions = load_questions(args.folder, args.limit)
    runs = [run_project(assistant, questions, use_as_of=True, progress=True)]
    if not args.as_of_only:
        runs.append(run_project(assistant, questions, use_as_of=False, progress=True))
    if args.before_gold:
        runs.append(run_before_gold(assistant, questions, gold_dates(args.folder), progress=True))
    if not args.no_baseline:
        from eval.baseline import build_baseline, run_baseline

        retriever = build_baseline(args.folder / "articles.jsonl", args.baseline_store or Path(tmp.name) / "baseline",
                                   str(model_path(settings.embed_model)))
        runs.append(run_baseline(retriever, questions))
    if (published := run_published(args.folder, questions)) is not None:
        runs.append(published)

    # a private embedded store, even when the run's store is a Chroma server (it would add seeds/ to the server's
    # archive and ask the whole archive)
    seeds_settings = settings.replace(store_dir=Path(tmp.name) / "seeds-only", chroma_host="")
    seeds_store = open_store(seeds_settings)
    ingest([ROOT / "seeds"], seeds_settings, seeds_store, embedder)
    seeds_only = Assistant.from_settings(seeds_settings, seeds_store, embedder)
    wrongly_answered = [q["id"] for q in questions if not seeds_only.answer(q["question"]).refused]

    table = format_table(runs)
    print(table)
    print(f"seeds-only store, no as_of: {len(questions) - len(wrongly_answered)}/{len(questions)} refused"
          + (f" (answered: {', '.join(wrongly_answered)})" if wrongly_answered else ""))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"settings": settings.public(), "questions": len(questions),
                                       "runs": {r.name: {"summary": r.summary(), "rows": r.rows} for r in runs},
                                       "seeds_only_answered": wrongly_answered}, indent=2, default=str))
    print(f"results: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
