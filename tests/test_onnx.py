"""The ONNX encoder (NEWSQA_EMBED_BACKEND=onnx, the default since issue 19): a local float32 export of the
packaged weights, close to torch's vectors, and a store built with it answers like the torch one."""
from __future__ import annotations

import numpy as np
import pytest

from index.settings import Settings
from tests.conftest import CHECKPOINT_Q, SEEDS


@pytest.fixture(scope="module")
def onnx_settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("onnx")
    return Settings.from_env({"NEWSQA_EMBED_BACKEND": "onnx"}, store_dir=tmp / "store", cache_dir=tmp / "cache",
                             judge="none")


@pytest.fixture(scope="module")
def onnx_embedder(onnx_settings):
    from index.embedder import make_embedder

    return make_embedder(onnx_settings)


@pytest.fixture(scope="module")
def torch_embedder():
    from index.embedder import make_embedder

    return make_embedder(Settings(embed_backend="torch"))


def test_onnx_is_the_default_encoder_and_torch_and_int8_are_settings():
    from index.embedder import make_embedder

    assert Settings().embed_backend == "onnx"
    assert Settings.from_env({"NEWSQA_EMBED_BACKEND": "torch"}).embed_backend == "torch"
    assert make_embedder(Settings.from_env({"NEWSQA_EMBED_BACKEND": "onnx-int8"})).backend == "onnx-int8"


def _seed_chunks() -> list[str]:
    from index.articles import discover, load_file
    from index.chunking import chunk_article

    files, _ = discover([SEEDS])
    articles = [a for f in files for a in load_file(f)[0]]
    return [c.embed_text() for a in articles for c in chunk_article(a, 192, 32)]


@pytest.mark.slow
def test_the_export_is_cached_under_cache_dir_and_reused(onnx_settings, onnx_embedder):
    from index.onnx_export import OnnxEmbedder, ensure_onnx_model

    onnx_embedder.embed_query("warm up")
    encoder = onnx_embedder.loaded
    assert isinstance(encoder, OnnxEmbedder)
    assert encoder.path.is_relative_to(onnx_settings.cache_dir / "onnx") and encoder.path.exists()
    before = encoder.path.stat().st_mtime_ns
    from index.embedder import model_path

    assert ensure_onnx_model(model_path("all-MiniLM-L6-v2"), onnx_settings.cache_dir / "onnx") == encoder.path
    assert encoder.path.stat().st_mtime_ns == before


@pytest.mark.slow
def test_onnx_vectors_match_torch_on_the_seed_chunks(onnx_embedder, torch_embedder):
    texts = _seed_chunks()
    assert len(texts) >= 4
    ours = np.asarray(onnx_embedder.embed_documents(texts))
    torch_vectors = np.asarray(torch_embedder.embed_documents(texts))
    cosines = (ours * torch_vectors).sum(axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert cosines.mean() > 0.999 and cosines.min() > 0.998, cosines   # float32: the same model
    query = np.asarray(onnx_embedder.embed_query(CHECKPOINT_Q)) @ np.asarray(torch_embedder.embed_query(CHECKPOINT_Q))
    assert query > 0.998


@pytest.mark.slow
def test_a_store_built_with_onnx_answers_the_checkpoint_question(onnx_settings, onnx_embedder):
    from index.ingest import ingest
    from index.store import open_store
    from qa.assistant import Assistant

    store = open_store(onnx_settings)
    report = ingest([SEEDS], onnx_settings, store, onnx_embedder)
    assert report.chunks_embedded > 0
    assistant = Assistant.from_settings(onnx_settings, store, onnx_embedder)
    result = assistant.answer(CHECKPOINT_Q)
    assert "April 23" in result.text and not result.refused
    assert result.citations[0].date == "2023-05-01"
    store.close()
