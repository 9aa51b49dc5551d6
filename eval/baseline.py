"""The plain LlamaIndex pipeline the RealTime QA figures are measured against: documents -> SentenceSplitter(256)
-> the same MiniLM -> Chroma -> top-k, with nothing of ours in between."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from eval.datasets import records
from eval.realtimeqa import ANSWER_KS, KS, Run, answer_at, recall_at


def build_baseline(articles: Path, persist: Path, model_path: str):
    """A plain LlamaIndex pipeline: documents -> SentenceSplitter(256) -> same MiniLM -> Chroma -> top-k."""
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    embed = HuggingFaceEmbedding(model_name=model_path, device="cpu")
    client = chromadb.PersistentClient(path=str(persist), settings=chromadb.config.Settings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("baseline")
    store = ChromaVectorStore(chroma_collection=collection)
    if collection.count() == 0:
        docs = []
        for rec in records(articles):
            # the url stays out of the embedded/metadata text, or the splitter raises on 700-character urls
            docs.append(Document(text=rec["text"], metadata={"url": rec["url"]},
                                 excluded_embed_metadata_keys=["url"], excluded_llm_metadata_keys=["url"]))
        started = time.perf_counter()
        VectorStoreIndex.from_documents(docs, storage_context=StorageContext.from_defaults(vector_store=store),
                                        embed_model=embed, transformations=[SentenceSplitter(chunk_size=256)],
                                        show_progress=True)
        print(f"baseline ingest: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
    return index.as_retriever(similarity_top_k=max(KS))


def run_baseline(retriever, questions: list[dict[str, Any]]) -> Run:
    run = Run("plain LlamaIndex")
    for q in questions:
        started = time.perf_counter()
        nodes = retriever.retrieve(q["question"])
        ms = (time.perf_counter() - started) * 1000
        urls = [n.node.metadata.get("url", "") for n in nodes]
        run.rows.append({"id": q["id"], "ms": ms, **{f"recall@{k}": recall_at(urls, set(q["gold_urls"]), k) for k in KS},
                         **{f"answer@{k}": answer_at([n.node.get_content() for n in nodes], q["answer"], k)
                            for k in ANSWER_KS}})
    return run
