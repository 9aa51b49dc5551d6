"""The one Settings object: every component is chosen from it, read once at an edge from NEWSQA_* variables."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Mapping, get_args, get_origin, get_type_hints

PREFIX = "NEWSQA_"

Backend = Literal["extractive", "llamacpp", "openai", "ollama"]
EmbedBackend = Literal["onnx", "onnx-int8", "torch"]
Judge = Literal["local", "openai", "ollama", "none"]
LlmMode = Literal["reader", "generate"]


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable and the valid values."""


def _doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that run offline on a laptop-class CPU."""

    # where things live
    store_dir: Path = _doc("Folder of the persistent Chroma store and its keyword index.", default=Path(".newsqa/store"))
    collection: str = _doc("Chroma collection name (3-512 characters).", default="news")
    chroma_host: str = _doc("Chroma server host; empty uses the embedded store in store_dir.", default="")
    chroma_port: int = _doc("Chroma server port (with chroma_host).", default=8000)
    sync_interval_s: float = _doc("With chroma_host: seconds between checks for what other processes wrote.",
                                  default=2.0)
    cache_dir: Path = _doc("Folder for downloaded/assembled models and exports (outside git).",
                           default=Path(os.path.expanduser("~/.cache/newsqa")))
    # indexing
    embed_model: str = _doc("sentence-transformers model: 'all-MiniLM-L6-v2' (packaged) or a local path.",
                            default="all-MiniLM-L6-v2")
    embed_backend: EmbedBackend = _doc("Encoder of new stores: onnx (exported locally once, no torch at answer "
                                       "time), onnx-int8 (quantized: faster, a little less accurate), or torch. A "
                                       "store keeps the encoder that built it.", default="onnx")
    chunk_size: int = _doc("Chunk size in tokens for the sentence-aware splitter.", default=192)
    chunk_overlap: int = _doc("Token overlap between neighbouring chunks.", default=32)
    ingest_batch: int = _doc("Chunks embedded and committed together. Larger batches pad less (the encoder sorts a "
                             "batch by length): 128 cost ~10% of ingest speed against 512; an interrupted ingest "
                             "redoes at most one batch.", default=512)
    max_file_mb: float = _doc("Files larger than this are rejected with a reason.", default=25.0)
    follow_links: bool = _doc("Ingest what a symbolic link inside an ingested folder points to even when it lies "
                              "outside that folder (else such a link is rejected).", default=False)
    fetch_timeout_s: float = _doc("Seconds before fetching a web page or feed is abandoned.", default=20.0)
    allow_private_urls: bool = _doc("Fetch URLs on private or loopback addresses (refused by default).",
                                    default=False)
    # retrieval
    top_k: int = _doc("Passages retrieved per question.", default=5)
    hybrid: bool = _doc("Fuse BM25 keyword ranking with vector ranking (else vector only).", default=True)
    recency_half_life_days: float = _doc("Half-life of the recency boost for 'recently'/'this week' questions.",
                                         default=7.0)
    as_of_half_life_days: float = _doc("Half-life of a milder recency boost for any question asked with an explicit "
                                       "as_of (0 turns it off: relevance alone).", default=30.0)
    recency_floor: float = _doc("Lowest recency factor: an old article keeps at least this share of its score.",
                                default=0.3)
    rrf_k: int = _doc("Reciprocal-rank-fusion constant: lower trusts the top ranks of each list more.", default=10)
    candidates: int = _doc("Candidates each of vector and BM25 search fetch before fusion.", default=40)
    article_support: float = _doc("Share of the best other chunk of the same article added to a chunk's score "
                                  "(articles about the story beat digests that mention it once).", default=0.5)
    lede_boost: float = _doc("Extra share of score for an article's first chunk, its lede (0 turns it off).",
                             default=0.25)
    date_vectors: bool = _doc("Search a date window exactly over an in-memory, date-sorted copy of the vectors "
                              "(~4x faster than Chroma's where filter); false uses the filter. Embedded stores "
                              "only.", default=True)
    min_similarity: float = _doc("Refuse when the best passage's cosine similarity is below this.", default=0.30)
    min_coverage: float = _doc("Refuse when the answer covers less than this IDF-weighted share of the "
                               "question's key terms.", default=0.45)
    max_question_chars: int = _doc("Longest question accepted.", default=2000)
    # answering
    backend: Backend = _doc("Answer backend: extractive (default, no LLM), llamacpp, openai or ollama.",
                            default="extractive")
    llamacpp_model: str = _doc("Path of a GGUF file; empty uses the assembled Qwen2.5 1.5B (python -m qa.models get).",
                               default="")
    llamacpp_ctx: int = _doc("llama.cpp context size in tokens.", default=4096)
    llamacpp_threads: int = _doc("llama.cpp CPU threads; 0 uses all cores.", default=0)
    openai_base_url: str = _doc("OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.",
                                default="https://api.openai.com/v1")
    openai_model: str = _doc("Model name at the OpenAI-compatible endpoint.", default="gpt-4o-mini")
    ollama_host: str = _doc("Ollama server URL.", default="http://127.0.0.1:11434")
    ollama_model: str = _doc("Ollama model name.", default="qwen2.5:1.5b-instruct")
    llm_mode: LlmMode = _doc("How an LLM backend answers: reader (reads the best sentence, says if it answers and "
                             "copies the short answer from it) or generate (writes sentences, then checked).",
                             default="reader")
    timeout_s: float = _doc("Seconds before a backend or server call is abandoned.", default=60.0)
    # defaults chosen on labelled sentences: see qa/citations.py (MIN_OVERLAP, MIN_SIMILARITY)
    citation_min_overlap: float = _doc("A generated sentence needs this share of its terms in the passage it "
                                       "cites (else the similarity below) to be kept.", default=0.7)
    citation_min_similarity: float = _doc("...or this embedding similarity to a sentence of that passage.",
                                          default=0.6)
    judge: Judge = _doc("Faithfulness judge for python -m eval: local, openai, ollama or none.", default="local")
    judge_model: str = _doc("Judge model: a GGUF path for local (empty: the assembled Qwen2.5 1.5B), a model name "
                            "for openai/ollama (empty: openai_model / ollama_model).", default="")
    judge_base_url: str = _doc("Endpoint of the openai/ollama judge (empty: openai_base_url / ollama_host).",
                               default="")
    # the page
    host: str = _doc("Address the chat page binds to.", default="127.0.0.1")
    port: int = _doc("Port of the chat page.", default=7860)
    auth: str = _doc("'user:password' for the page; required when host is not loopback.", default="")
    max_upload_mb: float = _doc("Largest file the page accepts for upload.", default=25.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build from NEWSQA_* variables (pass a dict in tests), then apply keyword overrides."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, hints[f.name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if get_origin(hints[f.name]) is Literal and value not in get_args(hints[f.name]):
                raise SettingsError(f"{PREFIX}{f.name.upper()}={value!r} is not one of {', '.join(get_args(hints[f.name]))}")
            if hints[f.name] is Path and not isinstance(value, Path):
                object.__setattr__(self, f.name, Path(value).expanduser())
        if not 3 <= len(self.collection) <= 512:
            raise SettingsError(f"{PREFIX}COLLECTION must have 3-512 characters, got {self.collection!r}")
        if self.chunk_overlap >= self.chunk_size:
            raise SettingsError(f"{PREFIX}CHUNK_OVERLAP ({self.chunk_overlap}) must be below "
                                f"{PREFIX}CHUNK_SIZE ({self.chunk_size})")
        if self.ingest_batch < 1:
            raise SettingsError(f"{PREFIX}INGEST_BATCH must be at least 1, got {self.ingest_batch}")
        if self.fetch_timeout_s <= 0:
            raise SettingsError(f"{PREFIX}FETCH_TIMEOUT_S must be above 0, got {self.fetch_timeout_s}")
        if self.sync_interval_s < 0:
            raise SettingsError(f"{PREFIX}SYNC_INTERVAL_S must be 0 or more, got {self.sync_interval_s}")
        if self.top_k < 1:
            raise SettingsError(f"{PREFIX}TOP_K must be at least 1, got {self.top_k}")

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def public(self) -> dict[str, Any]:
        """The settings as plain values, for reports and logs (no secrets live here: API keys stay in the env)."""
        return {f.name: str(v) if isinstance(v, Path) else v for f in fields(self) for v in [getattr(self, f.name)]}


def _coerce(name: str, raw: str, kind: Any) -> Any:
    try:
        if kind is bool:
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true/false")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw).expanduser()
        return raw
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r}: {exc}") from None


def settings_help() -> str:
    """One line per setting with its variable and default, for every --help."""
    lines = ["settings (environment variables):"]
    for f in fields(Settings):
        default = f.default if f.default is not dataclasses.MISSING else ""
        lines.append(f"  {PREFIX}{f.name.upper():<26} {f.metadata.get('doc', '')} [default: {default}]")
    lines.append("  OPENAI_API_KEY / NEWSQA_OPENAI_API_KEY   key for the openai backend (read from the env, never logged)")
    return "\n".join(lines)


def settings_markdown() -> str:
    """A Markdown table of every setting (variable, default, what it does), for the README's settings section."""
    home = os.path.expanduser("~")

    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return f"`{str(value).lower()}`"
        if isinstance(value, Path):
            text = str(value)
            if home not in ("", "~", os.sep) and (text == home or text.startswith(home + os.sep)):
                text = "~" + text[len(home):]
            return f"`{text}`"
        if value == "":
            return "(empty)"
        return f"`{value}`"

    lines = ["| variable | default | what it does |", "|---|---|---|"]
    for f in fields(Settings):
        if f.default is not dataclasses.MISSING:
            default = shown(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = shown(f.default_factory())
        else:
            default = ""
        doc = f.metadata.get("doc", "").replace("|", "\\|")
        lines.append(f"| `{PREFIX}{f.name.upper()}` | {default} | {doc} |")
    return "\n".join(lines) + "\n"


def offline_environment() -> None:
    """Make HF, tiktoken, Chroma, Gradio and RAGAS stay offline; called at entry points before heavy imports."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec and spec.origin:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(spec.origin).parent / "_static" / "tiktoken_cache")
