"""`python -m eval`: answer every question of an evaluation set, score it, write results/ and print the table.

    python -m eval [--backend B] [--judge local|openai|ollama|none] [--dataset PATH] [--limit N] [--as-of DATE]
    python -m eval calibrate [--judge ...] [--limit N]     agreement of the judge with labelled cases
    python -m eval generate [--articles PATH ...] [--size N] drafts a set with RAGAS (needs a capable LLM)
    python -m eval --compare A.json B.json                  what changed between two runs
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from index.settings import Settings, SettingsError, offline_environment, settings_help

from eval.datasets import DEFAULT_ARTICLES, DEFAULT_DATASET, Dataset, DatasetError, EvalItem, load_dataset

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CALIBRATION_CASES = Path(__file__).resolve().parent / "calibration.jsonl"


# --- the run -------------------------------------------------------------------------------------------------

def evaluate(items: Sequence[EvalItem], assistant: Any, *, judge: Any = None, as_of: str | None = None,
             top_k: int | None = None, progress: bool = True) -> list:
    """Answer every item (progress bar), score it judge-free, then judge Faithfulness when a judge is given."""
    from tqdm import tqdm

    from eval.metrics import score_answer

    rows, answers = [], []
    for item in tqdm(items, desc="answering", unit="q", file=sys.stderr, disable=not progress):
        day = item.as_of or as_of
        answer = assistant.answer(item.user_input, as_of=day, top_k=top_k)
        rows.append(score_answer(item, answer, answer.passages))
        answers.append(answer)
    if judge is None:
        return rows
    for i in tqdm(range(len(rows)), desc="judging", unit="q", file=sys.stderr, disable=not progress):
        answer = answers[i]
        if answer.refused or not answer.citations:
            continue
        score = judge.faithfulness(rows[i].question, answer.text, [c.text for c in answer.citations])
        rows[i] = dataclasses.replace(rows[i], faithfulness=score.value, faithfulness_note=score.note)
    return rows


def eval_store_dir(settings: Settings, articles: Sequence[Path]) -> Path:
    """A store of the evaluation's own under cache_dir, one per article set, encoder and chunking, reused across
    runs (ingest skips unchanged articles), so an evaluation never touches the user's store."""
    key = json.dumps([sorted(str(Path(p).resolve()) for p in articles), settings.embed_model,
                      settings.chunk_size, settings.chunk_overlap]
                     + ([settings.embed_backend] if settings.embed_backend != "torch" else []))  # torch: old keys
    return settings.cache_dir / "eval-stores" / hashlib.sha1(key.encode()).hexdigest()[:12]


def build_assistant(settings: Settings, dataset: Dataset, progress: bool = True):
    """The assistant to evaluate: over an evaluation store holding the dataset's articles, or, when the set
    names no articles, over the configured store as it is."""
    from qa.assistant import Assistant

    if not dataset.articles:
        from qa import get_assistant

        return get_assistant(settings)
    assistant = Assistant.from_settings(settings.replace(store_dir=eval_store_dir(settings, dataset.articles)))
    from index.ingest import ingest

    report = ingest(list(dataset.articles), assistant.settings, assistant.store, assistant.embedder)
    if progress:
        print(f"evaluation store {assistant.settings.store_dir}: {report.summary()}", file=sys.stderr)
    return assistant


def make_run_judge(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """The configured judge, or None with the reason: a missing judge costs the Faithfulness figure, never
    the judge-free report."""
    if settings.judge == "none":
        return None, {"name": "", "status": "none"}
    from eval.judge import JudgeError, make_judge

    try:
        judge = make_judge(settings)
    except JudgeError as exc:
        print(f"note: Faithfulness skipped: {exc}", file=sys.stderr)
        return None, {"name": "", "status": f"unavailable: {exc}"}
    return judge, {"name": judge.name, "status": "ok"}


def latest_calibration(judge_name: str, folder: Path = RESULTS_DIR) -> dict[str, Any] | None:
    """The newest `python -m eval calibrate` result for this judge, if any."""
    if not judge_name or not folder.is_dir():
        return None
    found = [json.loads(p.read_text()) for p in sorted(folder.glob("calibration-*.json"))]
    found = [c for c in found if c.get("judge") == judge_name]
    return max(found, key=lambda c: c.get("created", ""), default=None)


def make_run(dataset: Dataset, settings: Settings, rows: Sequence[Any], judge_info: dict[str, Any],
             calibration: dict[str, Any] | None, argv: Sequence[str]) -> dict[str, Any]:
    from eval.metrics import aggregate, by_kind
    from eval.report import faithfulness_trusted

    return {
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m eval " + " ".join(argv),
        "dataset": dataset.name,
        "settings": settings.public(),
        "judge": judge_info,
        "calibration": {k: calibration[k] for k in ("judge", "agreement", "cases", "created")} if calibration else None,
        "faithfulness_trusted": faithfulness_trusted(calibration) if judge_info.get("name") else None,
        "aggregates": aggregate(rows),
        "by_kind": by_kind(rows),
        "rows": [dataclasses.asdict(r) for r in rows],
    }


def run(args: argparse.Namespace, settings: Settings, argv: Sequence[str]) -> int:
    from eval.report import summary_table, write_run

    dataset = load_dataset(args.dataset, args.articles)
    items = dataset.items[: args.limit] if args.limit else dataset.items
    assistant = build_assistant(settings, dataset, progress=not args.quiet)
    judge, judge_info = make_run_judge(settings)
    rows = evaluate(items, assistant, judge=judge, as_of=args.as_of, top_k=args.top_k, progress=not args.quiet)
    run_record = make_run(dataset, assistant.settings, rows, judge_info, latest_calibration(judge_info["name"],
                                                                                           args.out), argv)
    json_path, md_path = write_run(run_record, args.out, new_stamp(args.out))
    print(summary_table(run_record))
    print(f"\nwrote {json_path} and {md_path}")
    return 0


def new_stamp(folder: Path) -> str:
    """<UTC time>, with -2, -3, ... when a run of the same second is already there."""
    base = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stamp, n = base, 1
    while (folder / f"{stamp}.json").exists():
        n += 1
        stamp = f"{base}-{n}"
    return stamp


# --- the other commands --------------------------------------------------------------------------------------

def calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from eval.calibration import calibrate_judge, load_cases
    from eval.judge import JudgeError, make_judge

    if settings.judge == "none":
        print("error: calibrate needs a judge: --judge local|openai|ollama", file=sys.stderr)
        return 2
    try:
        judge = make_judge(settings)
    except JudgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cases = load_cases(args.cases)[: args.limit] if args.limit else load_cases(args.cases)
    result = calibrate_judge(judge, cases, progress=not args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    slug = "".join(ch if ch.isalnum() else "-" for ch in judge.name)[:60]
    path = args.out / f"calibration-{slug}-{result['created'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    for c in result["rows"]:
        mark = "ok " if c["agrees"] else "MISS"
        print(f"{mark} {c['id']:<14} label {c['label']:<10} score {c['score_text']:<6} {c['error'] or ''}")
    from eval.report import TRUST_AGREEMENT

    verdict = "trusted" if result["agreement"] >= TRUST_AGREEMENT else "UNTRUSTED (below 80%)"
    print(f"\njudge {judge.name}: agreement {100 * result['agreement']:.1f}% on {result['cases']} cases "
          f"({result['seconds']:.0f} s, {result['seconds'] / max(1, result['cases']):.1f} s a case) -> {verdict}")
    print(f"wrote {path}")
    return 0


def generate(args: argparse.Namespace, settings: Settings) -> int:
    from eval.judge import JudgeError
    from eval.testset import generate_testset

    try:
        rows = generate_testset(settings, args.articles or [DEFAULT_ARTICLES], args.size)
    except JudgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.output or Path(f"generated-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} draft questions to {out}: review each (fix the reference, add sources and "
          "keywords) before using it with --dataset")
    return 0


def compare(paths: Sequence[Path]) -> int:
    from eval.report import compare as compare_runs, load_run

    print(compare_runs(load_run(paths[0]), load_run(paths[1])))
    return 0


# --- arguments -----------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval", formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description=__doc__, epilog=settings_help())
    parser.add_argument("command", nargs="?", choices=["run", "calibrate", "generate"], default="run")
    parser.add_argument("--backend", help="answer backend (NEWSQA_BACKEND)")
    parser.add_argument("--judge", help="Faithfulness judge: local, openai, ollama or none (NEWSQA_JUDGE)")
    parser.add_argument("--judge-model", help="judge model: GGUF path or model name (NEWSQA_JUDGE_MODEL)")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help="JSONL set (RAGAS field names) or a RealTime QA folder [default: eval/dataset.jsonl]")
    parser.add_argument("--articles", type=Path, nargs="+",
                        help="articles to ingest into the evaluation store (default: seeds/ for the bundled set, "
                             "articles.jsonl for RealTime QA, none for your own set: the configured store is used)")
    parser.add_argument("--limit", type=int, help="only the first N questions (or calibration cases)")
    parser.add_argument("--as-of", help="YYYY-MM-DD for questions that carry no as_of of their own")
    parser.add_argument("--top-k", type=int, help="passages per question (NEWSQA_TOP_K)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder [default: eval/results]")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("A.json", "B.json"),
                        help="print what changed from run A to run B, and exit")
    parser.add_argument("--cases", type=Path, default=CALIBRATION_CASES, help="calibration cases (calibrate)")
    parser.add_argument("--size", type=int, default=10, help="questions to draft (generate)")
    parser.add_argument("--output", type=Path, help="file for the drafted set (generate)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    offline_environment()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before any llama.cpp loads: see eval/judge.py
    try:
        if args.compare:
            return compare(args.compare)
        settings = Settings.from_env(os.environ if environ is None else environ, backend=args.backend,
                                     judge=args.judge, judge_model=args.judge_model, top_k=args.top_k)
        if args.command == "calibrate":
            return calibrate(args, settings)
        if args.command == "generate":
            return generate(args, settings)
        return run(args, settings, argv)
    except (SettingsError, DatasetError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
