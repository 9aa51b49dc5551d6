"""The chat page without a browser: its handlers on the real seeded store, its formatting, uploads and exposure."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import app
from index.errors import StoreError
from index.settings import Settings
from page import render
from page.events import AssistantPool, Page, plain_history, redact
from page.uploads import safe_name, save_uploads, stored_name, upload_dir
from qa.results import Citation
from tests.conftest import CHECKPOINT_Q

SECRET = "sk-test-0123456789abcdef"
NEW_ARTICLE = """date: 2023-06-12
title: New ferry terminal opens in Alat

The Caspian Ferry Authority opened a new terminal in Alat on June 10, 2023.
The terminal can load 40 trucks a day onto ferries bound for Kazakhstan.
Officials said the terminal cost 18 million manat to build.
"""
NEW_QUESTION = "How many trucks a day can the new Alat ferry terminal load?"


def final(events):
    """The last (messages, question box, sources html, citations, status) an ask() stream yields."""
    *_, last = list(events)
    return last


@pytest.fixture
def page(seeded_settings, seeded_assistant):
    return Page(seeded_settings, AssistantPool(seeded_settings, seeded_assistant))


@pytest.fixture
def fresh_page(fresh_store, embedder):
    """A page over an empty store of its own, for uploads."""
    from qa.assistant import Assistant

    settings, store, _ = fresh_store
    assistant = Assistant.from_settings(settings, store, embedder)
    return Page(settings, AssistantPool(settings, assistant))


# --- building ---------------------------------------------------------------------------------------------

def test_building_the_page_opens_no_store_and_names_the_answer_endpoint(tmp_path):
    store_dir = tmp_path / "never-opened"
    blocks = app.build_app(Settings(store_dir=store_dir))
    names = {fn.api_name: fn for fn in blocks.fns.values()}
    assert not store_dir.exists()
    assert names["answer"].api_visibility == "public"
    assert names["add_articles"].api_visibility == "public"
    assert names["ask"].api_visibility == "private"  # the chat's own event is not the API


def test_no_secret_reaches_the_page_config(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings = Settings(store_dir=tmp_path / "s", backend="extractive", auth="ann:correct-horse-battery")
    config = json.dumps(app.build_app(settings).get_config_file(), default=str)
    assert SECRET not in config and "correct-horse-battery" not in config
    assert "extractive: quotes sentences from the articles, no LLM" in config


# --- asking -----------------------------------------------------------------------------------------------

def test_seed_question_streams_a_cited_answer_with_its_dated_source(page):
    events = list(page.ask(CHECKPOINT_Q, [], "", "", "", 5, "extractive", "relevance"))
    assert events[0][0][-1] == {"role": "assistant", "content": "…"}  # the question shows before the answer
    messages, box, sources, citations, status = events[-1]
    answer, listing = messages[-2]["content"], messages[-1]
    assert "April 23" in answer and "[**[1]**](#source-1)" in answer
    assert listing["metadata"]["title"] == "Sources (1)" and "**2023-05-01**" in listing["content"]
    assert box == "" and status == "Answered by extractive."
    assert citations[0].date == "2023-05-01"
    assert 'id="source-1"' in sources and '<span class="source-date">2023-05-01</span>' in sources
    assert "seeds/002_7e68630bb1f8edc4.txt" in sources
    assert "<mark>The phone calls came amid heightened tensions" in sources and "April 23" in sources


class StreamingAssistant:
    """Streams like an LLM backend: text pieces, then the checked Answer."""

    def __init__(self, real):
        self.real, self.settings, self.store, self.embedder = real, real.settings, real.store, real.embedder

    def answer_stream(self, question, **kwargs):
        final = self.real.answer(question, **kwargs)
        yield "Baku set up the checkpoint "
        yield "on April 23 [1]."
        yield final


def test_pieces_stream_into_the_chat_before_the_checked_answer_replaces_them(seeded_settings, seeded_assistant):
    page = Page(seeded_settings, AssistantPool(seeded_settings, StreamingAssistant(seeded_assistant)))
    shown = [messages[-1]["content"] for messages, *_ in page.ask(CHECKPOINT_Q, [])]
    assert shown[:3] == ["…", "Baku set up the checkpoint ", "Baku set up the checkpoint on April 23 [**[1]**](#source-1)."]
    assert shown[-1].startswith("**\\[1\\]**")  # the final answer is followed by its sources box


def test_a_refusal_is_shown_as_one_with_no_sources(page):
    messages, _, sources, citations, status = final(page.ask("What is the population of Tokyo?", [], "", "", ""))
    assert messages[-1]["content"].startswith("**Not found in the articles.** The articles do not say.")
    assert citations == [] and sources == render.EMPTY_SOURCES
    assert status == "No answer in the articles."


@pytest.mark.parametrize("question", ["", "   \n\t", None])
def test_an_empty_question_gets_a_message_and_leaves_the_chat_alone(page, question):
    earlier = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    (messages, _, _, _, status), = list(page.ask(question, earlier))
    assert messages == earlier
    assert status == "**Please type a question.**"


def test_a_question_over_the_limit_names_the_limit(page):
    (messages, _, _, _, status), = list(page.ask("why " * 1000, []))
    assert messages == []
    assert "the limit is 2,000" in status and "NEWSQA_MAX_QUESTION_CHARS" in status


def test_a_bad_date_filter_is_named(page):
    (_, box, _, _, status), = list(page.ask(CHECKPOINT_Q, [], "", "May 3", ""))
    assert box == CHECKPOINT_Q  # kept, so it can be asked again
    assert status == "**From='May 3' is not an ISO date (YYYY-MM-DD).**"


def test_the_published_from_and_to_filters_bound_the_sources(page):
    *_, citations, _ = final(page.ask(CHECKPOINT_Q, [], "", "", "2023-05-02"))
    assert [c.date for c in citations][:1] == ["2023-05-01"]
    *_, later, _ = final(page.ask("How many ethnic Armenians live in the enclave reached through the Lachin "
                                  "Corridor?", [], "", "2023-05-02", ""))
    assert later and all(c.date >= "2023-05-02" for c in later)
    messages, _, _, before, _ = final(page.ask(CHECKPOINT_Q, [], "", "", "2023-04-30"))
    assert before == [] and messages[-1]["content"].startswith("**Not found in the articles.**")


def test_a_follow_up_is_answered_through_the_conversation(page):
    alone, *_ = final(page.ask("On what date did they do that?", []))
    assert alone[-1]["content"].startswith("**Not found in the articles.**")
    first, *_ = final(page.ask("Who set up a checkpoint on the Lachin Corridor?", []))
    follow, *_ = final(page.ask("On what date did they do that?", first))
    assert "April 23" in follow[-2]["content"]
    assert len(follow) == len(first) + 3  # question, answer, sources


def test_chat_history_in_gradio_6_shape_becomes_plain_turns():
    messages = [{"role": "user", "content": [{"type": "text", "text": "Who?"}], "metadata": None},
                {"role": "assistant", "content": [{"type": "text", "text": "Baku [1]"}]},
                {"role": "assistant", "content": "[1] ...", "metadata": {"title": "Sources (1)"}}]
    assert plain_history(messages) == [{"role": "user", "content": "Who?"},
                                       {"role": "assistant", "content": "Baku [1]"}]


class BrokenBackend:
    def answer_stream(self, question, **kwargs):
        raise ConnectionError(f"http://127.0.0.1:9/v1 refused the connection (api key {SECRET}, pw hunter2-pw)")
        yield  # a generator, like the real ones


class WithBrokenBackend:
    """The seeded assistant, whose 'openai' backend cannot connect."""

    def __init__(self, real):
        self.real, self.settings, self.store, self.embedder = real, real.settings, real.store, real.embedder

    def answer_stream(self, question, **kwargs):
        return self.real.answer_stream(question, **kwargs)

    def with_backend(self, name):
        return BrokenBackend()


def test_a_backend_failure_is_shown_without_secrets_and_the_next_question_works(seeded_settings,
                                                                                seeded_assistant, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings = seeded_settings.replace(auth="ann:hunter2-pw")
    page = Page(settings, AssistantPool(settings, WithBrokenBackend(seeded_assistant)))
    messages, *_, status = final(page.ask(CHECKPOINT_Q, [], backend="openai"))
    failure = messages[-1]["content"]
    assert failure.startswith("**The openai backend failed:**") and "refused the connection" in failure
    assert SECRET not in failure and "hunter2" not in failure
    assert "(api key \\*\\*\\*, pw \\*\\*\\*)" in failure
    assert status == "The last question failed; the page still works."
    messages, *_ = final(page.ask(CHECKPOINT_Q, messages, backend="extractive"))
    assert "April 23" in messages[-2]["content"]


class WithSilentStore(WithBrokenBackend):
    """The seeded assistant, as if its Chroma server had stopped answering."""

    def answer_stream(self, question, **kwargs):
        raise StoreError("the Chroma server at 127.0.0.1:9 did not answer within 3 s (NEWSQA_TIMEOUT_S)")
        yield

    def answer(self, question, **kwargs):
        return next(self.answer_stream(question))

    def with_backend(self, name):
        return self


def test_a_store_failure_is_named_as_one_not_as_the_backend(seeded_settings, seeded_assistant):
    import gradio as gr

    page = Page(seeded_settings, AssistantPool(seeded_settings, WithSilentStore(seeded_assistant)))
    messages, *_, status = final(page.ask(CHECKPOINT_Q, []))
    assert messages[-1]["content"].startswith("**The store failed:** the Chroma server at 127.0.0.1:9 did not "
                                              "answer within 3 s (NEWSQA\\_TIMEOUT\\_S)")
    assert "another backend" not in messages[-1]["content"]
    assert status == "The last question failed; the page still works."
    with pytest.raises(gr.Error, match="the store failed: the Chroma server at 127.0.0.1:9 did not answer"):
        page.answer_api(CHECKPOINT_Q)


def test_an_unavailable_backend_is_reported_in_the_chat(page):
    messages, *_ = final(page.ask(CHECKPOINT_Q, [], backend="no-such-backend"))
    assert "**The no-such-backend backend failed:**" in messages[-1]["content"]
    assert "is not one of extractive" in messages[-1]["content"]


def test_the_answer_endpoint_returns_json_with_dated_citations(page):
    record = page.answer_api(CHECKPOINT_Q, top_k=3)
    assert record["refused"] is False and "April 23" in record["text"] and "[1]" in record["text"]
    assert record["short_answer"] == "April 23"
    first = record["citations"][0]
    assert first["number"] == 1 and first["date"] == "2023-05-01" and "April 23" in first["quotes"][0]
    assert first["short_answer"] == "April 23"
    json.dumps(record)


def test_the_answer_endpoint_rejects_an_empty_question_with_its_reason(page):
    import gradio as gr

    with pytest.raises(gr.Error, match="Please type a question"):
        page.answer_api("  ")


def test_the_backend_caption_names_the_model(seeded_settings, page):
    assert page.backend_caption("openai") == f"Answering with **openai: {seeded_settings.openai_model}**"
    assert page.backend_caption("extractive") == "Answering with **extractive: quotes sentences from the articles, no LLM**"


def test_store_stats_give_articles_passages_and_date_span(page):
    assert page.stats() == "**2** articles, **9** passages, dated **2023-05-01** to **2023-05-04**"


# --- formatting (pure) ------------------------------------------------------------------------------------

def cite(number, date, text="A passage.", quotes=(), title="T", url="", source="a/b.txt"):
    return Citation(number=number, title=title, date=date, source=source, text=text, score=0.5, url=url,
                    quotes=tuple(quotes))


def test_by_date_sorts_oldest_first_and_draws_a_timeline():
    cs = [cite(1, "2023-05-04"), cite(2, "2023-05-01"), cite(3, "2023-05-04")]
    by_date = render.sources_html(cs, "date")
    assert [c.number for c in render.sort_citations(cs, "date")] == [2, 1, 3]
    assert by_date.index('id="source-2"') < by_date.index('id="source-1"') < by_date.index('id="source-3"')
    assert by_date.startswith('<div class="timeline"')
    assert 'left:4.0%;top:4px" title="2023-05-01: T">2<' in by_date
    assert 'left:96.0%;top:26px" title="2023-05-04: T">3<' in by_date  # same day: stacked
    relevance = render.sources_html(cs, "relevance")
    assert "timeline" not in relevance and relevance.index('id="source-1"') < relevance.index('id="source-2"')


def test_passages_are_escaped_and_quotes_marked_across_line_breaks():
    html = render.highlight("Intro <b>x</b>. The checkpoint\nopened on April 23. End.",
                            ["The checkpoint opened on April 23."])
    assert html == "Intro &lt;b&gt;x&lt;/b&gt;. <mark>The checkpoint\nopened on April 23.</mark> End."


def test_only_http_links_are_clickable():
    assert 'href="https://example.com/a?b=1&amp;c=2"' in render.source_card(cite(1, "2023-01-01",
                                                                               url="https://example.com/a?b=1&c=2"))
    assert "href" not in render.source_card(cite(1, "2023-01-01", url="javascript:alert(1)"))


def test_markers_become_links_and_article_markdown_is_escaped():
    assert render.link_markers("A *b* [2] <img src=x>") == r"A \*b\* [**[2]**](#source-2) \<img src=x\>"


# --- uploads ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sent, kept", [
    ("news.txt", "news.txt"),
    ("../../../etc/cron.d/evil.txt", "evil.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/abs/path/a b (1).json", "a_b_1_.json"),
    (".hidden.jsonl", "hidden.jsonl"),
    ("..", "upload"),
    ("x\x00.txt", "x.txt"),
    ("a" * 300 + ".txt", "a" * 116 + ".txt"),
])
def test_upload_names_lose_their_paths(sent, kept):
    assert safe_name(sent) == kept


def test_uploads_are_copied_inside_the_upload_folder_only(tmp_path):
    source = tmp_path / "incoming" / "tmpfile"
    source.parent.mkdir()
    source.write_text(NEW_ARTICLE)
    folder = tmp_path / "store" / "uploads"
    saved, names, rejected = save_uploads([(str(source), "../../escape.txt"), (str(source), "notes.exe")], folder,
                                          max_bytes=10_000)
    assert [p.parent for p in saved] == [folder] and names[saved[0]] == "escape.txt"
    assert saved[0].name.startswith("escape-") and not (tmp_path / "escape.txt").exists()
    assert [r.reason.split(" (")[0] for r in rejected] == ["unsupported file type"]
    _, _, too_big = save_uploads([(str(source), "big.txt")], folder, max_bytes=100)
    assert "over the 0.0001 MB upload limit (NEWSQA_MAX_UPLOAD_MB)" in too_big[0].reason
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [saved[0].name, "tmpfile"]


def test_stored_names_are_safe_and_unique_to_the_content():
    assert stored_name("a b.json", "0123456789abcdef") == "a_b-0123456789ab.json"
    assert stored_name("a_b.json", "fedcba9876543210") == "a_b-fedcba987654.json"
    assert stored_name("../../x", "0123456789abcdef") == "x-0123456789ab"
    assert len(stored_name("a" * 300 + ".txt", "0" * 64)) <= 120


def test_added_articles_are_reported_per_file_and_then_answer(fresh_page, tmp_path):
    good = tmp_path / "alat.txt"
    good.write_text(NEW_ARTICLE)
    undated = tmp_path / "undated.md"
    undated.write_text("title: No date\n\nJust text without any date line at all.")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    traversal = SimpleNamespace(path=str(good), orig_name="../../outside.txt")
    calls = []
    report, stats = fresh_page.add_articles([str(good), str(undated), str(broken), traversal],
                                            progress=lambda fraction, desc: calls.append((fraction, desc)))
    rows = {line.split("`")[1]: line for line in report.splitlines() if line.startswith("- ")}
    assert rows["alat.txt"] == "- **added** `alat.txt` — 2023-06-12 · New ferry terminal opens in Alat"
    assert rows["outside.txt"] == "- **duplicate** `outside.txt` — same text as alat.txt"
    assert rows["undated.md"].startswith("- **rejected** `undated.md` — no date found: start the file with")
    assert rows["broken.json"].startswith("- **rejected** `broken.json` — invalid JSON: Expecting property name")
    assert len(rows) == 4
    assert stats == "**1** articles, **1** passages, dated **2023-06-12** to **2023-06-12**"
    assert calls[-1] == (1.0, "embedding passages 1/1")
    folder = upload_dir(fresh_page.settings.store_dir)
    # the rejected and the duplicate uploads are not kept: the folder holds what the store holds
    assert [p.name.split("-")[0] for p in folder.iterdir()] == ["alat"]
    assert not (fresh_page.settings.store_dir.parent / "outside.txt").exists()

    again, _ = fresh_page.add_articles([str(good)])
    assert again.startswith("- **unchanged** `alat.txt` — 2023-06-12")
    messages, _, sources, citations, _ = final(fresh_page.ask(NEW_QUESTION, []))
    assert "40 trucks" in messages[-2]["content"] and citations[0].date == "2023-06-12"
    # the API shows the name the file was uploaded with, never a path on the server
    assert fresh_page.answer_api(NEW_QUESTION)["citations"][0]["source"] == "alat.txt"


def test_a_same_named_upload_is_a_new_source_and_erases_nothing(fresh_page, tmp_path):
    team_a, team_b = tmp_path / "a", tmp_path / "b"
    team_a.mkdir(), team_b.mkdir()
    (team_a / "articles.json").write_text(json.dumps(
        [{"title": "Ferry terminal", "date": "2023-06-12", "text": "The Alat terminal loads 40 trucks a day."}]))
    (team_b / "articles.json").write_text(json.dumps(
        [{"title": "Bridge", "date": "2023-06-13", "text": "The new Kura bridge carries 900 cars an hour."}]))
    (team_b / "a b.json").write_text(json.dumps(
        [{"title": "Port", "date": "2023-06-14", "text": "Baku port handled 7 million tonnes of cargo."}]))
    (team_a / "a_b.json").write_text(json.dumps(
        [{"title": "Rail", "date": "2023-06-15", "text": "The rail line to Kars reopened after repairs."}]))
    reports = [fresh_page.add_articles([str(path)])[0] for path in
               (team_a / "articles.json", team_b / "articles.json", team_b / "a b.json", team_a / "a_b.json")]
    assert [r.split("**")[1] for r in reports] == ["added"] * 4
    assert "`articles.json`" in reports[1] and all("1 added, 0 replaced, 0 unchanged, 0 duplicate, 0 removed" in r
                                                   for r in reports)
    assert fresh_page.pool.default().store.stats().articles == 4
    assert len(list(upload_dir(fresh_page.settings.store_dir).iterdir())) == 4
    for question, fact in (("How many trucks a day does the Alat terminal load?", "40 trucks"),
                           ("How many cars an hour does the Kura bridge carry?", "900 cars")):
        assert fact in fresh_page.answer_api(question)["text"]


def test_a_saved_page_and_pasted_urls_are_added_or_refused_with_reasons(fresh_page):
    page = Path(__file__).resolve().parent / "fixtures" / "web" / "harbour-bridge.html"
    report, _ = fresh_page.add_articles([str(page)], urls="http://127.0.0.1:9/news\n file:///etc/passwd ")
    rows = {line.split("`")[1]: line for line in report.splitlines() if line.startswith("- ")}
    assert rows["harbour-bridge.html"].startswith("- **added** `harbour-bridge.html` — 2023-05-01 · Harbour bridge")
    assert rows["http://127.0.0.1:9/news"].startswith("- **rejected** `http://127.0.0.1:9/news` — refused: 127.0.0.1 "
                                                      "is a private or loopback address")
    assert "refused scheme 'file:'" in rows["file:///etc/passwd"]


def test_adding_nothing_asks_for_files(fresh_page):
    report, stats = fresh_page.add_articles(None)
    assert report == "**Choose one or more .txt, .md, .json, .jsonl or .html files, or paste URLs, first.**"
    assert stats == "**The store is empty.** Add articles below to start."


def test_the_feed_endpoint_is_named_and_public(tmp_path):
    names = {fn.api_name: fn for fn in app.build_app(Settings(store_dir=tmp_path / "s")).fns.values()}
    assert names["add_feed"].api_visibility == "public"


@pytest.mark.parametrize("url, said", [
    ("", "**Paste the address of an RSS or Atom feed first.**"),
    ("/etc/passwd", "**Refused scheme '(none):' (only http and https are fetched).**"),
    ("https://a.example.org/rss https://b.example.org/rss", "**One feed address at a time.**"),
    ("http://127.0.0.1:9/rss.xml", "- **rejected** `http://127.0.0.1:9/rss.xml` — refused: 127.0.0.1 is a private "
                                   "or loopback address (127.0.0.1); set NEWSQA\\_ALLOW\\_PRIVATE\\_URLS=true"),
])
def test_a_feed_url_that_is_empty_not_http_or_private_is_refused_and_not_listed(fresh_page, url, said):
    report, _, feeds = fresh_page.add_feed(url)
    assert report.startswith(said)
    assert feeds == "*No feeds yet: paste a feed's address above and it is listed here.*"


def test_the_feed_table_shows_what_feeds_say_as_text():
    from index.feedlist import FeedRecord

    hostile = FeedRecord(url="https://x.example.org/feed", title="<img src=x onerror=alert(1)> | *big*",
                         added="2026-12-01T10:00:00+00:00", last_read="2026-12-01T10:05:00+00:00",
                         last_status="HTTP 500 `oops` | down")
    table = render.feeds_markdown([hostile], {"https://x.example.org/feed": 3})
    assert table.splitlines()[2] == (r"| **\<img src=x onerror=alert(1)\> \| \*big\*** · https://x.example.org/feed "
                                     r"| 2026-12-01 10:05 UTC | HTTP 500 'oops' \| down | 3 |")


# --- exposure and the command line ------------------------------------------------------------------------

def test_the_page_binds_loopback_by_default_with_the_upload_limit():
    options = app.launch_options(Settings())
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 7860
    assert options["auth"] is None and options["share"] is False
    assert options["max_file_size"] == 25_000_000


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])
def test_sharing_beyond_loopback_without_a_password_is_refused(host):
    with pytest.raises(app.ExposureError, match="without a password"):
        app.launch_options(Settings(host=host))


def test_sharing_with_a_password_passes_it_to_gradio():
    options = app.launch_options(Settings(host="0.0.0.0", auth="ann:s3cret:with:colons"))
    assert options["server_name"] == "0.0.0.0" and options["auth"] == ("ann", "s3cret:with:colons")


@pytest.mark.parametrize("auth", ["justuser", ":pw", "user:"])
def test_a_malformed_password_setting_is_refused(auth):
    with pytest.raises(app.ExposureError, match="user:password"):
        app.launch_options(Settings(host="0.0.0.0", auth=auth))


def test_share_host_without_a_password_exits_before_any_work(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("NEWSQA_AUTH", raising=False)
    monkeypatch.setenv("NEWSQA_STORE_DIR", str(tmp_path / "store"))
    assert app.main(["--share-host"]) == 2
    assert "refusing to serve the page on 0.0.0.0 without a password" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()


def test_help_lists_the_flags_and_every_setting(capsys):
    with pytest.raises(SystemExit) as exit_:
        app.main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "--share-host" in out and "NEWSQA_HOST" in out and "NEWSQA_MAX_UPLOAD_MB" in out


def test_secrets_are_redacted_from_messages():
    env = {"OPENAI_API_KEY": SECRET, "HOME": "/root", "NEWSQA_AUTH_TOKEN": "tok-123456"}
    assert redact(f"failed with {SECRET} and tok-123456 in /root", env) == "failed with *** and *** in /root"
