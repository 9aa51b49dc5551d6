"""`python -m eval.scale`: one app process at large archive sizes, embedded store and Chroma server side by side.

For each size (default 100k and 1M chunks) and each mode it measures, in a new answering process: the first answer
(cold, from `python` to the answer), warm p50/p95 over the bench's questions (two in three asked as of a date) and
the process's peak RSS; in server mode also the date-window search alone by plan (index/window_search.py) and the
server's own RSS. Then how many seconds a second app process takes to see an article a first one ingests.

The archive is written straight through `Store.add_chunks` (vector index, keyword index, change log: the write
path of an ingest, without re-chunking and re-embedding a million chunks): the bench's generated articles, split
at paragraphs into chunks of about NEWSQA_CHUNK_SIZE characters, each given one of ~1,000 real vectors of such
chunks plus seeded noise (as eval/bench.py's latency stores do). The store grows from one size to the next, so
1M costs one build. Takes ~1 h for 100k + 1M on this 2-core machine; --sizes 20000,100000 for a quick look.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from eval.bench import NOISE, ROOT, answer_in_new_process, generate_articles, generate_questions, timed
from eval.metrics import percentile
from index.settings import Settings, offline_environment

BATCH = 5_000        # chunks per write
POOL = 1_000         # chunks embedded for real, whose vectors the others reuse with noise
ARTICLES_PER_ROUND = 20_000
WHERE_SAMPLES = 10   # dated questions also asked through Chroma's own where filter, to show what it costs


def split_chunks(article: dict, chunk_size: int) -> list[dict]:
    """An article's paragraphs grouped into chunks of about `chunk_size` characters, with their spans."""
    from index.articles import article_id
    from index.chunking import Chunk, chunk_id

    text = article["text"]
    aid = article_id(article["url"])
    content = hashlib.sha256(text.encode()).hexdigest()[:16]
    spans, start = [], 0
    for para in text.split("\n\n"):
        at = text.index(para, start)
        if spans and at + len(para) - spans[-1][0] <= chunk_size:
            spans[-1] = (spans[-1][0], at + len(para))
        else:
            spans.append((at, at + len(para)))
        start = at + len(para)
    date_num = int(article["date"].replace("-", ""))
    return [Chunk(id=chunk_id(aid, content, i), article_id=aid, text=text[s:e], title=article["title"],
                  date=article["date"], date_num=date_num, source=article["url"], url=article["url"], position=i,
                  start=s, end=e, content_hash=content) for i, (s, e) in enumerate(spans)]


def chunk_stream(chunk_size: int, seed: int) -> Iterator[Any]:
    """Chunks of generated articles, endlessly and deterministically (rounds of articles with their own seed)."""
    for round_ in range(10_000):
        for article in generate_articles(ARTICLES_PER_ROUND, seed=seed * 10_000 + round_):
            yield from split_chunks(article, chunk_size)


def noisy(pool: np.ndarray, ids: Sequence[str]) -> np.ndarray:
    """One pool vector per chunk (by a hash of its id) plus noise seeded by the same hash, unit length."""
    keys = np.array([int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in ids],
                    dtype=np.uint64)
    rng = np.random.default_rng(int(keys.sum() % (2 ** 63)))
    out = pool[(keys % len(pool)).astype(np.int64)] + rng.normal(0, NOISE, (len(ids), pool.shape[1])).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def grow(stores: dict[str, Any], chunks: Iterator[Any], pool: np.ndarray, target: int, have: int) -> tuple[int, float]:
    """Write chunks to every store until each holds `target`; returns (chunks held, seconds per store)."""
    seconds = 0.0
    while have < target:
        batch = [next(chunks) for _ in range(min(BATCH, target - have))]
        vectors = noisy(pool, [c.id for c in batch])
        for store in stores.values():
            _, took = timed(store.add_chunks, batch, vectors.tolist())
            seconds += took
        have += len(batch)
        if have % 100_000 < BATCH:
            print(f"scale:   {have} chunks", file=sys.stderr, flush=True)
    return have, seconds / max(len(stores), 1)


def start_chroma(data: Path, port: int) -> subprocess.Popen:
    chroma = Path(sys.executable).parent / "chroma"
    log = open(data.parent / "chroma.log", "w")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    import urllib.request
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("chroma run did not start within 60 s")


def rss_mb(pid: int) -> float:
    return next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:")) / 1024


def window_searches(store, embedder, questions: list[dict]) -> dict[str, Any]:
    """The server store's date-window vector search alone, per question asked as of a date (and over the week to
    that date, as "this week" asks): latency by plan; for the sketch plan also the share of the exact top 40 it
    finds (the window's vectors all read and compared, for up to WHERE_SAMPLES windows)."""
    from index.dates import date_number
    from index.vector_index import date_where

    taken: list[str] = []
    store.server_windows.on_plan = lambda p: taken.append(p.how)
    by_plan: dict[str, list[float]] = {}
    recall: list[float] = []
    for q in questions:
        if not q["as_of"]:
            continue
        vector = embedder.embed_query(q["question"])
        as_of = dt.date.fromisoformat(q["as_of"])
        date_max = date_number(as_of)
        for date_min in (None, date_number(as_of - dt.timedelta(days=6))):
            got, took = timed(store.vector_search, vector, 40, date_min, date_max)
            by_plan.setdefault(taken[-1], []).append(took * 1000)
            if taken[-1] == "sketch" and len(recall) < WHERE_SAMPLES:
                exact = store.server_windows.exact(vector, 40, date_min, date_max)
                recall.append(len({c for c, _ in got} & {c for c, _ in exact}) / max(len(exact), 1))
        if len(by_plan.setdefault("chroma where, for comparison", [])) < WHERE_SAMPLES:   # what the plans avoid
            _, took = timed(store.chunks.query, vector=vector, limit=40, where=date_where(None, date_max))
            by_plan["chroma where, for comparison"].append(took * 1000)
    store.server_windows.on_plan = None
    out: dict[str, Any] = {how: {"searches": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}
                           for how, ms in sorted(by_plan.items())}
    if recall:
        out["sketch"]["exact_top40_found"] = round(statistics.mean(recall), 3)
    return out


SEER = r"""
import json, sys, time
from index.settings import Settings
from index.store import make_store
import os
store = make_store(Settings.from_env(os.environ))
print("ready", flush=True)
target = sys.argv[1]
while True:
    hits = store.keyword_search(target, 1)
    if hits and target in store.get_chunks([hits[0][0]])[hits[0][0]].text:
        print(json.dumps({"seen_at": time.time()}), flush=True)
        break
    time.sleep(0.05)
"""


def seconds_to_see(settings: Settings, embedder, work: Path) -> dict[str, float]:
    """A second app process (same server, its own keyword index) polls until it finds an article the first one
    ingests now: seconds from the ingest's return to then (negative: seen before it returned, as its chunks and
    log entry are written before the end of the run), and the ingest's own seconds."""
    from index.ingest import ingest
    from index.store import make_store

    import shutil

    from index.store import lexical_path

    # letters only: digits are tokens of their own and would match any chunk holding that digit
    stamp = hashlib.sha1(str(time.time()).encode()).hexdigest()[:6]
    word = "Quillfeather" + "".join(chr(ord("a") + int(c, 16)) for c in stamp)
    seer_dir = work / "seer"   # as on a second machine that was in step: a copy of the keyword index, not the file
    seer_dir.mkdir(exist_ok=True)
    shutil.copy(lexical_path(settings), lexical_path(settings.replace(store_dir=seer_dir)))
    env = {**os.environ, "NEWSQA_STORE_DIR": str(seer_dir), "NEWSQA_CHROMA_HOST": settings.chroma_host,
           "NEWSQA_CHROMA_PORT": str(settings.chroma_port), "NEWSQA_COLLECTION": settings.collection}
    seer = subprocess.Popen([sys.executable, "-c", SEER, word], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert seer.stdout.readline().strip() == "ready"
    article = work / "new-article.txt"
    article.write_text(f"date: {dt.date.today().isoformat()}\n\nThe council named {word} its new harbour master "
                       "on Tuesday, after a vote that took most of the evening.\n")
    writer = make_store(settings)
    started = time.time()
    ingest([article], settings, writer, embedder)
    written = time.time()
    writer.close()
    seen = json.loads(seer.stdout.readline())["seen_at"]
    seer.wait(timeout=60)
    return {"ingest_s": written - started, "after_ingest_returned_s": seen - written}


def run(args: argparse.Namespace) -> dict[str, Any]:
    offline_environment()
    from index.embedder import make_embedder
    from index.store import make_store

    work = Path(tempfile.mkdtemp(prefix="newsqa-scale-")) if args.work is None else args.work
    base = Settings.from_env(os.environ, judge="none").replace(cache_dir=args.cache_dir or Settings().cache_dir)
    embedder = make_embedder(base)
    chunks = chunk_stream(base.chunk_size, args.seed)
    first = [next(chunks) for _ in range(POOL)]
    pool = np.asarray(embedder.embed_documents([c.embed_text() for c in first]), dtype=np.float32)
    chunks = itertools.chain(first, chunks)
    questions = generate_questions(generate_articles(ARTICLES_PER_ROUND, seed=args.seed * 10_000), args.questions + 1,
                                   args.seed + 1)
    (work / "server").mkdir(parents=True, exist_ok=True)
    server = start_chroma(work / "server" / "data", args.port)
    modes = {"embedded": base.replace(store_dir=work / "embedded", collection="scale"),
             "server": base.replace(store_dir=work / "server" / "app", collection="scale", chroma_host="127.0.0.1",
                                    chroma_port=args.port)}
    results: dict[str, Any] = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                               "encoder": base.embed_backend, "sizes": []}
    try:
        stores = {mode: make_store(s) for mode, s in modes.items()}
        have = 0
        for size in sorted(args.sizes):
            print(f"scale: writing up to {size} chunks to both stores", file=sys.stderr, flush=True)
            if size > args.embedded_up_to and "embedded" in stores:   # its vector copy alone would be 1.5 GB at 1M
                stores.pop("embedded").close()
            if args.measure_only:   # the stores of an earlier run in --work, measured again as they are
                have, write_s = min(store.chunks.count() for store in stores.values()), 0.0
            else:
                have, write_s = grow(stores, chunks, pool, size, have)
            row: dict[str, Any] = {"chunks": have, "write_s_per_store": write_s}
            for store in stores.values():   # as an ingest ends: the copy saved, the change-log mark moved on
                store.finish_writes()
            for mode, s in modes.items():
                if mode not in stores:
                    continue
                print(f"scale:   {mode}: answering in a new process", file=sys.stderr, flush=True)
                got = answer_in_new_process(s, questions, work)
                row[mode] = {k: got[k] for k in ("first_answer_s", "p50_ms", "p95_ms", "peak_rss_mb", "questions")}
            row["server"]["window_search"] = window_searches(stores["server"], embedder, questions)
            row["server"]["chroma_rss_mb"] = rss_mb(server.pid)
            results["sizes"].append(row)
            print(f"scale:   {json.dumps(row)}", file=sys.stderr, flush=True)
        for store in stores.values():
            store.close()
        results["seconds_to_see"] = [seconds_to_see(modes["server"], embedder, work) for _ in range(args.see_runs)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return results


def table(results: dict[str, Any]) -> str:
    head = "| chunks | mode | cold first answer | warm p50 / p95 | peak RSS (app) |"
    lines = [head, "|---|---|---|---|---|"]
    for row in results["sizes"]:
        for mode in [m for m in ("embedded", "server") if m in row]:
            m = row[mode]
            lines.append(f"| {row['chunks']:,} | {mode} | {m['first_answer_s']:.1f} s | {m['p50_ms']:.0f} / "
                         f"{m['p95_ms']:.0f} ms | {m['peak_rss_mb']:.0f} MB |")
    for row in results["sizes"]:
        plans = ", ".join(f"{how} {p['searches']}× p50/p95 {p['p50_ms']:.0f}/{p['p95_ms']:.0f} ms"
                          + (f" (exact top 40 found: {p['exact_top40_found']})" if "exact_top40_found" in p else "")
                          for how, p in row["server"]["window_search"].items())
        lines.append(f"\nserver, {row['chunks']:,} chunks: dated vector search by plan: {plans}; "
                     f"chroma server RSS {row['server']['chroma_rss_mb']:.0f} MB")
    seen = [r["after_ingest_returned_s"] for r in results.get("seconds_to_see") or []]
    if seen:
        lines.append(f"a second app process saw a new article {statistics.median(seen):.1f} s after its ingest "
                     f"returned (median of {len(seen)}; max {max(seen):.1f} s; negative: before it returned)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100_000, 1_000_000],
                   help="archive sizes in chunks (default 100000,1000000)")
    p.add_argument("--embedded-up-to", type=int, default=100_000,
                   help="measure the embedded store only up to this size (default 100000; server mode at all sizes)")
    p.add_argument("--measure-only", action="store_true",
                   help="measure the stores an earlier run left in --work as they are (one size), writing nothing")
    p.add_argument("--questions", type=int, default=200, help="warm questions per size and mode")
    p.add_argument("--see-runs", type=int, default=3, help="times a second process is timed seeing a new article")
    p.add_argument("--port", type=int, default=8799, help="port of the chroma server the bench starts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", type=Path, help="where the ONNX export is kept (default NEWSQA_CACHE_DIR)")
    p.add_argument("--work", type=Path, help="folder for the stores (default: a new temporary folder)")
    p.add_argument("--output", type=Path, default=ROOT / "eval" / "results" / "scale.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
    print(f"results: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
