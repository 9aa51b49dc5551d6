"""The extractive answerer's pure parts: answer types, coverage, freshness, follow-ups, titles of untitled
articles."""
from __future__ import annotations

import pytest

from index.articles import first_sentence
from qa.conversation import condense, user_turns
from qa.ranking import DEFAULT
from qa.extractive import answer_type, coverage, fits_type, freshness, score_sentences
from qa.results import Passage


@pytest.mark.parametrize("question, kind", [
    ("On what date did Baku set up the checkpoint?", "date"),
    ("When did the court rule?", "date"),
    ("How many soldiers were killed?", "number"),
    ("Where were the talks held?", "place"),
    ("Who chaired the closing session?", "person"),
    ("Which team won the 2022 Stanley Cup Finals?", "entity"),
    ("Which automaker recalled 2.9 million vehicles?", "entity"),
    ("Why did the talks stall?", None),
])
def test_answer_type_of_a_question(question, kind):
    assert answer_type(question) == kind


@pytest.mark.parametrize("kind, sentence, question, fits", [
    ("date", "Baku on April 23 set up a checkpoint.", "When did Baku set up a checkpoint?", True),
    ("number", "Some 120,000 people live there.", "How many people live there?", True),
    ("number", "Many people live there.", "How many people live there?", False),
    ("entity", "The Colorado Avalanche beat Tampa Bay.", "Which team won the Stanley Cup?", True),
    ("entity", "The team’s only loss came in the third game of the Stanley Cup Finals.", "Which team won the Stanley Cup Finals?", False),
])
def test_a_sentence_fits_the_answer_type(kind, sentence, question, fits):
    assert fits_type(kind, sentence, question) is fits


def _passage(date: str, text: str = "Adele will launch her Las Vegas residency in November.") -> Passage:
    return Passage(chunk_id=date, article_id=date, text=text, title="", date=date, source="", score=1.0)


def test_reports_older_than_the_newest_by_more_than_a_week_lose_up_to_the_stale_penalty():
    days = ["2022-07-25", "2022-07-20", "2022-07-10", "2022-01-20", ""]
    factors = freshness([_passage(d) for d in days])
    assert factors[:2] == [1.0, 1.0]                          # the same news week
    assert 1.0 - DEFAULT.stale_penalty < factors[2] < 1.0             # fifteen days: part of it
    assert factors[3:] == [pytest.approx(1.0 - DEFAULT.stale_penalty)] * 2  # six months, and undated
    assert freshness([_passage("")]) == [1.0]                 # nothing dated: nothing to compare


def test_between_equal_sentences_the_later_reports_is_quoted_first():
    question = "Which singer will launch a Las Vegas residency?"
    scored = score_sentences(question, [_passage("2022-01-20"), _passage("2022-07-25")], {})
    assert [s.passage_index for s in scored] == [1, 0]


def test_coverage_weighs_rare_terms_more():
    idf = {"lachin": 3.0, "talk": 0.1}
    assert coverage(["lachin", "talk"], {"lachin"}, idf) == pytest.approx(4.0 / 5.1)
    assert coverage(["lachin", "talk"], {"talk"}, idf) == pytest.approx(1.1 / 5.1)
    assert coverage([], {"x"}, idf) == 0.0


def test_follow_ups_borrow_the_previous_question_in_gradio_6_format():
    history = [{"role": "user", "content": [{"type": "text", "text": "Who set up the Lachin checkpoint?"}]},
               {"role": "assistant", "content": "Baku [1]"}]
    assert user_turns(history) == ["Who set up the Lachin checkpoint?"]
    assert condense("And when?", history) == "And when? (Who set up the Lachin checkpoint?)"
    assert condense("How many ethnic Armenians live in Nagorno-Karabakh?", history).startswith("How many")


@pytest.mark.parametrize("text, title", [
    ("New York CNN —\n\n“Squid Game” is officially coming back.\n\nMore.", "“Squid Game” is officially coming back."),
    ("Bogota, Colombia (CNN) Gustavo Petro will become Colombia's first leftist leader. More.",
     "Gustavo Petro will become Colombia's first leftist leader."),
    ("CNN Business —\n\nThis story is part of the Nightcap newsletter. To get it in your inbox, sign up. "
     "Apple will require USB-C chargers in Europe.", "Apple will require USB-C chargers in Europe."),
])
def test_untitled_articles_get_their_first_real_sentence(text, title):
    assert first_sentence(text) == title
