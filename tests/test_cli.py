"""The README's commands, run as a user would: python -m index / python -m qa."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CHECKPOINT_Q, ROOT


def run(*args, store, **env):
    environ = {**os.environ, "NEWSQA_STORE_DIR": str(store), **env}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_index_then_qa_from_the_command_line(tmp_path):
    store = tmp_path / "store"
    first = run("index", "seeds/", store=store)
    assert first.returncode == 0, first.stderr
    assert "added      seeds/002_7e68630bb1f8edc4.txt" in first.stdout
    assert "2 added, 0 replaced, 0 unchanged" in first.stdout
    again = run("index", "seeds/", store=store)
    assert "0 added, 0 replaced, 2 unchanged" in again.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "nested.json").write_text("[" * 100_000)
    (bad / "good.txt").write_text(" date 2023-05-02 Parliament approved the budget on Tuesday.")
    mixed = run("index", str(bad), store=store)  # the good file goes in; the status says something was rejected
    assert mixed.returncode == 1 and "Traceback" not in mixed.stderr, mixed.stderr
    assert "rejected   bad/nested.json: JSON nested too deeply" in mixed.stdout and "added      bad/good.txt" in mixed.stdout
    answer = run("qa", CHECKPOINT_Q, store=store)
    assert answer.returncode == 0, answer.stderr
    assert "April 23" in answer.stdout and "[1]" in answer.stdout
    assert "Sources:\n[1]" in answer.stdout and "(2023-05-01) seeds/002_7e68630bb1f8edc4.txt" in answer.stdout
    removed = run("index", "--remove", "seeds/000_d9919218ce5d4bde.txt", store=store)
    assert "removed    seeds/000_d9919218ce5d4bde.txt" in removed.stdout and "2 articles" in removed.stdout  # 002, good.txt


def test_help_lists_every_setting(tmp_path):
    out = run("qa", "--help", store=tmp_path).stdout
    assert "NEWSQA_STORE_DIR" in out and "NEWSQA_BACKEND" in out and "--as-of" in out
    assert "NEWSQA_STORE_DIR" in run("index", "--help", store=tmp_path).stdout


@pytest.mark.parametrize("args, message", [
    (("qa", "   "), "error: please type a question"),
    (("qa", "--as-of", "16/06/2022", "What happened?"), "is not an ISO date"),
])
def test_bad_questions_get_one_clear_line(tmp_path, args, message):
    result = run(*args, store=tmp_path / "s")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("qa", "   "), ("qa", "x" * 2001), ("qa", "--to", "May 2", "What happened?")])
def test_a_bad_question_is_reported_before_the_store_is_opened(tmp_path, args):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = run(*args, store=not_a_folder / "store")   # opening this store would fail with a store error
    assert result.returncode == 2 and "store" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_bad_setting_names_the_variable(tmp_path):
    result = run("qa", "hello there friend", store=tmp_path, NEWSQA_BACKEND="gpt5")
    assert result.returncode == 2 and "NEWSQA_BACKEND='gpt5' is not one of" in result.stderr


def test_unwritable_store_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run("index", "seeds/", store=locked / "store")
        if os.geteuid() == 0:   # root writes anyway; use a path under a file instead
            result = run("index", "seeds/", store=ROOT / "README.md" / "store")
        assert result.returncode == 2 and "error: the store folder" in result.stderr
        assert "NEWSQA_STORE_DIR" in result.stderr and "Traceback" not in result.stderr
    finally:
        locked.chmod(0o700)
