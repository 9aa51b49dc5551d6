"""`python -m index PATH... [--remove PATH...]`: ingest articles into the store and say what happened to each."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from index.settings import Settings, SettingsError, settings_help


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m index", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Ingest dated news articles into the persistent store. Files: the seed format (' date "
                    "YYYY-MM-DD' then the body), .txt/.md with a 'date:' line or front matter, .json/.jsonl "
                    "records (title, date/published_at/publish_date, url, text/body). Unchanged articles are "
                    "skipped, changed ones replaced, undated ones rejected with a reason.",
        epilog=settings_help())
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to ingest")
    parser.add_argument("--remove", nargs="+", type=Path, metavar="PATH",
                        help="drop the articles that came from these files or folders")
    parser.add_argument("--store", type=Path, help="store folder (overrides NEWSQA_STORE_DIR)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.epilog = ("exit status: 0 when every file went in, 1 when any file or record was rejected (the rest "
                     "still went in), 2 when the store or a setting is unusable.\n\n" + parser.epilog)
    args = parser.parse_args(argv)
    if not args.paths and not args.remove:
        parser.error("give files or folders to ingest, or --remove PATH")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env(os.environ, store_dir=args.store)
        from index.ingest import ingest, progress_bar, remove
        from index.store import StoreError, open_store

        store = open_store(settings)
        if args.remove:
            for source in remove(args.remove, store):
                print(f"removed    {source}")
        if args.paths:
            from index.embedder import make_embedder, store_encoder

            embedder = make_embedder(store_encoder(settings, store.encoder))
            report = ingest(args.paths, settings, store, embedder, progress=progress_bar())
            if not args.quiet:
                print("\n".join(report.lines()))
            print(report.summary())
        stats = store.stats()
        print(f"store {settings.store_dir}: {stats.articles} articles, {stats.chunks} chunks"
              + (f", {stats.first_date} to {stats.last_date}" if stats.first_date else ""))
        return 1 if args.paths and report.rejected else 0
    except (SettingsError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
