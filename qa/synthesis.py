"""The seam between retrieval and answers: one Synthesizer interface, chosen from settings in one place."""
from __future__ import annotations

import importlib
from typing import Callable, Iterator, Mapping, Protocol, Sequence

from index.settings import Settings, SettingsError
from qa.results import Answer, Passage


class Synthesizer(Protocol):
    """Turns a question and its ranked passages into a cited Answer; called once per question."""

    name: str

    def synthesize(self, question: str, passages: Sequence[Passage]) -> Answer: ...


def synthesis_stream(synthesizer: Synthesizer, question: str, passages: Sequence[Passage]
                     ) -> Iterator[str | Answer]:
    """Text pieces as the synthesizer produces them (a generative one streams; others produce none), then its
    Answer. A synthesizer streams by offering `stream(question, passages)` with the same contract."""
    stream = getattr(synthesizer, "stream", None)
    if stream is None:
        yield synthesizer.synthesize(question, passages)
    else:
        yield from stream(question, passages)


# setting value -> (module, factory name, pip extra that provides its dependencies)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "extractive": ("qa.extractive", "ExtractiveSynthesizer", ""),
    "llamacpp": ("qa.backends.llamacpp", "make_synthesizer", "llm"),
    "openai": ("qa.backends.openai", "make_synthesizer", "openai"),
    "ollama": ("qa.backends.ollama", "make_synthesizer", "ollama"),
}


def make_extractive(settings: Settings, idf: Callable[[Sequence[str]], Mapping[str, float]]) -> Synthesizer:
    from qa.extractive import ExtractiveSynthesizer

    from qa.ranking import Ranking

    return ExtractiveSynthesizer(idf, settings.min_similarity, settings.min_coverage, Ranking.from_settings(settings))


def make_synthesizer(settings: Settings, idf: Callable[[Sequence[str]], Mapping[str, float]],
                     embedder=None) -> Synthesizer:
    """The one place an answer backend is chosen; generative ones are imported only when asked for."""
    if settings.backend not in BACKENDS:
        raise SettingsError(f"unknown backend {settings.backend!r}; valid: {', '.join(BACKENDS)}")
    if settings.backend == "extractive":
        return make_extractive(settings, idf)
    module_name, factory, extra = BACKENDS[settings.backend]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SettingsError(f"the {settings.backend} backend needs extra packages: pip install -e '.[{extra}]' "
                            f"({exc})") from None
    return getattr(module, factory)(settings, fallback=make_extractive(settings, idf), embedder=embedder)
