"""Chroma over HTTP with every call bounded: a silent server fails a question within NEWSQA_TIMEOUT_S instead of
hanging it.

chromadb 1.5.9 builds its httpx client with `timeout=None` and has no setting for it (chromadb/api/fastapi.py),
so the bound is set on that client after it is built (`bound_requests`), and a timeout or a lost connection in
any later call becomes one StoreError naming the server and the variable (`Guarded`).
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import httpx

from index.errors import StoreError
from index.settings import Settings

log = logging.getLogger(__name__)
# chromadb 1.5.9's server fails a query that races the first write to a new collection ("Error creating hnsw
# segment reader: Nothing found on disk", chroma-core/chroma#4212): 8 of 60 fresh collections queried during their
# first upsert here, and each query asked again 0.2 s later answered. So such a call is asked once more.
TRANSIENT = "Nothing found on disk"
RETRY_AFTER_S = 0.2


def server_name(settings: Settings) -> str:
    return f"{settings.chroma_host}:{settings.chroma_port}"


@contextmanager
def answered(server: str, timeout_s: float) -> Iterator[None]:
    """Turn httpx's timeout and connection errors into a StoreError a user can act on."""
    try:
        yield
    except httpx.TimeoutException:
        raise StoreError(f"the Chroma server at {server} did not answer within {timeout_s:g} s "
                         "(NEWSQA_TIMEOUT_S)") from None
    except httpx.TransportError as exc:
        raise StoreError(f"the Chroma server at {server} is unreachable: {exc or type(exc).__name__}") from None


class Guarded:
    """A Chroma client or collection on a server whose calls fail as StoreError (see `answered`), and are asked
    once more after a TRANSIENT error; collections it returns are guarded too. Other attributes pass through."""

    def __init__(self, target: Any, server: str, timeout_s: float) -> None:
        self._target, self._server, self._timeout_s = target, server, timeout_s

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        return self._guard(attr) if callable(attr) else attr

    def _guard(self, method: Callable[..., Any]) -> Callable[..., Any]:
        from chromadb.api.models.Collection import Collection

        def call(*args: Any, **kwargs: Any) -> Any:
            with answered(self._server, self._timeout_s):
                try:
                    result = method(*args, **kwargs)
                except Exception as exc:
                    if TRANSIENT not in str(exc):
                        raise
                    log.info("the Chroma server at %s: %s; asking again", self._server, exc)
                    time.sleep(RETRY_AFTER_S)
                    result = method(*args, **kwargs)
            return Guarded(result, self._server, self._timeout_s) if isinstance(result, Collection) else result

        return call


def heartbeat(host: str, port: int, timeout_s: float) -> None:
    """Ask the server's heartbeat with a plain bounded request before chromadb's client is built (building it
    already talks to the server)."""
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/api/v2/heartbeat"
    try:
        httpx.get(url, timeout=timeout_s).raise_for_status()
    except httpx.TimeoutException:
        raise TimeoutError(f"no answer within {timeout_s:g} s (NEWSQA_TIMEOUT_S)") from None


def bound_requests(client: Any, timeout_s: float) -> None:
    """Give chromadb's HTTP client a timeout for every request (connect, write, each read)."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):   # a chromadb upgrade moved it: refuse rather than hang unbounded
        raise StoreError("this chromadb version keeps its HTTP client elsewhere, so calls to the server cannot be "
                         "bounded: install the chromadb version pyproject.toml pins")
    session.timeout = httpx.Timeout(timeout_s)


def connect(settings: Settings, chroma_settings: Any) -> Guarded:
    """A client of the Chroma server in settings whose every call is bounded by settings.timeout_s."""
    import chromadb

    heartbeat(settings.chroma_host, settings.chroma_port, settings.timeout_s)
    client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    bound_requests(client, settings.timeout_s)
    guarded = Guarded(client, server_name(settings), settings.timeout_s)
    guarded.heartbeat()
    return guarded
