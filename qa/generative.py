"""A generated answer, checked: numbered passages -> TextModel -> refusal? -> qa.citations -> prune -> Answer.

Each backend (qa/backends/*.py) only moves text: it provides a `TextModel` and calls `make_generative`. What a
user sees is always checked: unsupported sentences are removed (listed in `Answer.pruned`), and when nothing
survives, or the backend is down, slow or returns garbage, the extractive answer is shown with a notice.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import replace
from functools import lru_cache
from typing import Any, Callable, Iterator, Protocol, Sequence

from index.sentences import sentences
from index.settings import Settings
from index.terms import terms
from qa.citations import CitationCheck, check_answer, evidence_text
from qa.conversation import MIN_STANDALONE_TERMS, condense as condense_by_rules, is_follow_up, turns, user_turns
from qa.prompts import REFUSAL_SENTENCE, answer_prompt, condense_prompt, passage_block
from qa.results import Answer, Citation, Passage, Pruned

log = logging.getLogger(__name__)

# The model's refusal, however it words the fixed sentence: "The articles do not say." / "The passages don't
# contain ..." at the start of its reply.
REFUSAL_PATTERN = re.compile(r"^\W*(the )?(news )?(articles|passages)( provided)? (do not|don't|does not|doesn't) "
                             r"(say|contain|mention|provide|state|include)", re.I)
MAX_CONDENSED_CHARS = 300     # a longer "rewritten question" is the model answering instead
FOCUS_SENTENCES = 3           # sentences of each passage the model sees: the ones sharing most question terms.
                              # Halves the prompt (prompt evaluation is most of a CPU answer's time) and gives a
                              # 1.5B model less to get lost in; the check still reads the whole passage.
HISTORY_TURNS = 4             # messages of the conversation the condense prompt sees


class TextModel(Protocol):
    """What an LLM backend must do, and nothing more: stream the reply to one prompt. Called once per answer and
    once per follow-up question to condense; may raise any exception (the synthesizer falls back)."""

    def stream(self, prompt: str, *, timeout_s: float) -> Iterator[str]: ...


class Fallback(Protocol):
    name: str

    def synthesize(self, question: str, passages: Sequence[Passage]) -> Answer: ...


def within(pieces: Callable[[], Iterator[str]], timeout_s: float) -> Iterator[str]:
    """The pieces `pieces()` yields, run in a worker thread, with a TimeoutError once timeout_s has passed in
    total even when the backend blocks (a server that accepts and never answers). The worker is told to stop and
    quits at its next piece; a backend stuck inside one call is abandoned, not waited for."""
    out: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        iterator = None
        try:
            iterator = pieces()
            for piece in iterator:
                if stop.is_set():
                    break
                out.put(("piece", piece))
            out.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, which decides
            out.put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close:
                close()

    threading.Thread(target=work, name="newsqa-generate", daemon=True).start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                kind, value = out.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no complete answer within {timeout_s:g} s (NEWSQA_TIMEOUT_S)") from None
            if kind == "piece":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()


def describe(exc: BaseException) -> str:
    """One plain line for the user: the exception's message, with its type when the message is empty."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_refusal(text: str) -> bool:
    return bool(REFUSAL_PATTERN.match(text.strip()))


def clean_reply(text: str) -> str:
    """The reply without chat debris: a leading 'Answer:', surrounding quotes, markdown emphasis."""
    text = re.sub(r"^\s*(answer|response)\s*:\s*", "", text.strip(), flags=re.I)
    text = text.replace("**", "").strip()
    text = text[1:-1].strip() if len(text) > 1 and text[0] == text[-1] == '"' else text
    # markers as the 1.5B model also writes them: "April 23 (2)" and "[1], [2]"
    text = re.sub(r"\s*\((\d{1,2})\)(?=\s*(?:[.!?]|$|\n))", r" [\1]", text)
    text = re.sub(r"\]\s*,\s*\[", "][", text)
    # the passage header copied: "[1] Squid Game is coming back. (2022-06-12)" -> "Squid Game is coming back. [1]"
    text = re.sub(r"(?<=[.!?])\s*\((?:19|20)\d\d-\d\d-\d\d\)", "", text)
    return re.sub(r"^(\s*)((?:\[\d+\]\s*)+)(\S.*)$", lambda m: f"{m.group(1)}{m.group(3)} {m.group(2).strip()}",
                  text, flags=re.M)


def focus(question: str, text: str, keep: int = FOCUS_SENTENCES) -> str:
    """The `keep` sentences of a passage sharing most terms with the question, in their original order."""
    parts = sentences(text)
    wanted = set(terms(question))
    best = sorted(range(len(parts)), key=lambda i: -len(wanted & set(terms(parts[i]))))[:keep]
    return " ".join(parts[i] for i in sorted(best))


def quote_for(claim: str, passage: Passage) -> str:
    """The passage's sentence that shares most terms with a claim: what the page highlights."""
    own = set(terms(claim))
    return max(sentences(passage.text) or [passage.text], key=lambda s: len(own & set(terms(s))))


def renumber(check: CitationCheck, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """Checked text with markers renumbered 1..m by first use, and the citations they point at, with quotes."""
    order: dict[int, int] = {}
    quotes: dict[int, list[str]] = {}
    for s in check.sentences:
        if not s.supported:
            continue
        claim = re.sub(r"\s*(\[\d+\])+$", "", s.sentence)
        for n in s.cited:
            order.setdefault(n, len(order) + 1)
            quote = quote_for(claim, passages[n - 1])
            if quote not in quotes.setdefault(n, []):
                quotes[n].append(quote)
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{order[int(m.group(1))]}]", check.text)
    citations = [Citation.from_passage(new, passages[old - 1], tuple(quotes[old])) for old, new in order.items()]
    return text, citations


def embedding_similarity(embedder) -> Callable[[str, str], float]:
    """Cosine similarity with the embedder already loaded (vectors are unit length), each text embedded once."""
    vector = lru_cache(maxsize=4096)(embedder.embed_query)
    return lambda a, b: float(sum(x * y for x, y in zip(vector(a), vector(b))))


class GenerativeSynthesizer:
    """An LLM answer whose every sentence is checked against the passage it cites (see the module doc)."""

    def __init__(self, name: str, model: TextModel, fallback: Fallback, *, timeout_s: float,
                 similarity: Callable[[str, str], float] | None = None, min_overlap: float, min_similarity: float
                 ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.name = name
        self.model = model
        self.fallback = fallback
        self.timeout_s = timeout_s
        self.similarity = similarity
        self.min_overlap = min_overlap
        self.min_similarity = min_similarity

    # -- called by Assistant -------------------------------------------------------------------------------------
    def synthesize(self, question: str, passages: Sequence[Passage]) -> Answer:
        *_, answer = self.stream(question, passages)
        return answer

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str | Answer]:
        """The reply's pieces as generated, then the checked Answer (the gate's refusal or the fallback's answer
        without pieces)."""
        if (gated := self.gate(question, passages)) is not None:
            yield gated
            return
        pieces: list[str] = []
        try:
            for piece in self.generate(question, passages):
                pieces.append(piece)
                yield piece
        except Exception as exc:  # noqa: BLE001 -- any backend failure becomes a notice, never a crash
            yield self.fall_back(question, passages, f"the {self.name} backend failed ({describe(exc)})")
            return
        yield self.finish(question, passages, "".join(pieces))

    def condense(self, question: str, history: Sequence[Any] | None) -> str:
        """A follow-up rewritten by the model into a standalone question; the rule-based one if the model fails
        or answers instead."""
        if not user_turns(history) or not is_follow_up(question):
            return question
        try:
            reply = "".join(within(lambda: self.model.stream(condense_prompt(question, recent_turns(history)),
                                                             timeout_s=self.timeout_s), self.timeout_s))
        except Exception as exc:  # noqa: BLE001
            log.warning("the %s backend could not condense a follow-up (%s); using the rules", self.name,
                        describe(exc))
            return condense_by_rules(question, history)
        line = next((clean_reply(s) for s in reply.splitlines() if s.strip()), "")
        line = re.sub(r"^(rewritten|standalone) question\s*:\s*", "", line, flags=re.I).strip()
        if len(terms(line)) < MIN_STANDALONE_TERMS or len(line) > MAX_CONDENSED_CHARS:
            return condense_by_rules(question, history)
        return line

    # -- the steps -----------------------------------------------------------------------------------------------
    def gate(self, question: str, passages: Sequence[Passage]) -> Answer | None:
        """The refusal, without asking the model, when the passages do not cover the question's key terms (the
        extractive answerability test). Qwen2.5-1.5B answered "What is the population of Tokyo?" from the seed
        passages with an invented figure under every prompt wording tried that still let it answer the seed
        questions; the model's own refusal sentence is detected too."""
        decided = self.fallback.synthesize(question, passages)
        if not decided.refused:
            return None
        return Answer(question=question, text=REFUSAL_SENTENCE, citations=[], refused=True, backend=self.name)

    def generate(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        blocks = [passage_block(n, p.title, p.date, focus(question, p.text)) for n, p in enumerate(passages, start=1)]
        prompt = answer_prompt(question, blocks)
        return within(lambda: self.model.stream(prompt, timeout_s=self.timeout_s), self.timeout_s)

    def finish(self, question: str, passages: Sequence[Passage], reply: str) -> Answer:
        """The reply checked: a refusal, or the supported sentences with renumbered citations, or the fallback."""
        reply = clean_reply(reply)
        if not reply:
            return self.fall_back(question, passages, f"the {self.name} backend returned an empty answer")
        if is_refusal(reply):
            return Answer(question=question, text=REFUSAL_SENTENCE, citations=[], refused=True, backend=self.name)
        lines, refusals = [], []
        for line in reply.splitlines():
            parts = sentences(line)
            refusals += [s for s in parts if is_refusal(s)]
            lines.append(" ".join(s for s in parts if not is_refusal(s)))
        sources = [evidence_text(p) for p in passages]
        check = self.check("\n".join(lines), sources)
        check, recited = self.recite(check, sources)
        pruned = check.pruned + [Pruned(s, "a refusal inside an answer") for s in refusals]
        if not check.text:
            notice = (f"none of the {len(check.sentences)} sentences of the {self.name} answer is supported by "
                      "the passage it cites" if check.sentences else f"the {self.name} backend returned no sentence")
            return replace(self.fall_back(question, passages, notice), pruned=pruned)
        text, citations = renumber(check, passages)
        notice = (f"{recited} sentence(s) cited a passage that does not support them and now cite the one that does"
                  if recited else "")
        return Answer(question=question, text=text, citations=citations, refused=False, backend=self.name,
                      pruned=pruned, notice=notice)

    def check(self, text: str, sources: Sequence[str]) -> CitationCheck:
        return check_answer(text, sources, similarity=self.similarity, min_overlap=self.min_overlap,
                            min_similarity=self.min_similarity)

    def recite(self, check: CitationCheck, sources: Sequence[str]) -> tuple[CitationCheck, int]:
        """A sentence whose cited passage does not support it is checked again without its marker, so it gets the
        passage that does, if any (a 1.5B model often cites the neighbour of the right passage). The result
        is re-checked as a whole; sentences no passage supports stay pruned."""
        rewritten, recited = [], 0
        for s in check.sentences:
            if not s.supported and s.cited:
                again = self.check(re.sub(r"\s*(\[\d+\])+$", "", s.sentence), sources)
                if again.valid:
                    rewritten.append(again.text)
                    recited += 1
                    continue
            rewritten.append(s.sentence)
        if not recited:
            return check, 0
        final = self.check(" ".join(rewritten), sources)
        return final, recited

    def fall_back(self, question: str, passages: Sequence[Passage], reason: str) -> Answer:
        log.warning("%s; showing the extractive answer", reason)
        answer = self.fallback.synthesize(question, passages)
        return replace(answer, notice=f"{reason}; showing the {self.fallback.name} answer")


def recent_turns(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """(role, text) of the last few messages."""
    return turns(history)[-HISTORY_TURNS:]


def make_generative(name: str, model: TextModel, settings: Settings, fallback: Fallback,
                    embedder=None) -> GenerativeSynthesizer:
    """What every backend's make_synthesizer ends with: the model as a reader (settings.llm_mode) or as a writer
    whose sentences are checked with the settings' thresholds."""
    kind = GenerativeSynthesizer
    if settings.llm_mode == "reader":
        from qa.reader import ReaderSynthesizer as kind
    return kind(name, model, fallback, timeout_s=settings.timeout_s,
                similarity=embedding_similarity(embedder) if embedder is not None else None,
                min_overlap=settings.citation_min_overlap, min_similarity=settings.citation_min_similarity)
