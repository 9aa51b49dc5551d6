"""`python -m eval.htmldates DIR`: how well ingest dates news pages nobody here wrote.

DIR is htmldate's Media Cloud evaluation set as ../shared/htmldate-mediacloud holds it (read in place, never
copied): `expected.jsonl` (url, file, date or null) and `pages/`. Each page goes the ingest path up to the chunks
(no embedding): as a saved `.html` file (`index.articles.load_file`, the url only what the page itself says), and
as a page whose url is known (`index.web.page_article(url=...)`, as for a fetched URL, a feed entry or a WARC
record). Counts, per way in: dates right, wrong (a wrong date is worse than a refusal; ±1 day shown apart: time
zones), refused as undated although annotated, pages without text, and the 5 pages nobody could date: refused
(right) or dated (wrong). Also time per page.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.articles import Article, load_file, source_file
from index.chunking import chunk_article
from index.settings import Settings
from index.web import UNDATED, page_article

ROOT = Path(__file__).resolve().parent.parent
WAYS = ("file", "url known")


@dataclass
class Tally:
    """Outcomes of one way in over the whole set."""

    outcomes: Counter = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    chunks: int = 0
    wrong: list[dict[str, Any]] = field(default_factory=list)


def outcome(expected: str | None, article: Article | None, reason: str) -> str:
    """One page's outcome: right, off by one day, wrong, refused (undated), no text / other rejection."""
    if expected is None:
        return "undatable, refused (right)" if article is None else "undatable, dated (wrong)"
    if article is None:
        return "refused as undated" if reason == UNDATED else f"rejected: {reason}"
    gap = abs((article.date - dt.date.fromisoformat(expected)).days)
    return "right" if gap == 0 else "wrong by 1 day" if gap == 1 else "wrong"


def read_page(way: str, path: Path, url: str) -> tuple[Article | None, str]:
    if way == "file":
        articles, rejected = load_file(source_file(path))
        return (articles[0], "") if articles else (None, rejected[0].reason)
    try:
        return page_article(path.read_bytes(), key=url, source=url, url=url), ""
    except ValueError as exc:
        return None, str(exc)


def measure(folder: Path, limit: int | None = None) -> dict[str, Tally]:
    rows = [json.loads(line) for line in (folder / "expected.jsonl").read_text().splitlines() if line.strip()]
    settings = Settings()
    tallies = {way: Tally() for way in WAYS}
    for row in rows[:limit] if limit else rows:
        for way, tally in tallies.items():
            started = time.perf_counter()
            article, reason = read_page(way, folder / row["file"], row["url"])
            if article is not None:
                tally.chunks += len(chunk_article(article, settings.chunk_size, settings.chunk_overlap))
            tally.seconds.append(time.perf_counter() - started)
            result = outcome(row["date"], article, reason)
            tally.outcomes[result] += 1
            if "wrong" in result:
                tally.wrong.append({"file": row["file"], "expected": row["date"],
                                    "got": article.date.isoformat() if article else None})
    return tallies


def table(tallies: dict[str, Tally]) -> str:
    names = ["right", "wrong by 1 day", "wrong", "refused as undated", "undatable, refused (right)",
             "undatable, dated (wrong)"]
    names += sorted({n for t in tallies.values() for n in t.outcomes} - set(names))
    lines = ["| outcome | " + " | ".join(tallies) + " |", "|---|" + "---|" * len(tallies)]
    lines += [f"| {n} | " + " | ".join(str(t.outcomes.get(n, 0)) for t in tallies.values()) + " |" for n in names]
    lines.append("| pages | " + " | ".join(str(sum(t.outcomes.values())) for t in tallies.values()) + " |")
    lines.append("| chunks | " + " | ".join(str(t.chunks) for t in tallies.values()) + " |")
    lines.append("| s/page (mean, p95) | " + " | ".join(
        f"{statistics.mean(t.seconds):.3f}, {sorted(t.seconds)[int(0.95 * (len(t.seconds) - 1))]:.3f}"
        for t in tallies.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.htmldates", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with expected.jsonl and pages/")
    parser.add_argument("--limit", type=int, help="only the first N pages")
    parser.add_argument("--output", type=Path, default=ROOT / "eval" / "results" / "htmldates.json")
    args = parser.parse_args(argv)
    if not (args.folder / "expected.jsonl").is_file():
        print(f"error: {args.folder}/expected.jsonl not found", file=sys.stderr)
        return 2
    tallies = measure(args.folder, args.limit)
    print(table(tallies))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({way: {"outcomes": dict(t.outcomes), "chunks": t.chunks,
                                             "mean_s": statistics.mean(t.seconds), "wrong": t.wrong}
                                       for way, t in tallies.items()}, indent=1))
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
