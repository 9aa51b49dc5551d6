"""20 concurrent users through the running page (gradio_client on 127.0.0.1), alone, then in waves of 20 for as
long as an upload of 61 articles is being ingested; then two app processes on one `chroma run` answering while a
third process ingests (the deployment page's setup). Bounded in count and time. Prints the throughput and
latencies, and writes the first to test-output/load-report.json (gitignored):

    .venv/bin/python -m pytest tests/test_load.py -s
"""
from __future__ import annotations

import json
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

import app
from index.settings import Settings
from tests.conftest import CHECKPOINT_Q, ROOT, SEEDS
from tests.test_app import NEW_ARTICLE, NEW_QUESTION
from tests.test_reliability import (SECRET, assert_consistent, assistant_over, free_port, key_echoing_endpoint,
                                    write_corpus)

pytestmark = pytest.mark.slow
USERS = 20            # questions in flight at once
TIME_LIMIT_S = 240    # for all of them, on two shared cores
ADDED_ARTICLES = 60   # generated articles uploaded while the questions run (plus one that answers NEW_QUESTION)
QUESTIONS = [  # (question, fact the answer must state, date of the article that says it)
    (CHECKPOINT_Q, "April 23", "2023-05-01"),
    ("How many ethnic Armenians live in the enclave reached through the Lachin Corridor?", "120,000", "2023-05-04"),
    ("Where have the Armenian and Azerbaijani diplomats been meeting?", "Arlington", "2023-05-04"),
]
REPORT = ROOT / "test-output" / "load-report.json"


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """(url, settings, store) of the page launched on a free 127.0.0.1 port over its own seeded store, with an
    OpenAI key in the environment and its openai backend pointed at an endpoint that echoes the key back."""
    from index.ingest import ingest
    from index.store import open_store

    with pytest.MonkeyPatch.context() as env, key_echoing_endpoint() as openai_url:
        env.setenv("OPENAI_API_KEY", SECRET)
        settings = Settings(store_dir=tmp_path_factory.mktemp("load") / "store", port=free_port(),
                            openai_base_url=openai_url, timeout_s=10.0)
        store = open_store(settings)
        ingest([SEEDS], settings, store, embedder)
        blocks = app.build_app(settings, assistant_over(settings, store, embedder))
        blocks.launch(prevent_thread_lock=True, quiet=True, **app.launch_options(settings))
        yield f"http://127.0.0.1:{settings.port}/", settings, store
        blocks.close()
        store.close()


def users(url: str, count: int) -> list:
    """One gradio_client per user, as each browser has its own session: a Client shares one event stream among
    the predictions in flight on it, and concurrent ones on one Client can be cancelled by its own races."""
    from gradio_client import Client

    return [Client(url, verbose=False) for _ in range(count)]


def ask_all(clients: list) -> tuple[list[tuple[int, dict, float]], float]:
    """One question per client at once, cycling through QUESTIONS: ([(question index, answer, seconds)], wall
    seconds)."""
    def one(i: int) -> tuple[int, dict, float]:
        started = time.perf_counter()
        result = clients[i].predict(QUESTIONS[i % len(QUESTIONS)][0], api_name="/answer")
        return i % len(QUESTIONS), result, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = [pool.submit(one, i) for i in range(len(clients))]
        done, pending = wait(futures, timeout=TIME_LIMIT_S)
        assert not pending, f"{len(pending)} of {len(clients)} questions unanswered after {TIME_LIMIT_S} s"
    return [f.result() for f in futures], time.perf_counter() - started


def assert_correct(answers: list[tuple[int, dict, float]]) -> None:
    for i, result, _ in answers:
        _, fact, date = QUESTIONS[i]
        assert not result["refused"] and fact in result["text"] and "[1]" in result["text"], result
        assert any(c["date"] == date and fact in c["text"] for c in result["citations"]), result["citations"]


def figures(answers: list[tuple[int, dict, float]], wall: float) -> dict[str, float]:
    latencies = sorted(seconds for *_, seconds in answers)
    return {"questions": len(answers), "wall_s": round(wall, 2),
            "throughput_qps": round(len(answers) / wall, 2),
            "p50_s": round(statistics.median(latencies), 2),
            "p95_s": round(latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)], 2),
            "max_s": round(latencies[-1], 2)}


def test_20_concurrent_questions_get_cited_answers_alone_and_during_an_ingest(served, tmp_path):
    from gradio_client import Client, handle_file

    url, settings, store = served
    client = Client(url, verbose=False)   # the uploader's
    client.predict(CHECKPOINT_Q, api_name="/answer")   # warm: the first answer loads what every later one reuses
    askers = users(url, USERS)
    alone, wall = ask_all(askers)
    assert_correct(alone)
    report = {"alone": figures(alone, wall)}

    write_corpus(tmp_path / "new", count=ADDED_ARTICLES)
    (tmp_path / "new" / "alat-ferry.txt").write_text(NEW_ARTICLE)
    files = [handle_file(str(p)) for p in sorted((tmp_path / "new").iterdir())]
    with ThreadPoolExecutor(max_workers=1) as background:
        started = time.perf_counter()
        adding = background.submit(client.predict, files, api_name="/add_articles")
        during, wall = [], 0.0
        while not adding.done() or not during:   # waves of USERS questions until the upload is ingested
            assert time.perf_counter() - started < TIME_LIMIT_S, "the ingest did not finish in time"
            wave, seconds = ask_all(askers)
            during, wall = during + wave, wall + seconds
        added, stats = adding.result()
        ingest_s = time.perf_counter() - started
    assert_correct(during)
    assert added.count("**added**") == ADDED_ARTICLES + 1 and ", 0 rejected;" in added, added
    written_s = float(re.search(r"chunks written in ([\d.]+) s", added)[1])   # the ingest itself, server side
    report["during_ingest"] = figures(during, wall) | {"upload_and_ingest_s": round(ingest_s, 2),
                                                        "ingest_s": written_s}

    # the store came through whole, and the new article answers
    assert store.stats().articles == 2 + ADDED_ARTICLES + 1
    assert_consistent(store, complete=True)
    assert "40 trucks a day" in client.predict(NEW_QUESTION, api_name="/answer")["text"]

    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print("\nload:", json.dumps(report))


def test_the_running_page_never_serves_the_openai_key(served, caplog):
    import httpx
    from gradio_client import Client

    url, _, _ = served
    result = Client(url, verbose=False).predict(CHECKPOINT_Q, backend="openai", api_name="/answer")
    assert result["backend"] == "extractive" and "April 23" in result["text"]
    assert "Incorrect API key provided: Bearer ***" in result["notice"]
    pages = [httpx.get(url + path, timeout=30) for path in ("config", "")]
    assert [page.status_code for page in pages] == [200, 200]
    served_text = [json.dumps(result), *(page.text for page in pages), caplog.text]
    assert "Bearer ***" in caplog.text and not [text for text in served_text if SECRET in text]


# --- two app processes on one Chroma server while a third process ingests (docs/deployment.md) ---------------
from tests.test_deployment import SYNC_BOUND_S, deployment, until  # noqa: E402,F401  (the fixture, by name)

PER_APP = 5   # questions in flight at each app process at once


def test_two_app_processes_answer_correctly_while_a_third_ingests_and_both_then_see_it_all(deployment, tmp_path):
    """The deployment page's servers; seeds/ ingested by its command; then 61 articles ingested by a third process
    while both pages answer waves of questions: every answer right and cited, nothing lost, and within the sync
    bound both pages answer from the new articles."""
    from gradio_client import Client

    from index.store import make_store

    ingest = next(c for c in deployment.commands if " -m index " in c and "--remove" not in c)
    deployment.run(ingest)
    clients = [Client(url, verbose=False) for url in deployment.app_urls()]
    for client in clients:   # warm, and both see seeds/ before the load starts
        assert until(lambda: "April 23" in client.predict(CHECKPOINT_Q, api_name="/answer")["text"])
    askers = [asker for url in deployment.app_urls() for asker in users(url, PER_APP)]

    write_corpus(tmp_path / "new", count=ADDED_ARTICLES)
    (tmp_path / "new" / "alat-ferry.txt").write_text(NEW_ARTICLE)
    adding = deployment.run(ingest.replace("seeds/", str(tmp_path / "new")), wait=False)
    started, answers = time.perf_counter(), []

    while adding.poll() is None or not answers:   # waves of questions at both pages until the ingest ends
        assert time.perf_counter() - started < TIME_LIMIT_S, "the ingest did not finish in time"
        answers += ask_all(askers)[0]
    output = adding.stdout.read()
    assert adding.returncode == 0 and f"{ADDED_ARTICLES + 1} added" in output and " 0 rejected" in output, output
    assert_correct(answers)

    for client in clients:
        assert until(lambda: "40 trucks a day" in client.predict(NEW_QUESTION, api_name="/answer")["text"])
    store = make_store(Settings(store_dir=tmp_path / "check", chroma_host="127.0.0.1",
                                chroma_port=deployment.ports["8000"]))
    try:
        assert store.stats().articles == 2 + ADDED_ARTICLES + 1
        assert_consistent(store, complete=True)
    finally:
        store.close()
    report = figures(answers, time.perf_counter() - started)
    print("\nload, two app processes during an ingest:", json.dumps(report))
