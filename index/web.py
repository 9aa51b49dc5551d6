"""Web pages -> Articles: main text, title, author, url and the *original* publication date.

trafilatura extracts the text and metadata and asks htmldate for the date with `original_date=True` (the
publication date, preferred over "last updated"). A page whose date cannot be found is rejected with that reason,
or takes the date the user gave (`--date`): never today's date.

htmldate's opportunistic text search (`extensive_search`) is off: on the 200 hand-dated pages of
htmldate-mediacloud it dated 9 more pages right but 6 more wrong (copyright years read as "YYYY-01-01", dates of
other stories) — a wrong date is worse than a refusal (docs/web.md).
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from index.articles import Article, Rejection, make_article
from index.dates import DateError, parse_article_date
from index.fetch import FetchError, FetchPolicy, fetch

HTML_SUFFIXES = (".html", ".htm")
HTML_TYPES = ("text/html", "application/xhtml+xml")
EXTENSIVE_DATE_SEARCH = False  # see the module docstring
EARLIEST_DATE = "1995-01-01"   # htmldate's own floor: the web had no dated news pages before
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article)[\s>/]", re.I)
UNDATED = ("no publication date found in the page (give one with --date YYYY-MM-DD to ingest it with that "
           "date)")

log = logging.getLogger(__name__)


def looks_like_html(data: bytes) -> bool:
    """An HTML tag near the start and no NUL bytes: a PDF, an image or a feed saved as .html is not a page."""
    head = data[:4096]
    return b"\x00" not in head and bool(_HTML_START.search(head))


def is_url(text: str) -> bool:
    """'https://...', 'ftp://...', 'file:///...': anything with a scheme, so a refused scheme gets its reason."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text))


def page_article(data: bytes, *, key: str, source: str, url: str = "", fallback_date: dt.date | None = None,
                 max_date: dt.date | None = None) -> Article:
    """One article from an HTML page; raises ValueError with the reason when the page has no text or no date.

    `max_date` bounds the date search (a page cannot be published after it was saved: a WARC record's date);
    `fallback_date` is the user's date for a page that has none of its own."""
    if not looks_like_html(data):
        raise ValueError("not an HTML page")
    import trafilatura

    latest = max_date or dt.date.today()
    try:
        doc = trafilatura.bare_extraction(
            data, url=url or None, with_metadata=True, include_comments=False,
            date_extraction_params={"original_date": True, "extensive_search": EXTENSIVE_DATE_SEARCH,
                                    "min_date": EARLIEST_DATE, "max_date": latest.isoformat()})
    except Exception as exc:  # a parser bug on one odd page must not stop the batch
        log.warning("extraction failed on %s", source, exc_info=True)
        raise ValueError(f"cannot read the page ({type(exc).__name__})") from None
    if doc is None or not (doc.text or "").strip():
        raise ValueError("no article text found in the page")
    date = page_date(doc.date, fallback_date)
    return make_article(key=key, title=doc.title or "", date=date, text=doc.text, source=source,
                        url=url or doc.url or "", authors=doc.author or "", source_key=key)


def page_date(found: str | None, fallback: dt.date | None) -> dt.date:
    """The date htmldate found, else the user's, else a refusal."""
    if found:
        try:
            return parse_article_date(found)
        except DateError:
            log.warning("htmldate returned an unreadable date %r", found)
    if fallback is not None:
        return fallback
    raise ValueError(UNDATED)


def load_url(url: str, policy: FetchPolicy, fallback_date: dt.date | None = None
             ) -> tuple[list[Article], list[Rejection]]:
    """Fetch a page and make it an article; a fetch or extraction failure is a rejection with its reason."""
    try:
        fetched = fetch(url, policy)
        kind = fetched.content_type.split(";", 1)[0].strip().lower()
        if kind and kind not in HTML_TYPES:
            raise ValueError(f"not an HTML page (content type {kind})")
        return [page_article(fetched.body, key=url, source=url, url=fetched.url, fallback_date=fallback_date)], []
    except (FetchError, ValueError) as exc:
        return [], [Rejection(url, str(exc))]
