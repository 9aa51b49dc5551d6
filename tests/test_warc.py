"""WARC archives in: every HTML response record becomes a dated article, read as a stream; a cut archive keeps
the records before the cut."""
from __future__ import annotations

import gzip
import io
import tracemalloc
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from index.articles import load_file

WEB = Path(__file__).resolve().parent / "fixtures" / "web"


def write_warc(path: Path, records: list[tuple[str, str, bytes, str]], gzipped: bool = True) -> Path:
    """records: (url, content type, body, WARC-Date), each a response with its request before it."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzipped)
        for url, kind, body, date in records:
            request = writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"),
                                                warc_headers_dict={"WARC-Date": date})
            headers = StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1")
            response = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                                 warc_headers_dict={"WARC-Date": date})
            writer.write_record(request)
            writer.write_record(response)
    return path


def archive(tmp_path: Path, gzipped: bool = True) -> Path:
    name = "crawl.warc.gz" if gzipped else "crawl.warc"
    return write_warc(tmp_path / name, [
        ("https://gazette.example.org/bridge", "text/html; charset=utf-8", (WEB / "harbour-bridge.html").read_bytes(),
         "2023-05-04T08:00:00Z"),
        ("https://gazette.example.org/logo.png", "image/png", b"\x89PNG\r\n\x1a\n", "2023-05-04T08:00:01Z"),
        ("https://library.example.org/hours", "text/html", (WEB / "undated-notice.html").read_bytes(),
         "2023-05-04T08:00:02Z"),
    ], gzipped)


@pytest.mark.parametrize("gzipped", [True, False])
def test_every_html_response_becomes_an_article_with_its_url_and_date(tmp_path, gzipped):
    articles, rejected = load_file(archive(tmp_path, gzipped))
    [bridge] = articles
    assert bridge.url == "https://gazette.example.org/bridge" and bridge.date.isoformat() == "2023-05-01"
    assert bridge.source == ("crawl.warc.gz" if gzipped else "crawl.warc") and "42 corroded" in bridge.text
    [undated] = rejected  # the image is skipped; the undated page is reported by record, not dated by its capture
    assert undated.source.endswith("record 6 (https://library.example.org/hours)")
    assert undated.reason.startswith("no publication date found in the page")


def test_a_capture_date_bounds_the_publication_date(tmp_path):
    path = write_warc(tmp_path / "early.warc.gz", [
        ("https://gazette.example.org/bridge", "text/html", (WEB / "harbour-bridge.html").read_bytes(),
         "2023-04-20T08:00:00Z")])  # captured before the date the page claims: that date cannot be right
    assert load_file(path)[0] == []


@pytest.mark.parametrize("share", [0.5, 0.8, 0.99])
def test_an_archive_cut_in_the_middle_keeps_the_records_before_the_cut(tmp_path, share):
    whole = archive(tmp_path).read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(whole[: int(len(whole) * share)])
    articles, rejected = load_file(cut)
    assert [a.url for a in articles] == ["https://gazette.example.org/bridge"]
    assert [r.reason.split(" record")[0] for r in rejected if r.source == "cut.warc.gz"] in (
        [["archive cut off or corrupt after"], ["archive cut off in"]]), rejected


def test_a_record_cut_short_is_not_ingested_as_half_a_page(tmp_path):
    whole = archive(tmp_path).read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(whole[: int(len(whole) * 0.3)])  # inside the first page's body
    articles, [rejection] = load_file(cut)
    assert articles == [] and rejection.reason == ("archive cut off in record 2 (https://gazette.example.org/bridge): "
                                                   "the record is incomplete")


def test_an_archive_is_read_as_a_stream_not_into_memory(tmp_path):
    """A 60 MB archive (over the 25 MB file limit, which archives are exempt from) of 300 pages is read with
    a few MB of Python memory at most beyond the articles kept."""
    page = (WEB / "harbour-bridge.html").read_bytes()
    padding = b"<!-- " + b"x" * 200_000 + b" -->"
    records = [(f"https://gazette.example.org/{i}", "text/html", page.replace(b"</body>", padding + b"</body>"),
                "2023-05-04T08:00:00Z") for i in range(300)]
    path = write_warc(tmp_path / "big.warc", records, gzipped=False)
    assert path.stat().st_size > 60_000_000
    tracemalloc.start()
    articles, rejected = load_file(path, max_bytes=25_000_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(articles) == 300 and rejected == []
    assert peak < 30_000_000, f"peak {peak / 1e6:.0f} MB"


def test_a_record_over_the_limit_is_rejected_and_the_rest_goes_in(tmp_path):
    big = b"<html><body><p>" + b"word " * 300_000 + b"</p></body></html>"
    path = write_warc(tmp_path / "mixed.warc.gz", [
        ("https://x.example.org/huge", "text/html", big, "2023-05-04T08:00:00Z"),
        ("https://gazette.example.org/bridge", "text/html", (WEB / "harbour-bridge.html").read_bytes(),
         "2023-05-04T08:00:00Z")])
    articles, [rejection] = load_file(path, max_bytes=1_000_000)
    assert [a.url for a in articles] == ["https://gazette.example.org/bridge"]
    assert rejection.reason == "record over the 1 MB limit (NEWSQA_MAX_FILE_MB)"


def test_a_file_that_is_not_a_warc_is_rejected(tmp_path):
    fake = tmp_path / "fake.warc.gz"
    fake.write_bytes(gzip.compress(b"just some text, not a WARC record\n" * 10))
    articles, [rejection] = load_file(fake)
    assert articles == [] and rejection.reason.startswith("archive cut off or corrupt after record 0")


def test_reading_an_archive_reports_its_progress_in_bytes(tmp_path):
    path = archive(tmp_path)
    heard = []
    load_file(path, progress=lambda done, total: heard.append((done, total)))
    size = path.stat().st_size
    assert heard[-1] == (size, size) and all(t == size for _, t in heard) and len(heard) >= 6
    assert [d for d, _ in heard] == sorted(d for d, _ in heard)
