"""Ingest: files -> articles -> chunks -> vectors -> store, skipping what is unchanged and replacing what changed."""
from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from index.articles import Article, Rejection, SourceFile, discover, display_path, load_file
from index.boilerplate import block_keys, common_blocks, dropped_lines
from index.chunking import Chunk, chunk_article
from index.embedder import Embedder
from index.settings import Settings
from index.store import Store

Progress = Callable[[int, int], None]  # (chunks done, chunks in all), or (bytes read, bytes in all)
Reading = Callable[[str], Progress]     # a file's name -> the bar that shows it being read (archives only)
# The chunk texts of every write batch of a run -> each batch's vectors, in the same order, lazily: batch i is
# written as soon as its vectors arrive. Locally each batch is embedded when its turn comes; on Ray
# (index/distributed.py) every batch is submitted at once and embedded ahead by a pool of actors.
BatchEmbedder = Callable[[Sequence[Sequence[str]]], Iterator[list[list[float]]]]


def embed_locally(embedder: Embedder) -> BatchEmbedder:
    """Each write batch embedded in this process, when the write loop asks for it."""
    return lambda batches: (embedder.embed_documents(texts) for texts in batches)


def progress_bar(desc: str = "embedding", unit: str = "chunk") -> Progress:
    """A tqdm bar on stderr for `ingest(progress=...)`, drawn once the number of chunks to embed is known (or,
    with unit 'B', for reading a large archive: `ingest(reading=lambda name: progress_bar(name, "B"))`)."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=total == 0,
                       unit_scale=unit == "B")
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


@dataclass
class IngestReport:
    """What an ingest did, article by article, for the CLI and the page to print."""

    added: list[Article] = field(default_factory=list)
    replaced: list[Article] = field(default_factory=list)
    unchanged: list[Article] = field(default_factory=list)
    duplicates: list[tuple[Article, str]] = field(default_factory=list)  # (article, source already holding it)
    removed: list[str] = field(default_factory=list)                     # sources of articles dropped
    rejected: list[Rejection] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)                     # e.g. a feed not modified since
    chunks_added: int = 0
    chunks_embedded: int = 0
    boilerplate_lines: int = 0  # lines repeated across the store, kept out of the new chunks
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} unchanged, "
                f"{len(self.duplicates)} duplicate, {len(self.removed)} removed, {len(self.rejected)} rejected; "
                f"{self.chunks_added} chunks written in {self.seconds:.1f} s"
                + (f"; {self.boilerplate_lines} repeated lines kept out" if self.boilerplate_lines else ""))

    def lines(self) -> list[str]:
        """One line per file or record, for people."""
        out = [f"added      {a.source}  ({a.date}, {a.title[:60]}){cuts(a)}" for a in self.added]
        out += [f"replaced   {a.source}  ({a.date}, {a.title[:60]}){cuts(a)}" for a in self.replaced]
        out += [f"unchanged  {a.source}  ({a.date}, {a.title[:60]})" for a in self.unchanged]
        out += [f"duplicate  {a.source}  (same text as {where})" for a, where in self.duplicates]
        out += [f"removed    {source}" for source in self.removed]
        out += [f"rejected   {r.source}: {r.reason}" for r in self.rejected]
        return out + self.notices


def cuts(article: Article) -> str:
    return f"  [{'; '.join(article.cuts)}]" if article.cuts else ""


def load_articles(paths: Iterable[Path], settings: Settings, names: dict[Path, str] | None = None,
                  fallback_date: dt.date | None = None, reading: Reading | None = None
                  ) -> tuple[list[Article], list[Rejection], list[SourceFile]]:
    """All articles under the paths, rejections with reasons, and the files that loaded whole."""
    files, rejected = discover(paths, settings.follow_links, names)
    articles: list[Article] = []
    complete: list[SourceFile] = []
    for file in files:
        found, bad = load_file(file, max_bytes=int(settings.max_file_mb * 1e6), fallback_date=fallback_date,
                               progress=reading(file.name) if reading else None)
        articles.extend(found)
        rejected.extend(bad)
        if found and not any(r.source == file.name for r in bad):
            complete.append(file)
    return articles, rejected, complete


def load_urls(urls: Iterable[str], settings: Settings, fallback_date: dt.date | None = None
              ) -> tuple[list[Article], list[Rejection]]:
    """The pages at these URLs, fetched within the settings' limits; each failure is a rejection."""
    from index.fetch import FetchPolicy
    from index.web import load_url

    articles: list[Article] = []
    rejected: list[Rejection] = []
    for url in urls:
        found, bad = load_url(url, FetchPolicy.from_settings(settings), fallback_date)
        articles.extend(found)
        rejected.extend(bad)
    return articles, rejected


def ingest(paths: Sequence[Path | str], settings: Settings, store: Store, embedder: Embedder,
           progress: Progress | None = None, names: dict[Path, str] | None = None,
           fallback_date: dt.date | None = None, reading: Reading | None = None,
           embed_batches: BatchEmbedder | None = None) -> IngestReport:
    """Ingest files, folders and URLs (strings with a scheme: 'https://...'); `names` shows some files under
    another name (an upload under its own); `fallback_date` dates web pages that carry no date of their own;
    `embed_batches` embeds elsewhere (on Ray) instead of with `embedder`, which then only names the encoder."""
    from index.web import is_url

    started = time.perf_counter()
    urls = [p for p in paths if isinstance(p, str) and is_url(p)]
    files = [Path(p) for p in paths if not (isinstance(p, str) and is_url(p))]
    articles, rejected, complete = load_articles(files, settings, names, fallback_date, reading)
    fetched, refused = load_urls(urls, settings, fallback_date)
    report = store_articles([*articles, *fetched], [*rejected, *refused], complete, settings, store, embedder,
                            progress, embed_batches)
    report.seconds = time.perf_counter() - started
    return report


def store_articles(articles: Sequence[Article], rejected: list[Rejection], complete: Sequence[SourceFile],
                   settings: Settings, store: Store, embedder: Embedder, progress: Progress | None = None,
                   embed_batches: BatchEmbedder | None = None) -> IngestReport:
    """Store loaded articles: skip the unchanged and duplicates, replace the changed, and drop the records that
    vanished from the `complete` files (files read whole; never a feed, whose old entries just scroll off)."""
    started = time.perf_counter()
    store.check_encoder(getattr(embedder, "backend", None))
    report = IngestReport(rejected=rejected)
    unique: dict[str, Article] = {}
    for article in articles:  # the same url twice in one dump: the later record wins
        unique[article.id] = article
    manifest = store.manifest(list(unique))
    manifest.update(adopt_legacy_ids([a for a in unique.values() if a.id not in manifest], store))
    pending: list[Article] = []
    for article in unique.values():
        entry = manifest.get(article.id)
        if entry is None:
            pending.append(article)
        elif entry["content_hash"] == article.content_hash:
            report.unchanged.append(article)
        else:
            report.replaced.append(article)
            pending.append(article)

    new_ids = {a.id for a in pending if a.id not in manifest}
    known = store.articles_by_text([a.text_hash for a in pending if a.id in new_ids])
    seen_hashes: dict[str, str] = {}
    fresh: list[Article] = []
    for article in pending:
        holder = known.get(article.text_hash) if article.id in new_ids else None
        if holder is None and article.text_hash in seen_hashes:
            holder = {"source": seen_hashes[article.text_hash]}
        if holder is not None:
            report.duplicates.append((article, holder["source"]))
            continue
        seen_hashes[article.text_hash] = article.source
        fresh.append(article)
        if article.id in new_ids:
            report.added.append(article)

    # records that vanished from a file we just read whole are dropped with it
    if complete:
        stale = {aid: m for aid, m in store.articles_from_files(complete).items() if aid not in unique}
        if stale:
            store.remove_articles(list(stale))
            report.removed.extend(sorted(m["source"] + (f" ({m['url']})" if m.get("url") else "") for m in stale.values()))

    common = store_common_blocks(store, fresh) if fresh else set()
    report.boilerplate_lines = sum(len(dropped_lines(a.text, common)) for a in fresh)
    _write(fresh, settings, store, embed_batches or embed_locally(embedder), report, progress, common)
    if report.chunks_added or report.removed or report.replaced:
        store.finish_writes()
    report.seconds = time.perf_counter() - started
    return report


def store_common_blocks(store: Store, articles: Sequence[Article]) -> set[str]:
    """Lines repeated across the store's articles and these (which replace their stored versions)."""
    incoming = {a.id for a in articles}
    stored = (entry.get("blocks", "").split() for aid, entry in store.all_articles().items() if aid not in incoming)
    return common_blocks([*stored, *(block_keys(a.text) for a in articles)])


def _write(articles: list[Article], settings: Settings, store: Store, embed_batches: BatchEmbedder,
           report: IngestReport, progress: Progress | None, common: set[str] | None = None) -> None:
    chunked = [(a, chunk_article(a, settings.chunk_size, settings.chunk_overlap, common or set())) for a in articles]
    batches = write_batches(chunked, settings.ingest_batch)
    total = sum(len(c) for _, c in chunked)
    done = 0
    if progress:
        progress(0, total)
    texts = [[c.embed_text() for _, cs in batch for c in cs] for batch in batches]
    for batch, vectors in zip(batches, embed_batches(texts), strict=True):
        done += _write_batch(batch, vectors, store, report)
        if progress:
            progress(done, total)


def write_batches(chunked: Sequence[tuple[Article, list[Chunk]]], size: int
                  ) -> list[list[tuple[Article, list[Chunk]]]]:
    """Whole articles grouped until a group holds at least `size` chunks: the unit embedded and committed together."""
    batches: list[list[tuple[Article, list[Chunk]]]] = []
    batch: list[tuple[Article, list[Chunk]]] = []
    in_batch = 0
    for item in chunked:
        batch.append(item)
        in_batch += len(item[1])
        if in_batch >= size:
            batches.append(batch)
            batch, in_batch = [], 0
    return batches + ([batch] if batch else [])


def _write_batch(batch: list[tuple[Article, list[Chunk]]], vectors: Sequence[Sequence[float]], store: Store,
                 report: IngestReport) -> int:
    store.remove_articles([a.id for a, _ in batch])  # old versions and leftovers of an interrupted ingest
    chunks = [c for _, cs in batch for c in cs]
    store.add_chunks(chunks, vectors)
    store.commit_articles({a.id: {"content_hash": a.content_hash, "text_hash": a.text_hash, "source": a.source,
                                  "source_key": a.source_key, "title": a.title, "date": a.date.isoformat(),
                                  "url": a.url, "chunks": len(cs), "blocks": " ".join(sorted(block_keys(a.text)))}
                           for a, cs in batch})
    report.chunks_added += len(chunks)
    report.chunks_embedded += len(chunks)
    return len(chunks)


def adopt_legacy_ids(articles: Iterable[Article], store: Store) -> dict[str, dict]:
    """Stores written before ids were scoped to their file keyed an article with a url by the url alone. An
    article stored under that old id *from the same file* is moved to its new id (vectors kept, nothing
    re-embedded); one from another file stays where it is. Returns the moved articles' manifest entries."""
    by_legacy = {a.legacy_id: a for a in articles if a.legacy_id != a.id}
    moved: dict[str, dict] = {}
    for old_id, entry in store.manifest(list(by_legacy)).items():
        article = by_legacy[old_id]
        if not entry.get("source_key") and entry.get("source") == article.source:
            store.rekey_article(old_id, article.id, {"source_key": article.source_key})
            moved[article.id] = {**entry, "source_key": article.source_key}
    return moved


def remove(paths: Sequence[Path | str], store: Store) -> list[str]:
    """Drop every article that came from these files, folders, page URLs or feed URLs; returns the sources
    removed."""
    from index.web import is_url

    urls = {p for p in paths if isinstance(p, str) and is_url(p)}
    targets = [Path(p) for p in paths if p not in urls]
    doomed = {aid: m["source"] + (f" ({m['url']})" if urls and m.get("url") else "")
              for aid, m in store.all_articles().items()
              if m.get("source_key") in urls or (targets and from_paths(m, targets))}
    store.remove_articles(list(doomed))
    if doomed:
        store.finish_writes()
    return sorted(doomed.values())


def from_paths(entry: dict, targets: Sequence[Path]) -> bool:
    """Did this manifest entry come from one of these files or folders? By the file's resolved path; entries of
    older stores, which lack it, by the name they show."""
    key = entry.get("source_key")
    if key:
        return any(Path(key).is_relative_to(t.resolve()) for t in targets)
    names = [str(t) for t in targets] + [display_path(t) for t in targets]
    return any(entry["source"] == n or entry["source"].startswith(n.rstrip("/") + "/") for n in names)
