"""The default answering path loads only what answering needs (issue 19): `import sentence_transformers` alone
pulled in torch, transformers, sklearn and scipy, ~8 s of a 13 s first answer. Checked with `python -X importtime`
in a new process answering from a store built with the default encoder."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CHECKPOINT_Q, ROOT

NEVER_ON_THE_ANSWER_PATH = {"torch", "transformers", "sentence_transformers", "sklearn", "scipy"}
CHILD = """
import sys
from qa import answer
print(answer(sys.argv[1]).text)
"""


def imported_packages(importtime_log: str) -> set[str]:
    """Top-level packages named in `python -X importtime` output ('import time: self | cumulative | name')."""
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in importtime_log.splitlines()
            if line.startswith("import time:") and "|" in line}


STEMS = """
import sys
from index.terms import terms
words = "Armenian Armenia talks negotiations generalization relational conditional happily ceasefire".split()
ours = terms(" ".join(words))
assert not {"sklearn", "scipy", "nltk"} & set(sys.modules), sorted(m for m in sys.modules if m[:4] in ("nltk", "skle"))
import nltk   # the real package still imports afterwards, and stems the same
from nltk.stem.porter import PorterStemmer
import index.terms
index.terms._stemmer.cache_clear(); index.terms.stem.cache_clear()
assert terms(" ".join(words)) == ours and "sklearn" in sys.modules, ours
print("ok")
"""


def test_the_stemmer_loads_without_nltks_package_imports_and_stems_as_nltk_does():
    done = subprocess.run([sys.executable, "-c", STEMS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_imported_packages_reads_importtime_lines():
    log = ("import time: self [us] | cumulative | imported package\n"
           "import time:       120 |        900 |   torch.nn.modules\nimport time:  3 |  3 | numpy\nnoise\n")
    assert imported_packages(log) == {"imported package", "torch", "numpy"}


@pytest.mark.slow
def test_the_default_answering_path_never_imports_torch_transformers_sklearn_or_scipy(seeded_assistant,
                                                                                      seeded_settings):
    assert seeded_assistant.store.encoder == "onnx"       # the default encoder built the store
    env = {k: v for k, v in os.environ.items() if k != "NEWSQA_EMBED_BACKEND"}
    env.update(NEWSQA_STORE_DIR=str(seeded_settings.store_dir), NEWSQA_CACHE_DIR=str(seeded_settings.cache_dir))
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", CHILD, CHECKPOINT_Q], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "April 23" in done.stdout
    loaded = imported_packages(done.stderr)
    assert "onnxruntime" in loaded
    assert not loaded & NEVER_ON_THE_ANSWER_PATH, sorted(loaded & NEVER_ON_THE_ANSWER_PATH)
