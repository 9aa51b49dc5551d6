"""How the question's words become a publication window, resolved against as_of (pure rules)."""
from __future__ import annotations

import datetime as dt

import pytest

from qa.dates import parse_iso, parse_window

AS_OF = dt.date(2022, 6, 16)   # a Thursday


@pytest.mark.parametrize("question, start, end, recency", [
    ("What is the population of Tokyo?", None, "2022-06-16", False),
    ("What happened this week?", "2022-06-09", "2022-06-16", True),
    ("Which show was recently renewed?", None, "2022-06-16", True),
    ("What is the latest on the talks?", None, "2022-06-16", True),
    ("What happened yesterday?", "2022-06-15", "2022-06-15", False),
    ("What happened last week?", "2022-06-02", "2022-06-13", False),
    ("What did they agree two weeks ago?", "2022-05-28", "2022-06-07", False),
    ("What happened in the past 3 days?", "2022-06-13", "2022-06-16", False),
    ("What happened in July?", "2021-07-01", "2021-07-31", False),          # the latest July up to as_of
    ("What happened in April 2023?", "2023-04-01", "2022-06-16", False),    # after as_of: an empty window
    ("What happened in May?", "2022-05-01", "2022-05-31", False),
    ("What happened since May?", "2022-05-01", "2022-06-16", False),
    ("What was said before May 2?", None, "2022-05-01", False),
    ("What was said after May 2?", "2022-05-03", "2022-06-16", False),
    ("What happened this year?", "2022-01-01", "2022-06-16", False),
    ("What happened last month?", "2022-05-01", "2022-05-31", False),
    ("What happened in 2021?", "2021-01-01", "2021-12-31", False),
    ("What did the May 1 report say?", "2022-05-01", "2022-05-08", False),  # a day and the week after it
    ("What happened on 2022-06-01?", "2022-06-01", "2022-06-08", False),
])
def test_question_words_become_a_window(question, start, end, recency):
    window = parse_window(question, AS_OF)
    assert (str(window.start) if window.start else None, str(window.end) if window.end else None) == (start, end)
    assert window.recency is recency


def test_a_year_named_once_applies_to_yearless_dates():
    window = parse_window("What was said after April 30, 2023 and before May 3?", dt.date(2023, 6, 1))
    assert (window.start, window.end) == (dt.date(2023, 5, 1), dt.date(2023, 5, 2))


def test_nothing_after_as_of_is_ever_in_the_window():
    assert parse_window("What happens after June 20, 2022?", AS_OF).empty
    yearless = parse_window("What happened after June 20?", AS_OF)   # the latest June 20 up to as_of: 2021
    assert (yearless.start, yearless.end) == (dt.date(2021, 6, 21), AS_OF)


@pytest.mark.parametrize("question, as_of, reports_until", [
    # words that may date the event: its later reports are searched too, up to as_of or a bound about reporting
    ("How long did the riot at the Capitol on January 6, 2021 last?", "2022-07-21", "2022-07-21"),
    ("What was the record set in the middle of June?", "2022-08-04", "2022-08-04"),
    ("How many soldiers were killed in 2020?", "2022-06-16", "2022-06-16"),
    ("What was decided in May, as reported before June 10?", "2022-06-16", "2022-06-09"),
    ("What did the report on June 1 say, before June 5?", "2022-06-16", None),   # the bound ends it sooner
    ("What was said on June 15?", "2022-06-16", None),            # its week already reaches as_of
    # ranges and relative words are about reporting: nothing later
    ("What happened this week?", "2022-06-16", None),
    ("What was said before May 2?", "2022-06-16", None),
    ("What happened since May?", "2022-06-16", None),
    ("What happened last month?", "2022-06-16", None),
])
def test_dates_that_may_name_the_event_also_search_its_later_reports(question, as_of, reports_until):
    window = parse_window(question, dt.date.fromisoformat(as_of))
    assert (str(window.reports_until) if window.reports_until else None) == reports_until
    if reports_until:
        assert f"later reports up to {reports_until}" in window.describe()


def test_the_window_says_how_it_was_read():
    assert "this week" in parse_window("What happened this week?", AS_OF).describe()


def test_bad_iso_dates_are_named():
    with pytest.raises(ValueError, match="as_of='16/06/2022'"):
        parse_iso("16/06/2022", "as_of")


def test_an_explicit_date_to_also_bounds_the_later_reports():
    from qa.assistant import make_window

    question = "How many soldiers were killed in 2020?"
    assert make_window(question, AS_OF, None, dt.date(2021, 6, 30)).reports_until == dt.date(2021, 6, 30)
    assert make_window(question, AS_OF, None, dt.date(2020, 12, 1)).reports_until is None
    assert make_window(question, AS_OF, None, None, from_question=False).reports_until is None


FIRST, LAST = dt.date.min, dt.date.max   # 0001-01-01 and 9999-12-31: the dates Python can represent


@pytest.mark.parametrize("question, as_of, start, end", [
    # a window reaching past the representable dates stops at the edge
    ("What happened on December 31?", LAST, LAST, LAST),            # the day and the week after it: only the day
    ("What happened this week?", FIRST, FIRST, FIRST),
    ("What happened last week?", dt.date(1, 1, 5), FIRST, dt.date(1, 1, 2)),
    ("What happened in the past 3 years?", dt.date(2, 1, 1), FIRST, dt.date(2, 1, 1)),
    ("What happened in the last 999999999999 days?", AS_OF, FIRST, AS_OF),
    ("What happened on 9999-12-31?", LAST, LAST, LAST),
    ("What happened this year?", LAST, dt.date(9999, 1, 1), LAST),
    ("What happened last month?", LAST, dt.date(9999, 11, 1), dt.date(9999, 11, 30)),
    ("What happens next week?", LAST, None, LAST),
])
def test_windows_at_the_edges_of_the_calendar_are_clamped(question, as_of, start, end):
    window = parse_window(question, as_of)
    assert (window.start, window.end) == (start, end)
    assert not window.empty


@pytest.mark.parametrize("question, as_of", [
    # a window lying wholly before 0001-01-01 or after 9999-12-31 is empty: nothing was published then
    ("What happened last month?", FIRST),
    ("What happened last year?", dt.date(1, 6, 1)),
    ("What happened two weeks ago?", FIRST),
    ("What happened 99999999999999 years ago?", AS_OF),
    ("What happened yesterday?", FIRST),
    ("What was said before 0001-01-01?", AS_OF),
    ("What was said before January?", dt.date(1, 1, 5)),
    ("What was said after December 31?", LAST),
    ("What was said after 9999-12-31?", LAST),
    ("What happened in 2020?", FIRST),
])
def test_windows_beyond_the_calendar_are_empty_not_errors(question, as_of):
    assert parse_window(question, as_of).empty


@pytest.mark.parametrize("question", ["What happened in December?", "What happened on December 31?",
                                      "What was said after December?"])
def test_a_yearless_date_with_no_occurrence_since_year_1_names_no_date(question):
    window = parse_window(question, dt.date(1, 1, 5))   # no December from year 1 up to as_of
    assert (window.start, window.end) == (None, dt.date(1, 1, 5))


def test_a_huge_count_is_read_without_overflow():
    window = parse_window("What happened " + "9" * 5000 + " days ago?", AS_OF)
    assert window.empty


@pytest.mark.parametrize("question, as_of", [("What happened on December 31?", "9999-12-31"),
                                             ("What did Blinken say last week?", "0001-01-05")])
def test_the_assistant_answers_at_the_edges_of_the_calendar(seeded_assistant, question, as_of):
    result = seeded_assistant.answer(question, as_of=as_of)   # used to raise OverflowError: "the backend failed"
    assert result.date_window.as_of == dt.date.fromisoformat(as_of)
    if as_of.startswith("0001"):
        assert result.refused   # nothing was published in year 1
