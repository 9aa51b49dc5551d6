"""eval/bench.py at a tiny size, so the benchmark cannot rot: the corpus is deterministic, every figure of the
issue is produced, and the unchanged re-ingest embeds nothing."""
from __future__ import annotations

import json

import pytest

from eval.bench import ReusedVectors, format_table, generate_articles, generate_questions, main
from tests.conftest import REALTIMEQA


def test_the_generated_corpus_is_deterministic_and_prefix_stable():
    small, large = generate_articles(5, seed=3), generate_articles(40, seed=3)
    assert small == large[:5] and small != generate_articles(5, seed=4)
    assert len({a["url"] for a in large}) == 40 and len({a["date"][:4] for a in large}) >= 2
    questions = generate_questions(large, 9)
    assert questions == generate_questions(large, 9) and sum(q["as_of"] is None for q in questions) == 3


def test_reused_vectors_keep_known_texts_and_vary_the_rest():
    class Real:
        name = "fake"

        def embed_query(self, text):
            return [float(len(text)), 0.0]

    reuse = ReusedVectors(Real(), {"a": [1.0, 0.0], "b": [0.0, 1.0]})
    known, other, again = reuse.embed_documents(["a", "some new text", "some new text"])
    assert known == [1.0, 0.0] and other == again and other not in ([1.0, 0.0], [0.0, 1.0])
    assert abs(sum(x * x for x in other) - 1) < 1e-5 and reuse.reused == 2
    assert reuse.embed_query("abc") == [3.0, 0.0]


@pytest.mark.slow
def test_the_bench_runs_end_to_end_at_a_tiny_size(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--sizes", "60,150", "--ingest-chunks", "30", "--encoder-chunks", "16", "--questions", "6",
            "--cold-runs", "1", "--eval-questions", "1", "--eval-dir", str(REALTIMEQA), "--work", str(tmp_path / "w"),
            "--cache-dir", str(tmp_path / "cache"), "--output", str(out), "--real-articles", str(REALTIMEQA),
            "--real-chunks", "20"]
    assert main(argv) == 0
    results = json.loads(out.read_text())
    assert results["ingest"]["reingest_embedded"] == 0 and results["ingest"]["ingest_overhead"] > 0
    assert results["encoders"]["onnx"]["cosine_to_torch_mean"] > 0.999
    assert results["encoders"]["onnx-int8"]["cosine_to_torch_mean"] > 0.98
    assert {"torch", "onnx", "llamaindex"} <= set(results["recall"])
    assert [x["chunks"] for x in results["latency"]] == sorted(x["chunks"] for x in results["latency"])
    assert all(x["questions"] == 6 and x["p95_ms"] >= x["p50_ms"] > 0 for x in results["latency"])
    cold = results["cold_start"]
    assert cold["encoder"] == "onnx" and not {"gradio", "torch", "sentence_transformers"} & set(cold["loaded"])
    assert "torch" in results["cold_start_torch"]["loaded"]
    assert results["real_ingest"]["onnx"]["chunks"] >= 20 and results["real_ingest"]["torch"]["chunks_per_s"] > 0
    assert results["latency"][-1]["first_dated_ms"] > 0 and results["latency_torch"]["p50_ms"] > 0
    printed = capsys.readouterr().out
    assert "1 ingest overhead" in printed and "6 peak RSS" in printed and "7 recall@5" in printed
    assert "8 real-text ingest, onnx" in printed and "9 first dated answer" in printed
    assert out.with_suffix(".png").exists()


def test_the_table_aligns_its_columns():
    table = format_table([("a", "1", "x", "yes"), ("longer", "22", "y", "NO")]).splitlines()
    assert table[0].index("1") == table[1].index("22")
