"""Follow-up questions -> standalone questions, so retrieval sees what "that" refers to."""
from __future__ import annotations

import re
from typing import Any, Sequence

from index.terms import terms

FOLLOW_UP = re.compile(r"^\s*(and|but|also|so|what about|how about|then)\b|\b(that|this|it|they|them|he|she|"
                       r"his|her|their|its|there|those|these)\b", re.I)
MIN_STANDALONE_TERMS = 3


def user_turns(history: Sequence[Any] | None) -> list[str]:
    """The user's earlier questions, from Gradio messages ({'role', 'content'}) or (user, assistant) pairs."""
    out: list[str] = []
    for turn in history or []:
        if isinstance(turn, dict):
            content = turn.get("content")
            if isinstance(content, list):   # Gradio 6: a list of parts, e.g. [{"type": "text", "text": ...}]
                content = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
            if turn.get("role") == "user" and isinstance(content, str):
                out.append(content)
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            out.append(turn[0])
    return out


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.search(question)) or len(terms(question)) < MIN_STANDALONE_TERMS


def condense(question: str, history: Sequence[Any] | None) -> str:
    """Without an LLM: a follow-up borrows the previous question's words ("and when did that happen?" after
    "Who set up the Lachin checkpoint?" -> "and when did that happen? (Who set up the Lachin checkpoint?)")."""
    previous = user_turns(history)
    if not previous or not is_follow_up(question):
        return question
    return f"{question.strip()} ({previous[-1].strip()})"
