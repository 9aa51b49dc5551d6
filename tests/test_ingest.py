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


# --- what a file cannot do to others ----------------------------------------------------------------------

SEED_002 = "seeds/002_7e68630bb1f8edc4.txt"


def _seed_hashes(store):
    return {m["content_hash"] for m in store.chunks.get(include=["metadatas"])["metadatas"] if m["source"] == SEED_002}


def test_a_record_cannot_take_another_articles_identity(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    ingest(SEEDS)
    before = _seed_hashes(store)
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(json.dumps(r) for r in [
        {"url": str((SEEDS / "002_7e68630bb1f8edc4.txt").resolve()), "date": "2023-05-04",
         "title": "Peace talks collapse", "text": "The peace talks collapsed and every diplomat went home."},
        {"source": SEED_002, "date": "2023-05-04", "text": "A forged report claims the checkpoint was removed."}]))
    report = ingest(forged)
    assert report.replaced == [] and report.removed == []
    assert [a.source for a in report.added] == ["forged.jsonl"] * 2
    assert _seed_hashes(store) == before and store.stats().articles == 4
    assert len(ingest(SEEDS).unchanged) == 2  # the seeds are still theirs, whole


def test_two_files_with_the_same_url_keep_both_articles(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    for name, text in (("a.jsonl", "Team A says the ferry loads 40 trucks."), ("b.jsonl", "Team B says 50 trucks.")):
        (tmp_path / name).write_text(json.dumps({"url": "https://n/1", "date": "2023-06-12", "text": text}))
        assert len(ingest(tmp_path / name).added) == 1
    assert store.stats().articles == 2
    assert len(ingest(tmp_path / "a.jsonl").unchanged) == 1


def test_a_store_keyed_by_urls_alone_is_adopted_without_re_embedding(fresh_store, tmp_path, monkeypatch):
    """Stores written before ids were scoped to their file keyed an article with a url by the url alone."""
    import index.articles as articles

    _, store, ingest = fresh_store
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(json.dumps({"url": f"https://n/{i}", "date": "2022-06-1" + str(i),
                                          "text": f"Story number {i} happened in town {i}."}) for i in range(3)))
    make = articles.make_article
    with monkeypatch.context() as legacy:
        legacy.setattr(articles, "make_article",
                       lambda **kw: make(**{**kw, "key": kw["url"] or kw["key"], "source_key": ""}))
        ingest(dump)
    old_ids = sorted(store.all_articles())
    assert old_ids == sorted(articles.article_id(f"https://n/{i}") for i in range(3))

    report = ingest(dump)
    assert len(report.unchanged) == 3 and report.chunks_embedded == 0 and report.duplicates == []
    assert sorted(store.all_articles()) == sorted(a.id for a in report.unchanged) != old_ids
    assert store.chunks.count() == store.lexical.count() == 3
    assert {m["article_id"] for m in store.chunks.get(include=["metadatas"])["metadatas"]} == set(store.all_articles())
    assert store.lexical.search("town", 5) and len(ingest(dump).unchanged) == 3


def test_a_deeply_nested_json_file_is_rejected_and_the_batch_goes_in(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "nested.json").write_text("[" * 100_000)
    (folder / "nested.jsonl").write_text("[" * 100_000 + "\n" + json.dumps({"date": "2023-05-02", "text": "Fine."}))
    (folder / "good.txt").write_text(" date 2023-05-02 Parliament approved the budget on Tuesday.")
    report = ingest(folder)
    reasons = {r.source.rsplit("/", 1)[1]: r.reason for r in report.rejected}
    assert reasons == {"nested.json": "JSON nested too deeply to be news records",
                       "nested.jsonl:1": "JSON nested too deeply to be news records"}
    assert len(report.added) == 2 and store.stats().articles == 2


def test_a_link_leading_out_of_the_folder_is_refused_unless_allowed(fresh_store, tmp_path, embedder):
    from index.ingest import ingest as run_ingest

    settings, store, ingest = fresh_store
    outside = tmp_path / "private.txt"
    outside.write_text(" date 2023-05-02 A private note that lives outside the ingested folder.")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "note.txt").symlink_to(outside)
    (folder / "inner.txt").write_text(" date 2023-05-03 An article inside the folder.")
    (folder / "same.txt").symlink_to(folder / "inner.txt")  # inside: read once, under its first name
    report = ingest(folder)
    assert [r.source for r in report.rejected] == ["articles/note.txt"]
    assert "symbolic link leading outside articles/" in report.rejected[0].reason
    assert [a.title for a in report.added] == ["An article inside the folder."]
    allowed = run_ingest([folder], settings.replace(follow_links=True), store, embedder)
    assert [a.source for a in allowed.added] == ["articles/note.txt"] and allowed.rejected == []


def test_a_file_that_vanishes_is_rejected_with_that_reason(tmp_path):
    from index.articles import source_file

    gone = source_file(tmp_path / "gone.txt", tmp_path)
    [rejection] = load_file(gone)[1]
    assert rejection.reason == "the file vanished before it could be read"


def test_huge_titles_and_authors_are_cut_and_the_cut_is_reported(fresh_store, tmp_path):
    _, store, ingest = fresh_store
    dump = tmp_path / "huge.json"
    dump.write_text(json.dumps({"title": "Headline " * 1_200_000, "authors": ["A. Writer"] * 100_000,
                                "date": "2023-05-02", "text": "A short article under a very long title."}))
    report = ingest(dump)
    [article] = report.added
    assert len(article.title) <= 300 and article.title.endswith("…")
    assert article.cuts[0] == "title cut from 10,799,999 to 300 characters" and "authors cut" in article.cuts[1]
    assert "title cut from" in report.lines()[0]
    assert all(len(m["title"]) <= 300 for m in store.chunks.get(include=["metadatas"])["metadatas"])


class _Named:
    """An embedder that only says which encoder it is: these tests must never reach it."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, backend):
        self.backend = backend

    def embed_documents(self, texts):
        raise AssertionError("nothing may be embedded into a store built by another encoder")

    embed_query = embed_documents


def test_a_store_records_its_encoder_and_refuses_vectors_of_another(tmp_path):
    import pytest

    from index.ingest import ingest
    from index.settings import Settings
    from index.store import StoreError, open_store

    torch_settings = Settings(store_dir=tmp_path / "store", embed_backend="torch")
    open_store(torch_settings).close()
    store = open_store(Settings(store_dir=tmp_path / "store"))     # the default (onnx) opens a torch-built store
    assert store.encoder == "torch"
    with pytest.raises(StoreError, match="built with the torch encoder.*NEWSQA_EMBED_BACKEND=torch"):
        ingest([SEEDS], store.settings, store, _Named("onnx"))
    assert store.chunks.count() == 0 and store.lexical.count() == 0
    store.close()


def test_an_existing_store_is_searched_and_extended_with_the_encoder_that_built_it(tmp_path, caplog):
    from index.embedder import make_embedder, store_encoder
    from index.settings import Settings

    onnx = Settings(store_dir=tmp_path / "store")
    assert onnx.embed_backend == "onnx"                        # the default for new stores
    assert store_encoder(onnx, "onnx") is onnx and store_encoder(onnx, None) is onnx
    chosen = store_encoder(onnx, "torch")
    assert chosen.embed_backend == "torch" and make_embedder(chosen).backend == "torch"
    assert "built with the torch encoder" in caplog.text
