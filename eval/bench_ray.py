"""(10) Ingest on Ray beside the local ingest, in one run, on the same real-text sample as (8).

`python -m eval.bench --ray` adds it to the whole benchmark; `python -m eval.bench_ray` runs only this section.
The local ingest embeds in this process on every core, then on one thread; then an in-process Ray cluster with as
many CPUs embeds the same sample with 1 actor and with one actor per core (one core and one encoder thread each),
writing through the same ingest path into a new embedded store each time. Figures:
  overhead at equal cores   1 - Ray / local chunks/s, actors' start-up included (<= 20%): one actor per core
                            against local on every core, and one actor against local on one thread (the same
                            encoder threads: Ray's own cost, whatever the machine's load does to threads)
  per worker                one actor's chunks/s once its first batch is written (start-up excluded)
  N workers                 N x per worker: extrapolated, not measured (this machine has 2 cores); it assumes the
                            driver keeps up (it reads, chunks and writes everything) and the Chroma server too
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from index.settings import Settings, offline_environment

TARGET_OVERHEAD = 0.20   # the bound on Ray's cost at equal cores
EXTRAPOLATE = (8, 64)    # pool sizes whose rate is extrapolated from the per-worker figure
ARCHIVE_CHUNKS = 20_000_000  # the 20-year newsroom archive


def timed_ingest(sample: Path, settings: Settings, embedder: Any, embed_batches: Any = None) -> dict[str, float]:
    """Ingest the sample into a new store: wall-clock chunks/s, and the rate after the first written batch."""
    from index.ingest import ingest
    from index.store import open_store

    marks: list[tuple[float, int]] = []
    store = open_store(settings)
    started = time.perf_counter()
    report = ingest([sample], settings, store, embedder, progress=lambda done, _: marks.append((time.perf_counter(),
                                                                                               done)),
                    embed_batches=embed_batches)
    seconds = time.perf_counter() - started
    store.close()
    chunks = report.chunks_embedded
    first_at, first_done = next(((t, d) for t, d in marks if d > 0), (started + seconds, chunks))
    steady_s = started + seconds - first_at
    return {"chunks": chunks, "seconds": seconds, "chunks_per_s": chunks / seconds,
            "first_batch_s": first_at - started,
            "steady_chunks_per_s": (chunks - first_done) / steady_s if chunks > first_done and steady_s > 0
            else chunks / seconds}


def measure_ray_ingest(folder: Path, chunks: int, work: Path, settings: Settings,
                       pools: Sequence[int] | None = None) -> dict[str, Any]:
    """Local ingest, then Ray with each pool size (default: 1 actor and one per core), same sample, one run."""
    import ray

    from eval.bench import real_text_sample
    from index.distributed import actor_settings, connect, embed_on_ray
    from index.embedder import make_embedder

    cores = os.cpu_count() or 1
    pools = sorted(set(pools or (1, cores)))
    sample, _ = real_text_sample(folder, chunks, work / "ray-text.jsonl", settings)
    embedder = make_embedder(settings)
    embedder.embed_documents(["load the model outside the timing"])
    settings = actor_settings(settings, embedder)
    out: dict[str, Any] = {"articles": sum(1 for _ in sample.open()), "source": str(folder), "cores": cores,
                           "encoder": settings.embed_backend}
    out["local"] = timed_ingest(sample, settings.replace(store_dir=work / "ray-bench-local"), embedder)
    one_thread = make_embedder(settings, threads=1)
    one_thread.embed_documents(["load the model outside the timing"])
    out["local_1_thread"] = timed_ingest(sample, settings.replace(store_dir=work / "ray-bench-local-1"), one_thread)
    connect("local", settings.timeout_s, local_cpus=max(cores, *pools))
    try:
        out["ray"] = {str(n): timed_ingest(sample, settings.replace(store_dir=work / f"ray-bench-{n}"), embedder,
                                           embed_on_ray(settings, n)) for n in pools}
    finally:
        ray.shutdown()
    equal = out["ray"].get(str(cores))
    if equal:
        out["overhead_at_equal_cores"] = 1 - equal["chunks_per_s"] / out["local"]["chunks_per_s"]
    if "1" in out["ray"]:
        out["overhead_at_one_core"] = 1 - out["ray"]["1"]["chunks_per_s"] / out["local_1_thread"]["chunks_per_s"]
    per_worker = out["ray"][str(pools[0])]["steady_chunks_per_s"] / pools[0]
    out["per_worker_chunks_per_s"] = per_worker
    out["extrapolated_chunks_per_s"] = {str(n): n * per_worker for n in EXTRAPOLATE}
    return out


def ray_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, met?) rows of section (10) for the bench's table."""
    local, ray, cores = r["local"], r["ray"], r["cores"]
    rates = " / ".join(f"{v['chunks_per_s']:.1f}" for v in ray.values())
    firsts = " / ".join(f"{v['first_batch_s']:.1f}" for v in ray.values())
    rows = [(f"10 Ray ingest, {local['chunks']} real chunks: local / Ray {' / '.join(ray)} actor(s)",
             f"{local['chunks_per_s']:.1f} / {rates} chunks/s (Ray: actors' start-up included, first batch written "
             f"after {firsts} s)", "(reference)", "yes")]
    compared = [("overhead_at_equal_cores", f"{cores} actors vs local, {cores} cores", str(cores), local),
                ("overhead_at_one_core", "1 actor vs local on 1 thread", "1", r.get("local_1_thread"))]
    for key, label, pool, base in compared:
        if key in r:
            over = r[key]
            rows.append((f"10 Ray overhead at equal cores ({label})", f"{over:.0%} ({ray[pool]['chunks_per_s']:.1f} "
                         f"vs {base['chunks_per_s']:.1f} chunks/s)", f"<= {TARGET_OVERHEAD:.0%}",
                         "yes" if over <= TARGET_OVERHEAD else "NO"))
    per = r["per_worker_chunks_per_s"]
    guesses = ", ".join(f"{n} workers ~ {v:,.0f} chunks/s ({ARCHIVE_CHUNKS / v / 3600:,.0f} h for 20M chunks)"
                        for n, v in r["extrapolated_chunks_per_s"].items())
    rows.append(("10 Ray per worker (1 core), after start-up", f"{per:.1f} chunks/s; EXTRAPOLATED, not measured: "
                 f"{guesses}", "(N x per worker)", "yes"))
    return rows


def main(argv: list[str] | None = None) -> int:
    from eval.bench import DEFAULT_EVAL_DIR, format_table

    p = argparse.ArgumentParser(prog="python -m eval.bench_ray", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real-articles", type=Path, default=DEFAULT_EVAL_DIR,
                   help="a folder with articles.jsonl or a .jsonl file (default: the RealTime QA folder)")
    p.add_argument("--real-chunks", type=int, default=1500, help="about this many real chunks are ingested each time")
    p.add_argument("--pools", type=lambda s: [int(x) for x in s.split(",")],
                   help="Ray pool sizes (default: 1 and the number of cores)")
    p.add_argument("--work", type=Path, help="folder for the stores (default: a new temporary folder)")
    p.add_argument("--output", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    offline_environment()
    work = args.work or Path(tempfile.mkdtemp(prefix="newsqa-bench-ray-"))
    settings = Settings.from_env(os.environ, judge="none").replace(store_dir=work / "unused")
    results = measure_ray_ingest(args.real_articles, args.real_chunks, work, settings, args.pools)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2))
    print(format_table([("figure", "value", "target", "met"), *ray_rows(results)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
