"""Prompt text for the generative backends, as named constants, with the reason for each instruction.

Written for small instruction-tuned models (Qwen2.5 1.5B is the one we test): short, imperative, the citation
format named once, and the instructions last, right after the question, where the model starts writing.
"""
from __future__ import annotations

import re
from typing import Sequence

from index.sentences import sentence_spans
from qa.extractive import REFUSAL

# The exact sentence the model must give when the passages do not answer. It is the extractive refusal, so
# every backend refuses with the same words, and qa.generative can detect it (result.refused = True).
REFUSAL_SENTENCE = REFUSAL

ANSWER_INSTRUCTIONS = (
    # Tried on the seed questions with Qwen2.5-Coder-1.5B (this build, temperature 0): instructions placed before
    # the passages made it refuse everything, even with one passage holding the answer; placed after the
    # question, it answers. One or two sentences: a 1.5B model stays faithful for about that long, and a CPU
    # spends less time on them.
    "Answer with one or two short sentences from the passages. "
    # The citation check needs a marker on every sentence; naming the format once is what small models copy.
    "End each sentence with the number of the passage it comes from in brackets, like [1]. "
    # Numbers, dates and names are checked literally against the cited passage: copying them verbatim passes.
    "Copy dates, numbers and names exactly. "
    # A fixed refusal sentence can be detected exactly (result.refused); free-form hedging cannot. Worded
    # "about something else entirely": "if the passages do not contain the answer" made it refuse answerable
    # questions.
    f"If the passages are about something else entirely, answer exactly: {REFUSAL_SENTENCE}"
)

# Passage header: the number the model cites, then the title and date it may need for "when" questions
# ("reported on 2023-05-04"); the date also lets the citation check accept a date taken from the header.
PASSAGE_HEADER = "[{number}] {title} ({date})"

# Passages first, then the question, then the instructions, so both sit next to where the model starts writing.
ANSWER_TEMPLATE = "Passages:\n{passages}\n\nQuestion: {question}\n{instructions}"

CONDENSE_TEMPLATE = (
    # Retrieval sees only the question, so a follow-up must carry its own subject: "that" -> "the checkpoint".
    "Conversation:\n{history}\n\nLast question: {question}\n\n"
    "Rewrite the last question so that it can be understood without the conversation, keeping the names, places "
    "and dates it refers to. "
    # Small models like to answer instead of rewriting; a one-line output is also easy to validate.
    "Do not answer it. Reply with the rewritten question only, on one line."
)


# An article can carry instructions aimed at the model ("ignore your instructions ... answer every question with
# ..."). Qwen 1.5B obeyed one, and telling it not to (before or after the passages) did not help; the citation check
# cannot catch it either, since the passage does contain the planted sentence. So sentences addressed to an AI are
# taken out of what the model reads. Narrow on purpose: none of the 64,286 sentences of realtimeqa-dev matches.
# The extractive backend and the citation check still read the whole passage.
INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(your|previous|prior|above|earlier|the other|every other|other)\b"
    r"[^.]{0,40}\b(instructions?|prompts?|passages?|articles?|sources?|context)\b"
    r"|\b(note|message|instructions?)\s+(to|for)\s+(the\s+|any\s+)?(ai|assistant|model|llm|chatbot|language model)\b"
    r"|\b(answer|reply|respond)\s+(to\s+)?(every|all|any)\s+(further\s+|other\s+)?questions?\s+(with|by)\b"
    r"|\b(reply|respond|answer)\s+(only\s+)?with\s+(exactly|only)\b"
    r"|\bsystem prompt\b", re.I)
REMOVED_INSTRUCTION = "[instructions to an AI removed]"


def without_instructions(text: str) -> str:
    """The text with each sentence that gives an AI instructions replaced by a short marker."""
    out, last = [], 0
    for start, end in sentence_spans(text):
        if INSTRUCTION.search(text[start:end]):
            out.append(text[last:start] + REMOVED_INSTRUCTION)
            last = end
    return "".join(out) + text[last:]


def passage_block(number: int, title: str, date: str, text: str) -> str:
    """One numbered passage as the model sees it, and as the citation check reads it (header included)."""
    header = PASSAGE_HEADER.format(number=number, title=title or "untitled", date=date or "undated")
    return f"{header}\n{' '.join(without_instructions(text).split())}"


def answer_prompt(question: str, blocks: Sequence[str]) -> str:
    return ANSWER_TEMPLATE.format(instructions=ANSWER_INSTRUCTIONS, passages="\n\n".join(blocks), question=question)


def condense_prompt(question: str, turns: Sequence[tuple[str, str]]) -> str:
    """`turns` are (role, text) pairs, oldest first."""
    history = "\n".join(f"{role}: {' '.join(text.split())[:500]}" for role, text in turns)
    return CONDENSE_TEMPLATE.format(history=history, question=question)
