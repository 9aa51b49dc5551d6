"""Uploaded files -> copies inside the store's upload folder, under safe names, within the size limit.

The browser chooses an upload's name, so it is untrusted: only its last component is kept, stripped to letters,
digits, '-', '_' and '.', and the final path is checked to be inside the upload folder before anything is written.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Sequence

from index.articles import SUPPORTED_SUFFIXES, Rejection

UPLOAD_SUBDIR = "uploads"
MAX_NAME_CHARS = 120
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_dir(store_dir: Path) -> Path:
    """Where the page keeps uploaded articles: inside the store, so re-ingesting them later finds the same files."""
    return store_dir / UPLOAD_SUBDIR


def safe_name(name: str) -> str:
    """'../../etc/x.txt' -> 'x.txt'; 'C:\\a\\..\\b c.md' -> 'b_c.md'; never empty, hidden, or a path."""
    last = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
    cleaned = UNSAFE.sub("_", last).strip("._") or "upload"
    stem, dot, suffix = cleaned.rpartition(".")
    if dot and len(cleaned) > MAX_NAME_CHARS:
        cleaned = stem[:MAX_NAME_CHARS - len(suffix) - 1] + "." + suffix
    return cleaned[:MAX_NAME_CHARS]


def inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def save_uploads(files: Sequence[tuple[str, str]], folder: Path, max_bytes: int) -> tuple[list[Path], list[Rejection]]:
    """Copy (temporary path, name the browser sent) pairs into folder; too large, unsupported or unsafe ones are
    rejected with a reason instead."""
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    rejected: list[Rejection] = []
    for temp_path, sent_name in files:
        name = safe_name(sent_name)
        size = Path(temp_path).stat().st_size
        target = folder / name
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            rejected.append(Rejection(name, f"unsupported file type (supported: {', '.join(SUPPORTED_SUFFIXES)})"))
        elif size > max_bytes:
            rejected.append(Rejection(name, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB upload "
                                            "limit (NEWSQA_MAX_UPLOAD_MB)"))
        elif not inside(target, folder):  # cannot happen after safe_name; kept as the last line of defence
            rejected.append(Rejection(name, "unsafe file name"))
        else:
            shutil.copyfile(temp_path, target)
            saved.append(target)
    return saved, rejected
