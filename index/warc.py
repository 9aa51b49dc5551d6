"""WARC / WARC.gz archives -> Articles, streamed record by record (warcio): every HTML response is a page.

A record's url is its WARC-Target-URI; its date is the page's own publication date, searched no later than the
record's WARC-Date (a page cannot be published after it was captured). The capture date itself is never used as
the publication date: an undated page is rejected, or takes the user's --date. Only one record's body is in
memory at a time, and a record over the size limit is skipped with a reason; an archive cut in the middle keeps
the records before the cut.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, Iterator

from index.articles import Article, Rejection, SourceFile, record_key
from index.web import HTML_TYPES, page_article

log = logging.getLogger(__name__)
ZONE_SLACK = dt.timedelta(days=1)  # WARC-Date is UTC; the page's own day, in its zone, may be a day ahead


class ArchiveCut(Exception):
    """The archive ends inside a record."""


def load_warc(file: SourceFile, max_bytes: int | None, fallback_date: dt.date | None,
              progress: Callable[[int, int], None] | None = None) -> tuple[list[Article], list[Rejection]]:
    """An article for every HTML response record; a rejection for each record that is not one, and for a cut."""
    articles: list[Article] = []
    rejections: list[Rejection] = []
    records = 0
    try:
        for number, url, captured, body in html_responses(file, max_bytes, progress):
            records = number
            where = f"{file.name} record {number} ({url})"
            if body is None:
                rejections.append(Rejection(where, f"record over the {(max_bytes or 0) / 1e6:g} MB limit "
                                                   "(NEWSQA_MAX_FILE_MB)"))
                continue
            try:
                latest = captured + ZONE_SLACK if captured else None
                articles.append(page_article(body, key=record_key(file.key, url, number), source=file.name,
                                             url=url, fallback_date=fallback_date, max_date=latest))
            except ValueError as exc:
                rejections.append(Rejection(where, str(exc)))
    except ArchiveCut as exc:
        rejections.append(Rejection(file.name, str(exc)))
    except Exception as exc:  # noqa: BLE001 — warcio raises ArchiveLoadFailed, zlib.error, EOFError, even
        # AttributeError on a truncated header: any of them ends the archive, never the batch
        log.info("reading %s stopped: %r", file.name, exc)
        detail = str(exc).splitlines()[0] if isinstance(exc, (ValueError, EOFError, OSError)) and str(exc) else ""
        rejections.append(Rejection(file.name, f"archive cut off or corrupt after record {records}"
                                               + (f": {detail}" if detail else "")))
    if progress:
        progress(file.path.stat().st_size, file.path.stat().st_size)
    if not articles and not rejections:
        rejections.append(Rejection(file.name, "no HTML response records in the archive"))
    return articles, rejections


def html_responses(file: SourceFile, max_bytes: int | None, progress: Callable[[int, int], None] | None = None
                   ) -> Iterator[tuple[int, str, dt.date | None, bytes | None]]:
    """(record number, url, capture date, body or None when over max_bytes) for each successful HTML response,
    read as a stream: requests, metadata, redirects, images and the like are skipped. `progress` hears
    (bytes read, file size) after each record."""
    from warcio.archiveiterator import ArchiveIterator

    size = file.path.stat().st_size
    with file.path.open("rb") as stream:
        for number, record in enumerate(ArchiveIterator(stream), start=1):
            if progress:
                progress(min(stream.tell(), size - 1), size)  # the bar closes when the archive is done
            if record.rec_type != "response" or record.http_headers is None:
                continue
            kind = (record.http_headers.get_header("Content-Type") or "").split(";", 1)[0].strip().lower()
            if kind not in HTML_TYPES or record.http_headers.get_statuscode() != "200":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            body = record.content_stream().read(max_bytes + 1) if max_bytes else record.content_stream().read()
            if getattr(record.raw_stream, "limit", 0) > 0 and not (max_bytes and len(body) > max_bytes):
                # warcio hands back what there is of a record cut short: never ingest half a page
                raise ArchiveCut(f"archive cut off in record {number} ({url}): the record is incomplete")
            yield number, url, capture_date(record.rec_headers.get_header("WARC-Date")), (
                None if max_bytes and len(body) > max_bytes else body)


def capture_date(value: str | None) -> dt.date | None:
    """'2023-05-01T10:00:00Z' -> 2023-05-01 (WARC-Date is UTC); None when missing or unreadable."""
    try:
        return dt.datetime.fromisoformat((value or "").replace("Z", "+00:00")).date()
    except ValueError:
        return None
