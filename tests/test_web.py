"""Web pages in: main text, metadata and the original publication date; undated or non-HTML pages refused."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.articles import load_file
from index.web import is_url, looks_like_html, page_date

WEB = Path(__file__).resolve().parent / "fixtures" / "web"


def test_a_page_gives_its_text_title_author_url_and_publication_date_not_its_update():
    [article], rejected = load_file(WEB / "harbour-bridge.html")
    assert rejected == []
    assert article.date == dt.date(2023, 5, 1)  # published 1 May; the page was updated on 3 May
    assert article.title == "Harbour bridge reopens after three months of repairs"
    assert article.authors == "Maria Okafor"
    assert article.url == "https://gazette.example.org/local/2023/05/01/harbour-bridge-reopens"
    assert "replaced 42 corroded deck plates" in article.text
    assert "cookies" not in article.text and "newsletter" not in article.text and "Sport" not in article.text


def test_an_undated_page_is_rejected_with_the_reason_unless_a_date_is_given():
    articles, [rejection] = load_file(WEB / "undated-notice.html")
    assert articles == [] and rejection.reason.startswith("no publication date found in the page")
    [article], _ = load_file(WEB / "undated-notice.html", fallback_date=dt.date(2023, 1, 2))
    assert article.date == dt.date(2023, 1, 2) and "Market Square" in article.text


def test_a_given_date_never_overrides_the_pages_own():
    [article], _ = load_file(WEB / "harbour-bridge.html", fallback_date=dt.date(2020, 1, 1))
    assert article.date == dt.date(2023, 5, 1)


def test_a_file_that_is_not_html_is_rejected():
    articles, [rejection] = load_file(WEB / "not-a-page.html")
    assert articles == [] and rejection.reason == "not an HTML page"


@pytest.mark.parametrize("found, fallback, expected", [
    ("2023-05-01", None, dt.date(2023, 5, 1)),
    ("2023-05-01", dt.date(2020, 1, 1), dt.date(2023, 5, 1)),
    (None, dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
    ("not a date", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
])
def test_page_date_prefers_the_found_date(found, fallback, expected):
    assert page_date(found, fallback) == expected


def test_page_date_never_falls_back_to_today():
    with pytest.raises(ValueError, match="no publication date"):
        page_date(None, None)


@pytest.mark.parametrize("data, expected", [
    (b"<!DOCTYPE html><html><body><p>x</p></body></html>", True),
    (b"\n\n  <html lang='en'>", True),
    (b"%PDF-1.7\n", False),
    (b"<?xml version='1.0'?><rss version='2.0'><channel>", False),
    (b"<html>\x00\x00", False),
    (b"plain text about <b>nothing</b>", False),
])
def test_looks_like_html(data, expected):
    assert looks_like_html(data) is expected


@pytest.mark.parametrize("text, expected", [
    ("https://example.org/a", True), ("http://x", True), ("file:///etc/passwd", True), ("ftp://x/y", True),
    ("seeds/", False), ("page.html", False), ("C:\\news\\a.html", False),
])
def test_is_url(text, expected):
    assert is_url(text) is expected


@pytest.mark.parametrize("expected, dated, reason, result", [
    ("2023-05-01", dt.date(2023, 5, 1), "", "right"),
    ("2023-05-01", dt.date(2023, 5, 2), "", "wrong by 1 day"),
    ("2023-05-01", dt.date(2022, 5, 1), "", "wrong"),
    ("2023-05-01", None, "no publication date found in the page (give one with --date YYYY-MM-DD to ingest it "
                         "with that date)", "refused as undated"),
    ("2023-05-01", None, "not an HTML page", "rejected: not an HTML page"),
    (None, None, "no publication date ...", "undatable, refused (right)"),
    (None, dt.date(2023, 5, 1), "", "undatable, dated (wrong)"),
])
def test_htmldates_outcomes(expected, dated, reason, result):
    from eval.htmldates import outcome
    from index.articles import make_article

    article = dated and make_article(key="k", title="t", date=dated, text="x", source="s")
    assert outcome(expected, article, reason) == result


def test_htmldates_measures_a_folder_in_its_format(tmp_path, capsys):
    import json

    from eval.htmldates import main

    (tmp_path / "pages").mkdir()
    rows = [("harbour-bridge.html", "2023-05-01"), ("undated-notice.html", None), ("not-a-page.html", "2023-01-01")]
    for name, _ in rows:
        (tmp_path / "pages" / name).write_bytes((WEB / name).read_bytes())
    (tmp_path / "expected.jsonl").write_text("".join(
        json.dumps({"url": f"https://example.org/{name}", "file": f"pages/{name}", "date": date}) + "\n"
        for name, date in rows))
    assert main([str(tmp_path), "--output", str(tmp_path / "out.json")]) == 0
    table = capsys.readouterr().out
    assert "| right | 1 | 1 |" in table and "| undatable, refused (right) | 1 | 1 |" in table
    assert "| rejected: not an HTML page | 1 | 1 |" in table


def test_a_50_mb_page_file_is_refused_by_its_size_unread(tmp_path):
    big = tmp_path / "big.html"
    with big.open("wb") as f:
        f.truncate(50_000_000)  # sparse: nothing written, nothing read
    articles, [rejection] = load_file(big, max_bytes=25_000_000)
    assert articles == [] and rejection.reason == "file is 50.0 MB, over the 25 MB limit (NEWSQA_MAX_FILE_MB)"
