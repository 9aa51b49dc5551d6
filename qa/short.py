"""The short answer in a quoted sentence, by rules: a date for "when", a number for "how many/much" (or "what
was the price/magnitude"), a name for "which <noun>", "who" and "where" (qa.names).

Faithful by construction: the short answer is a span of the sentence the answer quotes, and it is given only
when the rules find exactly one thing of the asked kind there that the question does not already say ("when"
over a sentence with two dates gives none: the quote alone is shown). Precision over coverage: on the RealTime
QA dev set (`python -m eval.realtimeqa`, docs/evaluation.md) a short answer is shown on 0.42 of answered
questions and right on 0.88 of those.
"""
from __future__ import annotations

import re

from index.terms import stem, words
from qa.names import asked_head, name_answer, question_sentence

_MONTH = (r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|March|Mar\.|April|Apr\.|May|June?|July?|Aug(?:ust|\.)?|"
          r"Sept?(?:ember|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
DATE = re.compile(rf"\b(?:{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_DAY}\s+{_MONTH}(?:,?\s+{_YEAR})?|"
                  rf"(?!May\b){_MONTH}(?:\s+(?:of\s+)?{_YEAR})?|May\s+{_YEAR}|{_WEEKDAY}|{_YEAR})(?![\w-])")

_SCALE = r"(?:\s+(?:thousand|million|billion|trillion))?"
_WORD_NUMBERS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
                 "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred dozen")
_QUALIFIER = r"(?:(?:about|around|nearly|almost|roughly|approximately|more than|less than|fewer than|over|under|" \
             r"at least|up to|some)\s+)?"
NUMBER = re.compile(rf"{_QUALIFIER}(?:[$€£]\s?\d[\d,]*(?:\.\d+)?{_SCALE}|"
                    rf"\d[\d,]*(?:\.\d+)?(?:\s?%|\s+percent(?:age points)?|{_SCALE})|"
                    rf"\b(?:{'|'.join(_WORD_NUMBERS.split())})\b)(?![\w,.]*\d)", re.I)
ASKS_DATE = re.compile(r"\b(when|what (date|day|year|month)|which (date|day|year|month))\b", re.I)
ASKS_NUMBER = re.compile(r"\b(how (many|much|long|old)|what (number|percentage|percent|share|amount))\b", re.I)
UNIT_AFTER = re.compile(r"\bhow (many|much|long|old)\b((?:\s+[a-z’']+){0,3})", re.I)
NOT_UNITS = frozenset("""was were is are be been did do does has have had will would could can should may might
    of in on at for to from the a an this that these those it they he she we you i""".split())
DURATIONS = frozenset("second minute hour day week month year decade".split())
# "which figure", "what was the magnitude": a number asked for by its noun
NUMBER_NOUNS = frozenset("figure magnitude price amount sum cost total rate percentage".split())
MONEY_NOUN = re.compile(r"\b(price|cost|sum|amount)\b", re.I)   # "what was the price": the amount in money
QUESTION_WORD = re.compile(r"\b(how (many|much|long|old)|when|what|which|who|whom|where|why)\b", re.I)

def asked_kind(question: str) -> str | None:
    """'date', 'number', 'name' or None: the kinds of short answer rules can give, read from the sentence that
    asks. A question asking two things ("how many ..., and since when ...") has no one short answer."""
    question = question_sentence(question)
    if len(QUESTION_WORD.findall(question)) > 1:
        return None
    if ASKS_DATE.search(question):
        return "date"
    if ASKS_NUMBER.search(question):
        return "number"
    asked = asked_head(question)
    if asked and NUMBER_NOUNS & set(asked[1]):
        return "number"
    return "name" if asked else None


def _said_in(candidate: str, question: str) -> bool:
    """Is this date or number already in the question (so it cannot be the answer)?"""
    return " ".join(words(candidate)) in " ".join(words(question))


def date_candidates(sentence: str, question: str) -> list[str]:
    return list(dict.fromkeys(m.group(0) for m in DATE.finditer(sentence) if not _said_in(m.group(0), question)))


def number_candidates(sentence: str, question: str) -> list[tuple[str, list[str]]]:
    """(number, the two words after it) for each number in the sentence that is neither part of a date nor in
    the question."""
    dates = [m.span() for m in DATE.finditer(sentence)]
    out = []
    for m in NUMBER.finditer(sentence):
        if any(s <= m.start() < e or s < m.end() <= e for s, e in dates) or _said_in(m.group(0), question):
            continue
        after = re.findall(r"^[\s-]+([A-Za-z]+)(?:\s+([A-Za-z]+))?", sentence[m.end():])
        out.append((m.group(0).strip().rstrip(",."), [w for w in (after[0] if after else ()) if w]))
    return out


def short_answer(question: str, sentence: str) -> str:
    """The one date, number or name in `sentence` that answers `question`, as written there; '' when the rules
    cannot tell which (none, or several of the kind asked)."""
    kind = asked_kind(question)
    if kind == "date":
        found = date_candidates(sentence, question)
        return found[0] if len(found) == 1 else ""
    if kind == "number":
        return _pick_number(question, number_candidates(sentence, question))
    if kind == "name":
        return name_answer(question, sentence)
    return ""


def _pick_number(question: str, found: list[tuple[str, list[str]]]) -> str:
    """The only number, or the only one followed by the unit asked for ("how many months" -> "six months"),
    or for "how much"/"what percentage" the only amount of money or share."""
    unit = UNIT_AFTER.search(question)
    how = unit.group(1).lower() if unit else ""
    if how in ("long", "old"):   # a duration or an age: only a number of days, weeks, years ... answers
        unit_stems = DURATIONS | {"old"}
    elif how == "much":   # "how much money": the amount is written "$19 million", not "19 money"
        unit_stems = set()
    else:
        asked = words(unit.group(2)) if unit else []
        asked = asked[:next((i for i, w in enumerate(asked) if w in NOT_UNITS), len(asked))]
        unit_stems = {stem(w) for w in asked}
    with_unit = []
    for number, after in found:
        named = [w for w in after[:next((i for i, w in enumerate(after) if stem(w.lower()) not in unit_stems),
                                        len(after))]]
        if named:
            with_unit.append(" ".join([number, *named]))
    if len(with_unit) == 1:
        return with_unit[0]
    if how in ("long", "old") or (unit_stems and not with_unit):
        return ""   # "how many minutes" over "more than three hours": the number is of something else
    q = question.lower()
    if "percent" in q or "share" in q:
        found = [(n, w) for n, w in found if "%" in n or "percent" in n.lower()]
    elif ("how much" in q or (not how and MONEY_NOUN.search(q))) and any(c in n for n, _ in found for c in "$€£"):
        found = [(n, w) for n, w in found if any(c in n for c in "$€£")]
    numbers = list(dict.fromkeys(n for n, _ in found))
    return numbers[0] if len(numbers) == 1 else ""
