"""A question -> a short answer whose every claim is cited to a dated passage.

    from qa import answer
    result = answer("On what date did Baku set up the Lachin checkpoint?")
    result.text, result.citations, result.refused, result.date_window
"""
from __future__ import annotations

import os
import threading
from typing import Any

from index.settings import Settings
from qa.assistant import Assistant, QuestionError
from qa.dates import DateWindow
from qa.results import Answer, Citation, Passage, Pruned

__all__ = ["answer", "answer_stream", "retrieve", "get_assistant", "Assistant", "Answer", "Citation", "Passage",
           "Pruned", "DateWindow", "QuestionError", "Settings"]

_cache: dict[Settings, Assistant] = {}
_lock = threading.Lock()


def get_assistant(settings: Settings | None = None) -> Assistant:
    """The assistant for these settings (default: from NEWSQA_* variables), built once and reused."""
    settings = settings or Settings.from_env(os.environ)
    with _lock:
        if settings not in _cache:
            _cache[settings] = Assistant.from_settings(settings)
        return _cache[settings]


def answer(question: str, *, as_of: str | None = None, date_from: str | None = None, date_to: str | None = None,
           top_k: int | None = None, history: list[Any] | None = None, settings: Settings | None = None) -> Answer:
    """Answer from the stored articles, citing each claim; `result.refused` is True when they do not say."""
    return get_assistant(settings).answer(question, as_of=as_of, date_from=date_from, date_to=date_to,
                                          top_k=top_k, history=history)


def answer_stream(question: str, *, settings: Settings | None = None, **kwargs: Any):
    """Yields text as it is generated, then the final checked Answer."""
    return get_assistant(settings).answer_stream(question, **kwargs)


def retrieve(question: str, *, as_of: str | None = None, date_from: str | None = None, date_to: str | None = None,
             top_k: int | None = None, settings: Settings | None = None) -> list[Passage]:
    """The ranked passages answer() builds on (text, score, article id, url, title, date)."""
    passages, _ = get_assistant(settings).retrieve(question, as_of=as_of, date_from=date_from, date_to=date_to,
                                                   top_k=top_k)
    return passages
