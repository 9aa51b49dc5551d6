"""make_judge(settings): RAGAS Faithfulness with a judge LLM whose every output is JSON-schema constrained.

RAGAS 0.4's default client path (instructor's JSON mode) breaks on small local models: parse errors, NaN. What
works (../shared/NOTES.md): constrain decoding to a tight JSON schema — 1-6 statements of at most 200
characters, exactly one verdict (0 or 1) per statement. So the judge is RAGAS's own `Faithfulness` metric (its
prompts, its score) over a small RAGAS LLM class whose `generate(prompt, model)` sends the model's schema to:
  local   llama_cpp.Llama in process (response_format json_object + schema; no server)   [extra: llm]
  openai  any OpenAI-compatible endpoint (response_format json_schema; json_object + schema as fallback)
  ollama  Ollama's /api/chat with `format` = the schema
Its calibration is eval/calibration.py; drafting a test set with RAGAS is eval/testset.py.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from pydantic import BaseModel, Field, ValidationError, create_model

from index.settings import Settings, SettingsError
from qa.backends.openai import api_key

log = logging.getLogger(__name__)

MAX_STATEMENTS = 6        # a cited answer is 1-3 sentences; more statements only give a small model room to ramble
MAX_CHARS = 200           # per statement and per reason: long strings are where small models derail
MAX_TOKENS = 1024         # 6 x (statement + reason) fits with room to spare

Complete = Callable[[list[dict[str, str]], dict[str, Any]], str]   # (chat messages, JSON schema) -> JSON text


class JudgeError(RuntimeError):
    """The judge cannot be built or reached; the message says what to install or set."""


@dataclass(frozen=True)
class JudgeScore:
    value: float            # in [0, 1], or NaN when the judge produced nothing usable
    note: str = ""


# --- tight schemas -------------------------------------------------------------------------------------------


def statements_model() -> type[BaseModel]:
    """RAGAS's StatementGeneratorOutput, tightened: 1-6 short statements."""
    from pydantic import constr

    return create_model("Statements", statements=(
        list[constr(min_length=1, max_length=MAX_CHARS)], Field(..., min_length=1, max_length=MAX_STATEMENTS)))


def verdicts_model(count: int) -> type[BaseModel]:
    """RAGAS's NLIStatementOutput, tightened: exactly one verdict (0 or 1) per statement, short reasons."""
    verdict = create_model("Verdict", statement=(str, Field(..., max_length=MAX_CHARS)),
                           reason=(str, Field(..., max_length=MAX_CHARS)), verdict=(Literal[0, 1], ...))
    return create_model("Verdicts", statements=(list[verdict], Field(..., min_length=count, max_length=count)))


class SchemaLLM:
    """A RAGAS instructor-style LLM (generate / agenerate with a response model) over any `Complete`.

    Built lazily as a subclass of ragas.llms.base.InstructorBaseRagasLLM by `ragas_llm`, so importing this
    module does not import ragas."""

    def __init__(self, complete: Complete, name: str) -> None:
        self.complete = complete
        self.name = name

    def generate(self, prompt: str, response_model: type[BaseModel]) -> BaseModel:
        schema = response_model.model_json_schema()
        messages = [{"role": "user", "content": prompt}]
        text = self.complete(messages, schema)
        try:
            return response_model.model_validate_json(text)
        except ValidationError as exc:
            raise JudgeError(f"the judge's output does not fit the schema: {exc.errors()[0]['msg']}: {text[:120]!r}") from None

    async def agenerate(self, prompt: str, response_model: type[BaseModel]) -> BaseModel:
        return self.generate(prompt, response_model)


def ragas_llm(complete: Complete, name: str) -> Any:
    from ragas.llms.base import InstructorBaseRagasLLM

    cls = type("SchemaRagasLLM", (SchemaLLM, InstructorBaseRagasLLM), {})
    return cls(complete, name)


def faithfulness_metric(llm: Any) -> Any:
    """RAGAS's collections Faithfulness, with its two LLM steps asked through the tight schemas."""
    from ragas.metrics.collections import Faithfulness
    from ragas.metrics.collections.faithfulness.util import (NLIStatementInput, NLIStatementOutput,
                                                             StatementGeneratorInput)

    class TightFaithfulness(Faithfulness):
        async def _create_statements(self, question: str, response: str) -> list[str]:
            prompt = self.statement_generator_prompt.to_string(StatementGeneratorInput(question=question,
                                                                                       answer=response))
            return list((await self.llm.agenerate(prompt, statements_model())).statements)

        async def _create_verdicts(self, statements: list[str], context: str) -> NLIStatementOutput:
            prompt = self.nli_statement_prompt.to_string(NLIStatementInput(context=context, statements=statements))
            result = await self.llm.agenerate(prompt, verdicts_model(len(statements)))
            return NLIStatementOutput.model_validate(result.model_dump())

    return TightFaithfulness(llm=llm)


class Judge:
    """Scores how faithful an answer is to its passages (RAGAS Faithfulness); `name` says which model judged."""

    def __init__(self, name: str, complete: Complete) -> None:
        self.name = name
        self.metric = faithfulness_metric(ragas_llm(complete, name))

    def faithfulness(self, question: str, response: str, contexts: Sequence[str]) -> JudgeScore:
        """The share of the answer's statements its passages support; NaN (with the reason) when the judge
        fails, so one bad output costs one figure, not the run."""
        from eval.metrics import strip_markers

        try:
            result = self.metric.score(user_input=question, response=strip_markers(response),
                                       retrieved_contexts=list(contexts))
        except Exception as exc:  # noqa: BLE001 - a judge failure is a data point, reported per question
            log.warning("judge failed: %s", exc)
            return JudgeScore(float("nan"), f"judge failed: {str(exc)[:200]}")
        value = float(result.value)
        return JudgeScore(value, "no statements" if math.isnan(value) else "")


# --- the three judges ----------------------------------------------------------------------------------------

def local_complete(settings: Settings) -> tuple[str, Complete]:
    """llama_cpp.Llama in this process, temperature 0, output constrained by the schema's grammar."""
    # llama.cpp's OpenMP threads spin while they wait; on a shared CPU that made each token 5-10x slower
    # (measured: 1.4-3.2 s a token with 2 spinning threads vs 0.3 s passive). Read once, when the library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError:
        raise JudgeError("the local judge needs llama-cpp-python: pip install -e '.[llm]' "
                         "(or NEWSQA_JUDGE=openai|ollama|none)") from None
    if settings.judge_model:
        path = Path(settings.judge_model).expanduser()
    else:
        try:
            from qa.models import default_model_path
        except ImportError:
            raise JudgeError("no judge model: set NEWSQA_JUDGE_MODEL to a GGUF file") from None
        path = Path(default_model_path(settings))
    if not path.is_file():
        raise JudgeError(f"no judge model at {path}: run python -m qa.models get, or set NEWSQA_JUDGE_MODEL")
    # One Llama per RAGAS step (statements, verdicts): the weights are memory-mapped once and shared, and each
    # context keeps its step's long fixed prompt prefix (instruction, schema, example) evaluated between calls.
    contexts: dict[str, Any] = {}

    def complete(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        step = str(schema.get("title", ""))
        if step not in contexts:
            contexts[step] = llama_cpp.Llama(model_path=str(path), n_ctx=settings.llamacpp_ctx, seed=0,
                                             n_threads=settings.llamacpp_threads or os.cpu_count(), verbose=False)
        out = contexts[step].create_chat_completion(messages=messages, temperature=0.0, max_tokens=MAX_TOKENS,
                                                    response_format={"type": "json_object", "schema": schema})
        return out["choices"][0]["message"]["content"] or ""

    return f"local:{path.name}", complete


def openai_complete(settings: Settings) -> tuple[str, Complete]:
    """Any OpenAI-compatible endpoint: OpenAI, vLLM, llama.cpp's server, Ollama's /v1, LM Studio."""
    try:
        import openai
    except ImportError:
        raise JudgeError("the openai judge needs the openai package: pip install -e '.[openai]'") from None
    base_url = settings.judge_base_url or settings.openai_base_url
    model = settings.judge_model or settings.openai_model
    key = api_key(base_url, os.environ)
    client = openai.OpenAI(base_url=base_url, api_key=key, timeout=settings.timeout_s, max_retries=1)
    formats = [lambda s: {"type": "json_schema", "json_schema": {"name": "output", "schema": s}},
               lambda s: {"type": "json_object", "schema": s}]   # llama-cpp-python's server reads only this one

    def complete(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        while True:
            try:
                out = client.chat.completions.create(model=model, messages=messages, temperature=0.0,
                                                     max_tokens=MAX_TOKENS, response_format=formats[0](schema))
                return out.choices[0].message.content or ""
            except openai.BadRequestError:
                if len(formats) == 1:
                    raise
                formats.pop(0)
            except openai.APIConnectionError as exc:
                raise JudgeError(f"cannot reach the openai judge at {base_url}: {exc}") from None

    return f"openai:{model}@{base_url}", complete


def ollama_complete(settings: Settings) -> tuple[str, Complete]:
    import httpx

    host = (settings.judge_base_url or settings.ollama_host).rstrip("/")
    model = settings.judge_model or settings.ollama_model

    def complete(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        try:
            response = httpx.post(f"{host}/api/chat", timeout=settings.timeout_s, json={
                "model": model, "messages": messages, "stream": False, "format": schema,
                "options": {"temperature": 0, "num_predict": MAX_TOKENS}})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise JudgeError(f"the ollama judge at {host} failed: {exc}") from None
        return response.json()["message"]["content"]

    return f"ollama:{model}@{host}", complete


JUDGES: dict[str, Callable[[Settings], tuple[str, Complete]]] = {
    "local": local_complete, "openai": openai_complete, "ollama": ollama_complete}


def make_judge(settings: Settings) -> Judge:
    """The one place the judge is chosen (settings.judge); its backend is imported only when asked for."""
    if settings.judge not in JUDGES:
        raise SettingsError(f"unknown judge {settings.judge!r}; valid: {', '.join(JUDGES)}")
    name, complete = JUDGES[settings.judge](settings)
    return Judge(name, complete)
