"""The README stays a user's document: its settings table is generated, it stays short, and its docs links resolve."""
from __future__ import annotations

import re
from pathlib import Path

from index.settings import settings_markdown

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
MAX_README_CHARS = 16_000
REGENERATE = (
    ".venv/bin/python -c \"import re,pathlib; from index.settings import settings_markdown as m; p=pathlib.Path('README.md'); "
    "p.write_text(re.sub(r'(<!-- settings:start -->\\n).*?(<!-- settings:end -->)', "
    "lambda x: x[1] + m() + x[2], p.read_text(), flags=re.S))\""
)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_settings_table_matches_the_settings():
    text = readme()
    assert text.count(START) == 1 and text.count(END) == 1, f"README.md needs one {START} and one {END} marker"
    table = text.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == settings_markdown().strip(), (
        "README.md's settings table differs from index.settings.settings_markdown(); regenerate it from the "
        f"repository root with:\n  {REGENERATE}"
    )


def test_regenerate_command_rewrites_the_table(tmp_path):
    """The command in the message above really produces the table (run on a copy, with a stale table)."""
    import os
    import subprocess
    import sys

    stale = f"# x\n\n{START}\n| stale |\n{END}\n\nafter\n"
    (tmp_path / "README.md").write_text(stale)
    command = REGENERATE.removeprefix(".venv/bin/python -c ").strip('"').replace('\\"', '"')
    subprocess.run([sys.executable, "-c", command], cwd=tmp_path, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (tmp_path / "README.md").read_text() == f"# x\n\n{START}\n{settings_markdown()}{END}\n\nafter\n"


def test_readme_stays_short():
    size = len(readme())
    assert size < MAX_README_CHARS, (
        f"README.md has {size} characters (limit {MAX_README_CHARS}): move details into docs/ and link them"
    )


def test_docs_pages_linked_from_the_readme_exist():
    links = re.findall(r"\]\((docs/[^)#\s]+\.md)(?:#[^)\s]*)?\)", readme())
    assert links, "README.md links no docs/*.md page"
    missing = sorted({link for link in links if not (ROOT / link).is_file()})
    assert not missing, f"README.md links docs pages that do not exist: {missing}"


def test_settings_markdown_lists_every_setting():
    from dataclasses import fields

    from index.settings import Settings

    table = settings_markdown()
    for f in fields(Settings):
        assert f"| `NEWSQA_{f.name.upper()}` |" in table
    assert "`~/.cache/newsqa`" in table and "`.newsqa/store`" in table
