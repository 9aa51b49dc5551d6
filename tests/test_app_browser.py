"""The running page: Debian's Chromium driven by Playwright, and gradio_client, against a server on 127.0.0.1.

The server runs in this process on a free port, over a store of its own (seeds/ ingested once for the module),
so uploads here never change what other tests see. Screenshots go to test-output/ (gitignored).
"""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

import app
from index.settings import Settings
from tests.conftest import CHECKPOINT_Q, ROOT, SEEDS
from tests.test_app import NEW_ARTICLE, NEW_QUESTION

pytestmark = pytest.mark.slow
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = ROOT / "test-output"
WAIT_MS = 60_000  # two shared cores: a first answer can take a while when the machine is busy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """(url, settings) of the page serving its own seeded store on 127.0.0.1."""
    from index.ingest import ingest
    from index.store import open_store
    from qa.assistant import Assistant

    # private URLs allowed: the feed test serves its feed from 127.0.0.1
    settings = Settings(store_dir=tmp_path_factory.mktemp("served") / "store", port=free_port(), max_upload_mb=1,
                        allow_private_urls=True)
    store = open_store(settings)
    ingest([SEEDS], settings, store, embedder)
    assistant = Assistant.from_settings(settings, store, embedder)
    blocks = app.build_app(settings, assistant)
    blocks.launch(prevent_thread_lock=True, quiet=True, **app.launch_options(settings))
    yield f"http://127.0.0.1:{settings.port}/", settings
    blocks.close()
    store.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh dev (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    """A fresh tab on the page; any request to a host other than 127.0.0.1 is blocked and recorded."""
    url, _ = served
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.outside = []

    def guard(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            tab.outside.append(route.request.url)
            route.abort()

    tab.route("**/*", guard)
    tab.goto(url)
    tab.locator("#store-stats").get_by_text("articles").wait_for(timeout=WAIT_MS)
    yield tab
    context.close()


def ask(tab, question: str) -> None:
    tab.locator("#question textarea").fill(question)
    tab.locator("#ask").click()


def test_a_seed_question_shows_the_answer_and_its_dated_source(page):
    assert "2 articles, 9 passages, dated 2023-05-01 to 2023-05-04" in page.locator("#store-stats").inner_text()
    ask(page, CHECKPOINT_Q)
    page.locator("#sources-panel .source-date").first.wait_for(timeout=WAIT_MS)
    chat = page.locator("#chat")
    assert "after Baku on April 23 set up a checkpoint" in chat.inner_text()
    assert page.locator("#sources-panel .source-date").first.inner_text() == "2023-05-01"
    assert "seeds/002_7e68630bb1f8edc4.txt" in page.locator("#sources-panel .source-file").first.inner_text()
    assert "April 23" in page.locator("#sources-panel mark").first.inner_text()
    # the short answer first, in bold, and marked inside the quote of its source
    assert chat.locator("strong", has_text="April 23").count() >= 1
    assert page.locator("#sources-panel .short-answer").first.inner_text() == "April 23"
    chat.locator('a[href="#source-1"]').first.click()  # the [1] marker jumps to its source
    assert page.url.endswith("#source-1")

    page.locator("#order").get_by_text("date", exact=True).click()
    page.locator("#sources-panel .timeline .tl-dot").first.wait_for(timeout=WAIT_MS)
    assert "Answering with extractive" in page.locator("#backend-in-use").inner_text()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "chat-page.png"), full_page=True)
    assert page.outside == []


def test_an_empty_question_and_a_refusal_are_shown_as_such(page):
    page.locator("#ask").click()
    page.locator("#status").get_by_text("Please type a question.").wait_for(timeout=WAIT_MS)
    ask(page, "What is the population of Tokyo?")
    page.locator("#chat").get_by_text("Not found in the articles.").wait_for(timeout=WAIT_MS)
    assert page.locator("#sources-panel .source").count() == 0


def test_an_uploaded_article_is_reported_and_then_answers(page, tmp_path):
    article = tmp_path / "alat-ferry.txt"
    article.write_text(NEW_ARTICLE)
    page.locator("#add-articles").get_by_text("Add articles").first.click()
    page.locator("#files input[type=file]").set_input_files(str(article))
    page.locator("#files").get_by_text("alat-ferry.txt").first.wait_for(timeout=WAIT_MS)
    page.locator("#add").click()
    report = page.locator("#ingest-report")
    report.get_by_text("added").first.wait_for(timeout=WAIT_MS)
    assert "alat-ferry.txt" in report.inner_text() and "2023-06-12" in report.inner_text()
    page.locator("#store-stats").get_by_text("2023-06-12").wait_for(timeout=WAIT_MS)

    ask(page, NEW_QUESTION)
    page.locator("#sources-panel .source-date", has_text="2023-06-12").first.wait_for(timeout=WAIT_MS)
    assert "40 trucks a day" in page.locator("#chat").inner_text()
    page.screenshot(path=str(OUTPUT / "chat-page-after-upload.png"), full_page=True)
    assert page.outside == []


def test_gradio_client_gets_a_cited_answer(served):
    from gradio_client import Client

    url, _ = served
    client = Client(url, verbose=False)
    result = client.predict(CHECKPOINT_Q, "", "", "", 3, "", api_name="/answer")
    assert result["refused"] is False and "April 23" in result["text"] and "[1]" in result["text"]
    assert result["citations"][0]["date"] == "2023-05-01"
    assert result["citations"][0]["source"] == "seeds/002_7e68630bb1f8edc4.txt"
    week = client.predict("What did the foreign ministers do this week?", as_of="2023-05-04", api_name="/answer")
    assert week["date_window"] == "2023-04-27 to 2023-05-04 (from 'this week'), most recent first"
    with pytest.raises(Exception, match="Please type a question"):
        client.predict("   ", api_name="/answer")


def test_an_upload_named_with_a_path_stays_in_the_upload_folder(served, tmp_path):
    import httpx
    from gradio_client import Client

    url, settings = served
    body = NEW_ARTICLE.replace("Alat", "Sangachal")
    sent = httpx.post(url + "gradio_api/upload",
                      files={"files": ("../../../escaped.txt", body.encode(), "text/plain")}, timeout=30)
    temp_path = sent.json()[0]
    report, _ = Client(url, verbose=False).predict(
        [{"path": temp_path, "orig_name": "../../../escaped.txt", "meta": {"_type": "gradio.FileData"}}],
        api_name="/add_articles")
    assert report.startswith("- **added** `escaped.txt` — 2023-06-12")
    store_root = settings.store_dir.parent
    [written] = [p for p in store_root.rglob("escaped*.txt")]
    assert written.parent == settings.store_dir / "uploads" and written.name.startswith("escaped-")
    assert not any(p.name.startswith("escaped") for p in store_root.parent.iterdir())


def test_an_upload_over_the_size_limit_is_refused_by_the_server(served):
    import httpx

    url, settings = served
    sent = httpx.post(url + "gradio_api/upload", timeout=30,
                      files={"files": ("huge.txt", b"date: 2023-06-01\n\n" + b"x" * 1_100_000, "text/plain")})
    assert sent.status_code == 413 and "huge.txt" not in sent.text
    assert not (settings.store_dir / "uploads" / "huge.txt").exists()


def test_a_feed_added_on_the_page_is_reported_by_entry_and_listed_with_when_it_was_read(page, local_site):
    from tests.test_feeds import HTML, RSS, WEB, feed_bytes

    feed = local_site.url + "/feed"
    local_site.routes["/feed"] = (200, RSS, feed_bytes(local_site.url))
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    page.locator("#add-articles").get_by_text("Add articles").first.click()
    page.locator("#feed-url").get_by_role("textbox").fill(feed)
    page.locator("#add-feed").click()
    report = page.locator("#ingest-report")
    report.get_by_text("Harbour bridge reopens").first.wait_for(timeout=WAIT_MS)
    assert "2023-05-02 · Ferry timetable changes for the summer" in report.inner_text()
    assert "2 added, 0 replaced" in report.inner_text()
    feeds = page.locator("#feeds")
    feeds.get_by_text("Northport Gazette: Local").wait_for(timeout=WAIT_MS)
    row = feeds.locator("tr", has_text=feed)
    cells = [c.inner_text().strip() for c in row.locator("td").all()]
    assert re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d UTC", cells[1]), cells
    assert cells[2:] == ["2 new", "2"]
    assert page.locator("#feed-url").get_by_role("textbox").input_value() == ""
    page.screenshot(path=str(OUTPUT / "chat-page-feed-added.png"), full_page=True)

    page.reload()  # the list is the store's, not the tab's
    page.locator("#add-articles").get_by_text("Add articles").first.click()
    page.locator("#feeds").get_by_text(feed).wait_for(timeout=WAIT_MS)
    assert page.outside == []


def test_the_page_reads_only_http_feeds(served):
    from gradio_client import Client

    url, settings = served
    report, _, feeds = Client(url, verbose=False).predict("file:///etc/passwd", api_name="/add_feed")
    assert report == "**Refused scheme 'file:' (only http and https are fetched).**"
    assert "/etc/passwd" not in feeds


def test_the_readme_run_command_seeds_an_empty_store_and_serves_answers(tmp_path):
    """`python app.py` (what `make run` starts) on a fresh store: seeds/ go in first, then the page answers."""
    import subprocess
    import sys
    import time

    import httpx
    from gradio_client import Client

    port = free_port()
    env = dict(os.environ, NEWSQA_STORE_DIR=str(tmp_path / "store"), GRADIO_ANALYTICS_ENABLED="False")
    log = tmp_path / "app.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        assert server.poll() is None, log.read_text()
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(CHECKPOINT_Q, api_name="/answer")
        assert "April 23" in result["text"] and result["citations"][0]["date"] == "2023-05-01"
        printed = log.read_text()
        assert "is empty: ingesting seeds/" in printed and "2 added" in printed
    finally:
        server.terminate()
        server.wait(timeout=30)
