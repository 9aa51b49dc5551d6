"""qa.citations, the no-LLM check of generated answers: labelled sentences about the seed articles, planted errors.

`python tests/test_citations.py` prints every labelled sentence's overlap and MiniLM similarity: the table the
thresholds in qa/citations.py were chosen from.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.citations import MIN_OVERLAP, MIN_SIMILARITY, check_answer, closest, overlap  # noqa: E402


def _paragraphs(name: str) -> list[str]:
    text = (ROOT / "seeds" / name).read_text(encoding="utf-8")
    return [p.strip() for p in re.split(r"\n\s*\n", re.sub(r"^\s*date \d{4}-\d\d-\d\d\s+", "", text))]


MAY_1 = _paragraphs("002_7e68630bb1f8edc4.txt")
MAY_4 = _paragraphs("000_d9919218ce5d4bde.txt")
# passage-sized excerpts, headed as qa.generative numbers them for the model (title, date)
PASSAGES = [
    "Blinken calls Pashinian and Aliyev (2023-05-01)\n" + " ".join(MAY_1[4:7]),   # [1] checkpoint, roadblock
    "Armenia-Azerbaijan talks (2023-05-04)\n" + " ".join(MAY_4[10:12]),          # [2] conflict, 120,000
    "Armenia-Azerbaijan talks (2023-05-04)\n" + " ".join(MAY_4[1:3]),            # [3] Blinken, Arlington
    "Blinken calls Pashinian and Aliyev (2023-05-01)\n" + " ".join(MAY_1[0:2]),  # [4] ministers to Washington
]

# (sentence as the model might write it, supported?, note) -- the labelled examples the thresholds come from.
# note "paraphrase": faithful, but too reworded for term overlap alone; the embedding similarity keeps it.
# note "limit": unfaithful with every fact and most words in the passage (a role swapped, an invented verb);
# the check cannot see it -- pinned here so a better check shows up as an unexpected pass.
LABELLED = [
    # faithful: copied, reworded, reordered dates and numbers, markers in other places
    ("Baku set up a checkpoint at the entrance to the Lachin Corridor on April 23. [1]", True, ""),
    ("Azerbaijan established a checkpoint at the start of the Lachin corridor on 23 April [1].", True, ""),
    ("The checkpoint was set up on April 23, 2023 [1].", True, ""),
    ("The roadblock tightened an existing blockade of the region by Azerbaijani protesters. [1]", True, ""),
    ("Armenia called the move illegal and unacceptable [1].", True, ""),
    ("Armenia said the checkpoint contradicted the 2020 ceasefire agreement brokered by Moscow. [1]", True, ""),
    ("Armenia says the move breaks the 2020 truce that Moscow brokered. [1]", True, ""),
    ("Yerevan refused to negotiate over the Lachin corridor again. [1]", True, ""),
    ("Azerbaijani protesters had already been blocking the region since December, and the checkpoint made it "
     "worse. [1]", True, "paraphrase"),
    ("Yerevan rejected any new talks about the corridor. [1]", True, "paraphrase"),
    ("About 120,000 ethnic Armenians live in the enclave. [2]", True, ""),
    ("The corridor brings supplies from Armenia to 120 000 ethnic Armenians [2].", True, ""),
    ("The enclave is mountainous and home to 120,000 ethnic Armenians. [2]", True, ""),
    ("Russian peacekeepers have policed the corridor since December 2020. [2]", True, ""),
    ("Nagorno-Karabakh lies inside Azerbaijan but is populated mainly by ethnic Armenians [2].", True, ""),
    ("The two countries have fought over Nagorno-Karabakh for decades. [2]", True, ""),
    ("The diplomats have been meeting at a State Department facility in Arlington, Virginia. [3]", True, ""),
    ("The meetings took place in Arlington, Virginia, at a diplomatic site of the State Department. [3]", True,
     "paraphrase"),
    ("Secretary of State Antony Blinken will take part in the closing session of the talks [3].", True, ""),
    ("Blinken is expected to attend the last session of the talks. [3]", True, "paraphrase"),
    ("Yerevan and Baku said their foreign ministers would travel to Washington for new negotiations. [4]", True, ""),
    ("The foreign ministers of Armenia and Azerbaijan headed to Washington for another round of talks. [4]", True, ""),
    # unfaithful: planted errors (wrong date, invented figure, swapped name) and claims the passage does not make
    ("Baku set up a checkpoint at the entrance to the Lachin Corridor on April 25. [1]", False, ""),
    ("About 150,000 ethnic Armenians live in the enclave. [2]", False, ""),
    ("Georgia set up a checkpoint at the entrance to the Lachin Corridor on April 23. [1]", False, ""),
    ("The diplomats have been meeting at a State Department facility in Alexandria, Virginia. [3]", False, ""),
    ("Russian peacekeepers have policed the corridor since December 2018. [2]", False, ""),
    ("Blinken will chair a summit of the foreign ministers in Moscow. [3]", False, ""),
    ("The two sides signed a peace treaty ending the conflict over the region. [2]", False, ""),
    ("The checkpoint was removed after Russian mediation a week later. [1]", False, ""),
    ("Armenia's parliament voted to approve the checkpoint. [1]", False, ""),
    ("The enclave has been under a naval blockade since 2020. [2]", False, ""),
    ("Protesters in Yerevan demanded that the government reopen the corridor. [1]", False, ""),
    ("Armenia refused to join the talks in Washington. [4]", False, ""),
    ("Tokyo has a population of about 14 million people. [1]", False, ""),
    ("The diplomats met in Arlington, Virginia. [1]", False, ""),          # right fact, wrong passage
    ("Blinken spoke with the Armenian leader about the checkpoint. [5]", False, ""),  # no passage [5]
    ("The checkpoint was set up to protect Armenian protesters in the region. [1]", False, "limit"),
    ("Azerbaijan and Armenia agreed to reopen the Lachin Corridor on April 23. [1]", False, "limit"),
    ("Russian peacekeepers left the corridor in December 2020. [2]", False, "limit"),
]


def _cases(known_misses: set[str]):
    return [pytest.param(sentence, supported, id=sentence[:60], marks=[pytest.mark.xfail(
        strict=True, reason=f"{note}: see LABELLED")] if note in known_misses else [])
        for sentence, supported, note in LABELLED]


def similarity_of(embedder):
    cache: dict[str, list[float]] = {}

    def vector(text: str) -> list[float]:
        if text not in cache:
            cache[text] = embedder.embed_query(text)
        return cache[text]

    return lambda a, b: sum(x * y for x, y in zip(vector(a), vector(b)))


@pytest.mark.parametrize("sentence,supported", _cases({"paraphrase", "limit"}))
def test_labelled_sentence_is_judged_as_labelled_by_term_overlap_alone(sentence, supported):
    check = check_answer(sentence, PASSAGES)
    assert [s.supported for s in check.sentences] == [supported], check.sentences[0].reason
    assert check.valid is supported


@pytest.fixture(scope="module")
def similarity(embedder):
    return similarity_of(embedder)


@pytest.mark.slow
@pytest.mark.parametrize("sentence,supported", _cases({"limit"}))
def test_labelled_sentence_is_judged_as_labelled_with_embedding_similarity(sentence, supported, similarity):
    check = check_answer(sentence, PASSAGES, similarity=similarity)
    assert check.valid is supported, check.sentences[0].reason


@pytest.mark.parametrize("planted,reason", [
    ("Baku set up the checkpoint on April 24. [1]", "the date 'April 24'"),
    ("The enclave is home to 125,000 ethnic Armenians. [2]", "the number '125000'"),
    ("Ilham Aliyev will take part in the closing session of the talks in Arlington, Virginia. [3]", "'Ilham'"),
    ("Armenia called the move illegal. [7]", "cites [7], but only 4 passages were given"),
])
def test_one_planted_error_prunes_exactly_that_sentence(planted, reason):
    faithful = ["Baku set up a checkpoint at the entrance to the Lachin Corridor on April 23. [1]",
                "The Lachin Corridor reaches about 120,000 ethnic Armenians. [2]",
                "The diplomats met at a State Department facility in Arlington, Virginia. [3]"]
    check = check_answer(" ".join(faithful[:2] + [planted] + faithful[2:]), PASSAGES)
    assert [p.sentence for p in check.pruned] == [planted]
    assert reason in check.pruned[0].reason
    assert check.text == " ".join(faithful) and not check.valid


def test_a_faithful_answer_loses_nothing_and_keeps_its_text():
    text = ("Baku set up a checkpoint at the entrance to the Lachin Corridor on April 23. [1] About 120,000 ethnic "
            "Armenians live in the enclave, which Russian peacekeepers have policed since December 2020. [2]")
    check = check_answer(text, PASSAGES)
    assert check.valid and check.pruned == [] and check.text == text
    assert [s.cited for s in check.sentences] == [(1,), (2,)]


@pytest.mark.parametrize("written,date", [
    ("on April 23", "April 23"), ("on 23 April", "23 April"), ("on 23rd April", "23rd April"),
    ("on Apr. 23", "Apr. 23"), ("on 2023-04-23", "2023-04-23"), ("on April 23rd, 2023", "April 23rd"),
])
def test_dates_match_however_they_are_written(written, date):
    assert check_answer(f"Baku set up a checkpoint {written}. [1]", PASSAGES).valid
    wrong = check_answer(f"Baku set up a checkpoint {written.replace('23', '22')}. [1]", PASSAGES)
    assert not wrong.valid and f"the date '{date.replace('23', '22')}'" in wrong.pruned[0].reason


@pytest.mark.parametrize("figure,valid", [
    ("120,000", True), ("120 000", True), ("120\u202f000", True), ("120000", True), ("120 thousand", True),
    ("12,000", False), ("1,200,000", False), ("120", False),
])
def test_numbers_match_however_they_are_written(figure, valid):
    assert check_answer(f"The corridor reaches {figure} ethnic Armenians. [2]", PASSAGES).valid is valid


@pytest.mark.parametrize("text,cited", [
    ("The diplomats have been meeting in Arlington, Virginia.", (3,)),           # no marker: best passage
    ("Baku set up a checkpoint on April 23.", (1,)),
    ("The diplomats have been meeting in Arlington, Virginia [3] [2].", (3, 2)),  # several markers
    ("The diplomats have been meeting in Arlington, Virginia [3, 2].", (3, 2)),
])
def test_citations_found_or_assigned(text, cited):
    check = check_answer(text, PASSAGES)
    assert check.valid and check.sentences[0].cited == cited
    assert check.text.endswith(" " + "".join(f"[{n}]" for n in cited))


def test_an_unmarked_sentence_no_passage_supports_is_pruned():
    check = check_answer("Tokyo is the capital of Japan.", PASSAGES)
    assert not check.valid and check.text == ""
    assert check.pruned[0].reason == "it has no [n] marker and no passage supports it"


@pytest.mark.parametrize("text,expected", [
    ("Baku set up a checkpoint on April 23. [1] Armenia called it illegal. [1]",
     "Baku set up a checkpoint on April 23. [1] Armenia called it illegal. [1]"),
    ("- Baku set up a checkpoint on April 23 [1]\n- Armenia called it illegal [1]",       # a bullet list
     "Baku set up a checkpoint on April 23. [1] Armenia called it illegal. [1]"),
    ("Baku set up a checkpoint on April 23.\n[1]", "Baku set up a checkpoint on April 23. [1]"),
    # the marker used as a noun (Qwen 1.5B on RealTime QA): the words pointing at it go with it
    ("Baku set up a checkpoint on April 23 in [1].", "Baku set up a checkpoint on April 23. [1]"),
    ("Baku set up a checkpoint on April 23, according to the passage from [1].",
     "Baku set up a checkpoint on April 23. [1]"),
    ("Baku set up a checkpoint on April 23, [1].", "Baku set up a checkpoint on April 23. [1]"),
    ("Baku set up a checkpoint on April 23, [1]", "Baku set up a checkpoint on April 23. [1]"),
    ("The article [1] says Baku set up a checkpoint on April 23.",
     "The article says Baku set up a checkpoint on April 23. [1]"),
    ("", ""),
])
def test_sentences_and_markers_are_read_from_any_layout(text, expected):
    assert check_answer(text, PASSAGES).text == expected


def test_one_claim_written_twice_becomes_one_sentence_citing_both():
    check = check_answer("Baku set up a checkpoint on April 23. [1]\nBaku set up a checkpoint on April 23. [4]",
                         PASSAGES)
    assert check.text == "Baku set up a checkpoint on April 23. [1][4]"


def test_markers_standing_for_the_answer_leave_a_fragment_that_is_pruned():
    check = check_answer("Azerbaijan said it would do [1] and [2].", PASSAGES)
    assert check.text == "" and check.pruned[0].reason == "it is not a whole sentence once its [n] markers are taken out"


def test_thresholds_are_fractions():
    assert 0 < MIN_OVERLAP < 1 and 0 < MIN_SIMILARITY < 1
    with pytest.raises(ValueError, match="min_overlap"):
        check_answer("x", PASSAGES, min_overlap=1.5)


def calibration_table(similarity=None) -> str:
    """Each labelled sentence's overlap (and similarity): the evidence for MIN_OVERLAP and MIN_SIMILARITY."""
    rows = ["| label | overlap | similarity | verdict | sentence |", "|---|---|---|---|---|"]
    for sentence, supported, _ in LABELLED:
        check = check_answer(sentence, PASSAGES, similarity=similarity).sentences[0]
        sources = [PASSAGES[n - 1] for n in check.cited if n <= len(PASSAGES)]
        claim = re.sub(r"\s*\[\d+\]", "", sentence)
        close = f"{closest(claim, sources, similarity):.2f}" if similarity and sources else "-"
        rows.append(f"| {supported} | {overlap(claim, sources):.2f} | {close} | {check.supported} | {sentence} |")
    rows += ["", "errors by threshold (overlap alone / with similarity at MIN_SIMILARITY):"]
    for threshold in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        errors = [sum(check_answer(s, PASSAGES, similarity=sim, min_overlap=threshold).valid is not label
                      for s, label, _ in LABELLED) for sim in (None, similarity) if sim or sim is None]
        rows.append(f"  min_overlap={threshold:.2f}: {' / '.join(map(str, errors))} of {len(LABELLED)}")
    if similarity:
        rows.append("errors by similarity threshold at MIN_OVERLAP:")
        for threshold in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
            errors = sum(check_answer(s, PASSAGES, similarity=similarity, min_similarity=threshold).valid is not label
                         for s, label, _ in LABELLED)
            rows.append(f"  min_similarity={threshold:.2f}: {errors} of {len(LABELLED)}")
    return "\n".join(rows)


if __name__ == "__main__":
    from index.embedder import make_embedder
    from index.settings import Settings, offline_environment

    offline_environment()
    print(calibration_table(similarity_of(make_embedder(Settings()))))
