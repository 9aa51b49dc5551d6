"""RSS/Atom feeds in: every entry, its own text or its page's, dated by the entry; following a feed ingests only
what is new, with conditional GETs, and never re-embeds what is stored."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.feeds import follow, html_text, ingest_feed, parse_feed

WEB = Path(__file__).resolve().parent / "fixtures" / "web"
RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
NEW_ITEM = """<item><title>Night buses return to the old town</title>
<link>https://gazette.example.org/local/2023/05/05/night-buses</link>
<pubDate>Fri, 05 May 2023 06:00:00 +0200</pubDate>
<content:encoded><![CDATA[<p>{}</p>]]></content:encoded></item>
</channel>"""
NIGHT_BUS_TEXT = ("Night buses will run through the old town again from the middle of May, the transport department "
                  "said on Friday, after a year in which the narrow streets were closed to buses at night. ") * 5


def feed_bytes(site_url: str, extra: str = "") -> bytes:
    text = (WEB / "feed-rss.xml").read_text().replace("PAGE_URL", site_url + "/bridge")
    return (text.replace("</channel>", extra) if extra else text).encode()


def test_entries_carry_their_links_dates_and_text():
    first, second = parse_feed(feed_bytes("https://gazette.example.org"))
    assert first.published == dt.date(2023, 5, 2) and first.link.endswith("/ferry-timetable")
    assert "every forty minutes" in html_text(first.content)
    assert second.published == dt.date(2023, 5, 1) and second.content == "" and second.guid == "harbour-bridge-2023-05-01"


@pytest.mark.parametrize("data", [(WEB / "harbour-bridge.html").read_bytes(), b"", b"\x89PNG\r\n\x1a\n",
                                  b'{"items": []}'])
def test_what_is_not_a_feed_is_refused(data):
    with pytest.raises(ValueError, match="not an RSS or Atom feed"):
        parse_feed(data)


def test_html_text_keeps_paragraphs():
    assert html_text("<p>One.</p><p>Two &amp; <b>three</b>.</p>line<br>break") == "One.\nTwo & three.\nline\nbreak"


@pytest.fixture
def web_store(tmp_path, embedder):
    from index.settings import Settings
    from index.store import open_store

    settings = Settings(store_dir=tmp_path / "store", allow_private_urls=True, fetch_timeout_s=5)
    store = open_store(settings)
    yield settings, store, embedder
    store.close()


def test_a_feed_goes_in_entry_by_entry_with_the_entrys_date(local_site, web_store):
    settings, store, embedder = web_store
    local_site.routes["/feed"] = (200, RSS, feed_bytes(local_site.url))
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    report = ingest_feed(local_site.url + "/feed", settings, store, embedder)
    assert report.rejected == []
    by_url = {a.url: a for a in report.added}
    ferry = by_url["https://gazette.example.org/local/2023/05/02/ferry-timetable"]  # full text in the feed
    bridge = by_url[local_site.url + "/bridge"]                                    # a summary: its page fetched
    assert ferry.date == dt.date(2023, 5, 2) and "1,200 seats" in ferry.text
    assert bridge.date == dt.date(2023, 5, 1) and "42 corroded deck plates" in bridge.text
    assert bridge.source == ferry.source == local_site.url + "/feed"
    from index.ingest import remove

    assert remove([local_site.url + "/feed"], store) == [
        f"{local_site.url}/feed ({local_site.url}/bridge)",
        f"{local_site.url}/feed (https://gazette.example.org/local/2023/05/02/ferry-timetable)"]
    assert store.stats().articles == 0


def test_a_feed_entry_whose_page_fails_is_rejected_and_the_rest_goes_in(local_site, web_store):
    settings, store, embedder = web_store
    local_site.routes["/feed"] = (200, RSS, feed_bytes(local_site.url))  # /bridge is not served: 404
    report = ingest_feed(local_site.url + "/feed", settings, store, embedder)
    assert [a.title for a in report.added] == ["Ferry timetable changes for the summer"]
    [rejection] = report.rejected
    assert rejection.source == f"{local_site.url}/feed entry 2 ({local_site.url}/bridge)"
    assert rejection.reason == "HTTP 404 Not Found"


def test_following_picks_up_a_new_entry_without_re_embedding_old_ones(local_site, web_store):
    settings, store, embedder = web_store
    local_site.routes["/feed"] = (200, {**RSS, "ETag": '"v1"'}, feed_bytes(local_site.url))
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    polls = follow(local_site.url + "/feed", settings, store, embedder, interval_s=0)
    first = next(polls)
    assert len(first.added) == 2 and first.chunks_embedded > 0
    unchanged = next(polls)  # the server answers 304 to our If-None-Match
    assert unchanged.notices == [f"{local_site.url}/feed: not modified since the last poll"]
    assert unchanged.chunks_embedded == 0 and local_site.requests[-1][1]["If-None-Match"] == '"v1"'
    local_site.routes["/feed"] = (200, {**RSS, "ETag": '"v2"'},
                                  feed_bytes(local_site.url, NEW_ITEM.format(NIGHT_BUS_TEXT)))
    third = next(polls)
    assert [a.title for a in third.added] == ["Night buses return to the old town"]
    assert len(third.unchanged) == 2 and third.replaced == [] and third.rejected == []
    assert third.chunks_embedded == store.manifest([third.added[0].id])[third.added[0].id]["chunks"]
    assert [path for path, _ in local_site.requests].count("/bridge") == 1  # the stored entry's page: not again
    assert store.stats().articles == 3


def test_a_feed_file_goes_in_and_a_missing_one_is_rejected(tmp_path, web_store):
    settings, store, embedder = web_store
    feed = tmp_path / "local.xml"
    feed.write_bytes(feed_bytes("http://127.0.0.1:1"))  # the summary entry's page is unreachable
    report = ingest_feed(str(feed), settings, store, embedder)
    assert [a.date.isoformat() for a in report.added] == ["2023-05-02"]
    assert report.rejected[0].reason.startswith("cannot fetch")
    missing = ingest_feed(str(tmp_path / "nope.xml"), settings, store, embedder)
    assert missing.rejected[0].reason == "No such file or directory"


def test_an_atom_entry_keeps_the_day_written_in_its_own_zone():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Gazette</title><id>urn:gazette</id><updated>2023-05-02T01:00:00+03:00</updated>
<entry><title>Late council session</title><id>urn:gazette:1</id>
<link href="https://gazette.example.org/late-session"/>
<published>2023-05-02T00:30:00+03:00</published><updated>2023-05-04T09:00:00+03:00</updated>
<author><name>Maria Okafor</name></author><summary>The council sat past midnight.</summary></entry></feed>"""
    [entry] = parse_feed(atom)
    assert entry.published == dt.date(2023, 5, 2)  # not May 1 (UTC), not May 4 (updated)
    assert entry.link == "https://gazette.example.org/late-session" and entry.author == "Maria Okafor"
    assert entry.content == "" and entry.summary == "The council sat past midnight."  # a teaser: its page is read


def listed_feeds(settings):
    from index.feedlist import load_feeds, registry_path

    return load_feeds(registry_path(settings))


def test_a_restarted_follower_sends_the_saved_validators_and_embeds_nothing(local_site, web_store):
    settings, store, embedder = web_store
    feed = local_site.url + "/feed"
    local_site.routes["/feed"] = (200, {**RSS, "ETag": '"v1"'}, feed_bytes(local_site.url))
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    [first] = follow(feed, settings, store, embedder, polls=1)
    assert len(first.added) == 2
    record = listed_feeds(settings)[feed]
    assert (record.title, record.etag, record.last_status) == ("Northport Gazette: Local", '"v1"', "2 new")
    assert record.added == record.last_read != ""

    [again] = follow(feed, settings, store, embedder, polls=1)  # a new follower: nothing in memory from the first
    assert local_site.requests[-1][0] == "/feed" and local_site.requests[-1][1]["If-None-Match"] == '"v1"'
    assert again.notices == [f"{feed}: not modified since the last poll"] and again.chunks_embedded == 0
    assert store.stats().articles == 2
    after = listed_feeds(settings)[feed]
    assert after.last_status == "not modified" and after.last_read >= record.last_read
    assert after.title == "Northport Gazette: Local" and after.added == record.added


def test_a_poll_with_a_rejected_entry_keeps_no_validators_so_the_entry_is_tried_again(local_site, web_store):
    settings, store, embedder = web_store
    feed = local_site.url + "/feed"
    local_site.routes["/feed"] = (200, {**RSS, "ETag": '"v1"'}, feed_bytes(local_site.url))  # /bridge: 404
    [first] = follow(feed, settings, store, embedder, polls=1)
    assert len(first.rejected) == 1
    record = listed_feeds(settings)[feed]
    assert record.etag == "" and record.last_status == "1 new, 1 rejected"
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    [second] = follow(feed, settings, store, embedder, polls=1)
    feed_request, page_request = local_site.requests[-2:]
    assert feed_request[0] == "/feed" and "If-None-Match" not in feed_request[1]  # read whole, not "not modified"
    assert page_request[0] == "/bridge"
    assert [a.title for a in second.added] == ["Harbour bridge reopens after three months of repairs"]
    assert listed_feeds(settings)[feed].etag == '"v1"'


def test_a_feed_that_cannot_be_read_is_not_listed_but_a_listed_one_shows_why(local_site, web_store):
    from index.feeds import poll_feed

    settings, store, embedder = web_store
    feed = local_site.url + "/feed"
    report = poll_feed(feed, settings, store, embedder)  # nothing served yet: 404
    assert report.rejected[0].reason == "HTTP 404 Not Found" and listed_feeds(settings) == {}
    local_site.routes["/feed"] = (200, RSS, feed_bytes(local_site.url))
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    poll_feed(feed, settings, store, embedder)
    read_at = listed_feeds(settings)[feed].last_read
    local_site.routes["/feed"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())  # the feed became a page
    poll_feed(feed, settings, store, embedder)
    record = listed_feeds(settings)[feed]
    assert record.last_status.startswith("not an RSS or Atom feed") and record.last_read == read_at


@pytest.mark.parametrize("counts, notices, rejected, expected", [
    ({"added": 12, "unchanged": 30}, [], [], (True, "12 new, 30 unchanged")),
    ({"replaced": 1}, [], [("F entry 3 (x)", "HTTP 404 Not Found")], (True, "1 changed, 1 rejected")),
    ({}, ["F: not modified since the last poll"], [], (True, "not modified")),
    ({}, [], [("F", "timed out after 20 s (NEWSQA_FETCH_TIMEOUT_S)")],
     (False, "timed out after 20 s (NEWSQA_FETCH_TIMEOUT_S)")),
    ({}, [], [("F", "the feed has no entries")], (True, "the feed has no entries")),
])
def test_poll_status_says_what_a_poll_did_in_a_few_words(counts, notices, rejected, expected):
    from index.articles import Rejection
    from index.feeds import poll_status
    from index.ingest import IngestReport

    report = IngestReport(notices=notices, rejected=[Rejection(s, r) for s, r in rejected],
                          **{k: [object()] * n for k, n in counts.items()})
    assert poll_status(report, "F") == expected
