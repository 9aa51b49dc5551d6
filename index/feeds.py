"""RSS/Atom feeds -> Articles (feedparser): each entry's own full text, or its page when the feed carries only a
summary, dated by the entry's published date; `follow` polls with conditional GETs and ingests only what is new.
`poll_feed` records each poll in the store's feed list (`index.feedlist`), validators included, so the next
follower, in this process or another, starts with a conditional GET.

Entries belong to their feed (ids scoped to it, like a dump's records) but a feed is never "read whole": entries
that scroll off a feed stay in the store. An entry already in the store is not fetched again; its feed text, if
the feed carries it, is compared by content hash like any article.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from index.articles import Article, Rejection, article_id, display_path, make_article, record_key
from index.dates import DateError, parse_article_date
from index.embedder import Embedder
from index.feedlist import FeedRecord, load_feeds, record_poll, registry_path, update_feeds, utc_now
from index.fetch import FetchError, FetchPolicy, fetch
from index.ingest import IngestReport, Progress, store_articles
from index.settings import Settings
from index.store import Store
from index.web import HTML_TYPES, is_url, page_article

FULL_TEXT_WORDS = 80  # feed content shorter than this is a teaser (a sentence or two): the page is fetched instead
DEFAULT_INTERVAL_S = 900.0
NOT_MODIFIED = "not modified since the last poll"
NO_ENTRIES = "the feed has no entries"
_BLOCK_END = re.compile(r"(?i)<\s*(?:br\s*/?|/p|/div|/h[1-6]|/li|/blockquote)\s*>")


@dataclass(frozen=True)
class FeedEntry:
    """What an RSS item or Atom entry says about one story."""

    number: int
    link: str
    guid: str
    title: str
    published: dt.date | None
    author: str
    content: str   # the entry's full-text content as HTML ('' when it has only a summary)
    summary: str


@dataclass
class FeedState:
    """What a follower remembers between polls: the validators of the last response."""

    etag: str = ""
    last_modified: str = ""
    title: str = ""  # the feed's own title, from the last time it was read
    duplicates: set[str] = dataclasses.field(default_factory=set)  # entry ids whose page another source holds


def parse_feed(data: bytes) -> list[FeedEntry]:
    """The entries of an RSS or Atom document; ValueError when it is not one."""
    return read_feed(data)[1]


def read_feed(data: bytes) -> tuple[str, list[FeedEntry]]:
    """The feed's title and entries; ValueError when the document is not an RSS or Atom feed."""
    import feedparser

    parsed = feedparser.parse(data)  # bytes, never a str: feedparser would fetch a str that looks like a URL
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise ValueError("not an RSS or Atom feed" + (f" ({str(problem).splitlines()[0]})" if problem else ""))
    title = " ".join(str(parsed.get("feed", {}).get("title", "")).split())
    return title, [entry_of(number, e) for number, e in enumerate(parsed.entries, start=1)]


def entry_of(number: int, e: Any) -> FeedEntry:
    contents = [c.get("value", "") for c in e.get("content", []) if c.get("value")]
    return FeedEntry(number=number, link=e.get("link", ""), guid=e.get("id", ""), title=e.get("title", ""),
                     published=entry_date(e.get("published", ""), e.get("published_parsed")),
                     author=e.get("author", ""), content=max(contents, key=len, default=""),
                     summary=e.get("summary", ""))


def entry_date(raw: str, parsed: Any = None) -> dt.date | None:
    """The published date as the feed writes it (its own zone's day), else feedparser's UTC reading."""
    try:
        return parse_article_date(raw)
    except DateError:
        pass
    return dt.date(*parsed[:3]) if parsed else None


def html_text(fragment: str) -> str:
    """Plain text of an HTML fragment, a line per paragraph."""
    import lxml.html

    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(_BLOCK_END.sub(lambda m: m[0] + "\n", fragment), create_parent="div")
    except Exception:  # noqa: BLE001 — lxml rejects some fragments outright; treat them as text
        return fragment
    return "\n".join(line.strip() for line in root.text_content().splitlines() if line.strip())


def has_full_text(entry: FeedEntry) -> bool:
    return len(html_text(entry.content).split()) >= FULL_TEXT_WORDS


def entry_key(feed_key: str, entry: FeedEntry) -> str:
    return record_key(feed_key, entry.link or entry.guid, entry.number)


def entry_article(entry: FeedEntry, *, feed_key: str, source: str, get_page: Callable[[str], Any],
                  fallback_date: dt.date | None) -> Article:
    """The entry as an article: its own text when the feed carries it in full, else its page's. The entry's
    published date wins over the page's; ValueError with the reason when there is neither text nor date."""
    key = entry_key(feed_key, entry)
    if has_full_text(entry):
        date = entry.published or fallback_date
        if date is None:
            raise ValueError("the entry has no published date (give one with --date YYYY-MM-DD)")
        return make_article(key=key, title=entry.title, date=date, text=html_text(entry.content), source=source,
                            url=entry.link, authors=entry.author, source_key=feed_key)
    if not entry.link:
        raise ValueError("the entry has only a summary and no link to its page")
    page = get_page(entry.link)
    kind = page.content_type.split(";", 1)[0].strip().lower()
    if kind and kind not in HTML_TYPES:
        raise ValueError(f"the entry's page is not HTML (content type {kind})")
    article = page_article(page.body, key=key, source=source, url=entry.link,
                           fallback_date=entry.published or fallback_date)
    return dataclasses.replace(article, date=entry.published or article.date, source_key=feed_key,
                               title=entry.title or article.title)


def read_source(feed: str, policy: FetchPolicy, state: FeedState) -> bytes | None:
    """The feed's bytes (a URL with a conditional GET, or a file); None when the server says nothing changed."""
    if is_url(feed):
        got = fetch(feed, policy, etag=state.etag, last_modified=state.last_modified)
        if got.not_modified:
            return None
        state.etag, state.last_modified = got.etag, got.last_modified
        return got.body
    path = Path(feed)
    size = path.stat().st_size
    if size > policy.max_bytes:
        raise ValueError(f"file is {size / 1e6:.1f} MB, over the {policy.max_bytes / 1e6:g} MB limit "
                         "(NEWSQA_MAX_FILE_MB)")
    return path.read_bytes()  # feedparser reads the encoding the XML declares


def ingest_feed(feed: str, settings: Settings, store: Store, embedder: Embedder, progress: Progress | None = None,
                fallback_date: dt.date | None = None, state: FeedState | None = None) -> IngestReport:
    """Ingest every entry of a feed (URL or file) not already stored; failures are rejections by entry."""
    started = time.perf_counter()
    state = state if state is not None else FeedState()
    policy = FetchPolicy.from_settings(settings)
    source, feed_key = feed_source(feed), feed_key_of(feed)
    try:
        data = read_source(feed, policy, state)
        if data is not None:
            state.title, entries = read_feed(data)
    except (FetchError, ValueError, OSError) as exc:
        state.etag = state.last_modified = ""  # a body that was not a feed must not come back as "not modified"
        return IngestReport(rejected=[Rejection(source, getattr(exc, "strerror", None) or str(exc))])
    if data is None:
        return IngestReport(notices=[f"{source}: {NOT_MODIFIED}"])
    stored = store.manifest([article_id(entry_key(feed_key, e)) for e in entries])
    articles, rejected, unchanged = [], [], []
    for entry in entries:
        aid = article_id(entry_key(feed_key, entry))
        if not has_full_text(entry) and (aid in stored or aid in state.duplicates):  # its page was read before
            if aid in stored:
                unchanged.append(stub_article(stored[aid], aid))
            continue
        try:
            articles.append(entry_article(entry, feed_key=feed_key, source=source, fallback_date=fallback_date,
                                          get_page=lambda url: fetch(url, policy)))
        except (FetchError, ValueError) as exc:
            rejected.append(Rejection(f"{source} entry {entry.number} ({entry.link or entry.guid})", str(exc)))
    if not entries:
        rejected.append(Rejection(source, NO_ENTRIES))
    report = store_articles(articles, rejected, [], settings, store, embedder, progress)
    state.duplicates.update(article.id for article, _ in report.duplicates)
    if report.rejected:  # no validators: the next poll reads the feed whole and tries the rejected entries again
        state.etag = state.last_modified = ""
    report.unchanged.extend(unchanged)
    report.seconds = time.perf_counter() - started
    return report


def stub_article(entry: dict[str, Any], aid: str) -> Article:
    """A stored article as the report shows it, from its manifest entry (its text is not needed to say so)."""
    return Article(id=aid, title=entry.get("title", ""), date=dt.date.fromisoformat(entry["date"]), text="",
                   source=entry.get("source", ""), url=entry.get("url", ""), source_key=entry.get("source_key", ""))


def feed_source(feed: str) -> str:
    """How a feed is named in reports: its URL, or its file's shown path."""
    return feed if is_url(feed) else display_path(Path(feed))


def feed_key_of(feed: str) -> str:
    """What a feed's entries and its place in the feed list are keyed by: its URL, or its file's resolved path."""
    return feed if is_url(feed) else str(Path(feed).resolve())


def poll_status(report: IngestReport, source: str) -> tuple[bool, str]:
    """(was the feed read, what the poll did in a few words) for the feed list: '2 new, 1 changed, 30 unchanged',
    'not modified', or the reason the feed itself could not be read."""
    if report.notices and report.notices[0].endswith(NOT_MODIFIED):
        return True, "not modified"
    own = [r.reason for r in report.rejected if r.source == source]  # the feed's, not an entry's
    if own:
        return own[0] == NO_ENTRIES, own[0]  # an empty feed was read; any other reason: it was not
    counts = [(len(report.added), "new"), (len(report.replaced), "changed"), (len(report.unchanged), "unchanged"),
              (len(report.duplicates), "duplicate"), (len(report.rejected), "rejected")]
    return True, ", ".join(f"{n} {label}" for n, label in counts if n) or NO_ENTRIES


def poll_feed(feed: str, settings: Settings, store: Store, embedder: Embedder, state: FeedState | None = None,
              progress: Progress | None = None, fallback_date: dt.date | None = None) -> IngestReport:
    """Ingest a feed and record the poll in the store's feed list: a feed that was read joins the list; its
    validators are kept, so the next poll, in this process or another, is a conditional GET. Without a state,
    the one the list remembers."""
    path, key = registry_path(settings), feed_key_of(feed)
    if state is None:
        state = state_of(load_feeds(path).get(key))
    report = ingest_feed(feed, settings, store, embedder, progress, fallback_date, state)
    read, status = poll_status(report, feed_source(feed))
    update_feeds(path, lambda feeds: record_poll(feeds, key, now=utc_now(), read=read, status=status, title=state.title,
                                                 etag=state.etag, last_modified=state.last_modified))
    return report


def state_of(record: FeedRecord | None) -> FeedState:
    """A follower's memory, picked up from the feed list (a new follower of a listed feed GETs conditionally)."""
    if record is None:
        return FeedState()
    return FeedState(etag=record.etag, last_modified=record.last_modified, title=record.title)


def follow(feed: str, settings: Settings, store: Store, embedder: Embedder, interval_s: float = DEFAULT_INTERVAL_S,
           polls: int | None = None, fallback_date: dt.date | None = None,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[IngestReport]:
    """Poll a feed every interval_s seconds (forever, or `polls` times), recording each poll in the feed list,
    yielding each poll's report."""
    state = state_of(load_feeds(registry_path(settings)).get(feed_key_of(feed)))
    done = 0
    while polls is None or done < polls:
        if done:
            sleep(interval_s)
        yield poll_feed(feed, settings, store, embedder, state, fallback_date=fallback_date)
        done += 1
