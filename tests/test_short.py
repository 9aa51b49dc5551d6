"""Short answers by rules: one date for "when", one number for "how many/much", or none; always a span of the
quoted sentence."""
from __future__ import annotations

import pytest

from qa.short import short_answer
from tests.conftest import CHECKPOINT_Q


@pytest.mark.parametrize("question, sentence, expected", [
    (CHECKPOINT_Q, "Azerbaijan set up a checkpoint on the Lachin corridor on April 23, officials said.", "April 23"),
    ("When are loan payments set to restart?", "Payments will restart in September.", "September"),
    ("Since when have peacekeepers policed the corridor?", "Russian troops have policed it since December 2020.",
     "December 2020"),
    ("How many ethnic Armenians live in the enclave?", "It is home to about 120,000 ethnic Armenians.",
     "about 120,000 ethnic Armenians"),
    ("How many people were killed in the war?", "Some 30,000 people were killed in the war in 1994.",
     "Some 30,000 people"),
    ("How many months was her detention extended?", "A court extended it by six months on Friday.", "six months"),
    ("How much did the bidder pay?", "The bidder paid $19 million, the highest in 23 years of auctions.",
     "$19 million"),
])
def test_the_one_date_or_number_asked_for_is_the_short_answer(question, sentence, expected):
    found = short_answer(question, sentence)
    assert found == expected and found in sentence


@pytest.mark.parametrize("question, sentence", [
    # two dates or two numbers of the kind asked: the rules cannot tell which, so the quote stands alone
    ("When are loan payments set to restart?", "Payments restart in September, after the pause ends Aug. 31."),
    ("What percentage of adults disapprove?", "About 60% disapprove and 38% approve."),
    # the only date is the one the question names: it is not the answer
    ("When did the talks that began on May 1 end?", "The talks began on May 1 in Arlington."),
    # "how long" wants a duration: a count of soldiers does not answer it
    ("How long did the 2020 war last?", "Nearly 7,000 soldiers were killed in the 2020 war."),
    # two questions in one have no one short answer
    ("How many troops are there, and since when?", "About 2,000 troops have been there since December 2020."),
    # names are not picked by rules
    ("Which show was green lit for a new season?", "Netflix announced that Squid Game is coming back."),
])
def test_no_short_answer_when_the_rules_cannot_tell(question, sentence):
    assert short_answer(question, sentence) == ""


def test_the_short_answer_is_shown_first_and_marked_in_its_source(seeded_assistant):
    from page.render import answer_markdown, highlight

    result = seeded_assistant.answer(CHECKPOINT_Q)
    assert result.short_answer == "April 23" and result.format().startswith("April 23\n\n")
    [holder] = [c for c in result.citations if c.short_answer]
    assert "April 23" in holder.quotes[0]
    assert answer_markdown(result).startswith("**April 23**\n\n")
    assert '<strong class="short-answer">April 23</strong>' in highlight(holder.text, holder.quotes,
                                                                          holder.short_answer)
    pieces = list(seeded_assistant.answer_stream(CHECKPOINT_Q))
    assert pieces[0] == "April 23\n\n" and pieces[-1].short_answer == "April 23"


def test_a_refusal_has_no_short_answer(seeded_assistant):
    result = seeded_assistant.answer("When was the population of Tokyo last counted?")
    assert result.refused and result.short_answer == ""
