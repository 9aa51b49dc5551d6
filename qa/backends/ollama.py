"""ollama backend: a model served by Ollama (host and model as settings), through LlamaIndex's integration
(pip install -e '.[ollama]'). Nothing here starts or pulls models: `ollama serve` and `ollama pull MODEL` do."""
from __future__ import annotations

from typing import Iterator

from index.settings import Settings
from qa.generative import GenerativeSynthesizer, make_generative

MAX_TOKENS = 256
TEMPERATURE = 0.0


class OllamaUnreachable(ConnectionError):
    """No Ollama server answers at the configured host; the message says how to fix it."""


class OllamaModel:
    """TextModel over llama_index.llms.ollama.Ollama.stream_chat."""

    def __init__(self, host: str, model: str, timeout_s: float, max_tokens: int = MAX_TOKENS) -> None:
        from llama_index.llms.ollama import Ollama

        self.host = host
        self.llm = Ollama(model=model, base_url=host, request_timeout=timeout_s, temperature=TEMPERATURE,
                          additional_kwargs={"num_predict": max_tokens})

    def stream(self, prompt: str, *, timeout_s: float) -> Iterator[str]:
        import httpx
        from llama_index.core.llms import ChatMessage

        try:
            for response in self.llm.stream_chat([ChatMessage(role="user", content=prompt)]):
                if response.delta:
                    yield response.delta
        except (ConnectionError, httpx.ConnectError) as exc:
            raise OllamaUnreachable(f"no Ollama server answers at {self.host} (NEWSQA_OLLAMA_HOST): start one with "
                                    f"`ollama serve` and `ollama pull {self.llm.model}`") from exc


    def json(self, prompt: str, schema: dict, *, timeout_s: float) -> str:
        """One reply constrained to a JSON schema (Ollama's `format`), through its /api/chat."""
        import httpx

        try:
            response = httpx.post(f"{self.host.rstrip('/')}/api/chat", timeout=timeout_s, json={
                "model": self.llm.model, "messages": [{"role": "user", "content": prompt}], "stream": False,
                "format": schema, "options": {"temperature": TEMPERATURE, "num_predict": MAX_TOKENS}})
            response.raise_for_status()
        except httpx.ConnectError as exc:
            raise OllamaUnreachable(f"no Ollama server answers at {self.host} (NEWSQA_OLLAMA_HOST): start one with "
                                    f"`ollama serve` and `ollama pull {self.llm.model}`") from exc
        return response.json().get("message", {}).get("content", "")


def make_synthesizer(settings: Settings, fallback, embedder=None) -> GenerativeSynthesizer:
    model = OllamaModel(settings.ollama_host, settings.ollama_model, settings.timeout_s)
    return make_generative("ollama", model, settings, fallback, embedder)
