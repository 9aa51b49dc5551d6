"""The answering path loads only what answering needs (issue 19); `python -X importtime` shows what loads."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


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
