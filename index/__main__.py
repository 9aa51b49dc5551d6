"""`python -m index PATH_OR_URL... [--date D] [--feed URL_OR_FILE] [--follow] [--feeds] [--remove PATH...]`: ingest
articles into the store and say what happened to each; feeds read are listed beside the store and followed."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

from index.errors import RayError
from index.settings import Settings, SettingsError, settings_help


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m index", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Ingest dated news articles into the persistent store. Files: the seed format (' date "
                    "YYYY-MM-DD' then the body), .txt/.md with a 'date:' line or front matter, .json/.jsonl "
                    "records (title, date/published_at/publish_date, url, text/body), .html/.htm pages and "
                    "http(s) URLs (main text and publication date extracted), .warc/.warc.gz archives. "
                    "Unchanged articles are skipped, changed ones replaced, undated ones rejected with a reason.",
        epilog=settings_help())
    parser.add_argument("paths", nargs="*", help="files, folders or http(s) URLs of pages to ingest")
    parser.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD",
                        help="date for web pages that carry none of their own (else they are rejected)")
    parser.add_argument("--feed", action="append", metavar="URL_OR_FILE",
                        help="ingest every entry of an RSS/Atom feed (repeatable) and add it to the store's feed "
                             "list; entries already stored are skipped")
    parser.add_argument("--follow", action="store_true",
                        help="poll the --feed feeds, or every listed feed when none is given, every --interval "
                             "seconds (conditional GETs, also after a restart), ingesting new entries; Ctrl-C stops")
    parser.add_argument("--feeds", action="store_true",
                        help="list the store's feeds: articles, when each was last read and what its last poll did")
    parser.add_argument("--interval", type=float, default=900.0, metavar="SECONDS",
                        help="with --follow: seconds between polls (default 900)")
    parser.add_argument("--polls", type=int, metavar="N", help="with --follow: stop after N polls")
    parser.add_argument("--remove", nargs="+", metavar="PATH_OR_URL",
                        help="drop the articles that came from these files, folders, page URLs or feeds (a feed "
                             "also leaves the feed list)")
    parser.add_argument("--ray", metavar="auto|HOST:PORT|local",
                        help="embed the PATHs' chunks in a pool of Ray actors: on the cluster this machine joined "
                             "(auto), the one whose head is at HOST:PORT, or one started in this process (local); "
                             "needs pip install -e '.[distributed]'")
    parser.add_argument("--ray-workers", type=int, metavar="N",
                        help="with --ray: actors in the pool, one CPU each (default: one per CPU of the cluster)")
    parser.add_argument("--store", type=Path, help="store folder (overrides NEWSQA_STORE_DIR)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.epilog = ("exit status: 0 when every file went in, 1 when any file or record was rejected (the rest "
                     "still went in), 2 when the store, the feed list or a setting is unusable.\n\n" + parser.epilog)
    args = parser.parse_args(argv)
    if not (args.paths or args.remove or args.feed or args.follow or args.feeds):
        parser.error("give files, folders or URLs to ingest, --feed URL_OR_FILE, --follow, --feeds, or --remove PATH")
    if (args.ray or args.ray_workers) and not (args.ray and args.paths):
        parser.error("--ray ingests PATHs: give --ray ADDRESS with files or folders (--ray-workers needs --ray)")
    if args.ray_workers is not None and args.ray_workers < 1:
        parser.error(f"--ray-workers {args.ray_workers}: give 1 or more")
    return args


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from index.feedlist import FeedListError, load_feeds, registry_path

    try:
        settings = Settings.from_env(os.environ, store_dir=args.store)
        from index.store import StoreError, open_store

        if args.follow and not args.feed and not load_feeds(registry_path(settings)):
            raise SettingsError("no feeds to follow: add one with --feed URL (--feeds lists them)")
        store = open_store(settings)
        rejected = False
        if args.remove:
            for line in remove_sources(args.remove, settings, store):
                print(line)
        if args.paths or args.feed or args.follow:
            from index.embedder import make_embedder, store_encoder

            embedder = make_embedder(store_encoder(settings, store.encoder))
        if args.paths:
            report = ingest_paths(args, settings, store, embedder)
            show(report, args.quiet)
            rejected = rejected or bool(report.rejected)
        if args.feed and not args.follow:
            rejected = ingest_feeds(args, settings, store, embedder) or rejected
        if args.follow:
            rejected = follow_feeds(args, settings, store, embedder) or rejected
        if args.feeds:
            print("\n".join(list_feeds(settings, store)))
        stats = store.stats()
        print(f"store {settings.store_dir}: {stats.articles} articles, {stats.chunks} chunks"
              + (f", {stats.first_date} to {stats.last_date}" if stats.first_date else ""))
        return 1 if rejected else 0
    except (SettingsError, StoreError, FeedListError, RayError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def ingest_paths(args: argparse.Namespace, settings: Settings, store: Any, embedder: Any) -> Any:
    """The PATHs ingested here, or with their embedding on Ray (--ray); the same report either way."""
    from index.ingest import ingest, progress_bar

    common = {"progress": progress_bar(), "fallback_date": args.date,
              "reading": lambda name: progress_bar(f"reading {name}", "B")}
    if not args.ray:
        return ingest(args.paths, settings, store, embedder, **common)
    from index.distributed import ingest_on_ray

    return ingest_on_ray(args.paths, settings, store, embedder, args.ray, args.ray_workers, **common)


def show(report: Any, quiet: bool, skip_unchanged: bool = False) -> None:
    if not quiet:
        lines = [line for line in report.lines() if not (skip_unchanged and line.startswith("unchanged"))]
        if lines:
            print("\n".join(lines))
    print(report.summary(), flush=True)


def remove_sources(sources: list[str], settings: Settings, store: Any) -> list[str]:
    """Drop the sources' articles; a feed among them also leaves the feed list. Returns the lines to print."""
    from index.feedlist import load_feeds, registry_path, unregister, update_feeds
    from index.feeds import feed_key_of
    from index.ingest import remove

    lines = [f"removed    {source}" for source in remove(sources, store)]
    keys = [feed_key_of(source) for source in sources]
    listed = load_feeds(registry_path(settings))
    update_feeds(registry_path(settings), lambda feeds: unregister(feeds, keys))
    return lines + [f"unlisted   feed {key}" for key in keys if key in listed]


def ingest_feeds(args: argparse.Namespace, settings: Settings, store: Any, embedder: Any) -> bool:
    """Each feed once, recorded in the feed list; True when anything was rejected."""
    from index.feeds import poll_feed
    from index.ingest import progress_bar

    rejected = False
    for feed in args.feed:
        report = poll_feed(feed, settings, store, embedder, progress=progress_bar(), fallback_date=args.date)
        show(report, args.quiet)
        rejected = rejected or bool(report.rejected)
    return rejected


def follow_feeds(args: argparse.Namespace, settings: Settings, store: Any, embedder: Any) -> bool:
    """Poll the --feed feeds, else every listed feed (the list is read again each round, so a feed added on the
    page or by another command is followed from the next round), one after another, round after round."""
    from index.feedlist import load_feeds, registry_path
    from index.feeds import FeedState, feed_key_of, poll_feed, state_of

    states: dict[str, FeedState] = {}
    rejected = False
    try:
        for poll in range(args.polls or 10**12):
            if poll:
                time.sleep(args.interval)
            listed = load_feeds(registry_path(settings))
            for feed in args.feed or list(listed):
                state = states.setdefault(feed, state_of(listed.get(feed_key_of(feed))))
                report = poll_feed(feed, settings, store, embedder, state, fallback_date=args.date)
                print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {feed}")
                show(report, args.quiet, skip_unchanged=poll > 0)
                rejected = rejected or bool(report.rejected)
    except KeyboardInterrupt:
        print("stopped following")
    return rejected


def list_feeds(settings: Settings, store: Any) -> list[str]:
    from index.feedlist import listing, load_feeds, registry_path

    feeds = load_feeds(registry_path(settings))
    if not feeds:
        return ["no feeds listed: add one with --feed URL"]
    return listing(feeds, store.count_by_source(list(feeds)))


if __name__ == "__main__":
    sys.exit(main())
