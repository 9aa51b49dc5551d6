"""The chat page: ask questions about the stored articles, read cited sources with their dates, add articles.

    python app.py                      # http://127.0.0.1:7860, ingesting seeds/ first if the store is empty
    python app.py --share-host         # on all interfaces: needs NEWSQA_AUTH=user:password

Widgets are built in small functions and every event is wired in `wire_events`; what the events do lives in
`page/` (no widgets there), so tests drive it without a browser.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.settings import Settings, SettingsError, offline_environment, settings_help

ROOT = Path(__file__).resolve().parent
SEEDS = ROOT / "seeds"
TITLE = "News QA"
EXAMPLES = [
    "On what date did Baku set up the Lachin checkpoint?",
    "How many ethnic Armenians live in the enclave reached through the Lachin Corridor?",
    "Where have the Armenian and Azerbaijani diplomats been meeting?",
    "What is the population of Tokyo?",
]
UPLOAD_TYPES = [".txt", ".md", ".json", ".jsonl", ".html", ".htm"]
# two cores: more simultaneous answers only queue inside torch; ingest runs alone
ANSWER_CONCURRENCY = 2
CSS = """
#sources-panel { max-height: 640px; overflow-y: auto; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;
          background: var(--background-fill-secondary); }
.source:target { outline: 2px solid var(--color-accent); }
.source-head { font-weight: 600; margin-bottom: 2px; }
.source-n { color: var(--color-accent); margin-right: 4px; }
.source-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.source-date { font-weight: 700; color: var(--body-text-color); }
.source-text { font-size: 0.92em; line-height: 1.45; white-space: pre-wrap; }
.source-text mark { background: #fde68a; color: #111; padding: 0 2px; border-radius: 3px; }
.source-text .short-answer { background: #fbbf24; border-radius: 3px; padding: 0 2px; }
.sources-empty { color: var(--body-text-color-subdued); padding: 12px 4px; }
.timeline { position: relative; margin: 6px 4px 14px; }
.tl-axis { position: absolute; left: 0; right: 0; height: 2px; background: var(--border-color-primary); }
.tl-dot { position: absolute; transform: translateX(-50%); min-width: 20px; height: 20px; border-radius: 10px;
          background: var(--color-accent); color: white; font-size: 12px; text-align: center; line-height: 20px; }
.tl-label { position: absolute; bottom: 0; font-size: 11px; color: var(--body-text-color-subdued); }
.tl-first { left: 0; } .tl-last { right: 0; }
#status { min-height: 1.5em; }
"""


class ExposureError(ValueError):
    """The page would be reachable from other machines without a password."""


@dataclass
class Widgets:
    """The components events read and write, named once here so `wire_events` reads like a diagram."""

    chat: Any
    question: Any
    ask: Any
    clear: Any
    status: Any
    sources: Any
    order: Any
    citations: Any
    as_of: Any
    date_from: Any
    date_to: Any
    top_k: Any
    backend: Any
    backend_caption: Any
    files: Any
    add: Any
    report: Any
    stats: Any
    urls: Any = None
    feed_url: Any = None
    add_feed: Any = None
    feeds: Any = None


def build_app(settings: Settings, assistant: Any = None) -> Any:
    """The page as a gr.Blocks, not launched; the assistant (else `qa.get_assistant(settings)`) is built on first
    use, so building the page does no work. Serve it with `app.launch(**launch_options(settings))`, which adds
    the page's CSS and theme (Gradio 6 takes them at launch) and the exposure checks."""
    offline_environment()
    import gradio as gr

    from page.events import AssistantPool, Page

    page = Page(settings, AssistantPool(settings, assistant))
    with gr.Blocks(title=TITLE, fill_width=True) as app:
        stats, caption = build_header(gr, settings, page)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat, question, ask, clear, status = build_chat(gr)
            with gr.Column(scale=2, min_width=320):
                sources, order, citations = build_sources(gr)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                as_of, date_from, date_to, top_k, backend = build_filters(gr, settings)
            with gr.Column(scale=2):
                files, urls, add, report, feed_url, add_feed, feeds = build_upload(gr, settings)
        w = Widgets(chat, question, ask, clear, status, sources, order, citations, as_of, date_from, date_to,
                    top_k, backend, caption, files, add, report, stats, urls, feed_url, add_feed, feeds)
        wire_events(gr, app, w, page)
    return app


def build_header(gr: Any, settings: Settings, page: Any) -> tuple[Any, Any]:
    gr.Markdown(f"# {TITLE}\nAnswers from your dated news articles. Every sentence is cited **[n]** to a passage, "
                "with the article's date; when the articles do not say, the page says so.")
    with gr.Row():
        stats = gr.Markdown("Loading the store…", elem_id="store-stats")
        caption = gr.Markdown(page.backend_caption(settings.backend), elem_id="backend-in-use")
    return stats, caption


def build_chat(gr: Any) -> tuple[Any, ...]:
    chat = gr.Chatbot(label="Conversation", height=520, elem_id="chat", buttons=["copy"], feedback_options=None,
                      placeholder="Ask about the articles: try an example below.")
    with gr.Row():
        question = gr.Textbox(show_label=False, placeholder="Ask a question about the articles…", scale=5,
                              elem_id="question", autofocus=True, max_lines=4)
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
        clear = gr.Button("New chat", scale=1, min_width=80, elem_id="clear")
    status = gr.Markdown("", elem_id="status")
    gr.Examples(EXAMPLES, inputs=[question], label="Example questions")
    return chat, question, ask, clear, status


def build_sources(gr: Any) -> tuple[Any, Any, Any]:
    from page.render import EMPTY_SOURCES, ORDERS

    gr.Markdown("### Sources")
    order = gr.Radio(list(ORDERS), value="relevance", label="Order", elem_id="order",
                     info="by date adds a timeline of the sources")
    sources = gr.HTML(EMPTY_SOURCES, elem_id="sources-panel")
    return sources, order, gr.State([])


def build_filters(gr: Any, settings: Settings) -> tuple[Any, ...]:
    from qa.synthesis import BACKENDS

    with gr.Accordion("Filters and answer backend", open=False, elem_id="filters"):
        with gr.Row():
            # "this week", "last month" in a question are read from this date
            as_of = gr.Textbox(label="As of", placeholder="YYYY-MM-DD (default: today)", elem_id="as-of")
            date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="date-from")
            date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", elem_id="date-to")
        with gr.Row():
            top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages to retrieve (top-k)",
                              elem_id="top-k")
            backend = gr.Dropdown(list(BACKENDS), value=settings.backend, label="Answer backend",
                                  elem_id="backend")
    return as_of, date_from, date_to, top_k, backend


def build_upload(gr: Any, settings: Settings) -> tuple[Any, ...]:
    with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
        gr.Markdown(f"`.txt`/`.md` with a `date:` line on top, `.json`/`.jsonl` records with a date, or saved web "
                    f"pages (`.html`, dated from the page); "
                    f"up to {settings.max_upload_mb:g} MB a file.")
        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Article files", elem_id="files")
        urls = gr.Textbox(label="Or web page URLs, one a line (dated from the page)", lines=2, elem_id="urls",
                          placeholder="https://...")
        add = gr.Button("Add to the store", variant="primary", elem_id="add")
        report = gr.Markdown("", elem_id="ingest-report")
        feed_url, add_feed, feeds = build_feeds(gr)
    return files, urls, add, report, feed_url, add_feed, feeds


def build_feeds(gr: Any) -> tuple[Any, Any, Any]:
    gr.Markdown("**Feeds** — an RSS/Atom feed is read now and listed below; `python -m index --follow` keeps "
                "every listed feed current.")
    with gr.Row():
        feed_url = gr.Textbox(show_label=False, placeholder="https://example.org/rss.xml", scale=4,
                              elem_id="feed-url")
        add_feed = gr.Button("Add the feed", scale=1, min_width=120, elem_id="add-feed")
    feeds = gr.Markdown("", elem_id="feeds")
    return feed_url, add_feed, feeds


def wire_events(gr: Any, app: Any, w: Widgets, page: Any) -> None:
    """Every event of the page, in one place."""
    ask_inputs = [w.question, w.chat, w.as_of, w.date_from, w.date_to, w.top_k, w.backend, w.order]
    ask_outputs = [w.chat, w.question, w.sources, w.citations, w.status]
    for trigger in (w.question.submit, w.ask.click):
        trigger(page.ask, ask_inputs, ask_outputs, api_visibility="private", concurrency_id="answer",
                concurrency_limit=ANSWER_CONCURRENCY, show_progress="minimal")
    w.clear.click(lambda: ([], "", page.resort([], "relevance"), [], ""), None,
                  [w.chat, w.question, w.sources, w.citations, w.status], api_visibility="private", queue=False)
    w.order.change(page.resort, [w.citations, w.order], [w.sources], api_visibility="private", queue=False,
                   show_progress="hidden")
    w.backend.change(page.backend_caption, [w.backend], [w.backend_caption], api_visibility="private", queue=False,
                     show_progress="hidden")

    # urls defaults to None so that API clients calling with files only keep working
    def add_articles(files: list[Any] | None, urls: str | None = None,
                     progress: Any = gr.Progress()) -> tuple[str, str]:
        return page.add_articles(files, progress, urls=urls or "")

    w.add.click(add_articles, [w.files, w.urls], [w.report, w.stats], api_name="add_articles", concurrency_limit=1,
                concurrency_id="ingest").then(lambda: (None, ""), None, [w.files, w.urls], api_visibility="private",
                                              queue=False)

    def add_feed(url: str, progress: Any = gr.Progress()) -> tuple[str, str, str]:
        return page.add_feed(url, progress)

    gr.on([w.feed_url.submit, w.add_feed.click], add_feed, [w.feed_url], [w.report, w.stats, w.feeds],
          api_name="add_feed", concurrency_limit=1, concurrency_id="ingest").then(
        lambda: "", None, [w.feed_url], api_visibility="private", queue=False)
    app.load(page.stats, None, [w.stats], api_visibility="private")
    app.load(page.feeds, None, [w.feeds], api_visibility="private")
    gr.api(page.answer_api, api_name="answer", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)


# --- serving ---------------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str) -> tuple[str, str] | None:
    """'user:password' -> (user, password); empty -> None; anything else is an error naming the variable."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ExposureError("NEWSQA_AUTH must look like user:password (both parts non-empty)")
    return user, password


def launch_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `app.launch` for these settings; refuses a non-loopback host without a password."""
    import gradio as gr

    auth = parse_auth(settings.auth)
    if not is_loopback(settings.host) and auth is None:
        raise ExposureError(f"refusing to serve the page on {settings.host} without a password: set "
                            "NEWSQA_AUTH=user:password, or keep NEWSQA_HOST=127.0.0.1")
    theme = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"],  # system fonts: no font downloads
                           font_mono=["ui-monospace", "monospace"])
    return dict(server_name=settings.host, server_port=settings.port, auth=auth, share=False, ssr_mode=False,
                max_file_size=int(settings.max_upload_mb * 1_000_000), show_error=False, css=CSS, theme=theme,
                footer_links=["api"], pwa=False, mcp_server=False)


def seed_if_empty(assistant: Any, settings: Settings, out: Any = sys.stdout) -> None:
    """First start: an empty embedded store gets seeds/, with a progress line, so the page answers at once. A
    Chroma server's archive is shared (docs/deployment.md): samples are not added to it behind its operator."""
    if settings.chroma_host or not SEEDS.is_dir() or assistant.store.stats().articles:
        return
    from index.ingest import ingest

    print(f"the store at {settings.store_dir} is empty: ingesting {SEEDS.name}/ …", file=out, flush=True)

    def progress(done: int, total: int) -> None:
        print(f"\r  embedding passages {done}/{total}", end="" if done < total else "\n", file=out, flush=True)

    report = ingest([SEEDS], settings, assistant.store, assistant.embedder, progress=progress)
    print(report.summary(), file=out, flush=True)


def warm(assistant: Any) -> threading.Thread:
    """Load the encoder now (exporting it if setup did not) and map the date-sorted vectors in the background,
    so the first question waits for neither; the page is usable meanwhile."""
    assistant.embedder.embed_query("warm up")
    store = assistant.store
    thread = threading.Thread(target=lambda: store.uses_date_copy and store.date_vectors(),
                              name="warm-date-vectors", daemon=True)
    thread.start()
    return thread


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description="The chat page over the stored articles.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=settings_help())
    parser.add_argument("--host", help="address to bind (overrides NEWSQA_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (overrides NEWSQA_PORT; default 7860)")
    parser.add_argument("--share-host", action="store_true",
                        help="serve on 0.0.0.0 so other machines can open the page; requires NEWSQA_AUTH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env(os.environ, host="0.0.0.0" if args.share_host else args.host, port=args.port)
        options = launch_options(settings)  # before any slow work: a refused exposure fails at once
        offline_environment()
        from index.store import StoreError
        from qa import get_assistant

        try:
            assistant = get_assistant(settings)
            seed_if_empty(assistant, settings)
            warm(assistant)
        except StoreError as exc:
            raise SettingsError(str(exc)) from None
        app = build_app(settings, assistant)
        app.launch(**options)
        return 0
    except (SettingsError, ExposureError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
