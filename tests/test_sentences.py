"""Sentence spans: abbreviations news text is full of, exact offsets, and time linear in the text's length."""
from __future__ import annotations

import time

import pytest

from index.sentences import sentence_spans, sentences

NEWS = [   # a period every 40 characters (real news: every 115), abbreviations in every other sentence
    "The U.S. State Department said on day {i} that talks between the two governments would resume in Geneva.",
    "Negotiators have met four times since the spring, and officials on both sides describe the mood as cautious.",
    "Mr. Smith, a spokesman for Acme Corp., declined to comment on the $4.5 million deal or on its timing.",
    "Officials from the U.K. and the E.U. met at 9 a.m. local time to discuss the new tariffs on steel imports.",
    "\u201cWe are not done yet, and we will keep talking as long as it takes,\u201d said Dr. Jane Doe of the institute.",
    "The storm came from the U.S. The next day it reached Canada, where it knocked out power to 40,000 homes.",
    "John F. Kennedy Airport reported 1,200 delayed flights, about 30% of the total, by the end of the evening.",
    "Shares fell 3.2% to $148.50 in early trading before recovering most of their losses in the afternoon!",
    "Was it worth the cost?",
    "Gov. Newsom signed the bill, No. {i}, on Friday after a long debate in the state legislature over its funding.",
    "Residents who spoke to reporters said they had not been told how long the repairs would take to finish.",
]
def news_text(size: int) -> str:
    """About `size` characters of news-like prose: abbreviations, numbers, quotes, a paragraph break now and then."""
    parts, length, i = [], 0, 0
    while length < size:
        part = NEWS[i % len(NEWS)].format(i=i) + ("\n\n" if i % 7 == 6 else " ")
        parts.append(part)
        length += len(part)
        i += 1
    return "".join(parts).strip()


def fastest(fn, text: str, runs: int = 5) -> float:
    """The best of a few timings (less noise on a busy machine); one is enough once it takes over 5 s (quadratic)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - started)
        if best > 5:
            break
    return best


@pytest.mark.parametrize("text, expected", [
    ("The U.S. State Department said so. It was late.", ["The U.S. State Department said so.", "It was late."]),
    ("The storm came from the U.S. The next day it left.", ["The storm came from the U.S.", "The next day it left."]),
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("John F. Kennedy was president. He was young.", ["John F. Kennedy was president.", "He was young."]),
    ("He works at Acme Inc. The firm grew.", ["He works at Acme Inc.", "The firm grew."]),
    ("A headline with no period\n\nThe body starts here. It ends.",
     ["A headline with no period", "The body starts here.", "It ends."]),
    ("Shares fell 3.2% to $148.50! Was it worth it? Yes.", ["Shares fell 3.2% to $148.50!", "Was it worth it?", "Yes."]),
    ("\u201cAre we done?\u201d Nobody answered.", ["\u201cAre we done?\u201d", "Nobody answered."]),
])
def test_sentences_end_where_news_text_ends_them(text, expected):
    assert sentences(text) == expected


def test_a_word_longer_than_the_look_back_window_is_read_whole():
    # the whole run "x....U.S" is the word before the period: not an abbreviation, so the sentence ends there
    text = "See x" + "." * 80 + "U.S. State Department said so."
    assert sentences(text) == [text[:text.index(" State")], "State Department said so."]


def test_spans_are_trimmed_offsets_into_the_text():
    text = "  First one.  \n\n Second one?  Third "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one?", "Third"]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_sentence_spans_take_time_linear_in_the_text():
    small, large = news_text(100_000), news_text(400_000)
    ratio = fastest(sentence_spans, large) / fastest(sentence_spans, small)
    assert ratio < 8, f"4x the text took {ratio:.1f}x the time (quadratic would be ~16x)"


def test_a_long_run_of_dots_is_read_once():
    text = "Start. " + "." * 200_000 + "x end."   # tried from every dot, this took minutes
    started = time.perf_counter()
    assert sentences(text) == ["Start.", text[7:]]
    assert time.perf_counter() - started < 2
