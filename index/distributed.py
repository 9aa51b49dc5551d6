"""Parallel ingest on Ray (`python -m index --ray auto|HOST:PORT|local PATH...`), imported only with --ray.

The driver reads the files and decides what is new, changed, duplicate or rejected exactly as a local ingest does
(it must know every article's content hash before it can skip one); Ray Data embeds the chunks in a pool of
actors, each loading the encoder once; the driver writes each batch as its vectors come back, in the local order.
So content-hash ids, the manifest entry as the commit point and "a rerun completes an interrupted run without
duplicates" hold by construction: only the embedding moved. Embedding is nearly all of an ingest's time
(docs/performance.md); at archive scale the driver's reading and chunking would be the next limit.
"""
from __future__ import annotations

import datetime as dt
import logging
import socket
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from index.embedder import Embedder, make_embedder, prepare
from index.errors import RayError
from index.ingest import BatchEmbedder, IngestReport, Progress, Reading, ingest
from index.settings import Settings
from index.store import Store

RAY_MISSING = "ingest on Ray needs Ray: pip install -e '.[distributed]'"
# One core and one encoder thread per actor: N single-thread actors keep N cores busy without oversubscribing a
# node, and the pool grows one core at a time.
ACTOR_CPUS = 1
# Chunks per actor call: enough to amortise Ray's per-call cost (~ms) against ~50 ms a chunk on one thread, few
# enough that the first write batch is not held back waiting for one actor.
ROWS_PER_CALL = 64
INDEX_PACKAGE = Path(__file__).resolve().parent


class EmbedActor:
    """A Ray Data actor: the encoder loaded once, in __init__; each call embeds one block of chunk texts."""

    def __init__(self, settings: Settings) -> None:
        self.embedder = make_embedder(settings, threads=ACTOR_CPUS)
        self.embedder.embed_query("load the encoder now, not in the first call")

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.embed_documents([str(t) for t in rows["text"]])
        return {"i": rows["i"], "vector": np.asarray(vectors, dtype=np.float32)}


def regroup(sizes: Sequence[int], pieces: Iterable[tuple[Sequence[int], Sequence[Sequence[float]]]]
            ) -> Iterator[list[list[float]]]:
    """(row numbers, vectors) pieces, in any order and size -> one list of vectors per batch of `sizes`, in order,
    each yielded as soon as all its rows have arrived."""
    starts = np.cumsum([0, *sizes])
    got: dict[int, list[float]] = {}
    batch = 0
    while batch < len(sizes) and sizes[batch] == 0:
        batch += 1
        yield []
    for rows, vectors in pieces:
        got.update((int(i), list(map(float, v))) for i, v in zip(rows, vectors))
        while batch < len(sizes) and all(i in got for i in range(starts[batch], starts[batch + 1])):
            yield [got.pop(i) for i in range(starts[batch], starts[batch + 1])]
            batch += 1
    if batch < len(sizes):
        raise RayError(f"Ray returned vectors for only {batch} of {len(sizes)} write batches")


def embed_on_ray(settings: Settings, workers: int, rows_per_call: int = ROWS_PER_CALL) -> BatchEmbedder:
    """A BatchEmbedder that submits every batch's texts at once to `workers` EmbedActors (on the cluster
    `connect` joined) and streams the vectors back batch by batch, in order."""
    def embed(batches: Sequence[Sequence[str]]) -> Iterator[list[list[float]]]:
        import ray.data

        texts = [t for texts in batches for t in texts]
        if not texts:
            yield from ([] for _ in batches)
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True   # vectors come back in write order: a small buffer
        context.enable_progress_bars = False              # the driver draws the one bar, per written batch
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        # a run with fewer blocks than actors is fine (a small update): not worth a warning
        warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
        rows = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)],
                                   override_num_blocks=max(1, -(-len(texts) // rows_per_call)))
        # Ray Data logs one core_worker error line per pool about constructor arguments kept in its object store
        # (ray-project/ray#53727): its own actor wrapper takes some, so it shows with or without ours; harmless
        vectors = rows.map_batches(EmbedActor, fn_constructor_kwargs={"settings": settings},
                                   compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=ACTOR_CPUS,
                                   batch_size=rows_per_call, batch_format="numpy")
        pieces = ((out["i"], out["vector"]) for out in vectors.iter_batches(batch_size=None, batch_format="numpy"))
        yield from regroup([len(b) for b in batches], pieces)

    return embed


def parse_address(address: str) -> tuple[str, int] | None:
    """HOST:PORT -> (host, port); 'auto' and 'local' -> None. Anything else is a RayError naming the value."""
    if address in ("auto", "local"):
        return None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayError(f"--ray {address!r}: give auto (the cluster this machine joined), local (start one in this "
                       "process) or the head's HOST:PORT")
    return host, int(port)


def connect(address: str, timeout_s: float, local_cpus: int | None = None) -> None:
    """Join the cluster (or start one in this process for 'local'), shipping this checkout's `index` package to
    the workers so they run the driver's code; they need the project's dependencies installed."""
    target = parse_address(address)
    if target is not None:  # ray.init retries an unreachable head for minutes: fail fast, in one line
        try:
            socket.create_connection(target, timeout=min(timeout_s, 10)).close()
        except OSError as exc:
            raise RayError(f"the Ray cluster at {address} is unreachable: {exc}") from exc
    try:
        import ray
    except ImportError as exc:
        raise RayError(RAY_MISSING) from exc
    options: dict[str, Any] = {"runtime_env": {"py_modules": [str(INDEX_PACKAGE)]}, "logging_level": "ERROR",
                               "log_to_driver": False}
    try:
        if target is None and address == "local":   # a new in-process cluster, even beside one this machine runs
            ray.init(address="local", num_cpus=local_cpus, include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except ConnectionError as exc:
        raise RayError(f"no Ray cluster found (--ray {address}): {exc}") from exc


def pool_size(requested: int | None) -> int:
    """Actors to start: as asked, else one per CPU of the cluster; more than its CPUs could never all start."""
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 0))
    if requested and requested > cpus // ACTOR_CPUS:
        raise RayError(f"--ray-workers {requested}: the cluster has {cpus} CPUs, room for {cpus // ACTOR_CPUS} actors")
    return requested or max(1, cpus // ACTOR_CPUS)


def actor_settings(settings: Settings, embedder: Embedder) -> Settings:
    """The settings an actor builds its encoder from: the driver's encoder, and a cache folder that does not
    depend on the actor's working folder. Exports the ONNX model here first, so this machine's actors never race
    to export it (an actor on another machine exports its own, once, if its cache lacks it)."""
    settings = settings.replace(cache_dir=settings.cache_dir.expanduser().resolve(),
                                embed_backend=getattr(embedder, "backend", None))
    prepare(settings)
    return settings


def ingest_on_ray(paths: Sequence[Path | str], settings: Settings, store: Store, embedder: Embedder, address: str,
                  workers: int | None = None, progress: Progress | None = None, fallback_date: dt.date | None = None,
                  reading: Reading | None = None) -> IngestReport:
    """`ingest` with the embedding done by a pool of Ray actors running `embedder`'s encoder (the store's, from
    `store_encoder`). Disconnects from the cluster (or stops the local one) when done."""
    settings = actor_settings(settings, embedder)
    connect(address, settings.timeout_s, local_cpus=workers)
    import ray

    try:
        pool = pool_size(workers)
        return ingest(paths, settings, store, embedder, progress=progress, fallback_date=fallback_date,
                      reading=reading, embed_batches=embed_on_ray(settings, pool))
    finally:
        ray.shutdown()
