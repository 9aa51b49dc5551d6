"""`python -m eval.bench`: ingest and answer speed against the encoder's own limit and a plain LlamaIndex pipeline.

Everything is measured in one run and compared side by side, because this machine's speed drifts (2 shared cores).
Stores are built with the default encoder (NEWSQA_EMBED_BACKEND, else onnx); torch is measured beside it:
  1 ingest overhead   pipeline chunks/s / raw encoder chunks/s on the same chunks (target >= 0.85)
  2 re-ingest         the same corpus again: speed-up over the first ingest, chunks embedded (>= 50x, 0)
  3 ONNX vs torch     encoder throughput ratio (>= 2x) and recall@5 of both on the RealTime QA subset (within 1 pt)
  4 answer latency    warm p50/p95 over >= 200 questions at each store size (10k: p50 <= 50, p95 <= 100 ms)
  5 cold start        new process on a store of seeds/, `from qa import answer` to the first answer, median (<= 3 s)
  6 peak RSS          of the answering process at the largest size (<= 1.5 GB)
  7 plain LlamaIndex  ingest time ratio, query latency ratio, recall@5 of both on the RealTime QA subset
  8 real-text ingest  chunks/s ingesting real news articles (--real-articles), per encoder (>= 28 chunks/s)
  9 first dated answer  at the largest size, in a new process: its latency over the warm p50 (within 1 s)
 10 Ray ingest        with --ray: the sample of (8) on Ray beside local, overhead at equal cores (<= 20%), per
                      worker, N workers extrapolated (eval/bench_ray.py; needs the distributed extra)

The corpus is generated deterministically (seed sentences recombined with other names, places, numbers and dates
over three years) or read with --articles. Stores for the latency sizes embed only the chunks the ingest step
embedded for real; every other chunk gets one of those real vectors plus small seeded noise (labelled
"reused" in the output): the texts, the keyword index and the HNSW graph are full size, the vectors' meaning is
not. Questions are always encoded for real.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from eval.metrics import percentile
from index.settings import Settings, offline_environment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EVAL_DIR = ROOT.parent / "shared" / "realtimeqa-dev"
TARGETS = {"ingest_overhead": 0.85, "reingest_speedup": 50.0, "onnx_speedup": 2.0, "recall_gap_points": 1.0,
           "p50_ms_10k": 50.0, "p95_ms_10k": 100.0, "p95_ms_100k": 150.0, "cold_start_s": 3.0, "peak_rss_mb": 1536.0,
           "real_chunks_per_s": 28.0}
HEAVY_MODULES = ("gradio", "ragas", "llama_cpp", "llama_index.core", "torch", "sentence_transformers", "onnxruntime")
NOISE = 0.05          # std of the noise added to a reused vector, per dimension before normalising (cos ~0.5-0.6)
EVAL_MAX_CHARS = 12_000  # the RealTime QA subset skips the few very long negatives, as tests/test_realtimeqa.py does

FIRST_NAMES = ["Amara", "Boris", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jamal", "Kenji", "Leila",
               "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Samir", "Tomas", "Ulla", "Viktor", "Wen", "Yara"]
LAST_NAMES = ["Abbas", "Brandt", "Castillo", "Dumont", "Eriksen", "Fischer", "Gupta", "Haddad", "Ibrahim", "Jensen",
              "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Sato", "Tanaka"]
PLACES = ["Tbilisi", "Yerevan", "Astana", "Riga", "Vilnius", "Sofia", "Skopje", "Tirana", "Chisinau", "Minsk", "Ankara",
          "Tashkent", "Bishkek", "Dushanbe", "Ashgabat", "Warsaw", "Prague", "Budapest", "Zagreb", "Belgrade",
          "Sarajevo", "Podgorica", "Bucharest", "Tallinn", "Helsinki", "Oslo", "Lisbon", "Valletta", "Nicosia"]
TOPICS = ["border talks", "grain exports", "a pipeline deal", "the election count", "flood relief", "a rail link",
          "the central bank", "a ceasefire", "port tariffs", "the drought", "vaccine supplies", "a power outage",
          "the budget vote", "a mining permit", "fishing quotas", "the airport strike", "a trade corridor"]


# --- the corpus ---------------------------------------------------------------------------------------------
def seed_sentences() -> list[str]:
    from index.articles import discover, load_file
    from index.sentences import sentences

    files, _ = discover([ROOT / "seeds"])
    return [s for f in files for a in load_file(f)[0] for s in sentences(a.text) if len(s.split()) >= 6]


def _swap(sentence: str, rng: random.Random) -> str:
    """Other names, places and numbers in a seed sentence, so that texts and keyword statistics vary."""
    words = sentence.split(" ")
    for i, word in enumerate(words):
        if i and word[:1].isupper() and word.isalpha() and rng.random() < 0.6:
            words[i] = rng.choice(PLACES + LAST_NAMES)
    out = " ".join(words)
    return re.sub(r"\d+", lambda m: str(rng.randrange(2, 10 ** min(len(m.group()), 4))), out)


def generate_articles(n: int, seed: int = 0, start: dt.date = dt.date(2021, 1, 1), days: int = 3 * 365) -> list[dict]:
    """N dated articles, deterministic; the first k articles are the same whatever N is."""
    rng = random.Random(seed)
    pool = seed_sentences()
    articles = []
    for i in range(n):
        person = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        place, topic = rng.choice(PLACES), rng.choice(TOPICS)
        day = start + dt.timedelta(days=rng.randrange(days))
        lead = (f"{person}, speaking in {place} on {day:%A}, said {topic} would be settled by "
                f"{(day + dt.timedelta(days=rng.randrange(3, 60))):%B %d}.")
        body = [_swap(rng.choice(pool), rng) for _ in range(rng.randrange(8, 15))]
        articles.append({"url": f"https://bench.invalid/{seed}/{i}", "title": f"{place}: {person} on {topic}",
                         "date": day.isoformat(), "text": "\n\n".join([lead, *body])})
    return articles


def generate_questions(articles: Sequence[dict], n: int, seed: int = 1) -> list[dict]:
    """Questions about generated articles, asked as of a day after each (two in three) or with no date."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = articles[rng.randrange(len(articles))]
        person, topic = a["title"].split(": ", 1)[1].split(" on ", 1)
        place = a["title"].split(":")[0]
        form = rng.choice(["What did {p} say about {t}?", "When will {t} in {c} be settled?",
                           "Who spoke in {c} about {t}?", "What happened with {t} this week?"])
        as_of = (dt.date.fromisoformat(a["date"]) + dt.timedelta(days=rng.randrange(0, 20))).isoformat()
        out.append({"question": form.format(p=person, t=topic, c=place), "as_of": as_of if i % 3 else None})
    return out


def write_jsonl(records: Sequence[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def read_articles(path: Path) -> list[dict]:
    """--articles: a .jsonl file, or a folder of loadable files (read through the project's own loaders)."""
    from index.ingest import load_articles

    found, _, _ = load_articles([path], Settings())
    return [{"url": a.url or a.source, "title": a.title, "date": a.date.isoformat(), "text": a.text} for a in found]


# --- measuring ----------------------------------------------------------------------------------------------
def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def chunk_texts(path: Path, settings: Settings) -> list[str]:
    from index.chunking import chunk_article
    from index.ingest import load_articles

    articles, _, _ = load_articles([path], settings)
    return [c.embed_text() for a in articles for c in chunk_article(a, settings.chunk_size, settings.chunk_overlap)]


def encoder_rate(embedder, texts: Sequence[str]) -> float:
    _, seconds = timed(embedder.embed_documents, list(texts))
    return len(texts) / seconds


class ReusedVectors:
    """An embedder for the latency stores: a chunk embedded for real gets its real vector; any other chunk one
    of those real vectors (picked by a hash of its text) plus seeded noise. Questions are encoded for real."""

    name = "reused"

    def __init__(self, real, known: dict[str, list[float]], noise: float = NOISE) -> None:
        self.real, self.known, self.noise = real, known, noise
        self.name = real.name
        self.pool = np.asarray(list(known.values()), dtype=np.float32)
        self.reused = 0

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            if text in self.known:
                out.append(self.known[text])
                continue
            digest = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            rng = np.random.default_rng(digest)
            vector = self.pool[digest % len(self.pool)] + rng.normal(0, self.noise, self.pool.shape[1])
            out.append((vector / np.linalg.norm(vector)).astype(np.float32).tolist())
            self.reused += 1
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)


def open_parts(settings: Settings, embedder):
    from index.store import open_store
    from qa.assistant import Assistant

    store = open_store(settings)
    return store, Assistant.from_settings(settings, store, embedder)


# --- the sections -------------------------------------------------------------------------------------------
def measure_ingest(corpus: Path, settings: Settings, embedder) -> dict[str, Any]:
    """(1) and (2): raw encoder before and after the pipeline on the same chunks, then the unchanged re-ingest."""
    from index.ingest import ingest

    texts = chunk_texts(corpus, settings)
    embedder.embed_documents(texts[:8])  # load and warm the model outside every timing
    raw_before = encoder_rate(embedder, texts)
    store, _ = open_parts(settings, embedder)
    first, first_s = timed(ingest, [corpus], settings, store, embedder)
    raw_after = encoder_rate(embedder, texts)
    again, again_s = timed(ingest, [corpus], settings, store, embedder)
    store.close()
    raw = statistics.mean([raw_before, raw_after])
    return {"chunks": len(texts), "raw_chunks_per_s": [raw_before, raw_after],
            "pipeline_chunks_per_s": first.chunks_embedded / first_s, "ingest_s": first_s,
            "ingest_overhead": first.chunks_embedded / first_s / raw,
            "reingest_s": again_s, "reingest_embedded": again.chunks_embedded,
            "reingest_speedup": first_s / again_s}


ST_DEFAULT_BATCH = 32
SEED_QUESTIONS = [{"question": "On what date did Baku set up the Lachin checkpoint?", "as_of": None},
                  {"question": "Where have the Armenian and Azerbaijani diplomats been meeting?", "as_of": "2023-05-10"}]


def measure_encoders(texts: Sequence[str], torch_embedder, onnx_embedder, rounds: int = 2) -> dict[str, Any]:
    """(3a) torch and ONNX alternating on the same chunks; the ratio is taken round by round."""
    onnx_embedder.embed_documents(texts[:8])
    model = torch_embedder.loaded
    rows = []
    for _ in range(rounds):
        t = encoder_rate(torch_embedder, texts)
        o = encoder_rate(onnx_embedder, texts)
        ours = model.batch_size   # the reference: sentence-transformers at its default batch of 32
        model.batch_size = ST_DEFAULT_BATCH
        try:
            d = encoder_rate(torch_embedder, texts)
        finally:
            model.batch_size = ours
        rows.append({"torch": t, "onnx": o, "ratio": o / t, "torch_st_default": d, "ratio_st_default": o / d})
    a, b = np.asarray(onnx_embedder.embed_documents(texts[:64])), np.asarray(torch_embedder.embed_documents(texts[:64]))
    cos = (a * b).sum(axis=1)
    return {"chunks": len(texts), "rounds": rows, "onnx_speedup": statistics.median(r["ratio"] for r in rows),
            "onnx_speedup_st_default": statistics.median(r["ratio_st_default"] for r in rows),
            "cosine_to_torch_mean": float(cos.mean()), "cosine_to_torch_min": float(cos.min())}


def realtimeqa_subset(folder: Path, n_questions: int, target: Path) -> tuple[Path, list[dict]]:
    """The first N questions' gold articles and the articles after each up to the next gold one (its search
    neighbours, the hard negatives), as tests/test_realtimeqa.py picks them; written to a temporary file."""
    from eval.datasets import records
    from eval.realtimeqa import load_questions

    articles = records(folder / "articles.jsonl")
    questions = load_questions(folder)[:n_questions]
    all_gold = {u for q in load_questions(folder) for u in q["gold_urls"]}
    gold_positions = sorted(i for i, a in enumerate(articles) if a["url"] in all_gold)
    chosen: dict[str, dict] = {}
    for q in questions:
        start = next(i for i, a in enumerate(articles) if a["url"] in q["gold_urls"])
        end = next((p for p in gold_positions if p > start), len(articles))
        for a in articles[start:end]:
            if len(a["text"]) <= EVAL_MAX_CHARS or a["url"] in q["gold_urls"]:
                chosen[a["url"]] = a
    return write_jsonl(list(chosen.values()), target), questions


def recall_at_5(run) -> float:
    return statistics.mean(row["recall@5"] for row in run.rows) if run.rows else float("nan")


def measure_recall(folder: Path, n_questions: int, work: Path, settings: Settings, embedders: dict[str, Any],
                   baseline: bool) -> dict[str, Any]:
    """(3b) and (7): the subset ingested with each encoder and by plain LlamaIndex; recall@5 and latency."""
    from eval.baseline import build_baseline, run_baseline
    from eval.realtimeqa import run_project
    from index.embedder import model_path
    from index.ingest import ingest

    subset, questions = realtimeqa_subset(folder, n_questions, work / "rtqa-subset.jsonl")
    out: dict[str, Any] = {"questions": len(questions), "articles": sum(1 for _ in subset.open())}
    assistants = {}
    for name, embedder in embedders.items():
        s = settings.replace(store_dir=work / f"rtqa-{name}", embed_backend=name)
        store, assistant = open_parts(s, embedder)
        report, seconds = timed(ingest, [subset], s, store, embedder)
        assistants[name] = assistant
        out[name] = {"ingest_s": seconds, "chunks": report.chunks_embedded,
                     "recall@5": recall_at_5(run_project(assistant, questions, True, answer=False)),
                     "recall@5_no_as_of": recall_at_5(run_project(assistant, questions, False, answer=False))}
    for name in embedders:
        out[name]["gap_points"] = 100 * (out["torch"]["recall@5"] - out[name]["recall@5"])
    if baseline:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        # build_baseline loads its own HuggingFaceEmbedding; ours was loaded before the timing, so take that off
        _, load_s = timed(HuggingFaceEmbedding, model_name=str(model_path(settings.embed_model)), device="cpu")
        retriever, seconds = timed(build_baseline, subset, work / "rtqa-baseline", str(model_path(settings.embed_model)))
        seconds -= load_s
        plain = run_baseline(retriever, questions)
        ours, theirs = [], []
        for q in questions * max(1, 40 // max(len(questions), 1)):  # alternate, warm, >= 40 queries each
            ours.append(timed(assistants["torch"].retrieve, q["question"], as_of=q["as_of"])[1] * 1000)
            theirs.append(timed(retriever.retrieve, q["question"])[1] * 1000)
        out["llamaindex"] = {"ingest_s": seconds, "model_load_s": load_s, "recall@5": plain.summary()["recall@5"],
                             "chunks": retriever._vector_store._collection.count(),
                             "retrieve_p50_ms": statistics.median(theirs)}
        out["torch"]["retrieve_p50_ms"] = statistics.median(ours)
        out["ingest_time_ratio"] = out["torch"]["ingest_s"] / seconds
        out["query_latency_ratio"] = statistics.median(ours) / statistics.median(theirs)
    for assistant in assistants.values():
        assistant.store.close()
    return out


def real_text_sample(folder: Path, chunks: int, target: Path, settings: Settings) -> tuple[Path, int]:
    """The first real articles (a folder's articles.jsonl, or a .jsonl file) holding about `chunks` chunks."""
    from index.chunking import chunk_article
    from index.ingest import load_articles

    source = folder / "articles.jsonl" if folder.is_dir() else folder
    found, _, _ = load_articles([source], settings.replace(max_file_mb=max(settings.max_file_mb, 1e3)))
    total, keep = 0, set()
    for article in found:
        if total >= chunks:
            break
        keep.add(article.url)
        total += len(chunk_article(article, settings.chunk_size, settings.chunk_overlap))
    records = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    return write_jsonl([r for r in records if r.get("url") in keep], target), total


def measure_real_ingest(folder: Path, chunks: int, work: Path, settings: Settings,
                        embedders: dict[str, Any]) -> dict[str, Any]:
    """(8) ingest of real news text (long sentences, chunks near the size limit) into a new store per encoder,
    beside the synthetic corpus of (1), whose short recombined sentences pad less."""
    sample, _ = real_text_sample(folder, chunks, work / "real-text.jsonl", settings)
    out: dict[str, Any] = {"articles": sum(1 for _ in sample.open()), "source": str(folder)}
    for name, embedder in embedders.items():
        embedder.embed_documents(["load the model outside the timing"])
        s = settings.replace(store_dir=work / f"real-text-{name}", embed_backend=name)
        store, _ = open_parts(s, embedder)
        report, seconds = timed(ingest_corpus, sample, s, store, embedder)
        store.close()
        out[name] = {"chunks": report.chunks_embedded, "ingest_s": seconds,
                     "chunks_per_s": report.chunks_embedded / seconds}
    return out


def ingest_corpus(path: Path, settings: Settings, store, embedder):
    from index.ingest import ingest

    return ingest([path], settings, store, embedder)


def build_latency_store(articles: list[dict], chunks: int, work: Path, settings: Settings, embedder,
                        per_article: float) -> tuple[Settings, dict[str, Any]]:
    """A store of about `chunks` chunks of generated text, vectors real where known and reused elsewhere."""
    from index.ingest import ingest

    n = min(len(articles), max(1, round(chunks / per_article)))
    path = write_jsonl(articles[:n], work / f"latency-{chunks}.jsonl")
    # the 100k corpus is a ~70 MB file: above the default upload limit, which is for users' files, not ours
    s = settings.replace(store_dir=work / f"latency-{chunks}",
                         max_file_mb=max(settings.max_file_mb, 2 * path.stat().st_size / 1e6))
    store, _ = open_parts(s, embedder)
    before = embedder.reused
    report, seconds = timed(ingest, [path], s, store, embedder)
    if report.rejected:
        raise RuntimeError(f"the latency corpus was rejected: {report.rejected[0].reason}")
    stored = store.chunks.count()
    store.close()
    return s, {"articles": n, "chunks": stored, "reused_vectors": embedder.reused - before,
               "real_vectors": stored - (embedder.reused - before), "build_s": seconds}


CHILD = r"""
import json, sys, time
started = time.perf_counter()
from qa import answer
imported = time.perf_counter()
questions = json.load(open(sys.argv[1]))
first = answer(questions[0]["question"], as_of=questions[0]["as_of"])
answered = time.perf_counter()
heavy = [m for m in sys.argv[2].split(",") if m in sys.modules]
latencies = []
for q in questions[1:]:   # questions[1] is the first dated one: it is what maps (or loads) the date-sorted copy
    t = time.perf_counter()
    answer(q["question"], as_of=q["as_of"])
    latencies.append((time.perf_counter() - t) * 1000)
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report the bench's own peak
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"import_s": imported - started, "first_answer_s": answered - started, "loaded": heavy,
                  "latencies_ms": latencies, "peak_rss_mb": hwm / 1024}))
"""


def answer_in_new_process(settings: Settings, questions: list[dict], work: Path) -> dict[str, Any]:
    """(4), (5), (6): a fresh `python` imports qa, answers once (cold), then answers the rest (warm)."""
    qfile = work / f"questions-{len(questions)}.json"
    qfile.write_text(json.dumps(questions))
    env = {**os.environ, "NEWSQA_STORE_DIR": str(settings.store_dir), "NEWSQA_EMBED_BACKEND": settings.embed_backend,
           "NEWSQA_CACHE_DIR": str(settings.cache_dir), "NEWSQA_COLLECTION": settings.collection,
           **({"NEWSQA_CHROMA_HOST": settings.chroma_host, "NEWSQA_CHROMA_PORT": str(settings.chroma_port)}
              if settings.chroma_host else {})}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(qfile), ",".join(HEAVY_MODULES)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"answering process failed: {done.stderr.strip()[-800:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    lat = result.pop("latencies_ms")
    result.update(questions=len(lat), p50_ms=percentile(lat, 50), p95_ms=percentile(lat, 95))
    if lat and questions[1]["as_of"]:
        result["first_dated_ms"] = lat[0]
    return result


# --- the run ------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    offline_environment()
    from index.embedder import make_embedder

    work = Path(tempfile.mkdtemp(prefix="newsqa-bench-")) if args.work is None else args.work
    base = Settings.from_env(os.environ, judge="none").replace(store_dir=work / "ingest", cache_dir=args.cache_dir)
    torch_settings = base.replace(embed_backend="torch")
    # the default encoder (NEWSQA_EMBED_BACKEND, else onnx) builds every store; torch is measured beside it
    main = "torch" if args.no_onnx else base.embed_backend
    main_settings = base.replace(embed_backend=main)
    embedders = {"torch": make_embedder(torch_settings), main: make_embedder(main_settings)}
    for variant in () if args.no_onnx else ("onnx", "onnx-int8"):
        embedders.setdefault(variant, make_embedder(base.replace(embed_backend=variant)))
    torch_embedder, main_embedder = embedders["torch"], embedders[main]
    results: dict[str, Any] = {"settings": {"chunk_size": base.chunk_size, "cache_dir": str(base.cache_dir),
                                            "encoder": main},
                               "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}

    # the corpus: the ingest corpus is the first articles of the latency corpus, so its real vectors are reused
    largest = max(args.sizes)
    if args.articles:
        articles = read_articles(args.articles)
        n_ingest = len(articles)
    else:
        calibrate = write_jsonl(generate_articles(50, args.seed), work / "calibrate.jsonl")
        per_article = len(chunk_texts(calibrate, base)) / 50
        n_ingest = max(2, round(args.ingest_chunks / per_article))
        articles = generate_articles(max(n_ingest, round(largest / per_article) + 1), args.seed)
    corpus = write_jsonl(articles[:n_ingest], work / "ingest.jsonl")
    print(f"bench: work folder {work}; encoder {main}", file=sys.stderr)

    print("bench: (1)(2) ingest against the raw encoder, then again unchanged", file=sys.stderr)
    results["ingest"] = measure_ingest(corpus, main_settings.replace(store_dir=work / "ingest"), main_embedder)

    if not args.no_onnx:
        print("bench: (3) ONNX (float32, int8) against torch", file=sys.stderr)
        texts = chunk_texts(corpus, base)[: args.encoder_chunks]
        results["encoders"] = {}
        for name in [n for n in embedders if n != "torch"]:
            _, export_s = timed(embedders[name].embed_query, "load or export the ONNX model")
            results["encoders"][name] = {**measure_encoders(texts, torch_embedder, embedders[name]),
                                         "first_load_s": export_s, "onnx_file": str(embedders[name].loaded.path)}
        if args.eval_dir and (args.eval_dir / "questions.jsonl").exists():
            print("bench: (3)(7) recall on the RealTime QA subset: torch, ONNX, plain LlamaIndex", file=sys.stderr)
            results["recall"] = measure_recall(args.eval_dir, args.eval_questions, work, base, embedders,
                                               baseline=not args.no_baseline)
    real = args.real_articles
    if real and (real / "articles.jsonl" if real.is_dir() else real).exists():
        print(f"bench: (8) ingest of real articles from {real}, per encoder", file=sys.stderr)
        results["real_ingest"] = measure_real_ingest(real, args.real_chunks, work, base, embedders)
        if args.ray:
            from eval.bench_ray import measure_ray_ingest

            print("bench: (10) the same real articles ingested on an in-process Ray cluster", file=sys.stderr)
            results["ray_ingest"] = measure_ray_ingest(real, args.real_chunks, work, main_settings)

    print("bench: (4)(5)(6) answer latency by store size, in new processes", file=sys.stderr)
    from index.ingest import load_articles  # noqa: F401  (chunking imports warm once here, not in a timing)
    from index.store import open_store

    store = open_store(main_settings.replace(store_dir=work / "ingest"))
    got = store.chunks.get(include=["documents", "metadatas", "embeddings"])
    store.close()
    titles = [m.get("title", "") for m in got["metadatas"]]
    known = {(f"{t}\n{d}" if t and not d.startswith(t) else d): list(map(float, v))
             for t, d, v in zip(titles, got["documents"], got["embeddings"])}
    reuse = ReusedVectors(main_embedder, known)
    per_article = len(known) / max(n_ingest, 1)
    questions = generate_questions(articles, args.questions + 1, args.seed + 1)
    results["latency"] = []
    for size in sorted(args.sizes):
        s, built = build_latency_store(articles, size, work, main_settings, reuse, per_article)
        print(f"bench:   {built['chunks']} chunks ({built['reused_vectors']} reused vectors); answering",
              file=sys.stderr)
        results["latency"].append({"target_chunks": size, **built, **answer_in_new_process(s, questions, work)})
    if main != "torch":  # the largest store again, built and queried by torch (the same reused vectors)
        torch_reuse = ReusedVectors(torch_embedder, known)
        s, built = build_latency_store(articles, largest, work / "torch", torch_settings, torch_reuse, per_article)
        results["latency_torch"] = {"target_chunks": largest, **built, **answer_in_new_process(s, questions, work)}
    for backend, embedder in embedders.items():   # a store of seeds/ per encoder: the first answer of `make run`
        seeds = base.replace(store_dir=work / f"seeds-{backend}", embed_backend=backend)
        seed_store, _ = open_parts(seeds, embedder)
        ingest_corpus(ROOT / "seeds", seeds, seed_store, embedder)
        seed_store.close()
        cold = [answer_in_new_process(seeds, SEED_QUESTIONS, work) for _ in range(args.cold_runs)]
        results["cold_start" if backend == main else f"cold_start_{backend}"] = {
            "encoder": backend, "runs": [c["first_answer_s"] for c in cold],
            "process_s": [c["process_s"] for c in cold],
            "median_s": statistics.median(c["first_answer_s"] for c in cold),
            "median_process_s": statistics.median(c["process_s"] for c in cold), "loaded": cold[0]["loaded"],
            "peak_rss_mb": cold[0]["peak_rss_mb"]}
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return results


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, met?) rows for the printed table."""
    def row(name, value, target, ok):
        return (name, value, target, "yes" if ok else "NO")

    rows = []
    ing = r["ingest"]
    encoder = r.get("settings", {}).get("encoder", "torch")
    rows.append(row(f"1 ingest overhead, {encoder} ({ing['chunks']} chunks)",
                    f"{ing['ingest_overhead']:.2f} ({ing['pipeline_chunks_per_s']:.1f} vs "
                    f"{statistics.mean(ing['raw_chunks_per_s']):.1f} chunks/s)", ">= 0.85",
                    ing["ingest_overhead"] >= TARGETS["ingest_overhead"]))
    rows.append(row("2 re-ingest unchanged", f"{ing['reingest_speedup']:.0f}x ({ing['reingest_s']:.2f} s, "
                    f"{ing['reingest_embedded']} embedded)", ">= 50x, 0",
                    ing["reingest_speedup"] >= 50 and ing["reingest_embedded"] == 0))
    for name, enc in r.get("encoders", {}).items():
        rounds = enc["rounds"][-1]
        rows.append(row(f"3 {name}/torch throughput", f"{enc['onnx_speedup']:.2f}x ({rounds['onnx']:.1f} vs "
                        f"{rounds['torch']:.1f} chunks/s; cos {enc['cosine_to_torch_mean']:.4f})",
                        ">= 2x" if name == encoder else "(reference)", enc["onnx_speedup"] >= 2))
        rows.append(row(f"3 {name}/torch at s-t's batch 32", f"{enc['onnx_speedup_st_default']:.2f}x "
                        f"({rounds['torch_st_default']:.1f} chunks/s torch)", "(reference)",
                        enc["onnx_speedup_st_default"] >= 2))
    if "recall" in r:
        rec = r["recall"]
        for name in [n for n in rec if isinstance(rec[n], dict) and "gap_points" in rec[n] and n != "torch"]:
            rows.append(row(f"3 recall@5 torch/{name} ({rec['questions']} q)",
                            f"{rec['torch']['recall@5']:.2f} / {rec[name]['recall@5']:.2f}", "within 1 pt",
                            rec[name]["gap_points"] <= 1))
        if "llamaindex" in rec:
            li = rec["llamaindex"]
            rows.append(row("7 ingest time ours/LlamaIndex", f"{rec['ingest_time_ratio']:.2f} "
                            f"({rec['torch']['ingest_s']:.0f} s, {rec['torch']['chunks']} chunks vs "
                            f"{li['ingest_s']:.0f} s, {li['chunks']} chunks)", "report", True))
            rows.append(row("7 retrieve latency ours/LlamaIndex", f"{rec['query_latency_ratio']:.2f} "
                            f"({rec['torch']['retrieve_p50_ms']:.0f} vs {li['retrieve_p50_ms']:.0f} ms p50)",
                            "report", True))
            rows.append(row("7 recall@5 ours/LlamaIndex", f"{rec['torch']['recall@5']:.2f} / {li['recall@5']:.2f}",
                            "report", True))
    if "real_ingest" in r:
        real = r["real_ingest"]
        for name in [encoder] + [n for n in real if n not in (encoder, "articles", "source")]:
            rows.append(row(f"8 real-text ingest, {name} ({real[name]['chunks']} chunks, {real['articles']} articles)",
                            f"{real[name]['chunks_per_s']:.1f} chunks/s ({real[name]['ingest_s']:.0f} s)",
                            f">= {TARGETS['real_chunks_per_s']:.0f}" if name == encoder else "(reference)",
                            real[name]["chunks_per_s"] >= TARGETS["real_chunks_per_s"]))
    for lat in r["latency"]:
        size = lat["chunks"]
        p95_target = 150 if size >= 50_000 else 100
        ok = lat["p95_ms"] <= p95_target and (size >= 50_000 or lat["p50_ms"] <= 50)
        rows.append(row(f"4 answer p50/p95 @ {size} chunks", f"{lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} ms "
                        f"({lat['questions']} q, {lat['real_vectors']} real vectors)",
                        "<= 50 / 100 ms" if size < 50_000 else "p95 <= 150 ms", ok))
    if "latency_torch" in r:
        lat = r["latency_torch"]
        rows.append(row(f"4 answer p50/p95 @ {lat['chunks']} chunks, torch", f"{lat['p50_ms']:.0f} / "
                        f"{lat['p95_ms']:.0f} ms ({lat['questions']} q)", "(reference)", True))
    for lat in [r["latency"][-1]] + ([r["latency_torch"]] if "latency_torch" in r else []):
        if "first_dated_ms" in lat:
            label = "" if lat is r["latency"][-1] else ", torch"
            extra = lat["first_dated_ms"] - lat["p50_ms"]
            rows.append(row(f"9 first dated answer @ {lat['chunks']} chunks{label}",
                            f"{lat['first_dated_ms']:.0f} ms ({extra:+.0f} ms on the warm p50)",
                            "within 1 s" if not label else "(reference)", extra <= 1000))
    for key in [k for k in r if k.startswith("cold_start")]:
        cold = r[key]
        main = key == "cold_start"
        rows.append(row(f"5 cold first answer, seeds, {cold.get('encoder', 'torch')}",
                        f"{cold['median_s']:.1f} s median of {len(cold['runs'])} (process "
                        f"{cold.get('median_process_s', float('nan')):.1f} s); loaded: {', '.join(cold['loaded'])}",
                        f"<= {TARGETS['cold_start_s']:g} s" if main else "(reference)",
                        cold["median_s"] <= TARGETS["cold_start_s"]))
    if "ray_ingest" in r:
        from eval.bench_ray import ray_rows

        rows.extend(ray_rows(r["ray_ingest"]))
    big = r["latency"][-1]
    rows.append(row(f"6 peak RSS @ {big['chunks']} chunks", f"{big['peak_rss_mb']:.0f} MB", "<= 1536 MB",
                    big["peak_rss_mb"] <= TARGETS["peak_rss_mb"]))
    if "latency_torch" in r:
        rows.append(row(f"6 peak RSS @ {r['latency_torch']['chunks']} chunks, torch",
                        f"{r['latency_torch']['peak_rss_mb']:.0f} MB", "(reference)", True))
    return rows


def format_table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def plot(results: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    sizes = [x["chunks"] for x in results["latency"]]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(sizes, [x["p50_ms"] for x in results["latency"]], "o-", label="p50")
    ax.plot(sizes, [x["p95_ms"] for x in results["latency"]], "s-", label="p95")
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the store")
    ax.set_ylabel("warm answer latency (ms)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=Path, help="a .jsonl file or folder of real articles instead of generated ones")
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10_000],
                   help="store sizes in chunks for the latency figures (default 1000,10000; add 100000 for the "
                        "large one, ~10 min more)")
    p.add_argument("--ingest-chunks", type=int, default=1536, help="chunks embedded for real in (1)/(2)")
    p.add_argument("--encoder-chunks", type=int, default=192, help="chunks for the torch/ONNX throughput race")
    p.add_argument("--questions", type=int, default=200, help="warm questions per store size")
    p.add_argument("--cold-runs", type=int, default=3, help="new processes for the cold-start median")
    p.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR, help="RealTime QA folder (read in place)")
    p.add_argument("--eval-questions", type=int, default=10, help="RealTime QA questions in the recall subset")
    p.add_argument("--real-articles", type=Path, default=DEFAULT_EVAL_DIR,
                   help="real articles for (8), ingest throughput on real text: a folder with articles.jsonl or a "
                        ".jsonl file (default: the RealTime QA folder; skipped when it is missing)")
    p.add_argument("--real-chunks", type=int, default=1500, help="about this many real chunks are ingested in (8)")
    p.add_argument("--ray", action="store_true",
                   help="add (10): the real-text sample of (8) ingested on an in-process Ray cluster with 1 actor and "
                        "one per core, beside the local ingest (needs pip install -e '.[distributed]'; ~3 min)")
    p.add_argument("--no-onnx", action="store_true", help="torch only: skip (3), the recall comparison and ONNX")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain LlamaIndex pipeline (7)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated corpus")
    p.add_argument("--cache-dir", type=Path, help="where the ONNX export is kept (default NEWSQA_CACHE_DIR)")
    p.add_argument("--work", type=Path, help="folder for the stores (default: a new temporary folder)")
    p.add_argument("--output", type=Path, default=ROOT / "eval" / "results" / "bench.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    rows = verdicts(results)
    results["table"] = [dict(zip(("figure", "value", "target", "met"), r)) for r in rows]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    chart = plot(results, args.output.with_suffix(".png"))
    print(format_table([("figure", "value", "target", "met"), *rows]))
    print(f"results: {args.output}" + (f", plot: {chart}" if chart else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
