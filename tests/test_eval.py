"""The evaluation suite: its metrics, its data set, and the CI gate on the seeds with the extractive default."""
from __future__ import annotations

import json
import math
import re
from types import SimpleNamespace

import pytest

from eval import metrics
from eval.datasets import DEFAULT_DATASET, DatasetError, load_dataset
from tests.conftest import REALTIMEQA, ROOT

# The CI gate (issue 11). Measured on the seeds with the extractive default (20:59 UTC, 2026-11-23): refusal
# accuracy 49/54 = 90.7%, citation validity 100%, answer correctness 36/44 = 81.8%.
MIN_REFUSAL_ACCURACY = 1.0          # outside KNOWN_MISSES
MIN_CITATION_VALIDITY = 1.0
MIN_ANSWER_CORRECTNESS = 0.77       # measured 0.818, minus a margin of about 5 points (two questions)
# Questions the extractive answerer gets wrong today (reported to the retrieval owner). They stay in the set and
# in every figure above; the gate holds every other question to 100%, and fails when one of these starts to pass
# so that it is taken off this list.
KNOWN_MISSES = {
    "fact-21": "refused: 'In which city ... based' vs 'The Hague-based court'",
    "para-01": "refused: paraphrase (died / nineties)",
    "para-02": "refused: paraphrase (install / entry / linking)",
    "para-03": "refused: paraphrase (contingent / keeping the peace)",
    "para-06": "refused: paraphrase (sole overland link / disputed enclave)",
}
KNOWN_WRONG_ANSWERS = {
    "fact-20": "quotes the casualty sentences, not 'six-week war'",
    "both-01": "quotes the December 2020 sentence only; the 2,000 troops sentence of the other article is left out",
    "para-05": "'Azerbaijan's top diplomat' is answered with President Aliyev's call, not Foreign Minister Bayramov",
}


# --- metrics, table-style ------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, keywords, expected", [
    ("Baku set up a checkpoint on April 23. [1]", ["April 23"], True),
    ("about 2,000 troops [1]", ["2,000"], True),
    ("about 2000 troops", ["2,000"], True),
    ("the 120,000 ethnic Armenians [1]", ["2,000"], False),        # a number inside a bigger number
    ("a warning", ["war"], False),
    ("Mirzoyan met Bayramov", ["Mirzoyan", "Bayramov"], True),
    ("Mirzoyan met Blinken", ["Mirzoyan", "Bayramov"], False),
    ("The Hague-based court ruled", [["International Court of Justice", "Hague"]], True),
    ("“illegal” and “unacceptable”", ['"illegal"'], True),       # curly and straight quotes are the same
    ("shortly before 2 p.m. Washington time", ["2 p.m."], True),
    ("anything", [], True),
])
def test_contains_all(answer, keywords, expected):
    assert metrics.contains_all(answer, keywords) is expected


@pytest.mark.parametrize("answer, reference, expected", [
    ("On April 23. [1]", "On April 23.", 1.0),
    ("the checkpoint", "a checkpoint", 1.0),                        # articles do not count
    ("April 23", "May 4", 0.0),
    ("set up on April 23", "April 23", 2 * (2 / 5) * 1.0 / (2 / 5 + 1.0)),   # P 2/5, R 1
    ("", "", 1.0),
    ("", "April 23", 0.0),
])
def test_token_f1(answer, reference, expected):
    assert metrics.token_f1(answer, reference) == pytest.approx(expected)


@pytest.mark.parametrize("refused, answerable, expected", [
    (False, True, True), (True, False, True), (True, True, False), (False, False, False)])
def test_refusal_correct(refused, answerable, expected):
    assert metrics.refusal_correct(refused, answerable) is expected


def _check(valid, reason="no source states it"):
    sentence = SimpleNamespace(sentence="Baku set up a checkpoint on April 22.", supported=valid, reason=reason)
    return lambda text, passages: SimpleNamespace(valid=valid, sentences=[sentence], seen=passages)


@pytest.mark.parametrize("text, citations, refused, check, valid, reason", [
    ("On April 23 [1].", {1: "on April 23"}, False, _check(True), True, None),
    ("On April 23 [1]. And [2].", {1: "on April 23"}, False, _check(True), False, "[2] names no citation"),
    ("On April 23.", {1: "on April 23"}, False, _check(True), False, "without any [n] marker"),
    ("On April 22 [1].", {1: "on April 23"}, False, _check(False), False, "no source states it"),
    ("On April 23 [1, 3].", {1: "a", 3: "b"}, False, _check(True), False, "not numbered 1..n"),
    ("The articles do not say.", {}, True, _check(True), True, None),
    ("The articles do not say.", {1: "x"}, True, _check(True), False, "a refusal carries citations"),
])
def test_citation_verdict(text, citations, refused, check, valid, reason):
    verdict = metrics.citation_verdict(text, citations, refused, check)
    assert verdict.valid is valid
    if reason:
        assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_the_real_citation_check_passes_a_quote_and_fails_a_changed_date():
    from qa.citations import check_answer

    passage = "Baku on April 23 set up a checkpoint at the entrance to the Lachin Corridor."
    assert metrics.citation_verdict(f"{passage} [1]", {1: passage}, False, check_answer).valid
    wrong = passage.replace("April 23", "April 25")
    assert not metrics.citation_verdict(f"{wrong} [1]", {1: passage}, False, check_answer).valid


@pytest.mark.parametrize("retrieved, reference, expected", [
    (["a", "b"], ["a"], (1.0, 0.5)),
    (["b"], ["a"], (0.0, 0.0)),
    (["a", "b"], ["a", "b"], (1.0, 1.0)),
    (["a"], ["a", "b"], (0.5, 1.0)),
    ([], ["a"], (0.0, None)),
    (["a"], [], (None, None)),                                      # unanswerable: nothing to recall
])
def test_id_context_scores_are_ragas_id_based_recall_and_precision(retrieved, reference, expected):
    assert metrics.id_context_scores(retrieved, reference) == expected


@pytest.mark.parametrize("evidence, passage, expected", [
    (["seeds/002_7e68630bb1f8edc4.txt"], dict(source="seeds/002_7e68630bb1f8edc4.txt"), "seeds/002_7e68630bb1f8edc4.txt"),
    (["seeds/002_7e68630bb1f8edc4.txt"], dict(source="/elsewhere/seeds/002_7e68630bb1f8edc4.txt"),
     "seeds/002_7e68630bb1f8edc4.txt"),
    (["https://x.test/a"], dict(url="https://x.test/a", article_id="id1", source="articles.jsonl"), "https://x.test/a"),
    (["abc123"], dict(article_id="abc123", source="seeds/x.txt"), "abc123"),
    (["seeds/002_7e68630bb1f8edc4.txt"], dict(article_id="other", source="seeds/000_d9919218ce5d4bde.txt"), "other"),
])
def test_evidence_key_matches_ids_urls_and_file_names(evidence, passage, expected):
    assert metrics.evidence_key(evidence, **passage) == expected


@pytest.mark.parametrize("reference, retrieved, expected", [
    (["Some 30,000 people were killed."], ["Intro. Some 30,000 people were killed. More."], 1.0),
    (["Some 30,000 people were killed.", "Not there at all, nothing alike."], ["Some 30,000 people were killed."], 0.5),
    (["“Quoted” words here, in a long enough sentence."], ['Before. "Quoted" words here, in a long enough sentence.'], 1.0),
    (["Anything."], [], 0.0),
    ([], ["x"], None),
])
def test_reference_context_recall(reference, retrieved, expected):
    assert metrics.reference_context_recall(reference, retrieved) == expected


@pytest.mark.parametrize("values, q, expected", [
    ([1.0, 2.0, 3.0, 4.0], 50, 2.5), ([5.0], 95, 5.0), ([], 50, None), ([0.0, 10.0], 95, 9.5)])
def test_percentile(values, q, expected):
    assert metrics.percentile(values, q) == expected


def test_mean_skips_none_and_nan():
    assert metrics.mean([1.0, None, float("nan"), 0.0]) == 0.5
    assert metrics.mean([None]) is None


# --- the data set --------------------------------------------------------------------------------------------

def test_bundled_set_has_the_questions_the_issue_asks_for():
    items = load_dataset().items
    kinds = [i.kind for i in items]
    assert len(items) >= 40 and len({i.id for i in items}) == len(items)
    assert kinds.count("unanswerable") >= 8
    assert {"fact", "date", "both", "paraphrase"} <= set(kinds)
    assert all(not i.answerable for i in items if i.kind == "unanswerable")
    assert all(len(set(i.evidence)) == 2 for i in items if i.kind == "both")
    assert any(i.as_of for i in items)


def test_every_reference_context_is_quoted_from_its_evidence_article():
    articles = {p.relative_to(ROOT).as_posix(): re.sub(r"\s+", " ", p.read_text()) for p in (ROOT / "seeds").glob("*.txt")}
    for item in load_dataset().items:
        for sentence in item.reference_contexts:
            assert any(sentence in articles[src] for src in item.evidence), (item.id, sentence)
        assert all(src in articles for src in item.evidence)
        assert item.answerable == bool(item.reference_contexts)


def test_records_use_ragas_field_names():
    first = json.loads(DEFAULT_DATASET.read_text().splitlines()[0])
    assert {"user_input", "reference", "reference_contexts", "sources"} <= set(first)


def test_realtimeqa_folder_is_read_in_place():
    dataset = load_dataset(REALTIMEQA)
    assert len(dataset.items) == 85 and dataset.articles == (REALTIMEQA / "articles.jsonl",)
    first = dataset.items[0]
    assert first.as_of == "2022-06-16" and first.evidence[0].startswith("https://www.cnn.com/")
    assert first.keywords == ("Squid Game",)      # curly quotes stripped from the answer


@pytest.mark.parametrize("content, message", [
    ('{"reference": "x"}\n', "needs a non-empty 'user_input'"),
    ('{"user_input": "a", "id": "q"}\n{"user_input": "b", "id": "q"}\n', "duplicate ids"),
    ("not json\n", ":1: not JSON"),
    ("", "no questions"),
])
def test_bad_sets_fail_with_the_line(tmp_path, content, message):
    path = tmp_path / "set.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_dataset(path)


def test_a_users_own_set_uses_the_configured_store_and_derives_keywords(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"user_input": "When?", "reference": "On April 23.", "urls": ["https://a"]}) + "\n"
                    + json.dumps({"user_input": "Tokyo?", "reference": "The articles do not say."}) + "\n")
    dataset = load_dataset(path)
    assert dataset.articles == ()
    assert dataset.items[0].keywords == ("On April 23",) and dataset.items[0].answerable
    assert not dataset.items[1].answerable


# --- the suite end to end on the seeds: the CI gate ----------------------------------------------------------

@pytest.fixture(scope="module")
def seed_run(seeded_assistant):
    from eval.__main__ import evaluate, make_run

    dataset = load_dataset()
    rows = evaluate(dataset.items, seeded_assistant, progress=False)
    return make_run(dataset, seeded_assistant.settings, rows, {"name": "", "status": "none"}, None, [])


def _rows(run):
    return {r["id"]: r for r in run["rows"]}


def test_gate_refusal_accuracy(seed_run):
    rows = _rows(seed_run)
    wrong = sorted(i for i, r in rows.items() if not r["refusal_correct"] and i not in KNOWN_MISSES)
    assert not wrong, f"refused/answered wrongly: {wrong}"
    fixed = sorted(i for i in KNOWN_MISSES if rows[i]["refusal_correct"])
    assert not fixed, f"now right, take off KNOWN_MISSES: {fixed}"
    ok = [r["refusal_correct"] for i, r in rows.items() if i not in KNOWN_MISSES]
    assert sum(ok) / len(ok) >= MIN_REFUSAL_ACCURACY


def test_gate_citation_validity(seed_run):
    assert seed_run["aggregates"]["citation_validity"] >= MIN_CITATION_VALIDITY


def test_gate_answer_correctness(seed_run):
    agg = seed_run["aggregates"]
    assert agg["answer_correctness"] >= MIN_ANSWER_CORRECTNESS, agg["answer_correctness"]
    wrong = {i for i, r in _rows(seed_run).items() if r["answerable"] and not r["correct"]}
    assert wrong - set(KNOWN_MISSES) - set(KNOWN_WRONG_ANSWERS) == set()


def test_unanswerable_questions_are_refused_without_citations(seed_run):
    for r in seed_run["rows"]:
        if r["kind"] == "unanswerable" and r["id"] not in KNOWN_MISSES:
            assert r["refused"] and r["answer"] == "The articles do not say." and not r["cited_sources"]


def test_context_recall_finds_the_evidence_articles(seed_run):
    agg = seed_run["aggregates"]
    assert agg["context_recall"] >= 0.9 and agg["reference_context_recall"] >= 0.9
    assert 0 < agg["context_precision"] <= 1 and agg["latency_s"]["p95"] < 10


def test_report_files_and_compare(seed_run, tmp_path):
    from eval.report import compare, load_run, summary_table, write_run

    json_path, md_path = write_run(seed_run, tmp_path, "run")
    assert load_run(json_path)["aggregates"] == json.loads(json.dumps(seed_run["aggregates"]))
    text = md_path.read_text()
    assert "| Refusal accuracy |" in text and "![run-answer_correctness](run-answer_correctness.png)" in text
    assert (tmp_path / "run-refusal_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert "Faithfulness" not in summary_table(seed_run)          # no judge, no figure
    other = json.loads(json.dumps(seed_run))
    other["settings"]["top_k"] = 3
    other["rows"][0]["correct"] = not other["rows"][0]["correct"]
    diff = compare(seed_run, other)
    assert "settings: top_k 5 -> 3" in diff and f"`{other['rows'][0]['id']}`" in diff


def test_faithfulness_is_marked_untrusted_below_80_percent(seed_run):
    from eval.report import summary_table

    judged = json.loads(json.dumps(seed_run))
    judged["judge"] = {"name": "local:test.gguf", "status": "ok"}
    judged["aggregates"]["faithfulness"], judged["aggregates"]["faithfulness_scored"] = 0.9, 40
    judged["calibration"] = {"judge": "local:test.gguf", "agreement": 0.75, "cases": 24, "created": "x"}
    assert "0.900 (n=40) UNTRUSTED | judge local:test.gguf, calibration 75.0% on 24 cases" in summary_table(judged)
    judged["calibration"]["agreement"] = 0.875
    assert "UNTRUSTED" not in summary_table(judged)


@pytest.mark.slow
def test_cli_runs_the_bundled_set_and_compares(tmp_path):
    from eval.__main__ import main

    env = {"NEWSQA_CACHE_DIR": str(tmp_path / "cache"), "NEWSQA_JUDGE": "none"}
    out = tmp_path / "results"
    assert main(["--limit", "4", "--out", str(out), "--quiet"], environ=env) == 0
    assert main(["--limit", "4", "--top-k", "3", "--out", str(out), "--quiet"], environ=env) == 0
    runs = sorted(out.glob("*.json"))
    assert len(runs) == 2
    first = json.loads(runs[0].read_text())
    assert first["aggregates"]["questions"] == 4 and first["judge"]["status"] == "none"
    assert main(["--compare", str(runs[0]), str(runs[1])]) == 0


# --- the judge -----------------------------------------------------------------------------------------------

def test_calibration_cases_are_balanced_with_one_planted_error_each():
    from eval.calibration import load_cases

    articles = [re.sub(r"\s+", " ", p.read_text()) for p in (ROOT / "seeds").glob("*.txt")]
    cases = load_cases()
    assert len(cases) >= 24 and len({c["id"] for c in cases}) == len(cases)
    faithful = [c for c in cases if c["label"] == "faithful"]
    assert len(faithful) * 2 == len(cases) and all(c["error"] is None for c in faithful)
    errors = [c["error"] for c in cases if c["label"] == "unfaithful"]
    assert set(errors) == {"wrong date", "wrong number", "added claim", "swapped name", "other article"}
    for case in cases:
        assert all(any(p in a for a in articles) for p in case["retrieved_contexts"]), case["id"]


def _fake_complete(verdicts):
    """A judge model that splits the answer at ', and' and gives the verdicts it is told to."""
    def complete(messages, schema):
        prompt = messages[-1]["content"]
        if schema["title"] == "Statements":
            answer = json.loads(prompt.rsplit("input: ", 1)[1].rsplit("Output:", 1)[0])["answer"]
            return json.dumps({"statements": answer.split(", and ")})
        count = schema["properties"]["statements"]["minItems"]
        return json.dumps({"statements": [{"statement": "s", "reason": "r", "verdict": v} for v in verdicts[:count]]})
    return complete


@pytest.mark.parametrize("verdicts, response, expected", [
    ([1, 1], "Baku set up a checkpoint, and it did so on April 23 [1].", 1.0),
    ([1, 0], "Baku set up a checkpoint, and it did so on April 25 [1].", 0.5),
    ([0], "Baku set up nothing [1].", 0.0),
])
def test_judge_runs_ragas_faithfulness_through_the_schema(verdicts, response, expected):
    from eval.judge import Judge

    score = Judge("fake", _fake_complete(verdicts)).faithfulness("When?", response, ["Baku on April 23 set up a checkpoint."])
    assert score.value == expected and score.note == ""


def test_judge_output_that_breaks_the_schema_is_nan_with_a_reason():
    from eval.judge import Judge

    score = Judge("fake", lambda messages, schema: '{"statements": []}').faithfulness("q", "a [1]", ["p"])
    assert math.isnan(score.value) and "does not fit the schema" in score.note


def test_tight_schemas_bound_statements_and_verdicts():
    from eval.judge import MAX_CHARS, MAX_STATEMENTS, statements_model, verdicts_model

    statements = statements_model().model_json_schema()["properties"]["statements"]
    assert statements["maxItems"] == MAX_STATEMENTS and statements["items"]["maxLength"] == MAX_CHARS
    verdicts = verdicts_model(3).model_json_schema()
    assert verdicts["properties"]["statements"]["minItems"] == verdicts["properties"]["statements"]["maxItems"] == 3
    assert verdicts["$defs"]["Verdict"]["properties"]["verdict"]["enum"] == [0, 1]


def test_calibration_agreement_counts_nan_as_a_miss():
    from eval.calibration import calibrate_judge
    from eval.judge import JudgeScore

    scores = iter([1.0, 0.5, float("nan"), 1.0])
    judge = SimpleNamespace(name="fake", faithfulness=lambda *a: JudgeScore(next(scores)))
    cases = [{"id": str(i), "user_input": "q", "response": "a", "retrieved_contexts": ["p"], "label": label}
             for i, label in enumerate(["faithful", "unfaithful", "unfaithful", "unfaithful"])]
    result = calibrate_judge(judge, cases, progress=False)
    assert [r["agrees"] for r in result["rows"]] == [True, True, False, False]
    assert result["agreement"] == 0.5 and result["judge"] == "fake"


def test_a_judge_that_cannot_load_costs_only_faithfulness(capsys):
    from eval.__main__ import make_run_judge
    from index.settings import Settings

    judge, info = make_run_judge(Settings(judge="local", judge_model="/nonexistent/model.gguf"))
    assert judge is None and info["status"].startswith("unavailable: ")
    assert "Faithfulness skipped" in capsys.readouterr().err


def test_a_judge_that_cannot_be_reached_gives_nan_per_question(seeded_assistant):
    from eval.__main__ import evaluate, make_run_judge
    from index.settings import Settings

    judge, info = make_run_judge(Settings(judge="ollama", judge_base_url="http://127.0.0.1:9", timeout_s=5))
    assert info == {"name": "ollama:qwen2.5:1.5b-instruct@http://127.0.0.1:9", "status": "ok"}
    row = evaluate(load_dataset().items[:1], seeded_assistant, judge=judge, progress=False)[0]
    assert math.isnan(row.faithfulness) and "ollama judge at http://127.0.0.1:9 failed" in row.faithfulness_note
    assert row.correct                                                    # the judge-free figures stand


@pytest.mark.parametrize("judge", ["local", "none"])
def test_generate_says_it_needs_a_capable_llm(judge, capsys):
    from eval.__main__ import main

    assert main(["generate"], environ={"NEWSQA_JUDGE": judge}) == 2
    assert "generate needs a capable LLM: set NEWSQA_JUDGE=openai" in capsys.readouterr().err


# The local judge in CI: a stratified subset, sized for about 5 minutes on an otherwise idle 2-core machine
# (each case is two short judge calls on a one-sentence passage; the seed question adds two calls over a
# ~190-token chunk). With three other jobs on the same 2 cores a case took ~50 s and a seed question ~5 min.
# All six agreed with their labels in the full calibration (21/24), so one miss still passes (5/6 = 83%).
JUDGE_CASES = ["ok-checkpoint", "ok-30000", "ok-pashinian", "bad-date-checkpoint", "bad-number-30000", "bad-other-icj"]
JUDGE_QUESTIONS = ["fact-16"]


@pytest.mark.slow
def test_local_judge_agrees_with_the_labels_and_scores_in_range(seeded_assistant):
    from eval.__main__ import evaluate
    from eval.calibration import calibrate_judge, load_cases
    from eval.judge import make_judge
    from index.settings import Settings

    judge = make_judge(Settings(judge="local"))
    cases = [c for c in load_cases() if c["id"] in JUDGE_CASES]
    result = calibrate_judge(judge, cases, progress=False)
    assert len(cases) == len(JUDGE_CASES)
    assert result["agreement"] >= 0.8, [(r["id"], r["score_text"]) for r in result["rows"]]
    items = [i for i in load_dataset().items if i.id in JUDGE_QUESTIONS]
    rows = evaluate(items, seeded_assistant, judge=judge, progress=False)
    assert {r.id for r in rows} == set(JUDGE_QUESTIONS) and not any(r.refused for r in rows)
    for r in rows:
        assert isinstance(r.faithfulness, float) and 0.0 <= r.faithfulness <= 1.0, (r.id, r.faithfulness_note)


def test_the_eval_checks_a_citation_with_its_title_as_the_answer_path_does():
    """A 1.5B model quoted an untitled article's title (its first sentence) while citing a later chunk: the
    answer path accepted it, the eval rejected it. Both now read title, date and text (qa.citations.evidence_text)."""
    from eval.datasets import EvalItem
    from eval.metrics import score_answer
    from qa.citations import check_answer
    from qa.results import Answer, Citation

    title = "Yerevan and Baku announced that their foreign ministers were heading to Washington"
    citation = Citation(number=1, title=title, date="2023-05-01", source="s.txt", score=1.0,
                        text="The readout of the call said Blinken spoke with the Armenian leader.")
    answer = Answer(question="q", text=f"{title}. [1]", citations=[citation], refused=False, backend="test")
    row = score_answer(EvalItem(id="t", user_input="Where were the ministers heading?"), answer, [], check_answer)
    assert row.citation_valid, row.citation_reasons
    assert not check_answer(answer.text, [citation.text]).valid     # the text alone does not hold it
