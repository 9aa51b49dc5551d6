"""Generative backends: the real Qwen2.5 1.5B in process (llamacpp) and behind `python -m llama_cpp.server`
(openai), checked citations, refusals, streaming, fallbacks; ollama by configuration (no server exists here).

Scripted TextModels stand in for a model only where the test is about our own logic (planted errors, garbage).
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from index.sentences import sentences
from index.settings import Settings, SettingsError
from qa import citations
from qa.assistant import Assistant
from qa.generative import GenerativeSynthesizer, within
from qa.synthesis import make_synthesizer
from tests.conftest import CHECKPOINT_Q

SEED_QUESTIONS = [  # (question, fact the answer must state, date of the article that says it)
    (CHECKPOINT_Q, "April 23", "2023-05-01"),
    ("How many ethnic Armenians live in the enclave reached through the Lachin Corridor?", "120,000", "2023-05-04"),
    ("Where have the Armenian and Azerbaijani diplomats been meeting?", "Arlington", "2023-05-04"),
]
TOKYO = "What is the population of Tokyo?"
LLM_THREADS = 2
LLM_CTX = 2048


class ScriptedModel:
    """A TextModel that replies with fixed text, in word-sized pieces (or raises)."""

    def __init__(self, reply: str | Exception, delay_s: float = 0.0) -> None:
        self.reply, self.delay_s, self.prompts = reply, delay_s, []

    def stream(self, prompt: str, *, timeout_s: float):
        self.prompts.append(prompt)
        time.sleep(self.delay_s)
        if isinstance(self.reply, Exception):
            raise self.reply
        for word in self.reply.split(" "):
            yield word + " "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assistant_with(seeded_assistant, backend: str, **changes) -> Assistant:
    """The seeded store and embedder with another backend, built through the real factory."""
    settings = seeded_assistant.settings.replace(backend=backend, llamacpp_threads=LLM_THREADS,
                                                 llamacpp_ctx=LLM_CTX, **changes)
    synthesizer = make_synthesizer(settings, seeded_assistant.store.lexical.idf, seeded_assistant.embedder)
    return Assistant(settings, seeded_assistant.store, seeded_assistant.embedder, synthesizer)


def scripted(seeded_assistant, reply, *, delay_s: float = 0.0, timeout_s: float = 5.0) -> Assistant:
    """The seeded assistant answering through GenerativeSynthesizer with a scripted model (no similarity)."""
    s = seeded_assistant.settings
    fallback = make_synthesizer(s, seeded_assistant.store.lexical.idf)
    synthesizer = GenerativeSynthesizer("scripted", ScriptedModel(reply, delay_s), fallback, timeout_s=timeout_s,
                                        min_overlap=s.citation_min_overlap, min_similarity=s.citation_min_similarity)
    return Assistant(s, seeded_assistant.store, seeded_assistant.embedder, synthesizer)


# -- our own logic, with scripted replies -------------------------------------------------------------------------

FAITHFUL = "Baku set up a checkpoint at the entrance to the Lachin Corridor on April 23. [1]"
PLANTED = ["The checkpoint was set up on April 25. [1]",                          # wrong date
           "About 15,000 Azerbaijani troops now guard the checkpoint. [1]",       # invented figure
           "Georgia set up the checkpoint at the entrance to the corridor. [1]"]  # swapped name


@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_unsupported_sentence_is_pruned_and_nothing_else(seeded_assistant, planted):
    result = scripted(seeded_assistant, f"{FAITHFUL} {planted}").answer(CHECKPOINT_Q)
    assert [p.sentence for p in result.pruned] == [planted]
    assert result.text == FAITHFUL and not result.refused and result.notice == ""
    assert result.citations[0].date == "2023-05-01" and "April 23" in result.citations[0].quotes[0]


def test_a_faithful_answer_loses_no_sentence(seeded_assistant):
    reply = (f"{FAITHFUL} Armenia described the move as illegal and unacceptable [1].")
    result = scripted(seeded_assistant, reply).answer(CHECKPOINT_Q)
    assert result.pruned == [] and result.backend == "scripted"
    assert result.text == f"{FAITHFUL} Armenia described the move as illegal and unacceptable. [1]"


def test_citations_are_renumbered_in_order_of_use(seeded_assistant):
    passages, _ = seeded_assistant.retrieve(CHECKPOINT_Q)
    last = passages[-1]
    quoted = sentences(last.text)[0]
    result = scripted(seeded_assistant, f"{quoted} [{len(passages)}] {FAITHFUL}").answer(CHECKPOINT_Q)
    assert len(passages) > 2 and result.pruned == []
    assert result.text.startswith(f"{quoted} [1] ") and result.text.endswith("[2]")
    assert [(c.number, c.chunk_id) for c in result.citations][0] == (1, last.chunk_id)
    assert result.citations[0].quotes == (quoted,)


@pytest.mark.parametrize("reply", ["The articles do not say.", "The passages do not contain this information.",
                                   "Answer: The articles don't say how many people live in Tokyo."])
def test_the_models_refusal_sentence_is_detected(seeded_assistant, reply):
    result = scripted(seeded_assistant, reply).answer(CHECKPOINT_Q)   # passes the gate, so the model refuses
    assert result.refused and result.text == "The articles do not say." and result.citations == []


@pytest.mark.parametrize("reply,notice", [
    ("def main():\n    return 42", "none of the 2 sentences of the scripted answer is supported"),
    ("", "the scripted backend returned an empty answer"),
    (RuntimeError("HTTP 500 from the server"), "the scripted backend failed (RuntimeError: HTTP 500 from the server)"),
])
def test_garbage_or_failure_gives_the_extractive_answer_with_a_notice(seeded_assistant, reply, notice):
    result = scripted(seeded_assistant, reply).answer(CHECKPOINT_Q)
    assert notice in result.notice and "showing the extractive answer" in result.notice
    assert result.backend == "extractive" and "April 23" in result.text


def test_a_backend_that_hangs_is_abandoned_at_the_timeout(seeded_assistant):
    started = time.monotonic()
    result = scripted(seeded_assistant, FAITHFUL, delay_s=4.0, timeout_s=2.0).answer(CHECKPOINT_Q)
    assert time.monotonic() - started < 3.5
    assert "no complete answer within 2 s" in result.notice and "April 23" in result.text


def test_within_stops_the_worker_once_the_consumer_gives_up():
    produced = []

    def pieces():
        for i in range(100):
            produced.append(i)
            time.sleep(0.05)
            yield str(i)

    with pytest.raises(TimeoutError):
        list(within(pieces, 0.3))
    time.sleep(0.2)
    count = len(produced)
    time.sleep(0.2)
    assert count == len(produced) < 20


def test_a_follow_up_is_condensed_by_the_model(seeded_assistant):
    assistant = scripted(seeded_assistant, "Who described the Lachin checkpoint set up by Baku as illegal?")
    history = [{"role": "user", "content": CHECKPOINT_Q}, {"role": "assistant", "content": "April 23 [1]"}]
    assert assistant.synthesizer.condense("And who called that illegal?", history) == \
        "Who described the Lachin checkpoint set up by Baku as illegal?"
    assert "Conversation:\nuser: On what date" in assistant.synthesizer.model.prompts[0]
    assert assistant.synthesizer.condense(CHECKPOINT_Q, history) == CHECKPOINT_Q   # standalone: no model call
    assert len(assistant.synthesizer.model.prompts) == 1


def test_a_model_that_answers_instead_of_condensing_falls_back_to_the_rules(seeded_assistant):
    assistant = scripted(seeded_assistant, "April 23.")
    history = [{"role": "user", "content": CHECKPOINT_Q}]
    assert assistant.synthesizer.condense("And who called that illegal?", history) == \
        f"And who called that illegal? ({CHECKPOINT_Q})"


def test_the_prompt_numbers_passages_with_titles_and_dates(seeded_assistant):
    assistant = scripted(seeded_assistant, FAITHFUL)
    assistant.answer(CHECKPOINT_Q)
    prompt = assistant.synthesizer.model.prompts[0]
    assert "[1] " in prompt and "(2023-05-01)" in prompt and "(2023-05-04)" in prompt
    assert f"Question: {CHECKPOINT_Q}\nAnswer with one or two short sentences" in prompt
    assert prompt.rstrip().endswith("answer exactly: The articles do not say.")


def test_citation_thresholds_in_settings_are_the_labelled_ones():
    settings = Settings()
    assert settings.citation_min_overlap == citations.MIN_OVERLAP
    assert settings.citation_min_similarity == citations.MIN_SIMILARITY
    assert Settings.from_env({"NEWSQA_CITATION_MIN_OVERLAP": "0.5"}).citation_min_overlap == 0.5


# -- openai and ollama configuration --------------------------------------------------------------------------------

def test_openai_needs_a_key_only_at_openai_and_never_shows_it(monkeypatch):
    from qa.backends import openai as backend

    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        backend.api_key("https://api.openai.com/v1", {})
    assert backend.api_key("http://127.0.0.1:8080/v1", {}) == backend.NO_KEY
    assert backend.api_key("https://api.openai.com/v1", {"OPENAI_API_KEY": "sk-a", "NEWSQA_OPENAI_API_KEY": "sk-b"}) \
        == "sk-b"
    model = backend.OpenAIModel("http://127.0.0.1:9/v1", "m", "sk-secret-123")
    assert "sk-secret" not in repr(model)


def test_a_dead_openai_endpoint_gives_the_extractive_answer_within_the_timeout(seeded_assistant):
    assistant = assistant_with(seeded_assistant, "openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                               timeout_s=5.0)
    started = time.monotonic()
    result = assistant.answer(CHECKPOINT_Q)
    assert time.monotonic() - started < 5.0
    assert "the openai backend failed (APIConnectionError: Connection error.)" in result.notice
    assert result.backend == "extractive" and "April 23" in result.text


def test_an_openai_endpoint_that_never_answers_is_abandoned_at_the_timeout(seeded_assistant):
    with socket.socket() as server:   # accepts connections, never replies
        server.bind(("127.0.0.1", 0))
        server.listen()
        assistant = assistant_with(seeded_assistant, "openai", timeout_s=2.0,
                                   openai_base_url=f"http://127.0.0.1:{server.getsockname()[1]}/v1")
        started = time.monotonic()
        result = assistant.answer(CHECKPOINT_Q)
    assert time.monotonic() - started < 4.0
    assert "the openai backend failed" in result.notice and "April 23" in result.text


def test_ollama_is_configured_from_settings(seeded_assistant):
    assistant = assistant_with(seeded_assistant, "ollama", ollama_host="http://127.0.0.1:11999",
                               ollama_model="qwen2.5:1.5b-instruct", timeout_s=7.0)
    llm = assistant.synthesizer.model.llm
    assert assistant.synthesizer.name == "ollama"
    assert (llm.base_url, llm.model, llm.request_timeout, llm.temperature) == \
        ("http://127.0.0.1:11999", "qwen2.5:1.5b-instruct", 7.0, 0.0)


def test_an_unreachable_ollama_says_so_and_gives_the_extractive_answer(seeded_assistant):
    host = f"http://127.0.0.1:{free_port()}"
    result = assistant_with(seeded_assistant, "ollama", ollama_host=host, timeout_s=5.0).answer(CHECKPOINT_Q)
    assert f"no Ollama server answers at {host} (NEWSQA_OLLAMA_HOST): start one with `ollama serve`" in result.notice
    assert result.backend == "extractive" and "April 23" in result.text


def test_an_unknown_backend_lists_the_valid_ones(seeded_assistant):
    with pytest.raises(SettingsError, match="extractive, llamacpp, openai, ollama"):
        Settings(backend="gpt")


# -- the real model --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def qwen(seeded_settings) -> Path:
    """The assembled, verified Qwen file (scripts/setup.sh dev runs `python -m qa.models get`; this repeats it)."""
    from qa.models import get

    return get(Settings.from_env(os.environ))


@pytest.fixture(scope="session")
def llamacpp(seeded_assistant, qwen) -> Assistant:
    # the timeout is generous: on this 2-core machine shared with other work an answer took 50-150 s
    return assistant_with(seeded_assistant, "llamacpp", llamacpp_model=str(qwen), timeout_s=300.0)


@pytest.fixture(scope="session")
def llamacpp_writer(seeded_assistant, qwen) -> Assistant:
    """The same model writing its own sentences (NEWSQA_LLM_MODE=generate), checked and pruned."""
    return assistant_with(seeded_assistant, "llamacpp", llamacpp_model=str(qwen), timeout_s=300.0, llm_mode="generate")


@pytest.fixture(scope="session")
def llama_server(qwen):
    """`python -m llama_cpp.server` serving the same file on 127.0.0.1, started once, stopped at the end."""
    port = free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(qwen), "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", str(LLM_CTX), "--n_threads", str(LLM_THREADS),
                                "--model_alias", "qwen2.5-coder-1.5b"], stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base_url + "/models", timeout=2).read()
                break
            assert process.poll() is None, Path(log.name).read_text()[-2000:]
            assert time.monotonic() < deadline, "llama_cpp.server did not start within 120 s"
            time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def served(seeded_assistant, llama_server) -> Assistant:
    return assistant_with(seeded_assistant, "openai", openai_base_url=llama_server, openai_model="qwen2.5-coder-1.5b",
                          timeout_s=300.0)


@pytest.fixture(params=["llamacpp", "openai"])
def generative(request) -> Assistant:
    return request.getfixturevalue("llamacpp" if request.param == "llamacpp" else "served")


@pytest.mark.slow
@pytest.mark.parametrize("question,fact,date", SEED_QUESTIONS, ids=["checkpoint", "population", "venue"])
def test_seed_question_is_answered_with_valid_citations(generative, question, fact, date):
    """Right fact, valid citations: from the model, or, when the check pruned all it wrote, from the extractive
    fallback that says so (the served model answered the checkpoint question 'April 23 (1), April 30 (2)')."""
    result = generative.answer(question)
    assert result.backend == generative.synthesizer.name or (
        result.backend == "extractive" and "showing the extractive answer" in result.notice), result
    assert fact in result.text and not result.refused, result
    assert any(c.date == date and fact in c.text for c in result.citations)
    check = citations.check_answer(result.text, [citations.evidence_text(c) for c in result.citations],
                                   similarity=generative.synthesizer.similarity)
    assert check.valid and check.text == result.text, check.sentences


@pytest.mark.slow
def test_the_model_itself_answers_the_venue_question(generative):
    result = generative.answer(SEED_QUESTIONS[2][0])
    assert result.backend == generative.synthesizer.name and "Arlington" in result.text, result
    assert any(c.date == "2023-05-04" and "Arlington" in c.text for c in result.citations)


@pytest.mark.slow
def test_tokyo_is_refused(generative):
    result = generative.answer(TOKYO)
    assert result.refused and result.text == "The articles do not say." and result.citations == []


@pytest.mark.slow
def test_streaming_yields_pieces_then_the_checked_answer(llamacpp_writer):
    # the venue question: the one the 1.5B model answers itself every time. On the checkpoint question its reply
    # depends on what it answered before (llama.cpp reuses the cached prompt prefix, which shifts the floats):
    # after the earlier tests of this file it listed "April 23 (1), April 30 (2), December 2020 (3)", all pruned.
    question, fact, _ = SEED_QUESTIONS[2]
    items = list(llamacpp_writer.answer_stream(question))
    pieces, final = items[:-1], items[-1]
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)
    assert final.backend == "llamacpp" and fact in final.text and final.seconds > 0, (final, "".join(pieces))
    assert final.standalone_question == question and final.date_window is not None
    # the pieces are the raw reply; the final text is that reply checked (markers renumbered, unsupported removed)
    raw = "".join(pieces)
    assert fact in raw and final.text != "" and len(final.text) <= len(raw) + 8 * len(final.citations)


@pytest.mark.slow
def test_a_follow_up_is_condensed_by_the_real_model(llamacpp):
    history = [{"role": "user", "content": CHECKPOINT_Q},
               {"role": "assistant", "content": "Baku set up the checkpoint on April 23. [1]"}]
    result = llamacpp.answer("And who described that move as illegal?", history=history)
    assert result.standalone_question != "And who described that move as illegal?"
    # the article says "Armenia described the move"; the model has also answered with its capital, "Yerevan"
    assert ("Armenia" in result.text or "Yerevan" in result.text) and not result.refused, result


def test_a_sentence_citing_the_wrong_passage_is_recited_to_the_one_that_supports_it(seeded_assistant):
    passages, _ = seeded_assistant.retrieve(CHECKPOINT_Q)
    wrong = next(i for i, p in enumerate(passages, start=1) if "April 23" not in p.text)
    result = scripted(seeded_assistant, FAITHFUL.replace("[1]", f"[{wrong}]")).answer(CHECKPOINT_Q)
    assert result.text == FAITHFUL and result.pruned == []
    assert "April 23" in result.citations[0].text
    assert result.notice == "1 sentence(s) cited a passage that does not support them and now cite the one that does"


def test_a_question_the_passages_do_not_cover_is_refused_without_asking_the_model(seeded_assistant):
    assistant = scripted(seeded_assistant, "The population of Tokyo is 13.4 million (1).")
    result = assistant.answer(TOKYO)
    assert result.refused and result.backend == "scripted" and assistant.synthesizer.model.prompts == []


@pytest.mark.parametrize("reply", ["April 23 (2)", "Baku set up the checkpoint on April 23 (1).",
                                   "Baku set up the checkpoint on April 23. [2], [1]",
                                   "[1] Baku set up the checkpoint on April 23. (2023-05-01)"])   # header copied
def test_markers_written_the_small_models_way_are_read(seeded_assistant, reply):
    result = scripted(seeded_assistant, reply).answer(CHECKPOINT_Q)
    assert "April 23" in result.text and result.backend == "scripted" and result.pruned == []
    assert any("April 23" in c.text for c in result.citations)
    assert result.text.endswith("April 23. [1]") or result.text.endswith("April 23. [1][2]")


@pytest.mark.parametrize("question, as_of, notice", [
    ("On what date in April did Baku set up the Lachin checkpoint?", "2023-05-10",
     "cites reports from after 2023-04-30"),                                            # later reports searched
    ("On what date did Baku set up the Lachin checkpoint last month?", "2023-07-10",
     "no article published 2023-06-01 to 2023-06-30"),                                  # refused, asked again
])
def test_a_streamed_answer_reads_dates_as_the_plain_one_does(seeded_assistant, question, as_of, notice):
    final = list(scripted(seeded_assistant, FAITHFUL).answer_stream(question, as_of=as_of))[-1]
    assert not final.refused and "April 23" in final.text
    assert final.notice.startswith(notice)


def test_dates_a_model_adds_while_condensing_do_not_narrow_the_search(seeded_assistant):
    assistant = scripted(seeded_assistant, "When did Baku set up the Lachin checkpoint in June 2022?")
    history = [{"role": "user", "content": CHECKPOINT_Q}, {"role": "assistant", "content": "April 23 [1]"}]
    for result in (assistant.answer("And when was that?", history=history),
                   list(assistant.answer_stream("And when was that?", history=history))[-1]):
        assert result.standalone_question.endswith("in June 2022?")
        assert result.date_window.start is None and not result.date_window.phrases
