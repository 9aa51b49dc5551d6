"""Assistant: question -> date window -> passages -> cited Answer. Built once from settings, then reused."""
from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from dataclasses import replace
from typing import Any, Generator, Iterator, Sequence

from index.embedder import Embedder, make_embedder, store_encoder
from index.settings import Settings
from index.store import Store, open_store
from qa.conversation import condense
from qa.dates import DateWindow, parse_iso, parse_window
from qa.results import Answer, Passage
from qa.retrieval import HybridRetriever
from qa.synthesis import Synthesizer, make_synthesizer, synthesis_stream


class QuestionError(ValueError):
    """The question cannot be asked as it is (empty, too long); the message says what to change."""


def clean_question(question: Any, max_chars: int) -> str:
    """Printable text only, whitespace collapsed; empty and over-long questions are refused with a reason."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    # format characters (zero-width space, soft hyphen, RTL marks) sit inside words: drop them, don't split the word
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else "" if unicodedata.category(ch) == "Cf" else " "
                   for ch in unicodedata.normalize("NFC", question))
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("please type a question")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text):,} characters long; the limit is {max_chars:,} "
                            "(NEWSQA_MAX_QUESTION_CHARS)")
    return text


def make_window(question: str, as_of: dt.date, date_from: dt.date | None, date_to: dt.date | None,
                *, from_question: bool = True) -> DateWindow:
    """The question's own window, intersected with the caller's explicit range, never past as_of."""
    window = parse_window(question, as_of) if from_question else DateWindow(None, as_of, as_of,
                                                                           parse_window(question, as_of).recency)
    start = max(filter(None, [window.start, date_from]), default=None)
    end = min(filter(None, [window.end, date_to, as_of]), default=None)
    later = window.reports_until and min(filter(None, [window.reports_until, date_to, as_of]))
    return replace(window, start=start, end=end, reports_until=later if later and end and later > end else None)


def join_notices(*notices: str) -> str:
    return "; ".join(n for n in notices if n)


class Assistant:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder, synthesizer: Synthesizer) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = HybridRetriever(store, embedder, settings)
        self.synthesizer = synthesizer

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None,
                      embedder: Embedder | None = None) -> "Assistant":
        """The one wiring of an Assistant: the store and embedder the settings name (or the ones given, to share
        them), and the answer backend they choose."""
        store = store or open_store(settings)
        settings = store_encoder(settings, store.encoder)
        embedder = embedder or make_embedder(settings)
        return cls(settings, store, embedder, make_synthesizer(settings, store.idf, embedder))

    def with_backend(self, backend: str) -> "Assistant":
        """The same store and embedder with another answer backend (the page's backend switch)."""
        return Assistant.from_settings(self.settings.replace(backend=backend), self.store, self.embedder)

    def retrieve(self, question: str, *, as_of: str | dt.date | None = None, date_from: str | dt.date | None = None,
                 date_to: str | dt.date | None = None, top_k: int | None = None,
                 from_question: bool = True, dates_from: str | None = None) -> tuple[list[Passage], DateWindow]:
        """Passages for the question; its date window is read from `dates_from` when given (the user's own
        words, when a model rewrote the follow-up that is searched for)."""
        question = clean_question(question, self.settings.max_question_chars)
        as_of_day = parse_iso(as_of, "as_of") or dt.date.today()
        window = make_window(dates_from or question, as_of_day, parse_iso(date_from, "date_from"),
                             parse_iso(date_to, "date_to"), from_question=from_question)
        window = replace(window, anchored=as_of is not None)
        return self.retriever.retrieve(question, window, top_k or self.settings.top_k), window

    def widen(self, question: str, window: DateWindow, **kwargs: Any) -> tuple[list[Passage], DateWindow] | None:
        """Passages over all dates up to as_of, for a refused question whose own words narrowed the dates ("killed
        in 2020" names when something happened, not when it was reported); None when nothing was narrowed."""
        as_of_day = parse_iso(kwargs.get("as_of"), "as_of") or dt.date.today()
        if not window.phrases or (window.start is None and window.end == as_of_day):
            return None
        return self.retrieve(question, from_question=False, **kwargs)

    @staticmethod
    def later_notice(window: DateWindow, citations: Sequence[Any]) -> str:
        """Says so when an answer cites reports from after the dates the question names."""
        if not window.reports_until or not window.end:
            return ""
        later = sorted({c.date for c in citations if c.date > window.end.isoformat()})
        return (f"cites reports from after {window.end} ({', '.join(later)}): the question's dates may name when "
                "it happened, not when it was reported") if later else ""

    @staticmethod
    def widened_notice(window: DateWindow) -> str:
        return (f"no article published {window.describe()} answers this; "
                "this answer comes from articles outside those dates")

    def answer(self, question: str, *, as_of: str | dt.date | None = None, date_from: str | dt.date | None = None,
               date_to: str | dt.date | None = None, top_k: int | None = None,
               history: Sequence[Any] | None = None) -> Answer:
        """The checked, cited Answer to a question (answer_stream's last item)."""
        *_, result = self.answer_stream(question, as_of=as_of, date_from=date_from, date_to=date_to, top_k=top_k,
                                        history=history)
        return result

    def standalone(self, question: str, history: Sequence[Any] | None) -> tuple[str, str]:
        """(what to search for, what to read dates from). A generative synthesizer condenses a follow-up with its
        model, the extractive one by rules; the dates always come from the rules' version, the user's own words,
        never from dates a model added."""
        by_rules = condense(question, history)
        by_model = getattr(self.synthesizer, "condense", None)
        return (by_model(question, history) if by_model else by_rules), by_rules

    def answer_stream(self, question: str, *, as_of: str | dt.date | None = None,
                      date_from: str | dt.date | None = None, date_to: str | dt.date | None = None,
                      top_k: int | None = None, history: Sequence[Any] | None = None) -> Iterator[str | Answer]:
        """The one orchestration of an answer: clean the question, make a follow-up standalone, retrieve, synthesize
        (widening the dates once when the question's own dates held no answer), add the notices. Yields text pieces
        as they are produced (the short answer first, as its own piece), then the final checked Answer."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        standalone, dates_from = self.standalone(question, history)
        kwargs = dict(as_of=as_of, date_from=date_from, date_to=date_to, top_k=top_k, dates_from=dates_from)
        passages, window = self.retrieve(standalone, **kwargs)
        streamed: list[str] = []
        result = yield from self._synthesize(standalone, passages, streamed)
        widened = ""
        if result.refused and (wider := self.widen(standalone, window, **kwargs)) is not None:
            # a second stream is shown only when the first showed nothing (the gate refused before generating)
            retry = yield from self._synthesize(standalone, wider[0], streamed, show=not streamed)
            if not retry.refused:
                widened = self.widened_notice(window)
                result, (passages, window) = retry, wider
        if not streamed:
            if result.short_answer:
                yield result.short_answer + "\n\n"
            yield result.text
        yield replace(result, question=question, standalone_question=standalone, date_window=window,
                      notice=join_notices(widened or self.later_notice(window, result.citations), result.notice),
                      seconds=time.perf_counter() - started, passages=list(passages))

    def _synthesize(self, question: str, passages: Sequence[Passage], streamed: list[str], *, show: bool = True
                    ) -> Generator[str, None, Answer]:
        """Yields the synthesizer's pieces when `show` (recording them in `streamed`) and returns its Answer."""
        for item in synthesis_stream(self.synthesizer, question, passages):
            if isinstance(item, Answer):
                return item
            if show:
                streamed.append(item)
                yield item
        raise RuntimeError(f"the {self.synthesizer.name} answer stream ended without an answer")
