"""Prompt text for the generative backends, as named constants, with the reason for each instruction.

Written for small instruction-tuned models (Qwen2.5 1.5B is the one we test): short, imperative, one example of
the citation format, and the passages last so the question sits next to the material that answers it.
"""
from __future__ import annotations

from typing import Sequence

from qa.extractive import REFUSAL

# The exact sentence the model must give when the passages do not answer. It is the extractive refusal, so
# every backend refuses with the same words, and qa.generative can detect it (result.refused = True).
REFUSAL_SENTENCE = REFUSAL

ANSWER_INSTRUCTIONS = (
    # Small models drift into general knowledge; naming the passages as the only source keeps them on them.
    "Answer the question using only the numbered news passages below.\n"
    # The citation check needs a marker on every sentence; one example of the format is what small models copy.
    "After every sentence, cite the passage it comes from with its number in brackets, like this: "
    "\"The talks began on Sunday [2].\"\n"
    # Numbers, dates and names are checked literally against the cited passage: copying them verbatim passes.
    "Copy numbers, dates and names exactly as the passage writes them.\n"
    # Short answers have fewer sentences to prune and come back faster on a CPU.
    "Answer in one to three short sentences.\n"
    # A fixed refusal sentence can be detected exactly; free-form hedging cannot.
    f"If the passages do not contain the answer, reply with exactly: {REFUSAL_SENTENCE}\n"
)

# Passage header: the number the model cites, then the title and date it may need for "when" questions
# ("reported on 2023-05-04"); the date also lets the citation check accept a date taken from the header.
PASSAGE_HEADER = "[{number}] {title} ({date})"

ANSWER_TEMPLATE = "{instructions}\nPassages:\n{passages}\n\nQuestion: {question}\nAnswer:"

CONDENSE_TEMPLATE = (
    # Retrieval sees only the question, so a follow-up must carry its own subject: "that" -> "the checkpoint".
    "Rewrite the last question so that it can be understood without the conversation. Keep names, places and "
    "dates from the conversation that it refers to.\n"
    # Small models like to answer instead of rewriting; a one-line output is also easy to validate.
    "Do not answer it. Reply with the rewritten question only, on one line.\n\n"
    "Conversation:\n{history}\n\nLast question: {question}\nRewritten question:"
)


def passage_block(number: int, title: str, date: str, text: str) -> str:
    """One numbered passage as the model sees it, and as the citation check reads it (header included)."""
    header = PASSAGE_HEADER.format(number=number, title=title or "untitled", date=date or "undated")
    return f"{header}\n{' '.join(text.split())}"


def answer_prompt(question: str, blocks: Sequence[str]) -> str:
    return ANSWER_TEMPLATE.format(instructions=ANSWER_INSTRUCTIONS, passages="\n\n".join(blocks), question=question)


def condense_prompt(question: str, turns: Sequence[tuple[str, str]]) -> str:
    """`turns` are (role, text) pairs, oldest first."""
    history = "\n".join(f"{role}: {' '.join(text.split())[:500]}" for role, text in turns)
    return CONDENSE_TEMPLATE.format(history=history, question=question)
