"""eval/scale.py at a tiny size, so the server-mode benchmark cannot rot: chunks are real slices of their articles,
every figure is produced for both modes, and a second process sees a new article within the sync bound."""
from __future__ import annotations

import json

import pytest

from eval.bench import generate_articles
from eval.scale import main, split_chunks
from tests.test_deployment import SYNC_BOUND_S
from tests.test_reliability import free_port


def test_chunks_are_slices_of_their_article_grouped_by_paragraph():
    article = generate_articles(1, seed=5)[0]
    chunks = split_chunks(article, 300)
    assert len(chunks) > 1 and len({c.id for c in chunks}) == len(chunks)
    assert all(article["text"][c.start:c.end] == c.text for c in chunks)
    assert all(len(c.text) <= 300 or "\n\n" not in c.text for c in chunks)   # only a long paragraph runs over
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert split_chunks(article, 300) == chunks


@pytest.mark.slow
def test_the_scale_bench_runs_end_to_end_at_a_tiny_size(tmp_path, capsys):
    out = tmp_path / "scale.json"
    assert main(["--sizes", "1200", "--questions", "6", "--see-runs", "1", "--port", str(free_port()),
                 "--work", str(tmp_path / "w"), "--output", str(out)]) == 0
    results = json.loads(out.read_text())
    row = results["sizes"][0]
    assert row["chunks"] == 1200
    for mode in ("embedded", "server"):
        assert row[mode]["questions"] == 6 and row[mode]["p95_ms"] > 0 and row[mode]["peak_rss_mb"] > 0
    assert set(row["server"]["window_search"]) >= {"chroma where, for comparison"}
    seen = results["seconds_to_see"][0]
    assert -seen["ingest_s"] <= seen["after_ingest_returned_s"] <= SYNC_BOUND_S
    assert "| 1,200 | server |" in capsys.readouterr().out
