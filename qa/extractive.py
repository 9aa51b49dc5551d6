"""The default answer: the sentences of the retrieved passages that best answer the question, verbatim, cited.

Faithful by construction (it only quotes), instant, and offline. It refuses when no passage covers the
question's key terms well enough: quoting a loosely related sentence would be a confident wrong answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Callable, Mapping, Sequence

from index.dates import MONTH_PATTERN
from index.sentences import sentence_spans
from index.terms import stem, terms, words
from qa.ranking import DEFAULT, Ranking
from qa.results import Answer, Citation, Passage
from qa.short import short_answer

QUESTION_WORDS = frozenset(stem(w) for w in """what which who whom whose when where why how date number article
    articles report reports story stories news piece""".split())   # asked about, or about the sources: not to quote
REFUSAL = "The articles do not say."

_MONTHS = rf"(?:{MONTH_PATTERN})"
ANSWER_TYPES: dict[str, tuple[re.Pattern, re.Pattern]] = {
    "date": (re.compile(r"\b(when|what (date|day|year|month)|which (date|day|year|month)|how long ago)\b", re.I),
             re.compile(rf"\b({_MONTHS}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTHS}|(19|20)\d\d|monday|tuesday|wednesday|"
                        rf"thursday|friday|saturday|sunday|yesterday|today)\b", re.I)),
    "number": (re.compile(r"\b(how (many|much|long|old|far|big|wide|tall|high|deep|large|often)|"
                          r"what (number|percentage|share|amount|size))\b", re.I),
               re.compile(r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                          r"fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|dozens|percent|"
                          r"half)\b", re.I)),
    "place": (re.compile(r"\b(where|what (city|country|place|venue|state|location))\b", re.I),
              re.compile(r"\b(in|at|near|outside|inside|from)\s+(the\s+)?[A-Z][a-z]+")),
    "person": (re.compile(r"\b(who|whom|whose)\b", re.I),
               re.compile(r"\b[A-Z][a-z]+\s+[A-Z][a-z]+")),
    "entity": (re.compile(r"\b(which|what)\s+(?:\w+\s+){0,2}?(team|company|country|nation|state|city|show|series|"
                          r"movie|film|airline|automaker|carmaker|retailer|firm|brand|group|party|continent|"
                          r"organization|agency|league|network|app|player|singer|band|artist|leader|official|"
                          r"senator|governor|university|school|club|bank|newspaper|celebrity|actor|actress|"
                          r"athlete|star|country's|head of state)\b", re.I),
               re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z]+")),
}
DAY_MENTION = re.compile(rf"\b({_MONTHS}\.?\s+\d{{1,2}}(st|nd|rd|th)?|\d{{1,2}}\s+{_MONTHS})\b(,?\s+(19|20)\d\d)?", re.I)
NAMED_KINDS = ("place", "person", "entity")   # the answer must name something the question does not
STRICT_KINDS = ("date", "number")  # reliable enough to penalise a sentence without one, and to refuse


@dataclass(frozen=True)
class Scored:
    passage_index: int
    start: int
    end: int
    score: float
    overlap: float

    def text(self, passages: Sequence[Passage]) -> str:
        return passages[self.passage_index].text[self.start:self.end]


def question_terms(question: str) -> list[str]:
    """The terms an answer should cover: no question words, no words about the sources ("article", "report"),
    and no days of a month (the date window holds them; "the May 4 article" is not something to quote). Years
    stay: "the 2020 war" names which war."""
    text = DAY_MENTION.sub(" ", question)
    return [t for t in dict.fromkeys(terms(text)) if t not in QUESTION_WORDS]


def coverage(q_terms: Sequence[str], text_terms: set[str], idf: Mapping[str, float]) -> float:
    """IDF-weighted share of the question's terms found in a text: rare terms (names, numbers) count most.

    Weights are 1 + idf, not idf: on a small store idf swings wildly (a word in one of nine chunks looks
    rarer than a name), and every question term should count for something.
    """
    weight = {t: 1.0 + idf.get(t, 1.0) for t in q_terms}
    total = sum(weight.values())
    return sum(weight[t] for t in q_terms if t in text_terms) / total if total else 0.0


def answer_type(question: str) -> str | None:
    for name, (asks, _) in sorted(ANSWER_TYPES.items(), key=lambda kv: kv[0] != "entity"):
        if asks.search(question):
            return name
    return None


def fits_type(kind: str | None, sentence: str, question: str) -> bool:
    """Does the sentence hold the kind of thing asked for? For names: one that is not already in the question."""
    if kind is None:
        return True
    if kind in NAMED_KINDS:
        asked = set(words(question))
        names = re.findall(r"(?<=[\s“\"(])[A-Z][a-zA-Z.&-]+", " " + sentence[1:])
        if not any(w not in asked for n in names for w in words(n)):
            return False
    if kind == "number":  # "April 30" is a date, not a count
        sentence = ANSWER_TYPES["date"][1].sub(" ", sentence)
    return bool(ANSWER_TYPES[kind][1].search(sentence))


def freshness(passages: Sequence[Passage], ranking: Ranking = DEFAULT) -> list[float]:
    """Each passage's factor for being older than the newest passage: 1 within grace_days of it, falling to
    1 - stale_penalty at stale_days (and for an undated passage). On RealTime QA it took "Which singer will
    launch a Las Vegas residency later this year?" (asked in July 2022) from January's postponement to July's
    announcement: gold article cited 0.73 -> 0.76; reference in citations unchanged; the seed set unchanged."""
    days = [date.fromisoformat(p.date).toordinal() if p.date else None for p in passages]   # stored: ISO or ""
    newest = max((d for d in days if d is not None), default=None)
    if newest is None:
        return [1.0] * len(passages)
    r = ranking
    span = r.stale_days - r.grace_days
    return [1.0 - r.stale_penalty * (1.0 if d is None else min(1.0, max(0, newest - d - r.grace_days) / span))
            for d in days]


def score_sentences(question: str, passages: Sequence[Passage], idf: Mapping[str, float],
                    ranking: Ranking = DEFAULT) -> list[Scored]:
    """Every sentence of every passage, scored by term overlap (its own and its neighbours'), answer type,
    the passage's retrieval score and how much older its report is than the newest; best first."""
    q_terms = question_terms(question)
    kind = answer_type(question)
    fresh = freshness(passages, ranking)
    r = ranking
    scored: list[Scored] = []
    for pi, passage in enumerate(passages):
        spans = sentence_spans(passage.text)
        sets = [set(terms(passage.text[s:e])) for s, e in spans]
        own = [coverage(q_terms, st, idf) for st in sets]
        for si, (s, e) in enumerate(spans):
            neighbours = max(own[si - 1] if si else 0.0, own[si + 1] if si + 1 < len(own) else 0.0)
            # the question's own words answer nothing: a sentence must hold something beyond them
            novel = len(set(words(passage.text[s:e])) - set(words(question))) >= r.min_novel_words
            fits = fits_type(kind, passage.text[s:e], question)
            bonus = r.type_bonus if kind and fits else 0.0
            total = (own[si] + r.neighbour_weight * neighbours + bonus) * (1.0 if novel else r.echo_factor)
            total *= r.wrong_type_factor if kind in STRICT_KINDS and not fits else 1.0
            total *= ((1.0 - r.passage_weight) + r.passage_weight * passage.score) * fresh[pi]
            scored.append(Scored(pi, s, e, total, own[si]))
    return sorted(scored, key=lambda x: x.score, reverse=True)


def choose(scored: Sequence[Scored], passages: Sequence[Passage], ranking: Ranking = DEFAULT) -> list[Scored]:
    """The best sentence, plus the runner-up when it scores close and is not a repeat (syndicated copies of one
    story carry the same sentence)."""
    if not scored:
        return []
    seen = {" ".join(words(scored[0].text(passages)))}
    picked = [scored[0]]
    for candidate in scored[1:]:
        if len(picked) == ranking.max_sentences or candidate.score < ranking.second_sentence_ratio * scored[0].score:
            break
        key = " ".join(words(candidate.text(passages)))
        if key in seen:
            continue
        seen.add(key)
        picked.append(candidate)
    return picked


class ExtractiveSynthesizer:
    """Quotes the best sentences; needs no LLM. `idf` gives term weights from the keyword index."""

    name = "extractive"

    def __init__(self, idf: Callable[[Sequence[str]], Mapping[str, float]], min_similarity: float,
                 min_coverage: float, ranking: Ranking = DEFAULT) -> None:
        self.idf = idf
        self.ranking = ranking
        self.min_similarity = min_similarity
        self.min_coverage = min_coverage

    def synthesize(self, question: str, passages: Sequence[Passage]) -> Answer:
        q_terms = question_terms(question)
        idf = self.idf(q_terms)
        picked = choose(score_sentences(question, passages, idf, self.ranking), passages, self.ranking)
        kind = answer_type(question)
        if picked and kind in STRICT_KINDS and not fits_type(kind, picked[0].text(passages), question):
            picked = []   # "how many" with no number in the best sentence: the articles do not say
        if not picked or not self.answerable(q_terms, [passages[p.passage_index] for p in picked], idf, picked,
                                             passages):
            return Answer(question=question, text=REFUSAL, citations=[], refused=True, backend=self.name)
        numbers: dict[int, int] = {}
        quotes: dict[int, list[str]] = {}
        parts = []
        best = picked[0]
        for p in sorted(picked, key=lambda x: (x.passage_index, x.start)):
            number = numbers.setdefault(p.passage_index, len(numbers) + 1)
            sentence = p.text(passages)
            quotes.setdefault(p.passage_index, []).append(sentence)
            parts.append(f"{sentence} [{number}]")
        short = short_answer(question, best.text(passages))
        citations = [Citation.from_passage(n, passages[pi], tuple(quotes[pi]), short if pi == best.passage_index else "")
                     for pi, n in numbers.items()]
        return Answer(question=question, text=" ".join(parts), citations=citations, refused=False,
                      backend=self.name, short_answer=short)

    def candidates(self, question: str, passages: Sequence[Passage], limit: int) -> list[tuple[int, str]]:
        """(passage index, sentence) of the `limit` best-scored sentences, repeats (syndicated copies) once: what
        an LLM reader chooses among."""
        scored = score_sentences(question, passages, self.idf(question_terms(question)), self.ranking)
        seen: set[str] = set()
        out: list[tuple[int, str]] = []
        for s in scored:
            key = " ".join(words(s.text(passages)))
            if key and key not in seen:
                seen.add(key)
                out.append((s.passage_index, s.text(passages)))
                if len(out) == limit:
                    break
        return out

    def answerable(self, q_terms: Sequence[str], chosen: Sequence[Passage], idf: Mapping[str, float],
                   picked: Sequence[Scored], passages: Sequence[Passage]) -> bool:
        """Is the evidence strong enough to quote? The cited passages (with titles) must cover the question's
        key terms, and the store must hold something semantically close to the question (the best retrieved
        passage: the sentence that answers may sit in a passage that is mostly about something else)."""
        if not q_terms:
            return False
        cited_terms = set().union(*(set(terms(p.title + "\n" + p.text)) for p in chosen))
        best_similarity = max(p.similarity for p in passages)
        return coverage(q_terms, cited_terms, idf) >= self.min_coverage and best_similarity >= self.min_similarity
