"""Evaluation sets: our JSON Lines format (RAGAS field names) and the RealTime QA folder format, as EvalItems.

Our format, one object a line (see eval/README.md):
    {"id", "user_input", "reference", "reference_contexts": [...], "sources" | "article_ids" | "urls": [...],
     "keywords": [...], "kind", "as_of"}
Only `user_input` is required. A question with no evidence (or whose reference is the refusal) is unanswerable:
the right response is a refusal.

RealTime QA (`../shared/realtimeqa-dev`: articles.jsonl + questions.jsonl) is read in place, never copied: its
`question`, `answer`, `gold_urls` and `as_of` become user_input, reference (and the keyword the answer must
contain), evidence and as_of.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = ROOT / "eval" / "dataset.jsonl"
DEFAULT_ARTICLES = ROOT / "seeds"
REFUSAL_REFERENCE = "The articles do not say."
EVIDENCE_FIELDS = ("sources", "article_ids", "urls")
_STRIP_QUOTES = "\"'“”‘’ "


class DatasetError(ValueError):
    """The evaluation set cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class EvalItem:
    """One question to evaluate, what a right answer holds, and which articles hold the evidence."""

    id: str
    user_input: str
    reference: str = ""
    reference_contexts: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()           # article ids, urls or source paths of the articles that answer it
    keywords: tuple[Any, ...] = ()           # each a string, or a list of alternatives; all must be in the answer
    kind: str = "question"
    as_of: str | None = None
    answerable: bool = True


@dataclass(frozen=True)
class Dataset:
    """Items, plus the article files they are about (ingested into an evaluation store before the run)."""

    name: str
    items: tuple[EvalItem, ...]
    articles: tuple[Path, ...] = ()


def item_from_record(record: dict[str, Any], where: str) -> EvalItem:
    if not isinstance(record, dict) or not str(record.get("user_input", "")).strip():
        raise DatasetError(f"{where}: every line needs a non-empty 'user_input'")
    evidence = tuple(str(e) for name in EVIDENCE_FIELDS for e in (record.get(name) or []))
    reference = str(record.get("reference") or "")
    answerable = record.get("answerable")
    if answerable is None:
        answerable = bool(evidence) and reference.strip() != REFUSAL_REFERENCE
    keywords = tuple(k if isinstance(k, str) else tuple(k) for k in (record.get("keywords") or []))
    if not keywords and answerable and reference:
        keywords = (reference.strip(_STRIP_QUOTES).rstrip("."),)
    return EvalItem(id=str(record.get("id") or where), user_input=str(record["user_input"]).strip(),
                    reference=reference, reference_contexts=tuple(record.get("reference_contexts") or ()),
                    evidence=evidence, keywords=keywords, kind=str(record.get("kind") or "question"),
                    as_of=record.get("as_of") or None, answerable=bool(answerable))


def read_jsonl(path: Path) -> list[tuple[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append((f"{path.name}:{number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return rows


def records(path: Path) -> list[Any]:
    """The JSON records of a .jsonl file (blank lines skipped), e.g. RealTime QA's questions or articles."""
    return [record for _, record in read_jsonl(path)]


def load_jsonl_dataset(path: Path, articles: Sequence[Path] = ()) -> Dataset:
    items = tuple(item_from_record(record, where) for where, record in read_jsonl(path))
    if not items:
        raise DatasetError(f"{path}: no questions")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return Dataset(path.name, items, tuple(articles))


def load_realtimeqa(folder: Path) -> Dataset:
    """The RealTime QA slice, read where it lies: the gold article urls are the evidence."""
    items = []
    for where, q in read_jsonl(folder / "questions.jsonl"):
        answer = str(q.get("answer", "")).strip(_STRIP_QUOTES)
        items.append(EvalItem(id=str(q.get("id") or where), user_input=q["question"], reference=answer,
                              evidence=tuple(q.get("gold_urls") or ()), keywords=(answer,), kind="realtimeqa",
                              as_of=q.get("as_of") or None, answerable=True))
    return Dataset(f"realtimeqa:{folder.name}", tuple(items), (folder / "articles.jsonl",))


def is_realtimeqa(path: Path) -> bool:
    return path.is_dir() and (path / "questions.jsonl").is_file() and (path / "articles.jsonl").is_file()


def load_dataset(path: Path | None = None, articles: Sequence[Path] | None = None) -> Dataset:
    """Our JSONL set (default: eval/dataset.jsonl over seeds/) or a RealTime QA folder.

    `articles`: files or folders to ingest into the evaluation store first. The bundled set defaults to seeds/;
    a user's own JSONL defaults to none, i.e. it is asked against the configured store as it is."""
    path = Path(path) if path else DEFAULT_DATASET
    if is_realtimeqa(path):
        dataset = load_realtimeqa(path)
        return dataset if articles is None else Dataset(dataset.name, dataset.items, tuple(articles))
    if path.is_dir():
        raise DatasetError(f"{path}: a folder must hold questions.jsonl and articles.jsonl (RealTime QA format)")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if articles is None:
        articles = (DEFAULT_ARTICLES,) if path.resolve() == DEFAULT_DATASET.resolve() else ()
    return load_jsonl_dataset(path, articles)
