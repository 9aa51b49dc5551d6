"""Ingest into a real Chroma store: idempotent, replacing, removing, rejecting with reasons, never duplicating."""
from __future__ import annotations

import json

from index.chunking import chunk_article, chunk_id, split_spans
from index.articles import load_file
from index.ingest import remove
from tests.conftest import SEEDS


def _ids(store):
    return store.chunks.get(include=[])["ids"]


def test_reingesting_unchanged_files_embeds_and_adds_nothing(fresh_store):
    settings, store, ingest = fresh_store
    first = ingest(SEEDS)
    before = sorted(_ids(store))
    second = ingest(SEEDS)
    assert len(first.added) == 2 and first.chunks_added == len(before) > 0
    assert second.chunks_embedded == 0 and len(second.unchanged) == 2 and second.added == []
    assert sorted(_ids(store)) == before and store.lexical.count() == len(before)


def test_a_changed_file_replaces_its_old_chunks(fresh_store, seed_copy):
    _, store, ingest = fresh_store
    ingest(seed_copy)
    target = seed_copy / "000_d9919218ce5d4bde.txt"
    target.write_text(target.read_text() + "\n\nA new closing paragraph about a signed memorandum.")
    report = ingest(seed_copy)
    assert [a.source.rsplit("/", 1)[1] for a in report.replaced] == ["000_d9919218ce5d4bde.txt"]
    got = store.chunks.get(include=["metadatas"])
    hashes = {m["content_hash"] for m in got["metadatas"] if m["source"].endswith("000_d9919218ce5d4bde.txt")}
    assert len(hashes) == 1  # old chunks gone
    assert len(got["ids"]) == len(set(got["ids"])) == store.lexical.count()
    assert store.lexical.search("signed memorandum", 5)


def test_remove_drops_an_article_everywhere(fresh_store):
    _, store, ingest = fresh_store
    ingest(SEEDS)
    removed = remove([SEEDS / "000_d9919218ce5d4bde.txt"], store)
    assert removed == ["seeds/000_d9919218ce5d4bde.txt"]
    sources = {m["source"] for m in store.chunks.get(include=["metadatas"])["metadatas"]}
    assert sources == {"seeds/002_7e68630bb1f8edc4.txt"}
    assert store.stats().articles == 1 and store.lexical.search("Arlington Virginia", 5) == []


def test_bad_files_are_rejected_while_good_ones_go_in(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text(" date 2023-05-02 Parliament approved the budget on Tuesday.")
    (folder / "undated.txt").write_text("No date anywhere in this file.")
    (folder / "broken.json").write_text("{oops")
    report = ingest(folder)
    assert [a.title for a in report.added] == ["Parliament approved the budget on Tuesday."]
    reasons = {r.source.rsplit("/", 1)[1]: r.reason for r in report.rejected}
    assert set(reasons) == {"undated.txt", "broken.json"}
    assert "no date found" in reasons["undated.txt"] and "invalid JSON" in reasons["broken.json"]
    assert store.stats().articles == 1


def test_records_dropped_from_a_dump_are_removed_and_duplicates_skipped(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    dump = tmp_path / "dump.jsonl"
    rec = lambda i: {"url": f"https://n/{i}", "title": f"T{i}", "publish_date": "2022/06/1" + str(i),
                     "text": f"Story number {i} happened in town {i}."}
    dump.write_text("\n".join(json.dumps(rec(i)) for i in range(3)))
    ingest(dump)
    dump.write_text("\n".join(json.dumps(rec(i)) for i in range(2)))
    report = ingest(dump)
    assert len(report.removed) == 1 and report.removed[0].endswith("dump.jsonl (https://n/2)")
    copy = tmp_path / "copy.txt"
    copy.write_text("Date: 2022-06-10\n\nStory number 0 happened in town 0.")
    again = ingest(copy)
    assert again.added == [] and again.duplicates[0][1].endswith("dump.jsonl")
    assert store.stats().articles == 2


def test_a_record_with_a_700_character_url_goes_in(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    url = "https://www.cnn.com/2022/06/12/world/story/index.html?" + "utm_source=x&" * 60
    assert len(url) > 700
    dump = tmp_path / "long-url.jsonl"
    dump.write_text(json.dumps({"url": url, "publish_date": "2022/06/12", "text": "Short body. " * 200}))
    report = ingest(dump)
    assert len(report.added) == 1 and report.chunks_added > 1
    assert store.chunks.get(include=["metadatas"])["metadatas"][0]["url"] == url


def test_progress_reports_every_chunk(fresh_store):
    _, _, ingest = fresh_store
    calls = []
    report = ingest(SEEDS, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, report.chunks_added) and calls[-1] == (report.chunks_added, report.chunks_added)


def test_chunks_carry_dates_offsets_and_stable_ids():
    [article], _ = load_file(SEEDS / "002_7e68630bb1f8edc4.txt")
    chunks = chunk_article(article, 192, 32)
    assert len(chunks) > 3
    for c in chunks:
        assert article.text[c.start:c.end] == c.text
        assert (c.date, c.date_num) == ("2023-05-01", 20230501)
        assert c.id == chunk_id(article.id, article.content_hash, c.position)
        assert c.text[0].isupper() or c.text[0] in "“\""  # every chunk starts at a sentence
    assert [c.id for c in chunk_article(article, 192, 32)] == [c.id for c in chunks]


def test_spans_cover_the_whole_text():
    text = " ".join(f"Sentence number {i} is here." for i in range(300))
    spans = split_spans(text, 64, 8)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] >= b[0] - 1 for a, b in zip(spans, spans[1:]))  # no gaps
