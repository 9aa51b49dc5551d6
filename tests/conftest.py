"""Shared fixtures: the real MiniLM embedder (loaded once) and a real Chroma store holding seeds/."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from index.settings import Settings, offline_environment

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
REALTIMEQA = Path(os.environ.get("NEWSQA_REALTIMEQA_DIR", SHARED / "realtimeqa-dev"))
CHECKPOINT_Q = "On what date did Baku set up the Lachin checkpoint?"

offline_environment()


@pytest.fixture(scope="session")
def embedder():
    from index.embedder import make_embedder

    return make_embedder(Settings())


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory) -> Settings:
    return Settings(store_dir=tmp_path_factory.mktemp("seeded-store"), judge="none")


@pytest.fixture(scope="session")
def seeded_assistant(seeded_settings, embedder):
    from index.ingest import ingest
    from index.store import open_store
    from qa.assistant import Assistant

    store = open_store(seeded_settings)
    ingest([SEEDS], seeded_settings, store, embedder)
    return Assistant.from_settings(seeded_settings, store, embedder)


@pytest.fixture
def fresh_store(tmp_path, embedder):
    """An empty store of our own, and a function that ingests into it."""
    from index.ingest import ingest
    from index.store import open_store

    settings = Settings(store_dir=tmp_path / "store")
    store = open_store(settings)

    def run(*paths, progress=None):
        return ingest(list(paths), settings, store, embedder, progress=progress)

    yield settings, store, run
    store.close()


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    """A writable copy of seeds/ to edit."""
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def local_site():
    """A web server on 127.0.0.1 for fetch tests: `site.routes[path] = (status, headers, body)` (a callable body
    gets the handler and writes the response itself); `site.requests` records (path, headers) of each request.
    A route with an ETag answers 304 to a request that sends it back."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    site = SimpleNamespace(routes={}, requests=[])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            site.requests.append((self.path, dict(self.headers)))
            status, headers, body = site.routes.get(self.path, (404, {}, b"not found"))
            if callable(body):
                return body(self)
            if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
