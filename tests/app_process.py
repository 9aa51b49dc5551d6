"""A second app process for the client/server tests: opens the store its NEWSQA_* variables name, prints
{"ready": true}, then answers one JSON request a line from stdin until stdin closes.

Request {"q": QUESTION, "as_of"/"date_from"/"date_to": "YYYY-MM-DD"} -> {"keyword": [dates of the keyword
index's own hits in that window, as it holds them], "dated": [dates of the passages retrieved within the window]};
a failure -> {"error": message}.
"""
from __future__ import annotations

import json
import logging
import os
import sys

from index.dates import iso_from_number
from index.settings import Settings, offline_environment


def main() -> None:
    offline_environment()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)   # the test reads whether a rebuild happened
    from index.embedder import make_embedder
    from index.store import open_store
    from qa.assistant import Assistant

    settings = Settings.from_env(os.environ)
    store = open_store(settings)
    assistant = Assistant.from_settings(settings, store, make_embedder(settings))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            window = (request.get("date_from"), request.get("date_to") or request.get("as_of"))
            hits = store.keyword_search(request["q"], 10, *(int(d.replace("-", "")) if d else None for d in window))
            dates = store.lexical.dates()
            passages, _ = assistant.retrieve(request["q"], as_of=request.get("as_of"),
                                             date_from=request.get("date_from"), date_to=request.get("date_to"))
            reply = {"keyword": sorted({iso_from_number(dates[cid]) for cid, _ in hits}),
                     "dated": sorted({p.date for p in passages})}
        except Exception as exc:   # the test shows it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
