"""Real-archive retrieval on a handful of RealTime QA questions with their hard negatives (read in place from
../shared/realtimeqa-dev; never copied). The full benchmark is `python -m eval.realtimeqa`."""
from __future__ import annotations

import json

import pytest

from eval.metrics import contains_all
from index.settings import Settings
from tests.conftest import REALTIMEQA

QUESTION_IDS = ["20220617_0", "20220617_3", "20220617_5", "20220617_7"]
MAX_CHARS = 12_000  # keep CI quick: skip the few very long negatives


def _subset(tmp_path, question_ids=QUESTION_IDS, also=lambda article: False):
    """Each question's gold article and the hard negatives after it in the file, plus any article `also` wants."""
    articles = [json.loads(line) for line in (REALTIMEQA / "articles.jsonl").read_text().splitlines()]
    questions = {q["id"]: q for q in map(json.loads, (REALTIMEQA / "questions.jsonl").read_text().splitlines())}
    gold_positions = sorted({i for i, a in enumerate(articles) for q in questions.values() if a["url"] in q["gold_urls"]})
    chosen = []
    for qid in question_ids:
        start = next(i for i, a in enumerate(articles) if a["url"] in questions[qid]["gold_urls"])
        end = next((p for p in gold_positions if p > start), len(articles))
        chosen += [a for a in articles[start:end] if len(a["text"]) <= MAX_CHARS or a["url"] in questions[qid]["gold_urls"]]
    chosen += [a for a in articles if also(a) and a not in chosen]
    path = tmp_path / "subset.jsonl"
    path.write_text("\n".join(json.dumps(a) for a in chosen))
    return path, [questions[q] for q in question_ids], chosen


def _archive(tmp, embedder, **subset):
    from index.ingest import ingest
    from index.store import open_store
    from qa.assistant import Assistant

    path, questions, articles = _subset(tmp, **subset)
    settings = Settings(store_dir=tmp / "store")
    store = open_store(settings)
    report = ingest([path], settings, store, embedder)
    assistant = Assistant.from_settings(settings, store, embedder)
    return assistant, questions, articles, report


@pytest.fixture(scope="module")
def archive(tmp_path_factory, embedder):
    return _archive(tmp_path_factory.mktemp("rtqa"), embedder)


@pytest.mark.slow
def test_the_dump_goes_in_whole_with_untitled_records_titled(archive):
    _, _, articles, report = archive
    assert report.rejected == [] and len(report.added) == len({a["url"] for a in articles})
    untitled = [a for a in report.added if not any(r.get("title") for r in articles if r["url"] == a.url)]
    assert untitled and all(a.title for a in untitled)


@pytest.mark.slow
def test_gold_article_is_in_the_top_three_with_as_of(archive):
    assistant, questions, _, _ = archive
    for q in questions:
        passages, _ = assistant.retrieve(q["question"], as_of=q["as_of"], top_k=3)
        assert any(p.url in q["gold_urls"] for p in passages), q["question"]
        assert all(p.date <= q["as_of"] for p in passages)


@pytest.mark.slow
def test_nothing_after_as_of_is_cited_and_citations_carry_urls(archive):
    assistant, questions, _, _ = archive
    for q in questions:
        result = assistant.answer(q["question"], as_of=q["as_of"])
        assert not result.refused, q["question"]
        assert all(c.date <= q["as_of"] and c.url and c.article_id for c in result.citations)
        assert result.date_window.end.isoformat() <= q["as_of"]
        assert contains_all(" ".join(c.text for c in result.citations), [q["answer"]]), (q["question"], result.text)


def test_answer_at_k_finds_the_reference_answer_in_the_top_k_passages_whatever_the_quotes():
    from eval.realtimeqa import answer_at

    texts = ["Gas hit $4.99 on Friday.", "Netflix renewed “Squid Game” for a second season."]
    assert answer_at(texts, '"Squid Game"', 2) == 1.0
    assert answer_at(texts, '"Squid Game"', 1) == 0.0
    assert answer_at(texts, "Ozark", 2) == 0.0


@pytest.mark.slow
def test_a_question_naming_the_events_day_finds_the_later_report_that_answers(tmp_path, embedder):
    """Asked in July 2022 about "the insurrection on January 6, 2021": that week's reports are searched, and so
    are the later ones; the answer (187 minutes) is in the hearing coverage of July 2022."""
    that_week = lambda a: "2021/01/06" <= a["publish_date"] <= "2021/01/13"   # noqa: E731
    assistant, [q], articles, _ = _archive(tmp_path, embedder, question_ids=["20220722_8"], also=that_week)
    assert sum(map(that_week, articles)) >= 2
    passages, window = assistant.retrieve(q["question"], as_of=q["as_of"])
    assert str(window.end) == "2021-01-13" and str(window.reports_until) == q["as_of"]
    assert any(p.url in q["gold_urls"] for p in passages) and any(p.date <= "2021-01-13" for p in passages)
    result = assistant.answer(q["question"], as_of=q["as_of"])
    assert any(c.url in q["gold_urls"] for c in result.citations), result.text
    assert all(c.date <= q["as_of"] for c in result.citations)
    assert "may name when it happened" in result.notice


def test_the_benchmark_names_a_backend_it_does_not_know_and_stops(capsys):
    from eval.realtimeqa import main

    assert main([str(REALTIMEQA), "--backend", "gpt-9"]) == 2
    assert "NEWSQA_BACKEND='gpt-9' is not one of extractive, llamacpp" in capsys.readouterr().err


def test_short_answers_are_scored_as_the_benchmark_scores_them():
    from eval.realtimeqa import exact_match, token_f1

    assert exact_match("the Squid Game", "Squid Game") == 1.0
    assert exact_match("Squid Game", "“Squid Game”") == 0.0   # the benchmark keeps curly quotes
    assert exact_match("", "") == 0.0                          # no short answer is never right
    assert token_f1("$19 million dollars", "$19 million") == pytest.approx(0.8)
    assert token_f1("", "6") == 0.0


@pytest.mark.skipif(not (REALTIMEQA / "published").is_dir(), reason="needs ../shared/realtimeqa-dev")
def test_the_published_gpt3_baseline_scores_what_its_readme_says():
    from eval.realtimeqa import load_questions, run_published

    summary = run_published(REALTIMEQA, load_questions(REALTIMEQA)).summary()
    assert round(summary["short_em"], 3) == 0.447 and round(summary["short_f1"], 3) == 0.561
