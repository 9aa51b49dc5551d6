"""openai backend: any OpenAI-compatible chat endpoint (OpenAI, vLLM, LM Studio, `python -m llama_cpp.server`).

The API key comes from NEWSQA_OPENAI_API_KEY or OPENAI_API_KEY and is never logged or stored in Settings; a local
server that wants no key gets a placeholder.
"""
from __future__ import annotations

import os
from typing import Iterator, Mapping
from urllib.parse import urlparse

from index.settings import Settings, SettingsError
from qa.generative import GenerativeSynthesizer, make_generative

MAX_TOKENS = 256
TEMPERATURE = 0.0
NO_KEY = "sk-no-key-needed"   # llama.cpp's server, vLLM and LM Studio accept any key; the client insists on one
KEY_VARIABLES = ("NEWSQA_OPENAI_API_KEY", "OPENAI_API_KEY")


def api_key(base_url: str, environ: Mapping[str, str]) -> str:
    """The key from the environment; required only by OpenAI's own endpoint."""
    key = next((environ[v] for v in KEY_VARIABLES if environ.get(v)), "")
    if not key and (urlparse(base_url).hostname or "").endswith("openai.com"):
        raise SettingsError(f"the openai backend at {base_url} needs an API key: set {' or '.join(KEY_VARIABLES)}")
    return key or NO_KEY


class OpenAIEndpointError(RuntimeError):
    """The endpoint failed; the message is the client's, with the API key blanked out."""


class OpenAIModel:
    """TextModel over /v1/chat/completions with stream=True."""

    def __init__(self, base_url: str, model: str, key: str, max_tokens: int = MAX_TOKENS) -> None:
        from openai import OpenAI

        # retries would multiply the timeout; the synthesizer falls back instead
        self.client = OpenAI(base_url=base_url, api_key=key, max_retries=0)
        self.model = model
        self.max_tokens = max_tokens

    def __repr__(self) -> str:   # never shows the key
        return f"OpenAIModel({self.client.base_url!s}, {self.model!r})"

    def stream(self, prompt: str, *, timeout_s: float) -> Iterator[str]:
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": prompt}], stream=True,
                temperature=TEMPERATURE, max_tokens=self.max_tokens, timeout=timeout_s)
            with response:
                for chunk in response:
                    if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        except Exception as exc:
            # some endpoints echo the key in their 401 body, which the client puts in the message we show and log
            if self.client.api_key and self.client.api_key in str(exc):
                raise OpenAIEndpointError(f"{type(exc).__name__}: "
                                          f"{str(exc).replace(self.client.api_key, '***')}") from None
            raise


    def json(self, prompt: str, schema: dict, *, timeout_s: float) -> str:
        """One reply constrained to a JSON schema: OpenAI's json_schema format for OpenAI itself; llama.cpp's
        server (and others that follow it) read the schema from a json_object format instead."""
        host = urlparse(str(self.client.base_url)).hostname or ""
        fmt = ({"type": "json_schema", "json_schema": {"name": "choice", "schema": schema}}
               if host.endswith("openai.com") else {"type": "json_object", "schema": schema})
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": prompt}], response_format=fmt,
                temperature=TEMPERATURE, max_tokens=self.max_tokens, timeout=timeout_s)
        except Exception as exc:
            if self.client.api_key and self.client.api_key in str(exc):
                raise OpenAIEndpointError(f"{type(exc).__name__}: "
                                          f"{str(exc).replace(self.client.api_key, '***')}") from None
            raise
        return (response.choices[0].message.content or "") if response.choices else ""


def make_synthesizer(settings: Settings, fallback, embedder=None,
                     environ: Mapping[str, str] | None = None) -> GenerativeSynthesizer:
    key = api_key(settings.openai_base_url, os.environ if environ is None else environ)
    model = OpenAIModel(settings.openai_base_url, settings.openai_model, key)
    return make_generative("openai", model, settings, fallback, embedder)
