"""Short answers by rules: one date for "when", one number for "how many/much", one name for "which <noun>",
"who" and "where", or none; always a span of the quoted sentence."""
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
    # a show with no quoted title: the two names are a network and a show, and the rules cannot tell which
    ("Which show was green lit for a new season?", "Netflix announced that Squid Game is coming back."),
])
def test_no_short_answer_when_the_rules_cannot_tell(question, sentence):
    assert short_answer(question, sentence) == ""


@pytest.mark.parametrize("question, sentence, expected", [
    # "which country/state": the one listed place of that kind, whatever else is named
    ("Which country declared a state of emergency?",
     "Officials in Portugal declared it on Monday, Prime Minister Ana Reis said.", "Portugal"),
    ("Which two countries signed the accord?", "Chile and Peru signed the accord on Friday.", "Chile and Peru"),
    # "where": the one name after in/at/from, a city joined to its state
    ("Where did the tornado hit?", "The tornado tore through homes in Dayton, Ohio, late on Sunday.",
     "Dayton, Ohio"),
    # context before the question: its "who" is not what is asked
    ("Police detained a man who stole a bus. Where was he detained?",
     "Officers detained the man in Tacoma on Friday.", "Tacoma"),
    # the one name ending in the question's noun
    ("Which awards show honoured the film?", "The film won three prizes at the Golden Lantern Awards, Variety said.",
     "Golden Lantern Awards"),
    # the only name the question does not already say; an adjective opening the sentence is not a name
    ("Which club did Sam Ortiz lead?", "Veteran coach Sam Ortiz, who led the Riverside Rovers for a decade, retired.",
     "Riverside Rovers"),
    ("Which airline cancelled its flights?", "Northwind Air cancelled 300 flights on Tuesday after a storm.",
     "Northwind Air"),
    # a person: the name right after a role noun
    ("Which singer cancelled her tour?", "Tickets sold out before singer Mara Quill cancelled it, the Grand Hall said.",
     "Mara Quill"),
    ("Who was named the new chief executive?", "The board named finance chief Dana Whitlock to the post on Monday.",
     "Dana Whitlock"),
    # a film: the quoted title, without the comma inside the quotes
    ("Which film topped the box office?", "Audiences flocked to “Night Harbor,” which earned $80 million.",
     "Night Harbor"),
    # a number asked for by its noun; a price is the amount of money
    ("What was the magnitude of the quake?", "A magnitude 6.1 quake struck the coast on Sunday.", "6.1"),
    ("What was the average price of a gallon of milk?", "Milk rose 30 cents to an average price of $4.10.",
     "$4.10"),
])
def test_the_one_name_of_the_kind_asked_for_is_the_short_answer(question, sentence, expected):
    found = short_answer(question, sentence)
    assert found == expected and found in sentence


@pytest.mark.parametrize("question, sentence", [
    # answers that are common nouns ("which animal" -> "a zebra") are not picked by these rules
    ("Which animal escaped from the zoo?", "A zebra escaped from the Westfield Zoo on Sunday."),
    # two names and nothing to tell them apart
    ("Which company bought the startup?", "Alder Labs and Brightline both bid for it, Reuters reported."),
    # a place does not answer "which park"
    ("Which park was closed by the flood?", "The flood closed roads across Montana on Monday."),
    # two places for "where"
    ("Where did the rocket land?", "The rocket flew from Kenya to a landing zone in Somalia."),
    # a name in a clause about another year answers that year's question, not this one
    ("Which team won the title this year?", "Their coach recalled that the Riverside Rovers won it in 2019."),
    # a "then-" role tells of the past
    ("Which official resigned this week?", "The move echoed then-mayor Carl Ruiz, who resigned over a scandal."),
    # a code is not a name
    ("Which carmaker recalled the SUV?", "The XR7 SUV was recalled on Friday."),
    # "what did ... announce" asks for an event, not a name
    ("What did the Orbis Group announce?", "The Orbis Group said on Monday it would close its Lyon plant."),
    # the only name is the one the question already says
    ("Which store chain did Brightmart buy?", "Brightmart bought the chain for cash, shoppers were told."),
    # several asked for ("which ministers"): a list, which no rule here picks
    ("Which ministers met in Oslo?", "Foreign minister Lena Dahl met her counterpart in Oslo."),
    # a demonym is an adjective, not a name
    ("Who blocked the road?", "Protesters blocked the road, Norwegian police said."),
    # an organisation does not answer "which official"
    ("Which official announced the tariffs?", "The Commerce Department announced the tariffs on Monday."),
    # a name between a determiner and a noun the question says names that thing ("the Lachin corridor")
    ("Which court ordered the corridor reopened?", "The ruling said the Danube corridor must reopen."),
])
def test_no_name_when_the_rules_cannot_tell(question, sentence):
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
