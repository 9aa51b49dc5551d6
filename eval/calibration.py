"""Judge calibration: how often the judge agrees with labelled faithful/unfaithful cases (eval/calibration.jsonl).
A report marks Faithfulness untrusted when agreement is below 80% (eval.report.TRUST_AGREEMENT)."""
from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from eval.judge import Judge

FAITHFUL_AT = 1.0         # a case counts as judged faithful only when every statement is supported
CASES = Path(__file__).resolve().parent / "calibration.jsonl"


def load_cases(path: Path | None = None) -> list[dict[str, Any]]:
    """Labelled cases: id, user_input, retrieved_contexts, response, label (faithful|unfaithful), error."""
    path = Path(path or CASES)
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        if case.get("label") not in ("faithful", "unfaithful"):
            raise ValueError(f"{path}: case {case.get('id')!r} needs label faithful or unfaithful")
    return cases


def agreement(rows: Sequence[dict[str, Any]]) -> float:
    return sum(r["agrees"] for r in rows) / len(rows) if rows else 0.0


def calibrate_judge(judge: Judge, cases: Sequence[dict[str, Any]], progress: bool = True) -> dict[str, Any]:
    """Score every labelled case; a case is judged faithful when its score reaches FAITHFUL_AT. A NaN score
    counts as disagreement: a judge that cannot answer is not agreeing."""
    from tqdm import tqdm

    rows, started = [], time.perf_counter()
    for case in tqdm(cases, desc="calibrating", unit="case", file=sys.stderr, disable=not progress):
        t0 = time.perf_counter()
        score = judge.faithfulness(case["user_input"], case["response"], case["retrieved_contexts"])
        judged = None if math.isnan(score.value) else ("faithful" if score.value >= FAITHFUL_AT else "unfaithful")
        rows.append({"id": case["id"], "label": case["label"], "error": case.get("error"),
                     "score": None if math.isnan(score.value) else score.value,
                     "score_text": "NaN" if math.isnan(score.value) else f"{score.value:.2f}",
                     "judged": judged, "agrees": judged == case["label"], "note": score.note,
                     "seconds": round(time.perf_counter() - t0, 2)})
    return {"judge": judge.name, "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cases": len(rows), "agreement": agreement(rows), "faithful_at": FAITHFUL_AT,
            "seconds": round(time.perf_counter() - started, 1), "rows": rows}
