"""The name that answers "which/what <noun>", "who" or "where", picked out of a quoted sentence by rules.

A candidate is a run of capitalised words, split at possessives, weekdays and months, leading openers ("The",
"According") dropped, that the question does not already say. Not candidates: a lone word opening the sentence
unless a verb follows ("Mirela has", not "Veteran coach"), codes with digits ("XR7"), and names in a
clause that names a year the question does not ("... won the Cup in 2019"). The noun after "which" decides:
  country/state/continent   the one place of that kind listed in qa.places ("which two countries": "A and B")
  where, city, area ...     the one name after in/at/near/from, or the one listed place
  animal, product ...       nothing: such answers are common nouns
  who, singer, official ... the one name right after a role noun ("singer Mara Quill"), if there is one
  any other noun            the one name ending in it ("which awards show" -> "Golden Lantern Awards"); for
                            show/film/book the one quoted title; else the one candidate not a listed place
Several candidates, or none: no short answer. A sentence with a "then-" role tells of the past: none either.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from index.terms import stem, words
from qa.places import CONTINENTS, COUNTRIES, PLACES_BY_NOUN, US_STATES

_TOKEN = r"(?:d[’']|O[’'])?[A-Z][\w&.’-]*"
_JOIN = r"(?:[ \t]+(?:of|de|del|da|la|van|von|bin|al-?)[ \t]+|[ \t]+|-)"   # never across a line
NAME = re.compile(rf"{_TOKEN}(?:{_JOIN}{_TOKEN})*")
QUOTED = re.compile(r"“([A-Z][^”]{0,60})”|\"([A-Z][^\"]{0,60})\"")
CALENDAR = frozenset("""monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec""".split())
OPENERS = frozenset("""the a an this that these those in on at after before as with since then according but and or
    if when while for from by during following beginning one it he she they we his her its their our there here now
    so still also meanwhile last next earlier later more most some many every all both each former new what which
    who where why how mr mrs ms dr you i""".split())
STOP = frozenset("""is was are were be been will would did does do has have had can could should may might of in
    on at for to from by with the a an his her its their this that these those it he she they as after over""".split())
# heads whose answers are common nouns, not names ("which animal" -> "a zebra"): no short answer by these rules
COMMON_HEADS = frozenset("""animal species virus disease product item dish drink beverage condiment measure change
    topic type kind weather announcement thing""".split())
# heads asking for a place no list here holds: answered like "where", by a name after in/at/near/from
PLACE_HEADS = frozenset("city town area region place province territory island".split())
# heads asking for a person: the name right after a role noun answers ("singer Mara Quill", "champion X Y")
PERSON_HEADS = frozenset("""person celebrity star singer actor actress player athlete leader official politician
    executive ceo rapper comedian musician author writer director coach quarterback lawmaker senator minister
    president secretary governor mayor chief founder spokesperson""".split())
# a name ending in these is an organisation or a thing, not a person
NOT_PERSON_ENDS = frozenset("""department ministry agency office company co corp inc group party council court committee
    association bank university college school airline airlines times news house center centre""".split())
WORKS = frozenset("show film movie series book song album novel play title".split())
ALL_PLACES = COUNTRIES | US_STATES | CONTINENTS
KIND_WORDS = frozenset(PLACES_BY_NOUN) | COMMON_HEADS | PLACE_HEADS | WORKS | PERSON_HEADS
# "Azerbaijani", "Japanese": a demonym shares a place's first letters and ends like one; an adjective, not a name
DEMONYM_END = re.compile(r"(?:i|an|ans|ian|ians|ese|ish)$")
PLACE_PREFIXES = frozenset(p[:4].lower() for p in ALL_PLACES)
# a place the question names by another name is still in the question
ALIASES = {"United States": {"us", "america"}, "United Kingdom": {"uk", "britain"}}
# after a lone capitalised word opening a sentence, a verb says it is a name ("Mirela has"), not an adjective
VERB_AFTER = re.compile(r"\s+(?:is|was|are|were|has|had|have|will|would|said|says|\w+ed|\w+s)\b")
# a lower-case word that is not a function word, right before a name: a role ("singer Mara Quill")
_NOT_ROLES = "|".join(sorted(STOP | {"and", "or", "but", "than"}))
ROLE_BEFORE = re.compile(rf"(?<![\w-])(?!(?:{_NOT_ROLES})\s)[a-z]{{3,}}\s+$")
CLAUSE_MARKS = (",", ";", " — ", " – ", " -- ", "(", ")")
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
DETERMINER_BEFORE = re.compile(r"\b(?:the|a|an|its|his|her|their|our)\s+$", re.I)
PAST_ROLE = re.compile(r"\bthen-[a-z]", re.I)   # "then-mayor Carl Ruiz": the sentence tells of the past
SEVERAL = re.compile(r"\b(?:which|what) (?:two|three|four|both)\b", re.I)
SENTENCE_BREAK = re.compile(r"(?<=[a-z]{2}[.?!])\s+(?=[A-Z“\"])")   # not after "v." or "U.S."
PLACE_PREPOSITIONS = re.compile(r"\b(?:in|at|near|from|outside|across)\s+(?:the\s+)?$", re.I)
MAX_HEAD_WORDS = 4


class Candidate(NamedTuple):
    text: str
    start: int
    weak: bool   # a short acronym ("US", "AP"): counts only when nothing else is there


def singular(word: str) -> str:
    """'countries' -> 'country', 'awards' -> 'award': enough to compare a question's nouns with names."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith(("ss", "us")) and len(word) > 3 else word


def question_sentence(question: str) -> str:
    """The sentence that asks: a question may open with context ("Police detained a man who stole a bus.
    Where was he detained?"), whose "who" or "which" is not what is asked."""
    return SENTENCE_BREAK.split(question.strip())[-1]


def asked_head(question: str) -> tuple[str, list[str]] | None:
    """(wh-word, the words naming what is asked, singular) for "which/what <words> ...", "who" and "where";
    None for anything else ("what did ...", "why"). The words end before the verb: at a function word, a word
    ending in -ed after the first ("which automaker recalled"), or a word after a kind ("which product remains")."""
    found = re.search(r"\b(which|what|who|whom|where)\b", question := question_sentence(question), re.I)
    if not found:
        return None
    wh = found.group(1).lower()
    if wh in ("who", "whom", "where"):
        return wh, []
    following = words(question[found.end():])
    if following[:2] in (["is", "the"], ["was", "the"], ["are", "the"], ["were", "the"]):
        following = following[2:]
    head: list[str] = []
    for word in following[:MAX_HEAD_WORDS]:
        after_kind = head and head[-1] in KIND_WORDS and singular(word) not in KIND_WORDS
        if word in STOP or word.isdigit() or (head and word.endswith("ed")) or after_kind:
            break
        head.append(singular(word))
    return (wh, head) if head else None


def _pieces(match: re.Match[str]) -> list[tuple[str, int]]:
    """A capitalised run split at possessives, weekdays and months, and at words like "Storm-related" or
    "Three-time" (capitalised, but adjectives): (text, start) of each remaining piece, a slice of the sentence."""
    out: list[tuple[str, int]] = []
    start = end = -1
    for token in re.finditer(r"\S+", match.group(0)):
        text = token.group(0).rstrip(".,;:")
        bare = re.sub(r"[’']s$", "", text)
        ends_adjective = "-" in bare and bare.rsplit("-", 1)[1][:1].islower()
        if bare.lower().rstrip(".") in CALENDAR or ends_adjective:
            if start >= 0:
                out.append((match.string[start:end], start))
            start = -1
            continue
        if start < 0:
            start = match.start() + token.start()
        end = match.start() + token.start() + len(bare)
        if bare != text.rstrip("."):   # a possessive ends the name: "Ohio's Maple Falls Park"
            out.append((match.string[start:end], start))
            start = -1
    if start >= 0:
        out.append((match.string[start:end], start))
    return out


def _strip_openers(text: str, start: int) -> tuple[str, int]:
    """"The Golden Lantern Awards" -> "Golden Lantern Awards", "According" -> "": sentence openers, not names."""
    parts = text.split(" ")
    while parts and re.split(r"[’']", parts[0].lower())[0] in OPENERS:
        start += len(parts.pop(0)) + 1
    return " ".join(parts), start


def name_candidates(sentence: str, question: str) -> list[Candidate]:
    """Capitalised names in `sentence` with at least one word the question does not have, in order; "X, Y"
    joined when Y is a state or country ("Dayton, Ohio")."""
    asked = set(words(question)) | {stem(w) for w in words(question)}
    first = re.search(r"\w", sentence)
    out: list[Candidate] = []
    for match in NAME.finditer(sentence):
        for text, start in _pieces(match):
            text, start = _strip_openers(text, start)
            if (not text or all(w in asked or stem(w) in asked for w in words(text))
                    or ALIASES.get(text, set()) & asked or re.search(r"\d", text) or _demonym(text)
                    or _other_year(_clause(sentence, start, start + len(text)), question)
                    or _modifies_asked(sentence[:start], sentence[start + len(text):], asked)):
                continue   # said already; not a name; about another year; or a modifier ("Lachin corridor")
            if out and text in US_STATES | COUNTRIES and sentence[out[-1].start + len(out[-1].text):start] == ", ":
                out[-1] = Candidate(f"{out[-1].text}, {text}", out[-1].start, False)
                continue
            if (first is not None and start == first.start() and " " not in text and text not in ALL_PLACES
                    and not (VERB_AFTER.match(sentence[start + len(text):]) and not text.endswith("s"))):
                continue   # "Veteran coach ...", "Officials said ...": an opener, not a name
            out.append(Candidate(text, start, text.isupper() and len(text) <= 3))
    return out


def _modifies_asked(before: str, after: str, asked: set[str]) -> bool:
    """Is the name between a determiner and a lower-case word the question says ("the Lachin corridor" for
    "which tribunal ... the corridor")? Then it names that thing, not the answer. Verbs (-ed, -s) do not count."""
    following = re.match(r"[ \t]+([a-z]+)\b", after)
    return (bool(DETERMINER_BEFORE.search(before)) and bool(following) and (word := following.group(1)) in asked
            and word not in STOP and not word.endswith(("ed", "s")))


def _demonym(text: str) -> bool:
    return (" " not in text and len(text) > 4 and text not in ALL_PLACES and text[:4].lower() in PLACE_PREFIXES
            and bool(DEMONYM_END.search(text)))


def _clause(sentence: str, start: int, end: int) -> str:
    """The stretch of `sentence` around [start, end) between commas, semicolons or dashes."""
    left = max(sentence.rfind(mark, 0, start) for mark in CLAUSE_MARKS)
    rights = [i for i in (sentence.find(mark, end) for mark in CLAUSE_MARKS) if i >= 0]
    return sentence[left + 1:min(rights, default=len(sentence))]


def _other_year(text: str, question: str) -> bool:
    """Does `text` name a year the question does not ("won the title in 2019" for this year's winner)?"""
    return any(year not in question for year in YEAR.findall(text))


def _coordinated(found: list[Candidate], sentence: str, places: frozenset[str]) -> list[str]:
    """"A and B" spans of two adjacent listed places: what "which two countries" asks for."""
    return [f"{a.text} and {b.text}" for a, b in zip(found, found[1:])
            if a.text in places and b.text in places and sentence[a.start + len(a.text):b.start] == " and "]


def _title(quoted: re.Match[str]) -> str:
    """A quoted title with its quotes (“Night Harbor”), or without them when punctuation sits inside
    (“Night Harbor,” -> Night Harbor): a span of the sentence either way."""
    inner = quoted.group(1) or quoted.group(2)
    return inner.rstrip(",.;:") if inner[-1] in ",.;:" else quoted.group(0)


def _one(texts: list[str]) -> str:
    distinct = list(dict.fromkeys(texts))
    return distinct[0] if len(distinct) == 1 else ""


def name_answer(question: str, sentence: str) -> str:
    """The one name in `sentence` that answers `question`, as written there; '' when the rules cannot tell."""
    asked = asked_head(question)
    if asked is None:
        return ""
    wh, head = asked
    kinds = [w for w in head if w in KIND_WORDS]
    noun = kinds[-1] if kinds else ""   # "which island nation": the last word with a kind names it
    if PAST_ROLE.search(sentence):
        return ""   # "then-mayor ...": the sentence tells of the past, its names answer another time
    found = name_candidates(sentence, question)
    several = SEVERAL.search(question_sentence(question)) or any(
        w != noun and singular(w) == noun for w in words(question_sentence(question)))
    if noun in PLACES_BY_NOUN and several:
        return _one(_coordinated(found, sentence, PLACES_BY_NOUN[noun]))
    if several:
        return ""   # "which ministers": several names, and no rule here picks a list of them
    if noun in PLACES_BY_NOUN:
        return _one([p for c in found for p in (c.text, c.text.split(", ")[-1]) if p in PLACES_BY_NOUN[noun]])
    if noun in COMMON_HEADS:
        return ""
    if wh == "where" or noun in PLACE_HEADS:
        return _one([c.text for c in found if PLACE_PREPOSITIONS.search(sentence[:c.start])
                     or c.text.split(", ")[-1] in ALL_PLACES])
    if wh in ("who", "whom") or noun in PERSON_HEADS:
        found = [c for c in found if words(c.text)[-1] not in NOT_PERSON_ENDS]
        after_role = [c.text for c in found if " " in c.text and ROLE_BEFORE.search(sentence[:c.start])]
        if after_role:
            return _one(after_role)
    ending = [c.text for c in found if singular(words(c.text)[-1]) in head]
    if ending:
        return _one(ending)
    if noun in WORKS:
        return _one([t for t in map(_title, QUOTED.finditer(sentence))
                     if not all(w in words(question) for w in words(t))])
    found = [c for c in found if c.text.split(", ")[-1] not in ALL_PLACES]   # a place answers place questions
    strong = [c.text for c in found if not c.weak]
    return _one(strong) if strong else _one([c.text for c in found])
