"""Lines repeated across many articles of the store stay out of chunks; stories, even syndicated, stay whole."""
from __future__ import annotations

import datetime as dt

import pytest

from index.articles import make_article
from index.boilerplate import block_keys, common_blocks, dropped_lines, kept_spans, line_key
from index.chunking import chunk_article

WIDGET = "Sign up for our morning newsletter and get the day's news in your inbox."


def story(n: int, extra: str = WIDGET) -> str:
    return (f"Council votes on budget number {n}\n{extra}\nThe council approved budget number {n} on Tuesday "
            f"after a debate of {n + 2} hours.\nThe vote was {n + 10} to 3.")


def test_a_line_in_enough_articles_is_common_and_others_are_not():
    keys = [block_keys(story(n)) for n in range(5)]
    assert common_blocks(keys, min_articles=5) == {line_key(WIDGET)}
    assert common_blocks(keys[:4], min_articles=5) == set()


@pytest.mark.parametrize("a, b", [(WIDGET, "  sign UP for our morning newsletter and get the day's news in your inbox. "),
                                  ("Read More", "read   more")])
def test_case_and_spacing_do_not_matter(a, b):
    assert line_key(a) == line_key(b)


def test_common_lines_are_kept_out_of_chunks_with_offsets_into_the_whole_text():
    text = story(1)
    article = make_article(key="k", title="t", date=dt.date(2023, 5, 2), text=text, source="s")
    [chunk] = chunk_article(article, common={line_key(WIDGET)})
    assert WIDGET not in chunk.text and "approved budget number 1" in chunk.text
    assert chunk.start == 0 and chunk.end == len(text)
    assert dropped_lines(text, {line_key(WIDGET)}) == [WIDGET]
    assert chunk_article(article)[0].text == text  # nothing common: the chunks are as before


def test_a_syndicated_copy_is_never_emptied():
    """The same agency story on five sites shares every line: it is a copy, not boilerplate."""
    text = story(7)
    common = common_blocks([block_keys(text)] * 5, min_articles=5)
    assert kept_spans(text, common) == [(0, len(text))]


def test_fresh_store_ingest_keeps_a_widget_out_of_new_chunks(fresh_store, tmp_path):
    settings, store, run = fresh_store
    folder = tmp_path / "council"
    folder.mkdir()
    for n in range(5):
        (folder / f"{n}.txt").write_text(f"date: 2023-05-0{n + 1}\n\n{story(n)}")
    report = run(folder)
    assert report.boilerplate_lines == 5 and "; 5 repeated lines kept out" in report.summary()
    texts = store.chunks.get(include=["documents"])["documents"]
    assert len(texts) == 5 and not any(WIDGET in t for t in texts)
    (folder / "5.txt").write_text(f"date: 2023-05-06\n\n{story(5)}")  # a later article: the store's counts
    again = run(folder)
    assert len(again.added) == 1 and again.boilerplate_lines == 1 and len(again.unchanged) == 5
