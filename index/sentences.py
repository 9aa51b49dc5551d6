"""Sentence spans with character offsets; aware of the abbreviations news text is full of ("U.S.", "Mr.")."""
from __future__ import annotations

import re

ABBREVIATIONS = frozenset("""
mr mrs ms dr prof sen rep gov gen col lt sgt capt st jr sr inc corp co ltd vs etc no fig jan feb mar apr jun
jul aug sep sept oct nov dec mt ft ave blvd dept univ approx est u.s u.k u.n e.u d.c a.m p.m i.e e.g
""".split())
# a run of [.!?] is tried from its first character only (from each one, "......" takes time quadratic in its length)
_BOUNDARY = re.compile(r"(?<![.!?])[.!?]+[\"'”’)\]]*(?=\s+)|\n\s*\n")


_TITLES = frozenset("mr mrs ms dr prof sen rep gov gen col lt sgt capt st jr sr mt no vs fig".split())
_STARTERS = frozenset("""the a an he she it they we i but and in on at this that these those his her their its
there after before when while if as for so yet then however meanwhile still also""".split())


_WORD_BEFORE = re.compile(r"([A-Za-z.]+)\.$")
_NEXT_WORD = re.compile(r"\s*([A-Za-z]+)")
_WINDOW = 64   # characters looked at before a period; a longer run of letters and dots widens the look


def _word_before(text: str, end: int) -> str | None:
    """The run of letters and dots before the period ending at `end`, or None: looked for in a window that
    widens only while the run reaches its edge, so each period costs the length of its word, not of the text."""
    size = _WINDOW
    while True:
        lo = max(0, end - size)
        word = _WORD_BEFORE.search(text, lo, end)
        if word is None:
            return None
        if word.start() > lo or lo == 0:
            return word.group(1)
        size *= 4


def _continues(text: str, end: int) -> bool:
    """Does the period ending at `end` belong to an abbreviation inside a sentence rather than end it?"""
    word = _word_before(text, end)
    if word is None:
        return False
    token = word.lower().strip(".")
    if token in _TITLES or (len(token) == 1 and token.isalpha()):
        return True  # "Mr. Smith", "John F. Kennedy"
    if token in ABBREVIATIONS or ("." in token and len(token) <= 5):
        following = _NEXT_WORD.match(text, end)
        # "the U.S. State Department" goes on; "came from the U.S. The next day" ends
        return not (following and following.group(1)[0].isupper() and following.group(1).lower() in _STARTERS)
    return False


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; the pieces, joined, cover the text except whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if m.group(0) == "." and _continues(text, end):
            continue
        if text[start:end].strip():
            spans.append(_trim(text, start, end))
        start = end
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]
