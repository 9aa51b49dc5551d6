"""`python -m qa "QUESTION"`: print a cited answer, then its numbered, dated sources."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from index.settings import Settings, SettingsError, settings_help


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m qa", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Answer a question from the stored articles. Every sentence of the answer is cited [n] to a "
                    "dated passage; when the articles do not say, it says so. Dates in the question ('this "
                    "week', 'before May 2', 'in April 2023') are read against --as-of.",
        epilog=settings_help())
    parser.add_argument("question", help="the question, in quotes")
    parser.add_argument("--as-of", help="the date you ask from (YYYY-MM-DD; default today): nothing later is cited")
    parser.add_argument("--from", dest="date_from", help="only articles published on or after this date")
    parser.add_argument("--to", dest="date_to", help="only articles published on or before this date")
    parser.add_argument("--top-k", type=int, help="passages to retrieve (default NEWSQA_TOP_K)")
    parser.add_argument("--backend", help="answer backend (default NEWSQA_BACKEND, extractive)")
    parser.add_argument("--store", help="store folder (default NEWSQA_STORE_DIR)")
    parser.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env(os.environ, backend=args.backend, store_dir=args.store)
        from index.store import StoreError
        from qa import QuestionError, get_assistant
        from qa.assistant import clean_question
        from qa.dates import parse_iso

        try:
            # the question and dates first: a typo should not wait for the store and the models to load
            clean_question(args.question, settings.max_question_chars)
            for name, value in (("as_of", args.as_of), ("--from", args.date_from), ("--to", args.date_to)):
                parse_iso(value, name)
            result = get_assistant(settings).answer(args.question, as_of=args.as_of, date_from=args.date_from,
                                                    date_to=args.date_to, top_k=args.top_k)
        except (QuestionError, StoreError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        shown = {k: v for k, v in asdict(result).items() if k != "passages"}   # the citations hold what was used
        print(json.dumps(shown, default=str, indent=2, ensure_ascii=False))
    else:
        print(result.format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
