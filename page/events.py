"""What the page's events do: ask (streaming), re-sort sources, add articles, show stats. No widgets here.

Handlers return plain values in the order `app.py` wires their outputs; they never raise for a user's mistake or
a backend's failure: the message goes on the page and the page keeps working.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from index.errors import StoreError
from index.settings import Settings
from qa.assistant import Assistant, QuestionError, clean_question
from qa.conversation import turns
from qa.dates import parse_iso
from qa.results import Answer, Citation
from page import render
from page.uploads import discard_unused, save_uploads, upload_dir

log = logging.getLogger(__name__)
Message = dict[str, Any]
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.I)
MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words


def redact(text: str, environ: dict[str, str] | None = None, extra: Sequence[str] = ()) -> str:
    """The text with every secret-looking environment value (API keys, tokens, passwords) replaced by '***'."""
    environ = os.environ if environ is None else environ
    secrets = [v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_CHARS]
    for secret in sorted([*secrets, *(s for s in extra if len(s) >= MIN_SECRET_CHARS)], key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def plain_history(messages: Sequence[Any] | None) -> list[Message]:
    """Gradio 6 chat messages (content as a list of parts) -> [{'role', 'content': str}] for qa, dropping the
    collapsible 'Sources' boxes (they carry metadata)."""
    return [{"role": role, "content": text} for role, text in turns([m for m in messages or [] if isinstance(m, dict)])]


def citation_record(c: Citation) -> dict[str, Any]:
    return asdict(c) | {"quotes": list(c.quotes)}


def answer_record(a: Answer) -> dict[str, Any]:
    """An Answer as JSON for the API endpoint: what gradio_client callers get back."""
    return {"question": a.question, "short_answer": a.short_answer, "text": a.text, "refused": a.refused,
            "backend": a.backend,
            "notice": a.notice, "date_window": a.date_window.describe() if a.date_window else "",
            "standalone_question": a.standalone_question, "seconds": round(a.seconds, 3),
            "citations": [citation_record(c) for c in a.citations]}


class AssistantPool:
    """One Assistant per backend name, sharing the store and embedder, built on first use."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None,
                 build: Callable[[Settings], Assistant] | None = None) -> None:
        self.settings = settings
        self._default = assistant
        self._build = build
        self._by_backend: dict[str, Assistant] = {}
        self._lock = threading.Lock()

    def default(self) -> Assistant:
        with self._lock:
            if self._default is None:
                if self._build is None:
                    from qa import get_assistant
                    self._build = get_assistant
                self._default = self._build(self.settings)
            return self._default

    def get(self, backend: str | None) -> Assistant:
        base = self.default()
        if not backend or backend == base.settings.backend:
            return base
        with self._lock:
            if backend not in self._by_backend:
                self._by_backend[backend] = base.with_backend(backend)
            return self._by_backend[backend]


class Page:
    """The page's event handlers over an assistant pool; `app.py` wires them to widgets."""

    def __init__(self, settings: Settings, pool: AssistantPool) -> None:
        self.settings = settings
        self.pool = pool
        self._ingest_lock = threading.Lock()

    # --- asking -------------------------------------------------------------------------------------------
    def check_inputs(self, question: Any, as_of: str | None, date_from: str | None, date_to: str | None
                     ) -> tuple[str, dict[str, str | None]]:
        """The cleaned question and date filters; QuestionError/ValueError with a message for the user otherwise."""
        question = clean_question(question if question is not None else "", self.settings.max_question_chars)
        dates = {"as_of": as_of, "date_from": date_from, "date_to": date_to}
        dates = {k: (v or "").strip() or None for k, v in dates.items()}
        for key, label in (("as_of", "as of"), ("date_from", "from"), ("date_to", "to")):
            parse_iso(dates[key], label)  # ValueError: "from='May 3' is not an ISO date (YYYY-MM-DD)"
        return question, dates

    def ask(self, question: str, messages: list[Message] | None, as_of: str = "", date_from: str = "",
            date_to: str = "", top_k: float | None = None, backend: str = "", order: str = "relevance"
            ) -> Iterator[tuple[list[Message], str, str, list[Citation], str]]:
        """Stream an answer into the chat: yields (messages, question box, sources html, citations, status)."""
        messages = list(messages or [])
        try:
            cleaned, dates = self.check_inputs(question, as_of, date_from, date_to)
        except (QuestionError, ValueError) as exc:
            yield messages, question or "", render.EMPTY_SOURCES, [], f"**{_sentence(str(exc))}**"
            return
        history = plain_history(messages)
        messages = messages + [{"role": "user", "content": cleaned}, {"role": "assistant", "content": "…"}]
        yield list(messages), "", render.EMPTY_SOURCES, [], "Searching the articles…"
        kwargs = dict(dates, top_k=int(top_k) if top_k else None, history=history)
        text = ""
        try:
            for piece in self.pool.get(backend).answer_stream(cleaned, **kwargs):
                if isinstance(piece, Answer):
                    yield self._finish(messages, piece, order)
                    return
                text += piece
                messages[-1] = {"role": "assistant", "content": render.link_markers(text)}
                yield list(messages), "", render.EMPTY_SOURCES, [], "Writing the answer…"
        except QuestionError as exc:
            messages[-1] = {"role": "assistant", "content": f"**{_sentence(str(exc))}**"}
            yield messages, "", render.EMPTY_SOURCES, [], ""
        except StoreError as exc:  # e.g. a Chroma server that stopped answering: another backend would not help
            log.warning("answering failed in the store: %s", exc)
            messages[-1] = {"role": "assistant", "content": f"**The store failed:** {render.md_escape(str(exc))}\n\n"
                            "Nothing was answered. Ask again in a moment."}
            yield messages, "", render.EMPTY_SOURCES, [], "The last question failed; the page still works."
        except Exception as exc:  # a backend failure: say so, keep the page usable
            reason = redact(str(exc) or type(exc).__name__, extra=self._secrets())
            log.warning("answering failed with backend %r: %s", backend, reason)
            messages[-1] = {"role": "assistant", "content":
                            f"**The {backend or self.settings.backend} backend failed:** {render.md_escape(reason)}\n\n"
                            "Nothing was answered. Ask again, or choose another backend under Filters."}
            yield messages, "", render.EMPTY_SOURCES, [], "The last question failed; the page still works."

    def _finish(self, messages: list[Message], answer: Answer, order: str):
        messages = list(messages)
        messages[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
        if answer.citations and not answer.refused:
            messages.append({"role": "assistant", "content": render.sources_markdown(answer.citations),
                             "metadata": {"title": f"Sources ({len(answer.citations)})", "status": "done"}})
        citations = [] if answer.refused else list(answer.citations)
        status = "No answer in the articles." if answer.refused else f"Answered by {answer.backend}."
        return messages, "", render.sources_html(citations, _order(order)), citations, status

    def answer_api(self, question: str, as_of: str = "", date_from: str = "", date_to: str = "",
                   top_k: int = 0, backend: str = "") -> dict[str, Any]:
        """The `answer` API endpoint: one question -> the answer with its citations, as JSON."""
        import gradio as gr

        try:
            cleaned, dates = self.check_inputs(question, as_of, date_from, date_to)
            result = self.pool.get(backend).answer(cleaned, top_k=int(top_k) if top_k else None, **dates)
        except (QuestionError, ValueError) as exc:
            raise gr.Error(_sentence(str(exc))) from None
        except StoreError as exc:
            raise gr.Error(f"the store failed: {exc}") from None
        except Exception as exc:
            raise gr.Error(f"the answer backend failed: {redact(str(exc), extra=self._secrets())}") from None
        return answer_record(result)

    def _secrets(self) -> list[str]:
        """The page's own password (NEWSQA_AUTH), whole and alone, besides the environment's keys."""
        return [self.settings.auth, self.settings.auth.partition(":")[2]]

    def resort(self, citations: list[Citation] | None, order: str) -> str:
        return render.sources_html(citations or [], _order(order))

    def backend_caption(self, backend: str) -> str:
        return f"Answering with **{render.describe_backend(self.settings, backend)}**"

    # --- the store ----------------------------------------------------------------------------------------
    def stats(self) -> str:
        s = self.pool.default().store.stats()
        return render.stats_markdown(s.articles, s.chunks, s.first_date, s.last_date)

    def add_articles(self, files: Sequence[Any] | None, progress: Callable[..., Any] | None = None,
                     urls: str = "") -> tuple[str, str]:
        """Save the uploads under the store, ingest them and the pasted URLs (fetched within the same limits as
        the CLI's), and return (per-file report, store stats)."""
        from index.ingest import ingest

        uploads = [_upload_pair(f) for f in files or []]
        links = (urls or "").split()
        if not uploads and not links:
            return "**Choose one or more .txt, .md, .json, .jsonl or .html files, or paste URLs, first.**", self.stats()
        assistant = self.pool.default()

        def report_progress(done: int, total: int) -> None:
            if progress is not None and total:
                progress(done / total, desc=f"embedding passages {done}/{total}")

        with self._ingest_lock:  # one ingest at a time; questions keep being answered meanwhile
            saved, names, rejected = save_uploads(uploads, upload_dir(self.settings.store_dir),
                                                  int(self.settings.max_upload_mb * 1e6))
            report = ingest([*saved, *links], self.settings, assistant.store, assistant.embedder,
                            progress=report_progress, names=names)
            discard_unused(saved, {a.source_key for a in [*report.added, *report.replaced, *report.unchanged]})
        report.rejected[:0] = rejected
        return render.report_markdown(report_rows(report), report.summary()), self.stats()

    def add_feed(self, url: str, progress: Callable[..., Any] | None = None) -> tuple[str, str, str]:
        """Read a pasted RSS/Atom feed URL now (http(s) only, fetched within the same limits as a page: never a
        file or an internal address of the server), list it when it was read, and return (per-entry report,
        store stats, feed list)."""
        from index.feedlist import FeedListError
        from index.feeds import poll_feed
        from index.fetch import FetchError, check_url

        url = (url or "").strip()
        try:
            if not url:
                raise FetchError("paste the address of an RSS or Atom feed first")
            if len(url.split()) > 1:
                raise FetchError("one feed address at a time")
            check_url(url)
        except FetchError as exc:
            return f"**{render.md_escape(_sentence(str(exc)))}**", self.stats(), self.feeds()
        assistant = self.pool.default()
        with self._ingest_lock:
            try:
                report = poll_feed(url, self.settings, assistant.store, assistant.embedder,
                                   progress=embedding_progress(progress))
            except FeedListError as exc:
                return f"**{render.md_escape(str(exc))}**", self.stats(), self.feeds()
        summary = "\n\n".join([*(render.md_escape(n) for n in report.notices), report.summary()])
        return render.report_markdown(report_rows(report), summary), self.stats(), self.feeds()

    def feeds(self) -> str:
        """The store's feed list as a table (or why it cannot be read)."""
        from index.feedlist import FeedListError, load_feeds, registry_path

        try:
            listed = load_feeds(registry_path(self.settings))
        except FeedListError as exc:
            return f"**{render.md_escape(str(exc))}**"
        counts = self.pool.default().store.count_by_source(list(listed)) if listed else {}
        return render.feeds_markdown(list(listed.values()), counts)


def embedding_progress(progress: Callable[..., Any] | None) -> Callable[[int, int], None]:
    """An ingest progress callback that moves the page's progress bar."""
    def update(done: int, total: int) -> None:
        if progress is not None and total:
            progress(done / total, desc=f"embedding passages {done}/{total}")
    return update


def report_rows(report: Any) -> list[tuple[str, str, str]]:
    """(file, outcome, detail) per article or rejection, under the names the files were uploaded with."""
    from index.ingest import cuts

    rows = [(a.source, outcome, f"{a.date} · {a.title[:80]}{cuts(a)}")
            for outcome, articles in (("added", report.added), ("replaced", report.replaced),
                                      ("unchanged", report.unchanged)) for a in articles]
    rows += [(a.source, "duplicate", f"same text as {where}") for a, where in report.duplicates]
    rows += [(s, "removed", "no longer in its file") for s in report.removed]
    rows += [(r.source, "rejected", r.reason) for r in report.rejected]
    return rows


def _upload_pair(item: Any) -> tuple[str, str]:
    """(temporary path, the name the browser sent) from what gr.File gives: a path or a FileData-like object."""
    path = getattr(item, "path", None) or getattr(item, "name", None) or str(item)
    sent = getattr(item, "orig_name", None) or Path(str(path)).name
    return str(path), str(sent)


def _order(order: str) -> render.Order:
    return order if order in render.ORDERS else "relevance"  # type: ignore[return-value]


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")) if text else text
