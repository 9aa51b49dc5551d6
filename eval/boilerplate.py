"""`python -m eval.boilerplate DIR`: what keeping repeated lines out of chunks does on RealTime QA.

DIR is in the format of ../shared/realtimeqa-dev (read in place, never copied). The articles are loaded as ingest
loads `articles.jsonl` and the common lines are found over the whole dump (as a fresh store ingesting it in one
batch would), without embedding anything. Prints the chunks with and without the repeated lines, the lines kept
out (most frequent first), and the sentences holding a question's reference answer in its gold articles that
would be kept out: that must be 0.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from index.articles import load_file
from index.boilerplate import MIN_ARTICLES, block_keys, common_blocks, dropped_lines, kept_spans
from index.chunking import chunk_article
from index.sentences import sentence_spans
from index.settings import Settings


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[\"'“”‘’]", "", text.lower()).split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.boilerplate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with articles.jsonl and questions.jsonl")
    parser.add_argument("--min-articles", type=int, default=MIN_ARTICLES, help="articles a line must repeat in")
    parser.add_argument("--show", type=int, default=15, help="how many of the kept-out lines to print")
    args = parser.parse_args(argv)
    articles, rejected = load_file(args.folder / "articles.jsonl", max_bytes=None)
    settings = Settings()
    common = common_blocks((block_keys(a.text) for a in articles), args.min_articles)
    before = after = 0
    dropped: Counter = Counter()
    touched = 0
    for article in articles:
        before += len(chunk_article(article, settings.chunk_size, settings.chunk_overlap))
        after += len(chunk_article(article, settings.chunk_size, settings.chunk_overlap, common))
        lines = dropped_lines(article.text, common)
        touched += bool(lines)
        dropped.update(" ".join(line.split())[:90] for line in lines)
    gold_sentences, gold_dropped = gold_check(args.folder, articles, common)
    print(f"{len(articles)} articles ({len(rejected)} rejected), common lines: in >= {args.min_articles} articles")
    print(f"chunks: {before} -> {after} ({before - after} fewer, {100 * (before - after) / before:.1f}%); "
          f"{sum(dropped.values())} lines kept out of {touched} articles")
    print(f"gold-answer sentences: {gold_sentences}, kept out: {len(gold_dropped)}")
    for sentence in gold_dropped:
        print(f"  KEPT OUT: {sentence[:150]}")
    print("most frequent lines kept out:")
    for line, n in dropped.most_common(args.show):
        print(f"  {n:4d}  {line}")
    return 1 if gold_dropped else 0


def gold_check(folder: Path, articles: list, common: set[str]) -> tuple[int, list[str]]:
    """(sentences of gold articles holding the reference answer, those that fall in a kept-out line)."""
    by_url = {a.url: a for a in articles}
    total, lost = 0, []
    for line in (folder / "questions.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        question = json.loads(line)
        answer = normalise(question["answer"])
        for url in question["gold_urls"]:
            article = by_url.get(url)
            if article is None or not answer:
                continue
            runs = kept_spans(article.text, common)
            for s, e in sentence_spans(article.text):
                if answer in normalise(article.text[s:e]):
                    total += 1
                    if not any(a <= s and e <= b for a, b in runs):
                        lost.append(article.text[s:e])
    return total, lost


if __name__ == "__main__":
    sys.exit(main())
