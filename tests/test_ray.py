"""Parallel ingest on Ray (index/distributed.py): the pure parts with fakes, then `python -m index --ray` against a
real local Ray cluster (a head and a worker node, started and stopped here) writing to a real `chroma run`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator, Sequence

import pytest

from eval.bench import generate_articles, write_jsonl
from eval.bench_ray import measure_ray_ingest, ray_rows
from index.__main__ import main
from index.distributed import RAY_MISSING, connect, parse_address, pool_size, regroup
from index.errors import RayError
from index.ingest import embed_locally, ingest, write_batches
from index.settings import Settings
from index.store import open_store
from tests.conftest import REALTIMEQA, ROOT, SEEDS
from tests.test_chroma_server import chroma_server, free_port  # noqa: F401  (a fixture, used by name)

RAY = Path(sys.executable).parent / "ray"
CLUSTER_UP_S = 90     # both nodes registered, or the test fails
STOP_GRACE_S = 5      # SIGTERM, then SIGKILL, to the process groups of the `ray start` we ran
# The test cluster listens on 127.0.0.1 only and lives for the module: without token auth, which would make the
# test write a token into the home folder (Ray's default once ~/.ray/auth_token exists is to require it)
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


class WordLengths:
    """A fake encoder with signal: a text's vector is the share of its words of each length 1..8."""

    name = "all-MiniLM-L6-v2"
    backend = "onnx"

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        words = text.split() or [""]
        return [sum(min(len(w), 8) == n for w in words) / len(words) for n in range(1, 9)]


def pieces_out_of_order(embedder: WordLengths, size: int):
    """A BatchEmbedder as a cluster behaves: every row submitted at once, vectors back in pieces, last first."""
    def embed(batches: Sequence[Sequence[str]]) -> Iterator[list[list[float]]]:
        texts = [t for b in batches for t in b]
        pieces = [(list(range(i, min(i + size, len(texts)))), embedder.embed_documents(texts[i:i + size]))
                  for i in range(0, len(texts), size)]
        return regroup([len(b) for b in batches], reversed(pieces))

    return embed


@pytest.mark.parametrize("sizes, pieces, expected", [
    ([2, 1], [([0, 1, 2], [[0.0], [1.0], [2.0]])], [[[0.0], [1.0]], [[2.0]]]),
    ([1, 2], [([2], [[2.0]]), ([1], [[1.0]]), ([0], [[0.0]])], [[[0.0]], [[1.0], [2.0]]]),
    ([0, 1, 0], [([0], [[5.0]])], [[], [[5.0]], []]),
    ([], [], []),
])
def test_regroup_yields_each_batch_whole_and_in_order(sizes, pieces, expected):
    assert list(regroup(sizes, pieces)) == expected


def test_regroup_yields_a_batch_as_soon_as_its_rows_are_in():
    got = regroup([1, 1], iter([([0], [[0.0]]), ([1], [[1.0]])]))
    assert next(got) == [[0.0]]   # the second piece is not needed for the first batch


def test_regroup_fails_when_rows_never_arrive():
    with pytest.raises(RayError, match="only 1 of 2 write batches"):
        list(regroup([1, 1], [([0], [[0.0]])]))


@pytest.mark.parametrize("address, expected", [
    ("auto", None), ("local", None), ("127.0.0.1:6379", ("127.0.0.1", 6379)),
    ("head.example:10001", ("head.example", 10001)),
])
def test_ray_addresses_parse(address, expected):
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["", "127.0.0.1", ":6379", "head:port", "ray://head:10001x"])
def test_a_malformed_ray_address_is_named_in_the_error(address):
    with pytest.raises(RayError, match=f"--ray {address!r}: give auto"):
        parse_address(address)


def test_write_batches_keep_articles_whole_and_reach_the_size():
    chunked = [("a", [1, 2, 3]), ("b", [4]), ("c", [5, 6]), ("d", [7])]
    assert [[a for a, _ in b] for b in write_batches(chunked, 3)] == [["a"], ["b", "c"], ["d"]]
    assert write_batches([], 3) == []


def test_an_ingest_embedded_elsewhere_writes_what_a_local_one_writes(tmp_path):
    fake, stores = WordLengths(), {}
    for name, embed in {"local": embed_locally(fake), "elsewhere": pieces_out_of_order(fake, 3)}.items():
        settings = Settings(store_dir=tmp_path / name, ingest_batch=4)
        store = stores[name] = open_store(settings)
        report = ingest([SEEDS], settings, store, fake, embed_batches=embed)
        assert len(report.added) == 2 and report.chunks_added == 9
    local, elsewhere = (s.chunks.get(include=["embeddings", "documents"]) for s in stores.values())
    assert sorted(local["ids"]) == sorted(elsewhere["ids"])
    vectors = {i: list(v) for i, v in zip(elsewhere["ids"], elsewhere["embeddings"])}
    assert all(list(v) == vectors[i] for i, v in zip(local["ids"], local["embeddings"]))
    assert stores["local"].all_articles() == stores["elsewhere"].all_articles()


def test_without_ray_installed_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` raises ImportError
    with pytest.raises(RayError) as error:
        connect("local", 5)
    assert str(error.value) == RAY_MISSING == "ingest on Ray needs Ray: pip install -e '.[distributed]'"


@pytest.mark.parametrize("requested, expected", [(None, 3), (1, 1), (3, 3)])
def test_the_pool_defaults_to_one_actor_per_cpu_of_the_cluster(monkeypatch, requested, expected):
    monkeypatch.setitem(sys.modules, "ray", SimpleNamespace(cluster_resources=lambda: {"CPU": 3.0}))
    assert pool_size(requested) == expected


def test_a_pool_larger_than_the_cluster_is_refused_rather_than_left_waiting(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", SimpleNamespace(cluster_resources=lambda: {"CPU": 2.0}))
    with pytest.raises(RayError, match="--ray-workers 3: the cluster has 2 CPUs, room for 2 actors"):
        pool_size(3)


def test_an_unreachable_ray_address_fails_in_one_line_within_seconds(tmp_path, capsys):
    port = free_port()
    started = time.monotonic()
    assert main(["--ray", f"127.0.0.1:{port}", "--store", str(tmp_path / "store"), str(SEEDS)]) == 2
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: the Ray cluster at 127.0.0.1:{port} is unreachable: ")


# --- on a real local cluster --------------------------------------------------------------------------------
def start_node(args: list[str], log: Path) -> subprocess.Popen:
    """`ray start --block ...` in a process group of its own: Ray's daemons stay in it, so teardown stops exactly
    what this test started (never `ray stop`, which stops every Ray process of the machine)."""
    return subprocess.Popen([str(RAY), "start", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
                             "--num-cpus=1", *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, **RAY_ENV}, start_new_session=True)


def stop_node(node: subprocess.Popen) -> None:
    """SIGTERM lets `ray start` stop its daemons; whatever is left of its group after the grace is killed."""
    try:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(timeout=STOP_GRACE_S)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait(timeout=STOP_GRACE_S)


def cluster_cpus(address: str) -> float:
    status = subprocess.run([str(RAY), "status", "--address", address], capture_output=True, text=True, timeout=30,
                            env={**os.environ, **RAY_ENV})
    for line in status.stdout.splitlines():
        if line.strip().endswith(" CPU") and "/" in line:
            return float(line.split("/")[1].split()[0])
    return 0.0


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> Iterator[str]:
    """A head and a worker node, one CPU each, on 127.0.0.1: the address of the head."""
    folder = tmp_path_factory.mktemp("ray")
    port = free_port()
    address = f"127.0.0.1:{port}"
    nodes = [start_node(["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={folder / 'tmp'}"],
                        folder / "head.log")]
    try:
        deadline = time.monotonic() + CLUSTER_UP_S
        while cluster_cpus(address) < 1:
            assert time.monotonic() < deadline, (folder / "head.log").read_text()
            time.sleep(1)
        nodes.append(start_node([f"--address={address}"], folder / "worker.log"))
        while cluster_cpus(address) < 2:
            assert time.monotonic() < deadline, (folder / "worker.log").read_text()
            time.sleep(1)
        yield address
    finally:
        for node in reversed(nodes):
            stop_node(node)


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> Path:
    """seeds/ and 40 generated articles (about 90 chunks), as an operator's folder."""
    folder = tmp_path_factory.mktemp("articles")
    for seed in SEEDS.iterdir():
        (folder / seed.name).write_bytes(seed.read_bytes())
    write_jsonl(generate_articles(40, seed=7), folder / "generated.jsonl")
    return folder


def server_settings(tmp_path: Path, port: int, collection: str) -> Settings:
    # small write batches: many commit points, so an interrupted run has some articles committed and some not
    return Settings(store_dir=tmp_path / collection, chroma_host="127.0.0.1", chroma_port=port,
                    collection=collection, ingest_batch=8)


def index_on_ray(settings: Settings, address: str, paths: Sequence[Path], *extra: str) -> subprocess.Popen:
    env = {**os.environ, "NEWSQA_STORE_DIR": str(settings.store_dir), "NEWSQA_CHROMA_HOST": settings.chroma_host,
           "NEWSQA_CHROMA_PORT": str(settings.chroma_port), "NEWSQA_COLLECTION": settings.collection,
           "NEWSQA_INGEST_BATCH": str(settings.ingest_batch), **RAY_ENV}
    return subprocess.Popen([sys.executable, "-m", "index", "--ray", address, *extra, *map(str, paths)], cwd=ROOT,
                            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stored(settings: Settings) -> tuple[dict[str, list[float]], dict[str, dict]]:
    """Chunk id -> vector, and the manifest, as the server holds them."""
    store = open_store(settings)
    got = store.chunks.get(include=["embeddings"])
    manifest = store.all_articles()
    store.close()
    return {i: list(map(float, v)) for i, v in zip(got["ids"], got["embeddings"])}, manifest


@pytest.mark.slow
def test_ray_ingest_writes_what_a_local_ingest_writes_and_reports_each_file(ray_cluster, chroma_server, articles,
                                                                          tmp_path, embedder):
    local = server_settings(tmp_path, chroma_server, "local-run")
    report = ingest([articles], local, open_store(local), embedder)
    on_ray = server_settings(tmp_path, chroma_server, "ray-run")
    run = index_on_ray(on_ray, ray_cluster, [articles], "--ray-workers", "2")
    out, err = run.communicate(timeout=240)
    assert run.returncode == 0, err
    assert f"added      {articles.name}/000_d9919218ce5d4bde.txt  (2023-05-04, " in out
    assert f"{len(report.added)} added, 0 replaced, 0 unchanged, 0 duplicate, 0 removed, 0 rejected; " \
           f"{report.chunks_added} chunks written in " in out
    assert "embedding: 100%" in err   # the progress bar
    (local_vectors, local_manifest), (ray_vectors, ray_manifest) = stored(local), stored(on_ray)
    assert len(ray_vectors) == report.chunks_added > 80 and set(ray_vectors) == set(local_vectors)
    assert ray_manifest == local_manifest
    worst = min(sum(a * b for a, b in zip(ray_vectors[i], v)) for i, v in local_vectors.items())
    assert worst > 0.9999   # the same encoder, batched differently

    again = index_on_ray(on_ray, ray_cluster, [articles])
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0 and f"0 added, 0 replaced, {len(report.added)} unchanged" in out, err


@pytest.mark.slow
def test_an_interrupted_ray_ingest_is_completed_by_a_rerun_without_duplicates(ray_cluster, chroma_server, articles,
                                                                            tmp_path):
    settings = server_settings(tmp_path, chroma_server, "interrupted")
    expected = len(list(SEEDS.iterdir())) + 40
    run = index_on_ray(settings, ray_cluster, [articles], "--ray-workers", "2")
    watcher = open_store(settings.replace(store_dir=tmp_path / "watcher"))
    try:
        deadline = time.monotonic() + 240
        while not 0 < (committed := watcher.articles.collection.count()) < expected:
            assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()
            time.sleep(0.05)
    finally:
        run.send_signal(signal.SIGKILL)   # mid-way: some batches committed, the next perhaps half written
        run.wait(timeout=30)
    watcher.close()
    rerun = index_on_ray(settings, ray_cluster, [articles], "--ray-workers", "2")
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    summary = [line for line in out.splitlines() if " added, " in line][0]
    added, unchanged = int(summary.split()[0]), int(summary.split(", ")[2].split()[0])
    assert added > 0 and unchanged >= committed and added + unchanged == expected, summary
    vectors, manifest = stored(settings)
    assert len(manifest) == expected
    assert len(vectors) == sum(entry["chunks"] for entry in manifest.values())   # no duplicates, no leftovers
    print(f"\nkilled with {committed} of {expected} articles committed; the rerun: {summary}")


# --- the benchmark section (10) -----------------------------------------------------------------------------
def test_the_ray_rows_mark_the_extrapolation_and_judge_the_overhead():
    run = {"chunks": 100, "chunks_per_s": 30.0, "first_batch_s": 4.0, "steady_chunks_per_s": 32.0}
    figures = {"cores": 2, "local": {**run, "chunks_per_s": 40.0},
               "ray": {"1": {**run, "chunks_per_s": 18.0}, "2": run},
               "local_1_thread": {**run, "chunks_per_s": 20.0}, "overhead_at_one_core": 0.1,
               "overhead_at_equal_cores": 0.25, "per_worker_chunks_per_s": 20.0,
               "extrapolated_chunks_per_s": {"8": 160.0, "64": 1280.0}}
    rows = ray_rows(figures)
    assert rows[0][1].startswith("40.0 / 18.0 / 30.0 chunks/s")
    assert rows[1] == ("10 Ray overhead at equal cores (2 actors vs local, 2 cores)", "25% (30.0 vs 40.0 chunks/s)",
                       "<= 20%", "NO")
    assert rows[2] == ("10 Ray overhead at equal cores (1 actor vs local on 1 thread)", "10% (18.0 vs 20.0 chunks/s)",
                       "<= 20%", "yes")
    assert "EXTRAPOLATED" in rows[3][1] and "64 workers ~ 1,280 chunks/s (4 h for 20M chunks)" in rows[3][1]


@pytest.mark.slow
def test_the_ray_bench_section_measures_local_and_both_pools_on_the_same_sample(tmp_path):
    figures = measure_ray_ingest(REALTIMEQA, 20, tmp_path, Settings(store_dir=tmp_path / "unused"), pools=[1, 2])
    assert set(figures["ray"]) == {"1", "2"}
    assert figures["local"]["chunks"] == figures["local_1_thread"]["chunks"] == figures["ray"]["1"]["chunks"] \
        == figures["ray"]["2"]["chunks"] >= 20
    assert all(v["chunks_per_s"] > 0 for v in [figures["local"], *figures["ray"].values()])
    assert figures["extrapolated_chunks_per_s"]["8"] == pytest.approx(8 * figures["per_worker_chunks_per_s"])
    assert ("overhead_at_equal_cores" in figures) == (figures["cores"] in (1, 2)) and "overhead_at_one_core" in figures
