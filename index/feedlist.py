"""The store's feed list: the feeds it follows, when each was last read and with what outcome, and the validators
(ETag, Last-Modified) of the last response, so a restarted follower sends a conditional GET.

A small JSON file beside the store, one per collection (and per server, like the keyword index). The changes are
pure functions over {feed: FeedRecord}; `load_feeds`, `save_feeds` and `update_feeds` are the only I/O. Writes go
to a temporary file renamed over the old one, so a reader never sees half a list; `update_feeds` holds a lock
file while it reads, changes and writes, so the page and a `--follow` in another process do not lose each
other's polls.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from index.settings import Settings

FORMAT_VERSION = 1
Feeds = dict[str, "FeedRecord"]  # feed URL (or a feed file's resolved path) -> its record


class FeedListError(RuntimeError):
    """The feed list cannot be read or written; the message says which file and what to do."""


@dataclass(frozen=True)
class FeedRecord:
    """One followed feed. Times are ISO 8601 in UTC; last_read is the last poll that read the feed (a 304
    included), last_status the outcome of the last poll, failed or not."""

    url: str
    title: str = ""
    added: str = ""
    last_read: str = ""
    last_status: str = ""
    etag: str = ""
    last_modified: str = ""


def registry_path(settings: Settings) -> Path:
    """feeds-<collection>.json beside the keyword index, named as it is (per collection, per Chroma server)."""
    from index.store import lexical_path

    keywords = lexical_path(settings)
    return keywords.with_name(keywords.stem.replace("keywords-", "feeds-", 1) + ".json")


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --- pure changes -----------------------------------------------------------------------------------------

def record_poll(feeds: Mapping[str, FeedRecord], url: str, *, now: str, read: bool, status: str, title: str = "",
                etag: str = "", last_modified: str = "") -> Feeds:
    """The list after a poll of `url`. A feed that was read is registered (added now) if it was not; a poll that
    failed is recorded only for a feed already listed, so a mistyped URL never joins the list."""
    old = feeds.get(url)
    if old is None and not read:
        return dict(feeds)
    record = old or FeedRecord(url=url, added=now)
    if read:
        record = replace(record, last_read=now, etag=etag, last_modified=last_modified, title=title or record.title)
    return {**feeds, url: replace(record, last_status=status)}


def unregister(feeds: Mapping[str, FeedRecord], urls: Sequence[str]) -> Feeds:
    return {url: record for url, record in feeds.items() if url not in urls}


def when(iso: str) -> str:
    """'2026-12-01T23:10:05+00:00' -> '2026-12-01 23:10 UTC'; '' -> 'never'."""
    if not iso:
        return "never"
    try:
        return dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def listing(feeds: Mapping[str, FeedRecord], articles: Mapping[str, int]) -> list[str]:
    """`python -m index --feeds`: two lines per feed, oldest added first."""
    out = []
    for record in sorted(feeds.values(), key=lambda r: r.added):
        out.append(record.url + (f"  ({record.title})" if record.title else ""))
        out.append(f"    {articles.get(record.url, 0)} articles · last read {when(record.last_read)}"
                   + (f" · last poll: {record.last_status}" if record.last_status else "")
                   + f" · added {when(record.added)}")
    return out


# --- the file -------------------------------------------------------------------------------------------

def decode(text: str, where: Path) -> Feeds:
    try:
        data = json.loads(text)
        known = {f.name for f in fields(FeedRecord)}
        records = [FeedRecord(**{k: str(v) for k, v in item.items() if k in known}) for item in data["feeds"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FeedListError(f"the feed list {where} is not readable ({exc}); fix it or delete it "
                            "(the feeds' articles stay in the store)") from None
    return {r.url: r for r in records}


def encode(feeds: Mapping[str, FeedRecord]) -> str:
    return json.dumps({"version": FORMAT_VERSION, "feeds": [asdict(r) for r in feeds.values()]}, indent=1,
                      ensure_ascii=False) + "\n"


def load_feeds(path: Path) -> Feeds:
    """The list at path; empty when there is none yet."""
    try:
        return decode(path.read_text(encoding="utf-8"), path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise FeedListError(f"cannot read the feed list {path} ({exc.strerror})") from None


def save_feeds(path: Path, feeds: Mapping[str, FeedRecord]) -> None:
    """Write the list whole to a temporary file in the same folder, then rename it over the old one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(encode(feeds))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise FeedListError(f"cannot write the feed list {path} ({exc.strerror})") from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_feeds(path: Path, change: Callable[[Feeds], Feeds]) -> Feeds:
    """Read, change and write the list under its lock file; returns the new list. A change that leaves no list
    where there was none writes nothing (removing an article from a store that follows no feed)."""
    if not path.exists() and not change({}):
        return {}
    try:
        with _locked(path):
            old = load_feeds(path)
            feeds = change(old)
            if feeds != old:
                save_feeds(path, feeds)
            return feeds
    except OSError as exc:
        raise FeedListError(f"cannot lock the feed list {path} ({exc.strerror})") from None
