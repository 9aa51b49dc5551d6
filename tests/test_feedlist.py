"""The store's feed list: which feeds are followed, when each was last read, and the validators a restarted follower
sends back; written whole or not at all."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from index.feedlist import (FeedListError, FeedRecord, listing, load_feeds, record_poll, registry_path, save_feeds,
                            unregister, update_feeds, when)
from index.settings import Settings

URL = "https://gazette.example.org/rss.xml"
T1, T2 = "2026-12-01T10:00:00+00:00", "2026-12-01T10:15:00+00:00"
READ = dict(read=True, status="2 new", title="Northport Gazette", etag='"v1"', last_modified="Tue, 01 Dec 2026")


def test_the_list_comes_back_as_it_was_written(tmp_path):
    path = tmp_path / "feeds-news.json"
    feeds = record_poll({}, URL, now=T1, **READ)
    save_feeds(path, feeds)
    assert load_feeds(path) == feeds == {URL: FeedRecord(url=URL, title="Northport Gazette", added=T1, last_read=T1,
                                                         last_status="2 new", etag='"v1"',
                                                         last_modified="Tue, 01 Dec 2026")}
    assert json.loads(path.read_text())["feeds"][0]["etag"] == '"v1"'


def test_a_write_that_fails_leaves_the_old_list_whole_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "feeds-news.json"
    save_feeds(path, record_poll({}, URL, now=T1, **READ))
    before = path.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("index.feedlist.os.replace", disk_full)
    with pytest.raises(FeedListError, match="cannot write the feed list .*No space left on device"):
        save_feeds(path, {**load_feeds(path), "https://other.example.org/feed": FeedRecord(url="x")})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["feeds-news.json"]


def test_no_list_is_an_empty_list_and_a_damaged_one_says_where_it_is(tmp_path):
    assert load_feeds(tmp_path / "feeds-news.json") == {}
    (tmp_path / "feeds-news.json").write_text('{"feeds": [{"url": ')
    with pytest.raises(FeedListError, match=r"feeds-news.json is not readable .*delete it"):
        load_feeds(tmp_path / "feeds-news.json")


@pytest.mark.parametrize("extra, name", [
    ({}, "feeds-news.json"),
    ({"collection": "world news"}, "feeds-world_news.json"),
    ({"chroma_host": "db.local", "chroma_port": 8001}, "feeds-db.local-8001-news.json"),
])
def test_each_collection_and_server_has_its_own_list_in_the_store_folder(tmp_path, extra, name):
    assert registry_path(Settings(store_dir=tmp_path, **extra)) == tmp_path / name


def test_a_feed_joins_the_list_only_when_it_was_read():
    assert record_poll({}, URL, now=T1, read=False, status="HTTP 404 Not Found") == {}
    listed = record_poll({}, URL, now=T1, **READ)
    assert listed[URL].added == listed[URL].last_read == T1


def test_a_failed_poll_keeps_the_last_read_time_and_validators_and_shows_the_reason():
    listed = record_poll({}, URL, now=T1, **READ)
    failed = record_poll(listed, URL, now=T2, read=False, status="timed out after 20 s")[URL]
    assert (failed.last_read, failed.etag, failed.last_status) == (T1, '"v1"', "timed out after 20 s")


def test_a_not_modified_poll_moves_the_last_read_time_and_keeps_the_title():
    listed = record_poll({}, URL, now=T1, **READ)
    again = record_poll(listed, URL, now=T2, read=True, status="not modified", title="", etag='"v1"')[URL]
    assert (again.added, again.last_read, again.title, again.last_status) == (T1, T2, "Northport Gazette",
                                                                               "not modified")


def test_unregister_drops_only_the_named_feeds():
    listed = record_poll(record_poll({}, URL, now=T1, **READ), "https://b.example.org/atom", now=T2, **READ)
    assert list(unregister(listed, [URL, "https://never.example.org/"])) == ["https://b.example.org/atom"]


def test_removing_from_a_store_without_a_list_writes_nothing(tmp_path):
    path = tmp_path / "feeds-news.json"
    assert update_feeds(path, lambda feeds: unregister(feeds, [URL])) == {}
    assert list(tmp_path.iterdir()) == []


def test_simultaneous_updates_are_all_kept(tmp_path):
    """The page and a follower in another process both record polls: read-change-write holds the lock."""
    path = tmp_path / "feeds-news.json"
    urls = [f"https://site{i}.example.org/feed" for i in range(12)]
    threads = [threading.Thread(target=update_feeds, args=(path, lambda f, u=u: record_poll(f, u, now=T1, **READ)))
               for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(load_feeds(path)) == sorted(urls)


@pytest.mark.parametrize("iso, shown", [
    ("", "never"),
    ("2026-12-01T23:10:05+00:00", "2026-12-01 23:10 UTC"),
    ("2026-12-02T01:10:05+02:00", "2026-12-01 23:10 UTC"),
    ("garbage", "garbage"),
])
def test_times_are_shown_in_utc(iso, shown):
    assert when(iso) == shown


def test_listing_shows_articles_last_read_and_last_poll_per_feed():
    listed = record_poll({}, URL, now=T1, **READ)
    listed = record_poll(listed, "https://b.example.org/atom", now=T2, read=False, status="never listed")
    assert listing(listed, {URL: 7}) == [
        f"{URL}  (Northport Gazette)",
        "    7 articles · last read 2026-12-01 10:00 UTC · last poll: 2 new · added 2026-12-01 10:00 UTC"]
