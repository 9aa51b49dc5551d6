"""The README's commands, run as a user would: python -m index / python -m qa."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CHECKPOINT_Q, ROOT


def run(*args, store, **env):
    environ = {**os.environ, "NEWSQA_STORE_DIR": str(store), **env}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_index_then_qa_from_the_command_line(tmp_path):
    store = tmp_path / "store"
    first = run("index", "seeds/", store=store)
    assert first.returncode == 0, first.stderr
    assert "added      seeds/002_7e68630bb1f8edc4.txt" in first.stdout
    assert "2 added, 0 replaced, 0 unchanged" in first.stdout
    again = run("index", "seeds/", store=store)
    assert "0 added, 0 replaced, 2 unchanged" in again.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "nested.json").write_text("[" * 100_000)
    (bad / "good.txt").write_text(" date 2023-05-02 Parliament approved the budget on Tuesday.")
    mixed = run("index", str(bad), store=store)  # the good file goes in; the status says something was rejected
    assert mixed.returncode == 1 and "Traceback" not in mixed.stderr, mixed.stderr
    assert "rejected   bad/nested.json: JSON nested too deeply" in mixed.stdout and "added      bad/good.txt" in mixed.stdout
    answer = run("qa", CHECKPOINT_Q, store=store)
    assert answer.returncode == 0, answer.stderr
    assert "April 23" in answer.stdout and "[1]" in answer.stdout
    assert "Sources:\n[1]" in answer.stdout and "(2023-05-01) seeds/002_7e68630bb1f8edc4.txt" in answer.stdout
    removed = run("index", "--remove", "seeds/000_d9919218ce5d4bde.txt", store=store)
    assert "removed    seeds/000_d9919218ce5d4bde.txt" in removed.stdout and "2 articles" in removed.stdout  # 002, good.txt


def test_help_lists_every_setting(tmp_path):
    out = run("qa", "--help", store=tmp_path).stdout
    assert "NEWSQA_STORE_DIR" in out and "NEWSQA_BACKEND" in out and "--as-of" in out
    assert "NEWSQA_STORE_DIR" in run("index", "--help", store=tmp_path).stdout


@pytest.mark.parametrize("args, message", [
    (("qa", "   "), "error: please type a question"),
    (("qa", "--as-of", "16/06/2022", "What happened?"), "is not an ISO date"),
])
def test_bad_questions_get_one_clear_line(tmp_path, args, message):
    result = run(*args, store=tmp_path / "s")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("qa", "   "), ("qa", "x" * 2001), ("qa", "--to", "May 2", "What happened?")])
def test_a_bad_question_is_reported_before_the_store_is_opened(tmp_path, args):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = run(*args, store=not_a_folder / "store")   # opening this store would fail with a store error
    assert result.returncode == 2 and "store" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_bad_setting_names_the_variable(tmp_path):
    result = run("qa", "hello there friend", store=tmp_path, NEWSQA_BACKEND="gpt5")
    assert result.returncode == 2 and "NEWSQA_BACKEND='gpt5' is not one of" in result.stderr


def test_unwritable_store_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run("index", "seeds/", store=locked / "store")
        if os.geteuid() == 0:   # root writes anyway; use a path under a file instead
            result = run("index", "seeds/", store=ROOT / "README.md" / "store")
        assert result.returncode == 2 and "error: the store folder" in result.stderr
        assert "NEWSQA_STORE_DIR" in result.stderr and "Traceback" not in result.stderr
    finally:
        locked.chmod(0o700)


@pytest.mark.slow
def test_web_pages_urls_and_feeds_from_the_command_line(tmp_path, local_site):
    """Every bad case gets its reason and the rest of the batch goes in; --follow polls without re-embedding."""
    import shutil

    web = ROOT / "tests" / "fixtures" / "web"
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in ("harbour-bridge.html", "undated-notice.html", "not-a-page.html"):
        shutil.copy(web / name, pages / name)
    (tmp_path / "news.xml").write_bytes((web / "harbour-bridge.html").read_bytes())  # a page, not a feed
    local_site.routes["/bridge"] = (200, {"Content-Type": "text/html"}, (web / "harbour-bridge.html").read_bytes())
    store = tmp_path / "store"
    batch = run("index", str(pages), local_site.url + "/bridge", "file:///etc/passwd",
                "--feed", str(tmp_path / "news.xml"), store=store)
    assert batch.returncode == 1 and "Traceback" not in batch.stderr, batch.stderr
    out = batch.stdout
    assert "added      pages/harbour-bridge.html  (2023-05-01, Harbour bridge reopens" in out
    assert f"rejected   {local_site.url}/bridge: refused: 127.0.0.1 is a private or loopback address" in out
    assert "rejected   file:///etc/passwd: refused scheme 'file:' (only http and https are fetched)" in out
    assert "rejected   pages/undated-notice.html: no publication date found in the page" in out
    assert "rejected   pages/not-a-page.html: not an HTML page" in out
    assert "rejected   news.xml: not an RSS or Atom feed" in out
    dated = run("index", str(pages / "undated-notice.html"), "--date", "2023-05-02", store=store)
    assert dated.returncode == 0 and "added      undated-notice.html  (2023-05-02" in dated.stdout
    feed = (web / "feed-rss.xml").read_text().replace("PAGE_URL", local_site.url + "/bridge")
    local_site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml", "ETag": '"1"'}, feed.encode())
    followed = run("index", "--feed", local_site.url + "/feed", "--follow", "--polls", "2", "--interval", "0",
                   store=store, NEWSQA_ALLOW_PRIVATE_URLS="true")
    assert followed.returncode == 0, followed.stderr
    first, second = followed.stdout.split(f" {local_site.url}/feed\n")[1:]
    assert "1 added, 0 replaced, 0 unchanged, 1 duplicate" in first  # the bridge's page is in the store already
    assert "not modified since the last poll" in second and "0 chunks written" in second


@pytest.mark.slow
def test_feeds_are_listed_followed_from_the_list_and_unlisted_when_removed(tmp_path, local_site):
    """--feed lists a feed; --feeds shows it; --follow alone polls every listed feed, sending the validators the
    last run saved; --remove drops its articles and its place in the list."""
    web = ROOT / "tests" / "fixtures" / "web"
    feed_url = local_site.url + "/feed"
    store = tmp_path / "store"
    allow = {"NEWSQA_ALLOW_PRIVATE_URLS": "true"}
    nothing = run("index", "--follow", store=store)
    assert nothing.returncode == 2 and "error: no feeds to follow: add one with --feed URL" in nothing.stderr
    feed = (web / "feed-rss.xml").read_text().replace("PAGE_URL", local_site.url + "/bridge")
    local_site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml", "ETag": '"7"'}, feed.encode())
    local_site.routes["/bridge"] = (200, {"Content-Type": "text/html"}, (web / "harbour-bridge.html").read_bytes())
    added = run("index", "--feed", feed_url, store=store, **allow)
    assert added.returncode == 0 and "2 added" in added.stdout, added.stdout + added.stderr

    listed = run("index", "--feeds", store=store)
    assert listed.returncode == 0, listed.stderr
    head, detail = listed.stdout.splitlines()[:2]
    assert head == f"{feed_url}  (Northport Gazette: Local)"
    assert detail.startswith("    2 articles · last read 20") and " UTC · last poll: 2 new · added 20" in detail

    followed = run("index", "--follow", "--polls", "1", store=store, **allow)  # a new process: validators from the list
    assert followed.returncode == 0, followed.stderr
    assert f" {feed_url}\n" in followed.stdout and "not modified since the last poll" in followed.stdout
    assert local_site.requests[-1][0] == "/feed" and local_site.requests[-1][1]["If-None-Match"] == '"7"'
    assert "last poll: not modified" in run("index", "--feeds", store=store).stdout

    removed = run("index", "--remove", feed_url, store=store)
    assert f"unlisted   feed {feed_url}" in removed.stdout and "store " in removed.stdout
    assert "0 articles" in removed.stdout
    assert "no feeds listed: add one with --feed URL" in run("index", "--feeds", store=store).stdout
