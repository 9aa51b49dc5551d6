"""The foundation's promises on the seed articles: right facts, real citations, refusals, date filters."""
from __future__ import annotations

import pytest

from index.sentences import sentences
from tests.conftest import CHECKPOINT_Q


def test_checkpoint_date_is_answered_from_the_may_1_article(seeded_assistant):
    result = seeded_assistant.answer(CHECKPOINT_Q)
    assert not result.refused
    assert "April 23" in result.text and "[1]" in result.text
    cited = result.citations[0]
    assert cited.date == "2023-05-01" and "April 23" in cited.text
    assert cited.source == "seeds/002_7e68630bb1f8edc4.txt"


def test_number_of_ethnic_armenians_is_120000(seeded_assistant):
    result = seeded_assistant.answer("How many ethnic Armenians live in the enclave reached through the Lachin Corridor?")
    assert "120,000" in result.text
    assert any("120,000" in c.text and c.date == "2023-05-04" for c in result.citations)


def test_talks_venue_is_arlington_virginia(seeded_assistant):
    result = seeded_assistant.answer("Where have the Armenian and Azerbaijani diplomats been meeting?")
    assert "Arlington, Virginia" in result.text
    assert result.citations[0].date == "2023-05-04"


@pytest.mark.parametrize("question", [
    CHECKPOINT_Q,
    "How many soldiers were killed in the 2020 war?",
    "When did the International Court of Justice rule on the Lachin corridor?",
])
def test_every_quoted_sentence_is_inside_its_cited_passage(seeded_assistant, question):
    result = seeded_assistant.answer(question)
    assert result.citations
    for citation in result.citations:
        assert citation.quotes, "a citation that quotes nothing"
        for quote in citation.quotes:
            assert quote in citation.text and quote in result.text
    for marker in {int(m) for m in __import__("re").findall(r"\[(\d+)\]", result.text)}:
        assert marker in {c.number for c in result.citations}


@pytest.mark.parametrize("question", [
    "What is the population of Tokyo?",
    "Who won the 2022 FIFA World Cup final?",
    "What is the boiling point of water at sea level?",
])
def test_questions_the_articles_cannot_answer_are_refused(seeded_assistant, question):
    result = seeded_assistant.answer(question)
    assert result.refused
    assert result.citations == []
    assert result.text == "The articles do not say."


def test_date_filter_excludes_the_other_article(seeded_assistant):
    unfiltered = seeded_assistant.retrieve("Blinken Lachin corridor talks")[0]
    assert {p.date for p in unfiltered} == {"2023-05-01", "2023-05-04"}
    filtered, window = seeded_assistant.retrieve("Blinken Lachin corridor talks", date_from="2023-05-03")
    assert filtered and {p.date for p in filtered} == {"2023-05-04"}
    assert str(window.start) == "2023-05-03"


def test_as_of_before_an_article_keeps_it_out_of_the_answer(seeded_assistant):
    result = seeded_assistant.answer("Where have the Armenian and Azerbaijani diplomats been meeting?",
                                     as_of="2023-05-02")
    assert all(c.date <= "2023-05-02" for c in result.citations)
    assert "Arlington" not in result.text


def test_a_date_written_in_the_question_becomes_a_filter(seeded_assistant):
    passages, window = seeded_assistant.retrieve("What did Blinken discuss with Aliyev before May 2, 2023?")
    assert str(window.end) == "2023-05-01"
    assert passages and {p.date for p in passages} == {"2023-05-01"}


def test_follow_up_question_uses_the_previous_turn(seeded_assistant):
    history = [{"role": "user", "content": CHECKPOINT_Q}, {"role": "assistant", "content": "April 23 [1]"}]
    result = seeded_assistant.answer("And who described that move as illegal?", history=history)
    assert "Lachin" in result.standalone_question
    assert not result.refused and "illegal" in result.text


def test_answer_text_is_made_of_sentences_of_the_sources(seeded_assistant):
    result = seeded_assistant.answer(CHECKPOINT_Q)
    body = __import__("re").sub(r"\s*\[\d+\]", "", result.text)
    cited_sentences = {s for c in result.citations for s in sentences(c.text)}
    assert all(s in cited_sentences for s in sentences(body))


WHEN_IN_APRIL = "On what date in April did Baku set up the Lachin checkpoint?"   # reported on May 1
LAST_MONTH = "On what date did Baku set up the Lachin checkpoint last month?"


def test_a_question_whose_dates_may_name_the_event_also_searches_its_later_reports(seeded_assistant):
    passages, window = seeded_assistant.retrieve(WHEN_IN_APRIL, as_of="2023-05-10")
    assert (str(window.start), str(window.end), str(window.reports_until)) == ("2023-04-01", "2023-04-30",
                                                                               "2023-05-10")
    assert passages and all("2023-05-01" <= p.date <= "2023-05-10" for p in passages)
    result = seeded_assistant.answer(WHEN_IN_APRIL, as_of="2023-05-10")
    assert not result.refused and "April 23" in result.text
    assert result.notice.startswith("cites reports from after 2023-04-30 (2023-05-01")
    assert result.date_window == window


def test_a_refused_question_whose_dates_were_narrowed_is_asked_again_over_all_dates(seeded_assistant):
    narrow, window = seeded_assistant.retrieve(LAST_MONTH, as_of="2023-07-10")
    assert (str(window.start), str(window.end), window.reports_until) == ("2023-06-01", "2023-06-30", None)
    assert narrow == []
    result = seeded_assistant.answer(LAST_MONTH, as_of="2023-07-10")
    assert not result.refused and "April 23" in result.text
    assert result.notice.startswith("no article published 2023-06-01 to 2023-06-30 (from 'last month') answers")
    assert result.date_window.start is None and str(result.date_window.end) == "2023-07-10"


def test_explicit_dates_are_never_widened(seeded_assistant):
    result = seeded_assistant.answer(CHECKPOINT_Q, date_to="2023-04-30")
    assert result.refused and not result.notice


def test_an_articles_first_chunk_its_lede_ranks_higher_but_keeps_its_relevance_score(seeded_assistant):
    from qa.retrieval import HybridRetriever

    question = "Blinken Lachin corridor peace talks"
    _, window = seeded_assistant.retrieve(question)

    def ranked(boost: float) -> list:
        settings = seeded_assistant.settings.replace(lede_boost=boost)
        return HybridRetriever(seeded_assistant.store, seeded_assistant.embedder, settings).retrieve(
            question, window, 20)

    plain, boosted = ranked(0.0), ranked(10.0)
    assert [p.position for p in plain] != [p.position for p in boosted]
    is_lede = [p.position == 0 for p in boosted]
    assert is_lede == sorted(is_lede, reverse=True)          # a 10x boost puts every lede first
    assert {p.chunk_id: p.score for p in plain} == {p.chunk_id: p.score for p in boosted}


def test_the_keyword_search_runs_while_the_vector_search_does(seeded_assistant):
    """Each search waits (bounded) until the other has started: in sequence, one would wait in vain."""
    import threading

    from qa.retrieval import HybridRetriever

    store = seeded_assistant.store
    started = {"vector": threading.Event(), "keyword": threading.Event()}
    saw_other = {}

    class Watched:
        def __getattr__(self, name):
            return getattr(store, name)

        def vector_search(self, *args):
            started["vector"].set()
            saw_other["vector"] = started["keyword"].wait(10)
            return store.vector_search(*args)

        def keyword_search(self, *args):
            started["keyword"].set()
            saw_other["keyword"] = started["vector"].wait(10)
            return store.keyword_search(*args)

    _, window = seeded_assistant.retrieve(CHECKPOINT_Q)
    passages = HybridRetriever(Watched(), seeded_assistant.embedder, seeded_assistant.settings).retrieve(
        CHECKPOINT_Q, window, 5)
    assert saw_other == {"vector": True, "keyword": True} and passages
