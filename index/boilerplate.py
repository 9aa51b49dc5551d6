"""Text repeated across many articles of the store (widgets, newsletter and shopping plugs, cookie banners, "choose
your state" lists) is kept out of chunks. Pure functions; ingest keeps each article's line keys in its manifest
entry, so the counts follow the store (a removed article stops counting).

A block is one line of an article's text: extraction and news dumps write a paragraph, a heading or a widget's
item per line. A line is common when it appears, normalised, in at least MIN_ARTICLES different articles.

Syndication guard: the same agency story on several sites shares *every* line with its copies. An article whose
common lines make up more than MAX_COMMON_SHARE of its characters is such a copy, or a page that is all widget:
nothing is removed from it, so no story is ever emptied. The article's text itself is never changed (offsets,
hashes and re-ingest stay as they were): only its chunks leave the common lines out. Articles stored before a line
became common keep their chunks until they are re-ingested.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Iterable

MIN_ARTICLES = 5          # measured on RealTime QA (docs/web.md): 3 to 10 remove the same kinds of lines
MAX_COMMON_SHARE = 0.5    # above this share of its characters, an article is a copy, not an article with widgets
_SPACE = re.compile(r"\s+")


def line_key(line: str) -> str:
    """'  Sign up   HERE ' and 'sign up here' are one block."""
    return hashlib.sha1(_SPACE.sub(" ", line.strip().lower()).encode()).hexdigest()[:12]


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line of text."""
    spans, start = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def block_keys(text: str) -> set[str]:
    """The keys of an article's lines, each once: what its manifest entry stores and the counts count."""
    return {line_key(text[s:e]) for s, e in line_spans(text)}


def common_blocks(articles_keys: Iterable[Iterable[str]], min_articles: int = MIN_ARTICLES) -> set[str]:
    """Keys found in at least min_articles of the articles (each article's keys given once)."""
    counts = Counter(key for keys in articles_keys for key in set(keys))
    return {key for key, n in counts.items() if n >= min_articles}


def kept_spans(text: str, common: set[str]) -> list[tuple[int, int]]:
    """Runs of text to chunk: the whole text, or the stretches between common lines (see the guard above)."""
    if not common or not text:
        return [(0, len(text))] if text else []
    lines = line_spans(text)
    dropped = [(s, e) for s, e in lines if line_key(text[s:e]) in common]
    if not dropped or sum(e - s for s, e in dropped) > MAX_COMMON_SHARE * sum(e - s for s, e in lines):
        return [(0, len(text))]
    runs: list[tuple[int, int]] = []
    cursor = 0
    for s, e in [*dropped, (len(text), len(text))]:
        piece = text[cursor:s]
        if piece.strip():  # without the newlines that separated it from the dropped lines
            runs.append((cursor + len(piece) - len(piece.lstrip("\n")), s - len(piece) + len(piece.rstrip("\n"))))
        cursor = e
    return runs


def dropped_lines(text: str, common: set[str]) -> list[str]:
    """The lines kept out of an article's chunks (for reports and measurement)."""
    runs = kept_spans(text, common)
    return [text[s:e] for s, e in line_spans(text) if not any(a <= s and e <= b for a, b in runs)]
