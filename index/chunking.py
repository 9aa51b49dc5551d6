"""Article -> dated chunks: sentence-aware splitting with LlamaIndex, stable ids, character offsets."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from typing import AbstractSet, Any

from index.articles import Article
from index.boilerplate import kept_spans
from index.dates import date_number
from index.sentences import sentence_spans


@dataclass(frozen=True)
class Chunk:
    """A passage of an article, with everything a citation needs and a numeric date for range filters."""

    id: str
    article_id: str
    text: str
    title: str
    date: str          # ISO, for people
    date_num: int      # YYYYMMDD, for Chroma's $gte/$lte
    source: str
    url: str
    position: int      # 0-based index of the chunk within its article
    start: int         # character offsets into Article.text
    end: int
    content_hash: str  # of the whole article: a re-ingest compares it to skip or replace

    def metadata(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "title": self.title, "date": self.date, "date_num": self.date_num,
                "source": self.source, "url": self.url, "position": self.position, "start": self.start,
                "end": self.end, "content_hash": self.content_hash}

    def embed_text(self) -> str:
        """What the encoder sees: the title gives a mid-article passage its topic."""
        return f"{self.title}\n{self.text}" if self.title and not self.text.startswith(self.title) else self.text


def chunk_id(article_id: str, content_hash: str, position: int) -> str:
    """Deterministic: the same article content always yields the same ids, so upserts never duplicate."""
    return f"{article_id}-{content_hash[:8]}-{position:04d}"


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int) -> Any:
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def split_spans(text: str, chunk_size: int, chunk_overlap: int) -> list[tuple[int, int]]:
    """Character spans of sentence-aware chunks of `text`.

    We split the bare text, never a node with metadata, so long metadata (700-character tracking urls in
    real dumps) cannot exceed the chunk size. The splitter returns substrings; we locate each one.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _splitter(chunk_size, chunk_overlap).split_text(text):
        piece = piece.strip()
        if not piece:
            continue
        start = text.find(piece, max(0, cursor - len(piece)))
        if start < 0:  # the splitter rewrote whitespace: fall back to the first line of the piece
            head = piece.split("\n", 1)[0][:80]
            start = text.find(head, max(0, cursor - len(piece)))
            if start < 0:
                start = cursor
            end = min(len(text), start + len(piece))
        else:
            end = start + len(piece)
        spans.append((start, end))
        cursor = max(cursor, end)
    return _snap_to_sentences(text, spans)


def _snap_to_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Make every chunk begin with a whole sentence. The splitter's token overlap can start a chunk mid-
    sentence: skip to the next sentence when the previous chunk already holds this one, else back up to its start."""
    sentences = sentence_spans(text)
    starts = [s for s, _ in sentences]   # sorted and disjoint: bisect finds a sentence in log time
    out: list[tuple[int, int]] = []
    for start, end in spans:
        i = bisect_left(starts, start) - 1   # the last sentence to begin before `start`: the only possible holder
        holder = sentences[i] if i >= 0 and start < sentences[i][1] else None
        if out and holder is not None:
            s0, e0 = holder
            j = bisect_left(starts, e0)
            following = starts[j] if j < len(starts) else None
            if e0 <= out[-1][1] and following is not None and following < end:
                start = following
            else:
                start = s0
        out.append((start, end))
    return out


def chunk_article(article: Article, chunk_size: int = 192, chunk_overlap: int = 32,
                  common: AbstractSet[str] = frozenset()) -> list[Chunk]:
    """The article's chunks. Lines whose keys are in `common` (boilerplate repeated across the store) are left
    out: the rest is joined and chunked as one text, and a chunk's start/end still cover its place in the whole
    text (its text is article.text[start:end] less those lines)."""
    digest = article.content_hash
    iso, num = article.date.isoformat(), date_number(article.date)
    runs = kept_spans(article.text, set(common))
    kept = "\n".join(article.text[a:b] for a, b in runs)
    starts, offset = [], 0   # where each run begins in `kept`
    for a, b in runs:
        starts.append(offset)
        offset += b - a + 1

    def place(i: int, closing: bool) -> int:
        """A position in `kept` -> the same character's position in article.text."""
        r = max(bisect_left(starts, i + (0 if closing else 1)) - 1, 0)
        return runs[r][0] + min(i - starts[r], runs[r][1] - runs[r][0])

    spans = split_spans(kept, chunk_size, chunk_overlap)
    return [Chunk(id=chunk_id(article.id, digest, i), article_id=article.id, text=kept[s:e],
                  title=article.title, date=iso, date_num=num, source=article.source, url=article.url,
                  position=i, start=place(s, False), end=place(e, True), content_hash=digest)
            for i, (s, e) in enumerate(spans)]
