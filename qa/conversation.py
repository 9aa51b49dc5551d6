"""Follow-up questions -> standalone questions, so retrieval sees what "that" refers to."""
from __future__ import annotations

import re
from typing import Any, Sequence

from index.terms import terms

FOLLOW_UP = re.compile(r"^\s*(and|but|also|so|what about|how about|then)\b|\b(that|this|it|they|them|he|she|"
                       r"his|her|their|its|there|those|these)\b", re.I)
MIN_STANDALONE_TERMS = 3


def turns(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """(role, text) of each message of a conversation, read from Gradio messages ({'role', 'content'}, content a
    string or Gradio 6's list of parts) or from (user, assistant) pairs. Messages with metadata (the page's
    collapsible 'Sources' boxes) and anything that is not text are left out. The one reader of chat history."""
    out: list[tuple[str, str]] = []
    for turn in history or []:
        if isinstance(turn, dict):
            if turn.get("metadata"):
                continue
            content = turn.get("content")
            if isinstance(content, list):   # Gradio 6: a list of parts, e.g. [{"type": "text", "text": ...}]
                content = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
            if isinstance(content, str):
                out.append((str(turn.get("role") or "user"), content))
        elif isinstance(turn, (list, tuple)):
            out += [(role, text) for role, text in zip(("user", "assistant"), turn) if isinstance(text, str)]
    return out


def user_turns(history: Sequence[Any] | None) -> list[str]:
    """The user's earlier questions."""
    return [text for role, text in turns(history) if role == "user"]


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.search(question)) or len(terms(question)) < MIN_STANDALONE_TERMS


def condense(question: str, history: Sequence[Any] | None) -> str:
    """Without an LLM: a follow-up borrows the previous question's words ("and when did that happen?" after
    "Who set up the Lachin checkpoint?" -> "and when did that happen? (Who set up the Lachin checkpoint?)")."""
    previous = user_turns(history)
    if not previous or not is_follow_up(question):
        return question
    return f"{question.strip()} ({previous[-1].strip()})"
