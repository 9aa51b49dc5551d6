"""Chunk spans: every chunk begins with a whole sentence, and long articles chunk in time linear in their length."""
from __future__ import annotations

import time

from index.chunking import _snap_to_sentences, split_spans
from tests.test_sentences import fastest, news_text

TEXT = "One is here. Two is there. Three is last."   # sentences start at 0, 13 and 27


def test_the_first_chunk_keeps_its_start():
    assert _snap_to_sentences(TEXT, [(5, 20)]) == [(5, 20)]


def test_a_chunk_starting_in_a_sentence_the_previous_chunk_holds_skips_to_the_next_sentence():
    assert _snap_to_sentences(TEXT, [(0, 26), (20, 41)]) == [(0, 26), (27, 41)]


def test_a_chunk_starting_in_a_sentence_the_previous_chunk_cuts_backs_up_to_its_start():
    assert _snap_to_sentences(TEXT, [(0, 20), (17, 41)]) == [(0, 20), (13, 41)]


def test_a_chunk_whose_sentence_ends_the_text_backs_up_rather_than_skip_past_it():
    assert _snap_to_sentences(TEXT, [(0, 41), (30, 41)]) == [(0, 41), (27, 41)]


def test_a_chunk_starting_on_a_sentence_or_between_two_stays():
    assert _snap_to_sentences(TEXT, [(0, 12), (13, 26), (26, 41)]) == [(0, 12), (13, 26), (26, 41)]


def spans(text: str) -> list[tuple[int, int]]:
    return split_spans(text, 192, 32)


def test_split_spans_take_time_linear_in_the_text():
    spans(news_text(5_000))   # loads the splitter and its sentence tokenizer
    small, large = news_text(100_000), news_text(400_000)
    ratio = fastest(spans, large, runs=3) / fastest(spans, small, runs=3)
    assert ratio < 8, f"4x the text took {ratio:.1f}x the time (quadratic would be ~16x)"


def test_a_one_megabyte_article_chunks_in_seconds():
    text = news_text(1_000_000)
    spans(news_text(5_000))
    started = time.perf_counter()
    found = spans(text)
    assert time.perf_counter() - started < 6   # ~1.5 s on 2 cores (most of it LlamaIndex's splitter); was minutes
    assert found[0][0] == 0 and found[-1][1] == len(text) and len(found) > 1000
