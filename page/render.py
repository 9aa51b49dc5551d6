"""Answers, sources, store stats and ingest reports -> Markdown/HTML for the page (pure functions).

Every piece of article text is HTML-escaped before it is shown: articles come from uploads, so they are untrusted.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Iterable, Literal, Mapping, Sequence

from index.feedlist import FeedRecord, when
from index.settings import Settings
from qa.results import Answer, Citation

Order = Literal["relevance", "date"]
ORDERS: tuple[Order, ...] = ("relevance", "date")
MARKER = re.compile(r"\[(\d+)\]")
EMPTY_SOURCES = '<div class="sources-empty">Sources of the latest answer appear here, with their dates.</div>'
# how each backend is named on the page; unknown names are shown as they are
BACKEND_LABELS = {
    "extractive": lambda s: "extractive: quotes sentences from the articles, no LLM",
    "llamacpp": lambda s: f"llamacpp: {Path(s.llamacpp_model).name if s.llamacpp_model else 'Qwen2.5 1.5B (local GGUF)'}",
    "openai": lambda s: f"openai: {s.openai_model}",
    "ollama": lambda s: f"ollama: {s.ollama_model}",
}


def describe_backend(settings: Settings, name: str) -> str:
    """'extractive: quotes sentences ...' or 'openai: gpt-4o-mini', for the backend selector's caption."""
    label = BACKEND_LABELS.get(name)
    return label(settings) if label else name


MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Article text shown as Markdown: its *, [, <, ... are shown, never interpreted."""
    return MD_SPECIAL.sub(r"\\\1", text)


def link_markers(text: str) -> str:
    """`[2]` -> a bold link to source 2 in the sources panel, so markers are visible and clickable; the rest of
    the text is escaped."""
    parts = MARKER.split(text)  # text, number, text, number, ...
    return "".join(md_escape(p) if i % 2 == 0 else f"[**[{p}]**](#source-{p})" for i, p in enumerate(parts))


def answer_markdown(answer: Answer) -> str:
    """The chat bubble of an answer: a refusal is labelled as one; then notices and how dates were read."""
    if answer.refused:
        body = f"**Not found in the articles.** {md_escape(answer.text)}"
    else:
        body = link_markers(answer.text)
    lines = ([f"**{md_escape(answer.short_answer)}**"] if answer.short_answer and not answer.refused else []) + [body]
    if answer.notice:
        lines.append(f"**Note:** {md_escape(answer.notice)}")
    footer = [f"answered by {answer.backend}", f"{answer.seconds:.2f} s"]
    if answer.date_window is not None:
        footer.insert(0, f"dates searched: {answer.date_window.describe()}")
    lines.append("*" + " · ".join(footer) + "*")
    return "\n\n".join(lines)


def sources_markdown(citations: Sequence[Citation]) -> str:
    """The compact list under an answer in the chat: number, title, date, file."""
    return "\n".join(f"**\\[{c.number}\\]** {md_escape(c.title)} — **{c.date}** — {md_escape(Path(c.source).name)}"
                     for c in citations)


def _find(needle: str, text: str, start: int = 0) -> re.Match | None:
    """`needle` in `text`, matching across any run of whitespace."""
    words = needle.split()
    return re.compile(r"\s+".join(map(re.escape, words))).search(text, start) if words else None


def highlight(text: str, quotes: Iterable[str], short_answer: str = "") -> str:
    """The passage as HTML with each quoted sentence in <mark>, and the short answer, inside the first quote
    that holds it, in <strong class="short-answer">."""
    spans = [found.span() for quote in quotes if (found := _find(quote, text))]
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            continue
        inner = html.escape(text[start:end])
        if short_answer and (found := _find(short_answer, text[start:end])):
            a, b = found.span()
            inner = (html.escape(text[start:start + a]) + '<strong class="short-answer">'
                     + html.escape(text[start + a:start + b]) + "</strong>" + html.escape(text[start + b:end]))
            short_answer = ""
        out += [html.escape(text[at:start]), "<mark>", inner, "</mark>"]
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def safe_url(url: str) -> str:
    """Only http(s) links are clickable; anything else (javascript:, file:) is dropped."""
    return url if re.match(r"https?://", url or "", re.I) else ""


def source_card(c: Citation) -> str:
    url = safe_url(c.url)
    link = f' · <a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">open article</a>' if url else ""
    return (f'<div class="source" id="source-{c.number}">'
            f'<div class="source-head"><span class="source-n">[{c.number}]</span> '
            f'<span class="source-title">{html.escape(c.title)}</span></div>'
            f'<div class="source-meta"><span class="source-date">{html.escape(c.date)}</span> · '
            f'<code class="source-file">{html.escape(c.source)}</code>{link}'
            f' · relevance {c.score:.2f}</div>'
            f'<div class="source-text">{highlight(c.text, c.quotes, c.short_answer)}</div></div>')


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def timeline(citations: Sequence[Citation]) -> str:
    """A small axis from the earliest to the latest source date, one numbered dot per source."""
    dated = [(c, d) for c in citations if (d := _day(c.date))]
    if not dated:
        return ""
    first, last = min(d for _, d in dated), max(d for _, d in dated)
    span = (last - first).days or 1
    stacked: Counter[date] = Counter()
    dots = []
    for c, d in sorted(dated, key=lambda cd: (cd[1], cd[0].number)):
        left = 4 + 92 * (d - first).days / span if last != first else 50
        dots.append(f'<span class="tl-dot" style="left:{left:.1f}%;top:{4 + 22 * stacked[d]}px" '
                    f'title="{html.escape(c.date)}: {html.escape(c.title)}">{c.number}</span>')
        stacked[d] += 1
    height = 30 + 22 * max(stacked.values())
    return (f'<div class="timeline" style="height:{height}px">{"".join(dots)}'
            f'<div class="tl-axis" style="top:{height - 22}px"></div>'
            f'<span class="tl-label tl-first">{first}</span>'
            + (f'<span class="tl-label tl-last">{last}</span>' if last != first else "") + "</div>")


def sort_citations(citations: Sequence[Citation], order: Order) -> list[Citation]:
    """By relevance: the answer's numbering (its ranking); by date: oldest first, ties by number."""
    if order == "date":
        return sorted(citations, key=lambda c: (c.date, c.number))
    return sorted(citations, key=lambda c: c.number)


def sources_html(citations: Sequence[Citation], order: Order = "relevance") -> str:
    """The sources panel: source cards in the chosen order, with the timeline when sorted by date."""
    if not citations:
        return EMPTY_SOURCES
    cards = "".join(source_card(c) for c in sort_citations(citations, order))
    return (timeline(citations) if order == "date" else "") + f'<div class="sources">{cards}</div>'


def stats_markdown(articles: int, chunks: int, first_date: str | None, last_date: str | None) -> str:
    if not articles:
        return "**The store is empty.** Add articles below to start."
    span = f", dated **{first_date}** to **{last_date}**" if first_date else ""
    return f"**{articles}** articles, **{chunks}** passages{span}"


def feeds_markdown(feeds: Sequence[FeedRecord], articles: Mapping[str, int]) -> str:
    """The feed list as a table: feed (title and URL), when it was last read, what its last poll did, articles.
    Titles and statuses come from the feeds' servers: escaped."""
    if not feeds:
        return "*No feeds yet: paste a feed's address above and it is listed here.*"
    rows = [f"| {'**' + md_escape(f.title) + '** · ' if f.title else ''}{md_escape(f.url)} | {when(f.last_read)} "
            f"| {md_escape(_plain(f.last_status))} | {articles.get(f.url, 0)} |"
            for f in sorted(feeds, key=lambda f: f.added)]
    return "\n".join(["| Feed | Last read | Last poll | Articles |", "|---|---|---|---|", *rows])


def report_markdown(rows: Sequence[tuple[str, str, str]], summary: str) -> str:
    """The per-file ingest report, one line per (file, outcome, detail), then the summary."""
    lines = [f"- **{outcome}** `{_plain(name)}` — {md_escape(_plain(detail))}" for name, outcome, detail in rows]
    return "\n".join(lines + (["", summary] if lines else [summary]))


def _plain(text: str) -> str:
    """File names and reasons on one line, without backticks that would end the code span."""
    return " ".join(text.split()).replace("`", "'")
