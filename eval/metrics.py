"""Judge-free metrics: refusal accuracy, citation validity, answer correctness, context recall/precision, latency.

Pure functions over plain values (texts, ids, numbers), so they are table-tested and cost nothing to run; the
runner builds one row per question with `score_answer` and sums the rows with `aggregate`. The ID-based context
metrics are RAGAS's own (`IDBasedContextRecall` / `IDBasedContextPrecision`, imported lazily); RAGAS's non-LLM
*string* context metrics compare whole strings by edit distance, which scores a one-sentence reference against a
200-word chunk near zero, so reference-context recall is containment here instead.
"""
from __future__ import annotations

import math
import re
import statistics
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Any, Callable, Iterable, Mapping, Sequence

from qa.citations import check_answer, evidence_text

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")   # [1] and [1, 2], as qa.citations reads them
FUZZY_CONTAINS = 90          # rapidfuzz partial_ratio at or above this counts as "the sentence is in the chunk"
ARTICLES = frozenset({"a", "an", "the"})   # dropped before token F1, as SQuAD does
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


# --- text normalisation --------------------------------------------------------------------------------------

def strip_markers(text: str) -> str:
    """The answer without its [n] citation markers."""
    return re.sub(r"\s+", " ", MARKER.sub("", text)).strip()


def normalize(text: str) -> str:
    """Lower case, straight quotes, no markers, digits without thousands separators, single spaces."""
    text = unicodedata.normalize("NFKC", strip_markers(text)).translate(_QUOTES).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"[a-z0-9]+", normalize(text)) if t not in ARTICLES]


# --- answer correctness --------------------------------------------------------------------------------------

def plain(text: str) -> str:
    """normalize(), then without quotes and punctuation: '“Squid Game”' and 'Squid Game.' read alike."""
    return " ".join(re.sub(r"[\"'.,!?()]", " ", normalize(text)).split())


def contains_all(answer: str, keywords: Sequence[str | Sequence[str]]) -> bool:
    """Every keyword is in the answer as whole words; a keyword given as a list is satisfied by any one of its
    alternatives. The one test of "the answer says it" (the seed eval and RealTime QA both use it)."""
    text = plain(answer)
    groups = [[k] if isinstance(k, str) else list(k) for k in keywords]
    return all(any(_has_phrase(text, plain(alt)) for alt in group) for group in groups)


def _has_phrase(text: str, phrase: str) -> bool:
    """`phrase` occurs in `text` as whole words: "2000" is not inside "120000", nor "war" inside "warning"."""
    if not phrase:
        return False
    left = r"\b" if phrase[0].isalnum() else ""
    right = r"\b" if phrase[-1].isalnum() else ""
    return re.search(left + re.escape(phrase) + right, text) is not None


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1 between the answer (markers removed) and the reference answer."""
    got, want = tokens(answer), tokens(reference)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def refusal_correct(refused: bool, answerable: bool) -> bool:
    """Refused exactly when it should: an answerable question answered, an unanswerable one refused."""
    return refused != answerable


# --- citations -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CitationVerdict:
    """Whether an answer's citations hold up, and if not, the reasons (one line each)."""

    valid: bool
    reasons: tuple[str, ...] = ()


def markers(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def unresolved_markers(text: str, numbers: Iterable[int]) -> list[int]:
    """The [n] markers that name no citation."""
    known = set(numbers)
    return sorted({n for n in markers(text) if n not in known})


def citation_verdict(text: str, citations: Mapping[int, str], refused: bool,
                     check: Callable[..., Any] = check_answer) -> CitationVerdict:
    """Every [n] resolves to a citation, every sentence passes the project's citation check (`check`, i.e.
    qa.citations.check_answer over the cited passages in number order), and a refusal cites nothing."""
    if refused:
        ok = not markers(text) and not citations
        return CitationVerdict(ok, () if ok else ("a refusal carries citations",))
    reasons = [f"[{n}] names no citation" for n in unresolved_markers(text, citations)]
    if not markers(text):
        reasons.append("an answer without any [n] marker")
    if citations and set(citations) == set(range(1, len(citations) + 1)):
        result = check(text, [citations[n] for n in range(1, len(citations) + 1)])
        if not result.valid:
            reasons += [f"{getattr(s, 'reason', '') or 'unsupported'}: {getattr(s, 'sentence', '')[:80]}"
                        for s in getattr(result, "sentences", ()) if not getattr(s, "supported", True)]
            reasons += [] if reasons else ["the citation check failed"]
    elif citations:
        reasons.append("citations are not numbered 1..n")
    return CitationVerdict(not reasons, tuple(reasons))


# --- contexts ------------------------------------------------------------------------------------------------

def evidence_key(evidence: Sequence[str], *, article_id: str = "", url: str = "", source: str = "") -> str:
    """The evidence entry this passage belongs to, else its own article id: evidence may be given as article
    ids, urls or source paths ("seeds/002_7e68630bb1f8edc4.txt"; matched by file name too, so the working
    folder does not matter)."""
    for key in evidence:
        if key and key in (article_id, url, source):
            return key
        if key and source and "/" in key.replace("\\", "/") and PurePath(key).name == PurePath(source).name:
            return key
    return article_id or url or source


@lru_cache(maxsize=1)
def _ragas_id_metrics():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.dataset_schema import SingleTurnSample
        from ragas.metrics import IDBasedContextPrecision, IDBasedContextRecall
    return SingleTurnSample, IDBasedContextRecall(), IDBasedContextPrecision()


def id_context_scores(retrieved_ids: Sequence[str], reference_ids: Sequence[str]) -> tuple[float | None, float | None]:
    """(recall, precision) of the retrieved articles against the evidence articles, by RAGAS's ID-based
    metrics; None where a side is empty (an unanswerable question has no evidence to recall)."""
    if not reference_ids:
        return None, None
    if not retrieved_ids:
        return 0.0, None
    sample_cls, recall, precision = _ragas_id_metrics()
    sample = sample_cls(retrieved_context_ids=list(retrieved_ids), reference_context_ids=list(reference_ids))
    return float(recall.single_turn_score(sample)), float(precision.single_turn_score(sample))


def reference_context_recall(reference_contexts: Sequence[str], retrieved: Sequence[str]) -> float | None:
    """Share of the reference sentences found inside some retrieved passage (normalised containment, or
    a rapidfuzz partial ratio of at least FUZZY_CONTAINS when a chunk boundary or a quote mark differs)."""
    if not reference_contexts:
        return None
    texts = [normalize(t) for t in retrieved]
    found = 0
    for ref in reference_contexts:
        want = normalize(ref)
        if any(want in t for t in texts):
            found += 1
        elif texts:
            from rapidfuzz import fuzz

            found += max(fuzz.partial_ratio(want, t) for t in texts) >= FUZZY_CONTAINS
    return found / len(reference_contexts)


# --- summaries -----------------------------------------------------------------------------------------------

def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are numbers (None and NaN mean 'not applicable' or 'could not score')."""
    kept = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(seconds: Sequence[float]) -> dict[str, float | None]:
    return {"mean": statistics.fmean(seconds) if seconds else None, "p50": percentile(seconds, 50),
            "p95": percentile(seconds, 95), "max": max(seconds, default=None)}


# --- one row per question, and the totals --------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """Everything measured about one question: plain values, so it goes to JSON as is."""

    id: str
    kind: str
    question: str
    answerable: bool
    refused: bool
    answer: str
    seconds: float
    refusal_correct: bool
    correct: bool
    contains: bool | None
    token_f1: float | None
    citation_valid: bool | None
    citation_reasons: tuple[str, ...]
    context_recall: float | None
    context_precision: float | None
    reference_context_recall: float | None
    cited_sources: tuple[str, ...]
    as_of: str | None = None
    faithfulness: float | None = None
    faithfulness_note: str = ""


def aggregate(rows: Sequence[Row]) -> dict[str, Any]:
    """The summary figures of a run (rates in 0..1; None when no question applies)."""
    answerable = [r for r in rows if r.answerable]
    answered = [r for r in rows if not r.refused]
    faith = [r.faithfulness for r in rows if r.faithfulness is not None]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "refusal_accuracy": mean(float(r.refusal_correct) for r in rows),
        "false_refusals": sum(r.answerable and r.refused for r in rows),
        "false_answers": sum(not r.answerable and not r.refused for r in rows),
        "citation_validity": mean(float(r.citation_valid) for r in answered if r.citation_valid is not None),
        "answer_correctness": mean(float(r.correct) for r in answerable),
        "token_f1": mean(r.token_f1 for r in answerable),
        "context_recall": mean(r.context_recall for r in answerable),
        "context_precision": mean(r.context_precision for r in answerable),
        "reference_context_recall": mean(r.reference_context_recall for r in answerable),
        "faithfulness": mean(faith),
        "faithfulness_scored": sum(1 for v in faith if not math.isnan(v)),
        "latency_s": latency([r.seconds for r in rows]),
    }


def by_kind(rows: Sequence[Row]) -> dict[str, dict[str, Any]]:
    """The same figures per question kind (fact, date, both, paraphrase, unanswerable, ...)."""
    kinds = sorted({r.kind for r in rows})
    return {k: aggregate([r for r in rows if r.kind == k]) for k in kinds}


def score_answer(item: Any, answer: Any, retrieved: Sequence[Any], check: Callable[..., Any] = check_answer) -> Row:
    """One question's row, from the item (eval.datasets.EvalItem), the assistant's Answer and the passages
    retrieval returned for it (each with article_id, url, source and text)."""
    evidence = list(item.evidence)
    key = lambda p: evidence_key(evidence, article_id=p.article_id, url=p.url, source=p.source)  # noqa: E731
    retrieved_ids = list(dict.fromkeys(key(p) for p in retrieved))
    recall, precision = id_context_scores(retrieved_ids, evidence) if item.answerable else (None, None)
    verdict = citation_verdict(answer.text, {c.number: evidence_text(c) for c in answer.citations}, answer.refused,
                               check)
    contains = contains_all(answer.text, item.keywords) if item.answerable and not answer.refused else (
        False if item.answerable else None)
    return Row(
        id=item.id, kind=item.kind, question=item.user_input, as_of=item.as_of, answerable=item.answerable,
        refused=answer.refused, answer=answer.text, seconds=round(answer.seconds, 4),
        refusal_correct=refusal_correct(answer.refused, item.answerable),
        correct=bool(contains) if item.answerable else answer.refused,
        contains=contains,
        token_f1=(0.0 if answer.refused else token_f1(answer.text, item.reference)) if item.answerable else None,
        citation_valid=None if answer.refused else verdict.valid,
        citation_reasons=verdict.reasons,
        context_recall=recall, context_precision=precision,
        reference_context_recall=(reference_context_recall(item.reference_contexts, [p.text for p in retrieved])
                                  if item.answerable else None),
        cited_sources=tuple(dict.fromkeys(key(c) for c in answer.citations)),
    )
