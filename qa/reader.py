"""The LLM reader: the model reads the extractive scorer's best sentence(s), numbered, says which one answers
(or none), and copies the short answer out of it; the answer shown is the short answer, then that sentence quoted
and cited with the span marked (with the extractive answer's other quotes when it quotes the same sentence).
With a 1.5B model on a CPU, one candidate (CANDIDATES) answers best and fastest.

Faithful by construction: nothing the model writes is shown unless it is found in the sentence it chose (a span
that is not there is dropped, the quote stays). It reads sentences, not whole passages, and writes a few tokens
of JSON that llama.cpp constrains to a schema, so on a CPU it answers in a few seconds. When no candidate
answers it says so, rather than quoting a neighbour of the answer. A broken reply (not JSON, a
number out of range) or a failed backend gives the extractive answer with a notice, as the generative path does.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Iterator, Sequence

from qa.generative import GenerativeSynthesizer, describe, within
from qa.prompts import INSTRUCTION, REFUSAL_SENTENCE, without_instructions
from qa.results import Answer, Citation, Passage
from qa.short import short_answer as rule_short_answer

CANDIDATES = 1           # sentences the model reads, the extractive scorer's best. With Qwen 1.5B on 2 cores, 1
                         # against 2 / 4 / 8: RealTime QA EM 0.36 vs 0.38 / 0.31 / 0.28, F1 0.45 vs 0.43 / 0.37 /
                         # 0.35, p50 3.9 s vs 5.2 / 6.1 s; seed correctness 70.5% vs 65.9% (4) / 61.4% (8). The small
                         # model chooses among sentences worse than the scorer does; it reads one well
MAX_ANSWER_CHARS = 80    # a short answer is a name, number, date or phrase; longer is the model copying the sentence
MAX_ANSWER_WORDS = 10
MAX_TOKENS = 64          # {"sentence": 12, "answer": "<= 80 characters"} fits

READER_TEMPLATE = (
    # the sentences first, then the question, then what to do: small models follow what they read last
    "Numbered sentences from news articles (with each article's date):\n{sentences}\n\n"
    "Question: {question}\n"
    "Which sentence answers the question? Reply with JSON: {{\"sentence\": <its number>, \"answer\": <the shortest "
    "words copied exactly from that sentence that answer the question>}}. If no sentence answers it, reply "
    "{{\"sentence\": 0, \"answer\": \"\"}}."
)


class ReaderReplyError(ValueError):
    """The model's reply is not a choice this reader can use; the message says what was wrong."""


def reader_schema(count: int) -> dict[str, Any]:
    """The reply's JSON schema: a sentence number 0..count (0: none answers) and a short answer."""
    return {"type": "object",
            "properties": {"sentence": {"type": "integer", "minimum": 0, "maximum": count},
                           "answer": {"type": "string", "maxLength": MAX_ANSWER_CHARS}},
            "required": ["sentence", "answer"]}


def reader_prompt(question: str, candidates: Sequence[tuple[str, str]]) -> str:
    """`candidates` are (date, sentence), numbered from 1 in the order given."""
    lines = [f"[{n}] ({date or 'undated'}) {' '.join(without_instructions(text).split())}"
             for n, (date, text) in enumerate(candidates, start=1)]
    return READER_TEMPLATE.format(sentences="\n".join(lines), question=question)


def parse_choice(reply: str, count: int) -> tuple[int, str]:
    """(sentence number, answer) from the reply; raises ReaderReplyError for anything else."""
    match = re.search(r"\{.*\}", reply, re.S)
    try:
        data = json.loads(match.group(0) if match else reply)
    except json.JSONDecodeError:
        raise ReaderReplyError(f"the reply is not JSON: {reply[:80]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sentence"), int) or isinstance(data["sentence"], bool):
        raise ReaderReplyError(f"the reply names no sentence number: {reply[:80]!r}")
    number, answer = data["sentence"], data.get("answer", "")
    if not 0 <= number <= count:
        raise ReaderReplyError(f"the reply chose sentence {number} of {count}")
    return number, answer if isinstance(answer, str) else ""


_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


def span_in(span: str, sentence: str) -> str:
    """The span as the sentence writes it (case, quotes and spacing may differ in the reply), or '' when the sentence
    does not hold it, or when it is no short answer (too long, the whole sentence, no letter or digit)."""
    words = span.translate(_QUOTES).strip(" .,;:\"'").split()
    if not words or len(words) > MAX_ANSWER_WORDS or not re.search(r"\w", span):
        return ""
    pattern = r"\s+".join(re.escape(w) for w in words)
    found = re.search(rf"(?<!\w){pattern}(?!\w)", sentence.translate(_QUOTES), re.I)
    if not found or found.end() - found.start() >= len(sentence.strip(" .")) - 1:
        return ""
    return sentence[found.start():found.end()]


class ReaderSynthesizer(GenerativeSynthesizer):
    """An LLM backend that reads candidate sentences and points at the answer (see the module doc). The gate,
    follow-up condensing, timeouts and fallbacks are GenerativeSynthesizer's."""

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str | Answer]:
        # the extractive answer: its refusal is the gate (as GenerativeSynthesizer.gate), its quotes are kept
        default = self.fallback.synthesize(question, passages)
        if default.refused:
            yield self.refusal(question)
            return
        # a sentence addressed to an AI is never a candidate: quoting it is what its writer wants
        candidates = [(i, text) for i, text in self.fallback.candidates(question, passages, CANDIDATES + 2)
                      if not INSTRUCTION.search(text)][:CANDIDATES]
        if not candidates:
            yield self.refusal(question)
            return
        prompt = reader_prompt(question, [(passages[i].date, text) for i, text in candidates])
        try:
            reply = "".join(within(lambda: self.complete(prompt, reader_schema(len(candidates))), self.timeout_s))
            number, span = parse_choice(reply, len(candidates))
        except ReaderReplyError as exc:
            yield self.fall_back(question, passages, f"the {self.name} reader's reply was unusable ({exc})")
            return
        except Exception as exc:  # noqa: BLE001 -- any backend failure becomes a notice, never a crash
            yield self.fall_back(question, passages, f"the {self.name} backend failed ({describe(exc)})")
            return
        if number == 0:
            yield self.refusal(question)
            return
        index, sentence = candidates[number - 1]
        short = span_in(span, sentence) or rule_short_answer(question, sentence)
        yield self.quoted(question, passages, index, sentence, short, default)

    def quoted(self, question: str, passages: Sequence[Passage], index: int, sentence: str, short: str,
               default: Answer) -> Answer:
        """The chosen sentence with the extractive answer's other quotes when that answer quotes it too (it then
        says as much as the default does, and the short answer on top), else the chosen sentence alone."""
        chosen = passages[index].chunk_id
        if any(c.chunk_id == chosen and sentence in c.quotes for c in default.citations):
            citations = [replace(c, short_answer=short if c.chunk_id == chosen and sentence in c.quotes else "")
                         for c in default.citations]
            return replace(default, citations=citations, backend=self.name, short_answer=short)
        citation = Citation.from_passage(1, passages[index], (sentence,), short)
        return Answer(question=question, text=f"{sentence} [1]", citations=[citation], refused=False,
                      backend=self.name, short_answer=short)

    def complete(self, prompt: str, schema: dict[str, Any]) -> Iterator[str]:
        """The model's JSON reply, constrained to the schema where the backend can (`json`), else its text."""
        constrained = getattr(self.model, "json", None)
        if constrained is not None:
            yield constrained(prompt, schema, timeout_s=self.timeout_s)
        else:
            yield from self.model.stream(prompt, timeout_s=self.timeout_s)

    def refusal(self, question: str) -> Answer:
        return Answer(question=question, text=REFUSAL_SENTENCE, citations=[], refused=True, backend=self.name)
