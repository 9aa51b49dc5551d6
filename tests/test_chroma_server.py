"""Client/server mode against a real `chroma run` server on 127.0.0.1."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest

from index.ingest import ingest, remove
from index.settings import Settings
from index.server import Guarded
from index.store import StoreError, open_store
from qa.assistant import Assistant
from tests.conftest import CHECKPOINT_Q, ROOT, SEEDS

VISIBLE_WITHIN_S = 10.0   # the bound on how soon every process sees another's write


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(data: Path) -> tuple[subprocess.Popen, int]:
    """A real `chroma run` on 127.0.0.1, answering on its port (or the test fails within 60 s)."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("chroma run did not start within 60 s")


def stop_chroma(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGCONT)   # a stopped process ignores SIGTERM until continued
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    proc, port = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    yield port
    stop_chroma(proc)


@pytest.mark.slow
def test_server_mode_ingests_filters_and_answers(chroma_server, tmp_path, embedder):
    settings = Settings(store_dir=tmp_path / "local", chroma_host="127.0.0.1", chroma_port=chroma_server)
    store = open_store(settings)
    first = ingest([SEEDS], settings, store, embedder)
    second = ingest([SEEDS], settings, store, embedder)
    assert len(first.added) == 2 and second.chunks_embedded == 0
    assistant = Assistant.from_settings(settings, store, embedder)
    result = assistant.answer(CHECKPOINT_Q)
    assert "April 23" in result.text and result.citations[0].date == "2023-05-01"
    passages, _ = assistant.retrieve("Lachin corridor talks", date_from="2023-05-03")
    assert passages and {p.date for p in passages} == {"2023-05-04"}


@pytest.mark.slow
def test_keyword_index_is_rebuilt_from_the_server_when_missing(chroma_server, tmp_path, embedder):
    settings = Settings(store_dir=tmp_path / "a", chroma_host="127.0.0.1", chroma_port=chroma_server,
                        collection="rebuild-test")
    ingest([SEEDS], settings, open_store(settings), embedder)
    other_machine = settings.replace(store_dir=tmp_path / "b")   # same server, no local keyword index yet
    store = open_store(other_machine)
    assert store.lexical.count() == store.chunks.count() > 0
    assert store.lexical.search("Arlington Virginia", 3)
    assert all(len(s) == 48 for _, s in store.lexical.sketches_between(None, None))   # for the window search


@pytest.mark.slow
def test_as_of_holds_for_a_process_that_has_not_seen_the_newer_articles(chroma_server, tmp_path, embedder):
    """Process B opened the shared store before process A ingested: B's keyword index knows no dates, and a date
    filter must still reach the server rather than be dropped (asked as of 2023-05-02, nothing from 05-04)."""
    settings = Settings(store_dir=tmp_path / "b", chroma_host="127.0.0.1", chroma_port=chroma_server,
                        collection="as-of-test")
    b = Assistant.from_settings(settings, open_store(settings), embedder)
    ingest([SEEDS], settings.replace(store_dir=tmp_path / "a"), open_store(settings.replace(store_dir=tmp_path / "a")),
           embedder)
    assert b.store.lexical.count() == 0 < b.store.chunks.count()
    passages, _ = b.retrieve("Lachin corridor talks Blinken", as_of="2023-05-02")
    assert passages and max(p.date for p in passages) <= "2023-05-02"
    result = b.answer("What did Blinken discuss about the Lachin corridor?", as_of="2023-05-02")
    assert all(c.date <= "2023-05-02" for c in result.citations), result.citations


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = Settings(store_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    started = time.time()
    with pytest.raises(StoreError, match=r"the Chroma server at 127\.0\.0\.1:\d+ is unreachable"):
        open_store(settings)
    assert time.time() - started < 30


@pytest.mark.slow
def test_a_reopened_store_catches_up_from_the_change_log_without_a_rebuild(chroma_server, tmp_path, embedder,
                                                                           caplog):
    settings = Settings(store_dir=tmp_path / "a", chroma_host="127.0.0.1", chroma_port=chroma_server,
                        collection="reopen-test")
    other_machine = settings.replace(store_dir=tmp_path / "b")
    open_store(other_machine).close()   # it ran once, before the ingest: its keyword index follows the log since
    ingest([SEEDS], settings, open_store(settings), embedder)
    with caplog.at_level(logging.INFO, logger="index.store"):
        store = open_store(other_machine)
    assert "rebuilding" not in caplog.text
    assert store.lexical.count() == store.chunks.count() > 0 and store.lexical.search("Arlington Virginia", 3)
    assert all(len(s) == 48 for _, s in store.lexical.sketches_between(None, None))   # taken in with the terms


def test_a_store_reopened_after_its_own_ingest_reads_none_of_it_back(chroma_server, tmp_path, embedder,
                                                                     monkeypatch):
    """The ingest ends by moving the keyword index's change-log mark past its own writes: reopening the same
    folder re-reads no article (at 100k chunks, re-reading them all made a restart wait 55 s)."""
    from index.vector_index import ChromaVectorIndex

    settings = Settings(store_dir=tmp_path / "a", chroma_host="127.0.0.1", chroma_port=chroma_server,
                        collection="own-writes-test")
    store = open_store(settings)
    ingest([SEEDS], settings, store, embedder)
    store.close()
    read_back: list[list[str]] = []
    real = ChromaVectorIndex.keyword_rows
    monkeypatch.setattr(ChromaVectorIndex, "keyword_rows", lambda self, ids: read_back.append(ids) or real(self, ids))
    reopened = open_store(settings)
    assert read_back == [] and reopened.lexical.count() == reopened.chunks.count() > 0
    reopened.close()


class AppProcess:
    """tests/app_process.py in a process of its own: its store, keyword index and date-sorted vectors share
    nothing in memory with this one; only the Chroma server."""

    def __init__(self, settings: Settings) -> None:
        env = {**os.environ, "NEWSQA_STORE_DIR": str(settings.store_dir), "NEWSQA_CHROMA_HOST": settings.chroma_host,
               "NEWSQA_CHROMA_PORT": str(settings.chroma_port), "NEWSQA_COLLECTION": settings.collection}
        self.log = settings.store_dir.parent / "app-process.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.app_process"], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log.open("w"))
        assert json.loads(self.proc.stdout.readline() or "{}") == {"ready": True}, self.log.read_text()

    def ask(self, **request: str) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline() or '{"error": "the app process ended"}')
        assert "error" not in reply, (reply, self.log.read_text())
        return reply

    def wait_until(self, seen: Callable[[dict], bool], within: float = VISIBLE_WITHIN_S, **request: str) -> float:
        """Ask again every 0.1 s until a reply satisfies `seen`: the time.monotonic() it did (fails after `within`
        seconds)."""
        started = time.monotonic()
        while not seen(reply := self.ask(**request)):
            assert time.monotonic() - started < within, reply
            time.sleep(0.1)
        return time.monotonic()

    def close(self) -> str:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        return self.log.read_text()


@pytest.mark.slow
def test_a_running_app_process_sees_what_another_ingests_replaces_and_removes(chroma_server, tmp_path, seed_copy,
                                                                            embedder):
    """App process B opens the shared store first; A then adds, removes and replaces articles through the server.
    B, never reopened, sees each change in keyword and dated search within the bound, without a full rebuild."""
    settings = Settings(store_dir=tmp_path / "a", chroma_host="127.0.0.1", chroma_port=chroma_server,
                        collection="two-apps")
    store = open_store(settings)
    b = AppProcess(settings.replace(store_dir=tmp_path / "b"))
    try:
        talks = {"q": "Arlington Virginia talks", "date_from": "2023-05-03"}
        assert b.ask(**talks) == {"keyword": [], "dated": []}
        with ThreadPoolExecutor(1) as asking:   # B is asked all along, as a busy page would be
            seen = asking.submit(b.wait_until, lambda r: r["keyword"] == ["2023-05-04"] == r["dated"],
                                 within=VISIBLE_WITHIN_S + 120, **talks)
            ingest([seed_copy], settings, store, embedder)
            returned = time.monotonic()
            added = seen.result() - returned
        print(f"\nB saw the new articles {max(added, 0):.1f} s after A's ingest returned")
        assert added <= VISIBLE_WITHIN_S
        calls = {"q": "Blinken phone call with Pashinian", "as_of": "2023-05-02"}
        assert b.ask(**calls)["dated"] == ["2023-05-01"]   # the as_of window, searched in B's own copy

        remove([seed_copy / "000_d9919218ce5d4bde.txt"], store)
        returned = time.monotonic()
        removed = b.wait_until(lambda r: r == {"keyword": [], "dated": []}, **talks) - returned
        print(f"B stopped finding the removed article {removed:.1f} s after A removed it")

        edited = seed_copy / "002_7e68630bb1f8edc4.txt"
        edited.write_text(edited.read_text().replace("phone calls", "phone calls from Zanzibar"))
        assert len(ingest([seed_copy], settings, store, embedder).replaced) == 1
        b.wait_until(lambda r: r["keyword"] == ["2023-05-01"] and r["dated"] == ["2023-05-01"],
                     q="Zanzibar phone calls", as_of="2023-05-02")
        assert "rebuilding the keyword index" not in b.close()
    finally:
        if b.proc.poll() is None:
            b.proc.kill()


def test_a_server_that_accepts_and_never_answers_fails_the_opening_within_the_timeout(tmp_path):
    with socket.socket() as listener:   # the kernel accepts connections into the backlog; nothing ever answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        settings = Settings(store_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=listener.getsockname()[1],
                            timeout_s=2)
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"the Chroma server at 127\.0\.0\.1:\d+ is unreachable: no answer "
                                             r"within 2 s \(NEWSQA_TIMEOUT_S\)"):
            open_store(settings)
    assert time.monotonic() - started < 2 + 2


@pytest.mark.slow
def test_a_server_that_stops_answering_later_fails_each_call_within_the_timeout(tmp_path, embedder):
    """Opened while the server answered, then the server freezes (SIGSTOP): a question, a dated question and an
    ingest each fail with the error naming the server and the variable, after the timeout and not forever."""
    proc, port = start_chroma(tmp_path / "data")
    try:
        # the change log is read before every search (interval 0), so each search asks the server something: an
        # empty store's dated search needs no vector query (index/window_search.py)
        settings = Settings(store_dir=tmp_path / "local", chroma_host="127.0.0.1", chroma_port=port, timeout_s=3,
                            sync_interval_s=0)
        store = open_store(settings)
        assistant = Assistant.from_settings(settings, store, embedder)
        assert assistant.retrieve("Lachin corridor talks")[0] == []
        os.kill(proc.pid, signal.SIGSTOP)
        calls = {"retrieve": lambda: assistant.retrieve("Lachin corridor talks"),
                 "dated answer": lambda: assistant.answer(CHECKPOINT_Q, as_of="2023-05-02"),
                 "ingest": lambda: ingest([SEEDS], settings, store, embedder)}
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreError, match=rf"the Chroma server at 127\.0\.0\.1:{port} did not answer "
                                                 r"within 3 s \(NEWSQA_TIMEOUT_S\)"):
                call()
            assert time.monotonic() - started < 3 + 2, name
    finally:
        stop_chroma(proc)


class FlakyCollection:
    """Fails its first query as chromadb 1.5.9's server does when it races a new collection's first write."""

    def __init__(self, error: str) -> None:
        self.error, self.calls = error, 0

    def query(self, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError(self.error)
        return {"ids": [["c1"]]}


def test_a_query_racing_the_first_write_of_a_collection_is_asked_once_more():
    flaky = FlakyCollection("Error executing plan: Internal error: Error creating hnsw segment reader: Nothing found "
                            "on disk")
    assert Guarded(flaky, "127.0.0.1:9", 3).query(n_results=1) == {"ids": [["c1"]]} and flaky.calls == 2
    other = FlakyCollection("Collection [x] does not exist")
    with pytest.raises(RuntimeError, match="does not exist"):
        Guarded(other, "127.0.0.1:9", 3).query(n_results=1)
    assert other.calls == 1
