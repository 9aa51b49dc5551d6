"""Uploaded files -> copies inside the store's upload folder, under safe, unique names, within the size limit.

The browser chooses an upload's name, so it is untrusted: only its last component is kept, stripped to letters,
digits, '-', '_' and '.', and the final path is checked to be inside the upload folder before anything is written.
Each copy's name ends in a hash of its content, so an upload never overwrites another one: two files called
`articles.json` are two sources, and the same file uploaded twice is one. The articles show the name the user
gave the file.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Sequence

from index.articles import SUPPORTED_SUFFIXES, Rejection, file_suffix

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


def shown_name(name: str) -> str:
    """The name an upload is shown under: the last component of what the browser sent, without control
    characters, at most MAX_NAME_CHARS long."""
    last = PureWindowsPath(PurePosixPath(name).name).name
    return re.sub(r"[\x00-\x1f\x7f]", "", last).strip()[:MAX_NAME_CHARS] or "upload"


def stored_name(name: str, digest: str) -> str:
    """'articles.json' -> 'articles-3f9a0c1d2e4b.json': safe, and unique to the content."""
    stem, dot, suffix = safe_name(name).rpartition(".")
    stem, suffix = (stem, "." + suffix) if dot else (suffix, "")
    return f"{stem[:MAX_NAME_CHARS - 13 - len(suffix)]}-{digest[:12]}{suffix}"


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def save_uploads(files: Sequence[tuple[str, str]], folder: Path, max_bytes: int
                 ) -> tuple[list[Path], dict[Path, str], list[Rejection]]:
    """Copy (temporary path, name the browser sent) pairs into folder under content-hashed names; returns the
    copies, the name each is shown under, and a rejection with its reason for each too large, unsupported or
    unsafe one."""
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    names: dict[Path, str] = {}
    rejected: list[Rejection] = []
    for temp_path, sent_name in files:
        name = shown_name(sent_name)
        size = Path(temp_path).stat().st_size
        if file_suffix(name) not in SUPPORTED_SUFFIXES:
            rejected.append(Rejection(name, f"unsupported file type (supported: {', '.join(SUPPORTED_SUFFIXES)})"))
            continue
        if size > max_bytes:
            rejected.append(Rejection(name, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB upload "
                                            "limit (NEWSQA_MAX_UPLOAD_MB)"))
            continue
        target = folder / stored_name(name, file_digest(Path(temp_path)))
        if not inside(target, folder):  # cannot happen after safe_name; kept as the last line of defence
            rejected.append(Rejection(name, "unsafe file name"))
            continue
        if not target.exists():  # the same content under this name is already here: nothing to write
            shutil.copyfile(temp_path, target)
        saved.append(target)
        names[target] = name
    return saved, names, rejected


def discard_unused(saved: Sequence[Path], kept_keys: set[str]) -> None:
    """Delete the copies that put nothing in the store (every record rejected or a duplicate), so the upload
    folder holds only what the store holds."""
    for path in saved:
        if str(path.resolve()) not in kept_keys:
            path.unlink(missing_ok=True)
