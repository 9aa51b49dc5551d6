"""Loaders and date parsing: what is accepted, and what is rejected with which reason."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from index.articles import discover, first_sentence, load_file, public_name
from index.dates import DateError, date_number, parse_article_date
from index.sentences import sentences


@pytest.mark.parametrize("text, expected", [
    ("2023-05-01", dt.date(2023, 5, 1)),
    ("2022/06/12", dt.date(2022, 6, 12)),
    ("2022-06-12T23:30:00-04:00", dt.date(2022, 6, 12)),   # the day as printed in its own zone
    ("2022-06-12T01:00:00Z", dt.date(2022, 6, 12)),
    ("Sun, 12 Jun 2022 08:00:00 +0000", dt.date(2022, 6, 12)),
    ("May 1, 2023", dt.date(2023, 5, 1)),
    ("1 May 2023", dt.date(2023, 5, 1)),
])
def test_accepted_date_formats(text, expected):
    assert parse_article_date(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("2023-02-30", "day is out of range"),
    ("2023-13-01", "month must be in 1..12"),
    ("yesterday", "unrecognised date"),
    ("12/06/2022", "unrecognised date"),   # day-first or month-first? ambiguous, so not guessed
    ("", "empty date"),
])
def test_rejected_dates_say_why(text, reason):
    with pytest.raises(DateError, match=reason):
        parse_article_date(text)


def test_date_number_orders_like_the_date():
    assert date_number(dt.date(2022, 12, 31)) < date_number(dt.date(2023, 1, 1)) == 20230101


def test_seed_format_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(" date 2023-05-04 First sentence here. Second one.\n\nMore text.")
    [article], rejected = load_file(path)
    assert rejected == [] and article.date == dt.date(2023, 5, 4)
    assert article.text.startswith("First sentence here.") and article.title == "First sentence here."


def test_markdown_front_matter_gives_title_url_and_date(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: Talks end\ndate: 2023-05-04\nurl: https://example.com/a\n---\n# Heading\nBody text.")
    [article], _ = load_file(path)
    assert (article.title, article.date, article.url) == ("Talks end", dt.date(2023, 5, 4), "https://example.com/a")
    assert article.text == "# Heading\nBody text."


def test_date_line_on_top_of_a_text_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Title: Ceasefire holds\nDate: 2022/06/12\n\nThe ceasefire held overnight.")
    [article], _ = load_file(path)
    assert article.title == "Ceasefire holds" and article.date == dt.date(2022, 6, 12)
    assert article.text == "The ceasefire held overnight."


def test_jsonl_rejects_bad_lines_by_number_and_keeps_the_rest(tmp_path):
    path = tmp_path / "dump.jsonl"
    lines = [
        {"url": "https://x/1", "title": "One", "publish_date": "2022/06/12", "text": "Alpha happened."},
        {"url": "https://x/2", "title": "Two", "text": "No date here."},
        "{not json",
        {"url": "https://x/4", "publish_date": "2022-02-30", "text": "Impossible date."},
        {"url": "https://x/5", "publish_date": "Sun, 12 Jun 2022 08:00:00 +0000", "text": "Untitled. Body."},
    ]
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines))
    articles, rejected = load_file(path)
    assert [a.url for a in articles] == ["https://x/1", "https://x/5"]
    assert articles[1].title == "Untitled."          # no title: the first sentence stands in
    reasons = {r.source.rsplit(":", 1)[1]: r.reason for r in rejected}
    assert set(reasons) == {"2", "3", "4"}
    assert "no date" in reasons["2"] and "invalid JSON" in reasons["3"] and "out of range" in reasons["4"]


def test_json_list_and_articles_key(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"articles": [{"headline": "H", "published_at": "2023-05-01T10:00:00+02:00",
                                              "body": "Text.", "link": "https://x/a", "author": ["A", "B"]}]}))
    [article], _ = load_file(path)
    assert (article.title, article.url, article.authors) == ("H", "https://x/a", "A, B")


@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "empty file"),
    ("binary.txt", b"\x00\x01\x02PNG", "binary file"),
    ("latin1.txt", " date 2023-05-01 Caf\xe9 society.".encode("latin-1"), "not UTF-8"),
    ("undated.txt", b"Just a body with no date at all.", "no date found"),
    ("badjson.json", b"{\"title\": ", "invalid JSON"),
    ("notes.csv", b"a,b", "unsupported file type"),
    ("dated-but-empty.txt", b" date 2023-05-01 ", "no text"),
])
def test_malformed_files_are_rejected_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    articles, rejected = load_file(path)
    assert articles == [] and len(rejected) == 1 and reason in rejected[0].reason


def test_oversized_file_is_rejected_before_reading(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b" date 2023-05-01 " + b"word " * 300_000)
    _, rejected = load_file(path, max_bytes=1_000_000)
    assert "over the 1 MB limit" in rejected[0].reason


def test_discover_walks_folders_and_reports_missing_paths(tmp_path):
    (tmp_path / "d" / ".hidden").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("x")
    (tmp_path / "d" / ".hidden" / "b.txt").write_text("x")
    files, missing = discover([tmp_path / "d", tmp_path / "nope.txt"])
    assert [f.path.name for f in files] == ["a.txt"]
    assert missing[0].reason == "no such file or folder"


def test_sources_are_shown_without_server_paths(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text(" date 2023-05-01 Text.")
    [folder_file], _ = discover([tmp_path / "d"])
    [single_file], _ = discover([tmp_path / "d" / "a.txt"])
    assert (folder_file.name, single_file.name) == ("d/a.txt", "a.txt")  # relative to what was ingested
    assert folder_file.key == single_file.key == str((tmp_path / "d" / "a.txt").resolve())
    assert public_name("/srv/newsqa/.newsqa/store/uploads/articles.json") == "articles.json"
    assert public_name("seeds/002_7e68630bb1f8edc4.txt") == "seeds/002_7e68630bb1f8edc4.txt"


@pytest.mark.parametrize("text, expected", [
    ("The U.S. State Department said so. Next.", ["The U.S. State Department said so.", "Next."]),
    ("It came from the U.S. The end.", ["It came from the U.S.", "The end."]),
    ("Mr. Smith met Gen. Lee at 2 p.m. Washington time.", ["Mr. Smith met Gen. Lee at 2 p.m. Washington time."]),
    ("He said “it is illegal.” Then left.", ["He said “it is illegal.”", "Then left."]),
])
def test_sentence_splitting_respects_abbreviations(text, expected):
    assert sentences(text) == expected


def test_first_sentence_is_shortened_at_a_word():
    title = first_sentence("word " * 100)
    assert len(title) <= 121 and title.endswith("…")


@pytest.mark.parametrize("text", ["New York CNN — Prices rose sharply in May.", "WASHINGTON (AP) — Prices rose sharply in May.",
                                  "(Reuters) Prices rose sharply in May.", "Advertisement. Prices rose sharply in May."])
def test_an_untitled_article_is_titled_without_its_dateline_in_any_outlets_style(text):
    assert first_sentence(text) == "Prices rose sharply in May."
