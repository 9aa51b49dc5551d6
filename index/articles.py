"""Articles and their loaders: the seed format, .txt/.md with a date line or front matter, .json/.jsonl records,
.html/.htm pages (index/web.py) and WARC archives (index/warc.py)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from index.dates import DateError, parse_article_date
from index.sentences import sentences

SUPPORTED_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".html", ".htm", ".warc", ".warc.gz")
DATE_FIELDS = ("date", "published_at", "publish_date", "published", "pubDate", "pub_date", "datetime", "time")
TEXT_FIELDS = ("body", "text", "content", "article", "maintext")
TITLE_FIELDS = ("title", "headline")
URL_FIELDS = ("url", "link", "href")
_SEED_LINE = re.compile(r"^\s*date:?\s+(\S+)\s*(.*)$", re.IGNORECASE | re.DOTALL)
_DATE_LINE = re.compile(r"^\s*(?:date|published|published_at|publish_date)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_META_LINE = re.compile(r"^\s*(title|url|source|author|authors)\s*:\s*(.+?)\s*$", re.IGNORECASE)
# caps on what a record may store in every chunk's metadata (a 10 MB title would be copied into each chunk)
MAX_TITLE_CHARS = 300
MAX_AUTHORS_CHARS = 300
MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class Article:
    """One dated news article. `id` is stable across re-ingests and scoped to the file it came from (its
    `source_key`): the file alone for a text file; the record's url, else its position, within a dump."""

    id: str
    title: str
    date: dt.date
    text: str
    source: str               # the name people see: never a server path
    url: str = ""
    authors: str = ""
    source_key: str = ""      # the file's resolved path: what identifies the source
    cuts: tuple[str, ...] = ()  # fields shortened to their caps, said in the ingest report

    @property
    def legacy_id(self) -> str:
        """The id stores written before ids were scoped gave it: sha1 of its url (else the id it has now)."""
        return article_id(self.url) if self.url else self.id

    @property
    def content_hash(self) -> str:
        """Changes whenever anything we store about the article changes, so a re-ingest knows to replace it."""
        payload = "\x1f".join([self.title, self.date.isoformat(), self.url, self.authors, self.text])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def text_hash(self) -> str:
        """Of the text alone: the same story filed under another name or url is a duplicate."""
        return hashlib.sha256(" ".join(self.text.split()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Rejection:
    """A file or record that was not ingested, and why."""

    source: str
    reason: str


def article_id(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def record_key(source_key: str, url: str, number: int) -> str:
    """A dump's record is known by its url within that dump (so reordering re-keys nothing), else by its
    position; never by its url alone, which any file could claim."""
    return f"{source_key}\x1furl:{url}" if url else f"{source_key}:{number}"


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest: where it is, the key its articles' ids are scoped to, and the name people see."""

    path: Path
    key: str    # the resolved path: two names of one file are one source
    name: str   # relative to the working folder or to what was ingested; an upload's own name


def source_file(path: Path, root: Path | None = None, name: str | None = None) -> SourceFile:
    return SourceFile(path, str(path.resolve()), name or display_path(path, root))


# a dateline in any outlet's style: "New York CNN —", "LONDON (Reuters) -", "WASHINGTON (AP) —", "(CNN Business)"
_DATELINE = re.compile(r"^\s*(?:[A-Z][\w.,'’ -]{0,40}?\s*)?(?:\([A-Z][\w .&-]{0,30}\)\s*)?[—–]\s*|"
                       r"^\s*(?:[A-Z][\w.,'’ -]{0,40}?\s*)?\([A-Z][\w .&-]{0,30}\)\s*")
# page furniture that is never a story's first sentence (ads, links, newsletter plugs)
_BOILERPLATE = re.compile(r"^(click here|advertisement|watch:|read more|this story is part of)|\bthis ad\b|"
                          r"sign up|subscribe|newsletter|in your inbox", re.I)


def first_sentence(text: str, limit: int = 120) -> str:
    """A title for an untitled article: its first real sentence (datelines such as "New York CNN —" and
    newsletter plugs skipped), shortened at a word boundary."""
    candidates = [c for c in (_DATELINE.sub("", s).strip() for s in sentences(text[:3000]))
                  if c and not _BOILERPLATE.search(c)]
    sentence = next((c for c in candidates if len(c.split()) >= 4), candidates[0] if candidates else "")
    sentence = sentence or " ".join(text.split())[:limit]
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + "…"


def cap(value: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary and marked with '…'."""
    if len(value) <= limit:
        return value
    return (value[:limit - 1].rsplit(" ", 1)[0] or value[:limit - 1]) + "…"


def make_article(*, key: str, title: str, date: dt.date, text: str, source: str, url: str = "",
                 authors: str = "", source_key: str = "") -> Article:
    text = normalise_text(text)
    fields = {"title": ((title or "").strip(), MAX_TITLE_CHARS), "authors": ((authors or "").strip(), MAX_AUTHORS_CHARS),
              "url": ((url or "").strip(), MAX_URL_CHARS)}
    cuts = tuple(f"{name} cut from {len(value):,} to {limit:,} characters"
                 for name, (value, limit) in fields.items() if len(value) > limit)
    title, authors, url = (cap(value, limit) for value, limit in fields.values())
    return Article(id=article_id(key), title=title or first_sentence(text), date=date, text=text,
                   source=source, url=url, authors=authors, source_key=source_key, cuts=cuts)


def normalise_text(text: str) -> str:
    """Unix newlines, no control characters but newline/tab, trimmed: offsets index into exactly this text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    return text.strip()


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM); refuse binary files rather than ingest garbage."""
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (invalid byte at position {exc.start}); re-save the file as UTF-8") from None


# --- text files -------------------------------------------------------------------------------------------

def parse_text_article(raw: str, source: str, key: str) -> Article:
    """The seed format (' date YYYY-MM-DD' then the body), YAML-style front matter, or a 'date:' line on top."""
    text = raw.replace("\r\n", "\n").lstrip("\ufeff")
    meta: dict[str, str] = {}
    body = text
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end < 0:
            raise ValueError("front matter opened with '---' but never closed")
        for line in text[4:end].splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip().lower()] = v.strip().strip("'\"")
        body = text[end + 4:].lstrip("-\n")
    else:
        seed = _SEED_LINE.match(text.split("\n", 1)[0])
        if seed and not text.lstrip().lower().startswith("date:"):
            meta["date"] = seed[1]
            body = seed[2] + ("\n" + text.split("\n", 1)[1] if "\n" in text else "")
        else:
            lines = text.split("\n")
            head, i = [], 0
            while i < min(len(lines), 8) and (_DATE_LINE.match(lines[i]) or _META_LINE.match(lines[i])
                                             or (not lines[i].strip() and i < 7)):
                head.append(lines[i]); i += 1
            for line in head:
                if (m := _DATE_LINE.match(line)):
                    meta["date"] = m[1]
                elif (m := _META_LINE.match(line)):
                    meta[m[1].lower()] = m[2]
            body = "\n".join(lines[i:]) if "date" in meta else text
    if "date" not in meta:
        raise ValueError("no date found: start the file with ' date YYYY-MM-DD', a 'date: YYYY-MM-DD' line "
                         "or front matter with a date")
    try:
        date = parse_article_date(meta["date"])
    except DateError as exc:
        raise ValueError(str(exc)) from None
    title = meta.get("title", "")
    if not title and source.endswith(".md"):
        heading = re.match(r"^\s*#\s+(.+)$", body.strip().split("\n", 1)[0])
        if heading:
            title = heading[1].strip()
    if not normalise_text(body):
        raise ValueError("the article has a date but no text")
    return make_article(key=key, title=title, date=date, text=body, source=source, url=meta.get("url", ""),
                        authors=meta.get("authors", meta.get("author", "")), source_key=key)


# --- JSON records -----------------------------------------------------------------------------------------

def _first(record: dict[str, Any], names: Iterable[str]) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, "", []):
            return value
    return None


def parse_record(record: Any, source: str, source_key: str, number: int) -> Article:
    """A news record with common field names; the date is required and must parse. Its `source` and `url`
    fields are metadata: the article belongs to the file it was read from."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    text = _first(record, TEXT_FIELDS)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"no article text (expected one of: {', '.join(TEXT_FIELDS)})")
    raw_date = _first(record, DATE_FIELDS)
    if raw_date is None:
        raise ValueError(f"no date (expected one of: {', '.join(DATE_FIELDS)})")
    try:
        date = parse_article_date(str(raw_date))
    except DateError as exc:
        raise ValueError(str(exc)) from None
    url = str(_first(record, URL_FIELDS) or "")
    authors = _first(record, ("authors", "author")) or ""
    if isinstance(authors, list):
        authors = ", ".join(map(str, authors))
    title = _first(record, TITLE_FIELDS) or ""
    return make_article(key=record_key(source_key, url.strip(), number), title=str(title), date=date, text=text,
                        source=source, url=url, authors=str(authors), source_key=source_key)


NESTED = "JSON nested too deeply to be news records"


def iter_json_records(raw: str, suffix: str) -> Iterator[tuple[int, Any]]:
    """(line or index, record); a JSON Lines line that fails to parse yields a ValueError in its place."""
    if suffix == ".jsonl":
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})")
            except RecursionError:
                yield number, ValueError(NESTED)
        return
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ValueError(NESTED) from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    yield from enumerate(records, start=1)


# --- files ------------------------------------------------------------------------------------------------

def display_path(path: Path, root: Path | None = None) -> str:
    """The name people see: relative to the working folder when inside it, else to the folder that holds what
    was ingested (`root`), so no absolute server path reaches a citation."""
    absolute = Path(os.path.abspath(path))
    for base in (Path.cwd(), (Path(os.path.abspath(root)).parent if root is not None else absolute.parent)):
        try:
            return str(absolute.relative_to(base))
        except ValueError:
            continue
    return absolute.name


def public_name(source: str) -> str:
    """A stored source as shown to people: stores written before names were made relative may hold an absolute
    server path, of which only the file name is shown."""
    return Path(source).name if os.path.isabs(source) else source


def file_suffix(name: str) -> str:
    """'.warc.gz' for a gzipped WARC, else the last suffix, lower case."""
    lower = name.lower()
    return ".warc.gz" if lower.endswith(".warc.gz") else os.path.splitext(lower)[1]


def load_file(file: SourceFile | Path, max_bytes: int | None = None, fallback_date: dt.date | None = None,
              progress: Callable[[int, int], None] | None = None) -> tuple[list[Article], list[Rejection]]:
    """Every article a file holds, and a rejection (with its reason) for each part that could not be read;
    nothing a file holds raises. `fallback_date` dates web pages that carry no date of their own; `progress`
    hears (bytes read, file size) while an archive is read."""
    file = file if isinstance(file, SourceFile) else source_file(file)
    try:
        return _load(file, max_bytes, fallback_date, progress)
    except RecursionError:
        return [], [Rejection(file.name, "nested too deeply to read")]
    except MemoryError:
        return [], [Rejection(file.name, "too large to read into memory")]
    except (OSError, ValueError) as exc:  # a vanished file, a read error, a decoding error
        return [], [Rejection(file.name, str(exc) or type(exc).__name__)]


def _load(file: SourceFile, max_bytes: int | None, fallback_date: dt.date | None,
          progress: Callable[[int, int], None] | None) -> tuple[list[Article], list[Rejection]]:
    source, key, path = file.name, file.key, file.path
    suffix = file_suffix(path.name)
    if suffix not in SUPPORTED_SUFFIXES:
        return [], [Rejection(source, f"unsupported file type '{suffix or path.name}' "
                                      f"(supported: {', '.join(SUPPORTED_SUFFIXES)})")]
    if suffix in (".warc", ".warc.gz"):  # streamed record by record: the file's size is no limit, a record's is
        from index.warc import load_warc

        return load_warc(file, max_bytes, fallback_date, progress)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            return [], [Rejection(source, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
                                          "(NEWSQA_MAX_FILE_MB)")]
        if size == 0:
            return [], [Rejection(source, "empty file")]
        if suffix in (".html", ".htm"):
            from index.web import page_article

            return [page_article(path.read_bytes(), key=key, source=source, fallback_date=fallback_date)], []
        raw = decode_bytes(path.read_bytes())
    except FileNotFoundError:
        return [], [Rejection(source, "the file vanished before it could be read")]
    except (OSError, ValueError) as exc:
        return [], [Rejection(source, getattr(exc, "strerror", None) or str(exc))]
    if suffix in (".txt", ".md"):
        try:
            return [parse_text_article(raw, source, key)], []
        except ValueError as exc:
            return [], [Rejection(source, str(exc))]
    articles, rejections = [], []
    label = "line" if suffix == ".jsonl" else "record"
    try:
        for number, record in iter_json_records(raw, suffix):
            where = f"{source}:{number}" if suffix == ".jsonl" else f"{source} {label} {number}"
            try:
                if isinstance(record, ValueError):
                    raise record
                articles.append(parse_record(record, source, key, number))
            except ValueError as exc:
                rejections.append(Rejection(where, str(exc)))
    except ValueError as exc:
        return [], [Rejection(source, str(exc))]
    if not articles and not rejections:
        rejections.append(Rejection(source, "no records in file"))
    return articles, rejections


def discover(paths: Iterable[Path], follow_links: bool = False,
             names: dict[Path, str] | None = None) -> tuple[list[SourceFile], list[Rejection]]:
    """Files under the given paths (folders recursively, hidden files skipped), sorted for a stable order, each
    once. A symbolic link inside a folder that leads out of it is refused unless follow_links; `names` gives
    files their shown name (an upload's own)."""
    found: list[SourceFile] = []
    refused: list[Rejection] = []
    for path in paths:
        if path.is_dir():
            files, bad = _walk(path, follow_links)
            found.extend(source_file(f, path) for f in files)
            refused.extend(bad)
        elif path.is_file():
            found.append(source_file(path, path, (names or {}).get(path)))
        else:
            refused.append(Rejection(display_path(path), "no such file or folder"))
    unique: dict[str, SourceFile] = {}
    for file in found:  # a file found twice (a link, an overlapping path) is read once, under its first name
        unique.setdefault(file.key, file)
    return list(unique.values()), refused


def _walk(root: Path, follow_links: bool) -> tuple[list[Path], list[Rejection]]:
    """Files below root, not hidden; links leading outside root are refused (or followed), loops never walked."""
    top = root.resolve()
    files: list[Path] = []
    refused: list[Rejection] = []
    seen: set[Path] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        real = folder.resolve()
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            refused.append(Rejection(display_path(folder, root), f"cannot read the folder ({exc.strerror})"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and not follow_links and not entry.resolve().is_relative_to(top):
                refused.append(Rejection(display_path(entry, root), f"a symbolic link leading outside {root.name}/ "
                                         "(set NEWSQA_FOLLOW_LINKS=true to ingest what it points to)"))
            elif entry.is_dir():
                stack.append(entry)
            elif entry.is_file():
                files.append(entry)
    return sorted(files), refused
