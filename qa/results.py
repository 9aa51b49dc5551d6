"""The data that crosses qa's seams: retrieved passages, citations and answers."""
from __future__ import annotations

from dataclasses import dataclass, field

from index.articles import public_name
from index.store import StoredChunk
from qa.dates import DateWindow


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's identity and date, and how it scored."""

    chunk_id: str
    article_id: str
    text: str
    title: str
    date: str
    source: str
    url: str = ""
    position: int = 0
    start: int = 0
    end: int = 0
    score: float = 0.0        # final ranking score (fusion x recency)
    similarity: float = 0.0   # cosine similarity of the chunk to the question (0 when only BM25 found it)

    @classmethod
    def from_stored(cls, chunk: StoredChunk, **scores: float) -> "Passage":
        m = chunk.meta
        return cls(chunk_id=chunk.id, article_id=m.article_id, text=chunk.text, title=m.title, date=m.date,
                   source=public_name(m.source), url=m.url, position=m.position, start=m.start, end=m.end, **scores)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage, where it came from, and the sentences the answer used."""

    number: int
    title: str
    date: str
    source: str
    text: str
    score: float
    url: str = ""
    article_id: str = ""
    chunk_id: str = ""
    quotes: tuple[str, ...] = ()
    short_answer: str = ""   # the answer's short answer, when it is a span of this citation's first quote

    @classmethod
    def from_passage(cls, number: int, passage: Passage, quotes: tuple[str, ...] = (),
                     short_answer: str = "") -> "Citation":
        return cls(number=number, title=passage.title, date=passage.date, source=passage.source,
                   text=passage.text, score=round(passage.score, 4), url=passage.url,
                   article_id=passage.article_id, chunk_id=passage.chunk_id, quotes=quotes,
                   short_answer=short_answer)


@dataclass(frozen=True)
class Pruned:
    """A generated sentence removed because its citations do not support it."""

    sentence: str
    reason: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    backend: str
    date_window: DateWindow | None = None
    standalone_question: str = ""
    pruned: list[Pruned] = field(default_factory=list)
    notice: str = ""           # e.g. "the llamacpp backend failed: ...; showing the extractive answer"
    seconds: float = 0.0
    short_answer: str = ""     # a name, number or date found in a cited quote; '' when there is none
    passages: list[Passage] = field(default_factory=list, repr=False)   # what the answer was built from, ranked

    def format(self) -> str:
        """The short answer on its own line (when there is one), the answer, then its numbered sources, as the
        CLI prints it."""
        lines = ([self.short_answer, ""] if self.short_answer else []) + [self.text]
        if self.notice:
            lines += ["", f"note: {self.notice}"]
        if self.date_window and (self.date_window.phrases or self.date_window.start):
            lines += ["", f"dates: {self.date_window.describe()}"]
        if self.citations:
            lines += ["", "Sources:"]
            for c in self.citations:
                lines.append(f"[{c.number}] {c.title} ({c.date}) {c.source}" + (f" {c.url}" if c.url else ""))
                lines.append("    " + " ".join(c.text.split()))
        return "\n".join(lines)
