"""`python -m index.prepare`: export and cache the configured encoder now (scripts/setup.sh, so `make run`, runs it),
so that neither the first question nor the first ingest waits for the export, the one step that needs torch."""
from __future__ import annotations

import os
import sys

from index.embedder import prepare
from index.settings import Settings, SettingsError


def main() -> int:
    try:
        path = prepare(Settings.from_env(os.environ))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path or "torch: nothing to export")
    return 0


if __name__ == "__main__":
    sys.exit(main())
