"""Keyword terms for BM25 and for scoring answer sentences: one tokenizer, shared by indexing and querying."""
from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves also said says say according week weeks
recently recent latest lately year years month months day days today yesterday ago many much which's whose
did does told tell new one two been being since
""".split())
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():
    porter = _porter_stemmer_class()
    return porter(mode=porter.ORIGINAL_ALGORITHM)


def _porter_stemmer_class() -> type:
    """nltk's PorterStemmer without running `nltk/__init__.py`, which imports nltk's parsers and with them sklearn
    and scipy: ~6 s of a cold first answer (issue 19). The module is loaded under bare stand-ins for its parent
    packages, which are taken out of sys.modules again, so a later `import nltk` gets the real package."""
    import importlib
    import importlib.util
    import sys
    import types

    if "nltk" in sys.modules:
        from nltk.stem.porter import PorterStemmer

        return PorterStemmer
    root = importlib.util.find_spec("nltk").submodule_search_locations[0]
    before = set(sys.modules)
    for name, path in (("nltk", root), ("nltk.stem", f"{root}/stem")):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package
    try:
        return importlib.import_module("nltk.stem.porter").PorterStemmer
    finally:
        for name in set(sys.modules) - before:
            if name == "nltk" or name.startswith("nltk."):
                del sys.modules[name]


_DEMONYM = re.compile(r"(?<=[a-z]{3})(ia|ica|ea)ns?$")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem; demonyms join their place ('Armenian' and 'Armenia' share a term, as do 'Korean', 'Korea')."""
    if not word.isalpha() or len(word) <= 3:
        return word
    demonym = _DEMONYM.search(word)
    if demonym:
        word = word[:demonym.start()] + demonym.group(1)
    return _stemmer().stem(word)


def normalise_number(token: str) -> str:
    """'120,000' and '120000' are the same term; a decimal point stays ('2.5')."""
    return re.sub(r",(?=\d{3}\b)", "", token)


def words(text: str) -> list[str]:
    """Lower-case word and number tokens, possessives dropped, in order."""
    out = []
    for token in _WORD.findall(text.lower()):
        token = re.sub(r"['’]s$", "", token)
        out.append(normalise_number(token) if token[0].isdigit() else token)
    return out


def terms(text: str) -> list[str]:
    """Stemmed content terms, in order, stopwords removed: what BM25 indexes and matches."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
