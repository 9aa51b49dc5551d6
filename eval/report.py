"""A run's results: the JSON file, the Markdown report beside it, one bar chart per metric, and comparisons.

A run is a plain dict (settings, judge, calibration, aggregates, by_kind, rows) so it round-trips through JSON
and `--compare` works on files written by older runs.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

TRUST_AGREEMENT = 0.80   # below this calibration agreement a Faithfulness figure is marked untrusted
# (key in aggregates, label, what it means); rates are shown as percentages
METRICS: tuple[tuple[str, str, str], ...] = (
    ("refusal_accuracy", "Refusal accuracy", "refused exactly the unanswerable questions"),
    ("citation_validity", "Citation validity", "answers whose [n] all resolve and whose sentences pass the citation check"),
    ("answer_correctness", "Answer correctness", "answerable questions answered with every reference keyword"),
    ("token_f1", "Token F1", "token overlap of answer and reference (long quoted answers score low by design)"),
    ("context_recall", "Context recall", "evidence articles among the retrieved passages (RAGAS ID-based)"),
    ("context_precision", "Context precision", "retrieved articles that are evidence (RAGAS ID-based)"),
    ("reference_context_recall", "Reference-context recall", "reference sentences found in the retrieved passages"),
)
RATES = {"refusal_accuracy", "citation_validity", "answer_correctness"}


def fmt(value: float | None, rate: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.1f}%" if rate else f"{value:.3f}"


def judge_label(run: Mapping[str, Any]) -> str:
    """'judge NAME, calibration 87.5% on 24 cases' or why there is no trustworthy figure."""
    judge = run.get("judge") or {}
    if not judge.get("name"):
        return f"no judge ({judge.get('status', 'none')})"
    cal = run.get("calibration")
    if not cal:
        return f"judge {judge['name']}, not calibrated (run: python -m eval calibrate)"
    return f"judge {judge['name']}, calibration {fmt(cal['agreement'], True)} on {cal['cases']} cases"


def faithfulness_trusted(calibration: Mapping[str, Any] | None) -> bool:
    return bool(calibration) and calibration.get("agreement", 0.0) >= TRUST_AGREEMENT


def summary_rows(run: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    agg = run["aggregates"]
    rows: list[tuple[str, str, str]] = []
    judge = run.get("judge") or {}
    if judge.get("name"):
        value = fmt(agg.get("faithfulness"))
        if agg.get("faithfulness") is not None:
            value += f" (n={agg.get('faithfulness_scored', 0)})"
        if not faithfulness_trusted(run.get("calibration")):
            value += " UNTRUSTED"
        rows.append(("Faithfulness (RAGAS)", value, judge_label(run)))
    elif judge.get("status", "none") != "none":
        rows.append(("Faithfulness (RAGAS)", "n/a", judge_label(run)))
    for key, label, meaning in METRICS:
        value = fmt(agg.get(key), key in RATES)
        if key == "refusal_accuracy":
            value += f" ({agg['false_refusals']} false refusals, {agg['false_answers']} false answers)"
        rows.append((label, value, meaning))
    lat = agg["latency_s"]
    rows.append(("Latency", f"mean {fmt(lat['mean'])} s, p50 {fmt(lat['p50'])} s, p95 {fmt(lat['p95'])} s",
                 "seconds per answer, retrieval included"))
    return rows


def summary_table(run: Mapping[str, Any]) -> str:
    """The summary as a Markdown table (also what the CLI prints)."""
    agg = run["aggregates"]
    head = (f"{run.get('dataset', '')}: {agg['questions']} questions ({agg['answerable']} answerable), "
            f"backend {run['settings'].get('backend')}, top_k {run['settings'].get('top_k')}")
    lines = [head, "", "| metric | value | meaning |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(run)]
    return "\n".join(lines)


def kind_table(run: Mapping[str, Any]) -> str:
    keys = ["refusal_accuracy", "answer_correctness", "citation_validity", "context_recall"]
    if (run["aggregates"].get("faithfulness") is not None):
        keys.append("faithfulness")
    lines = ["| kind | questions | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for kind, agg in run.get("by_kind", {}).items():
        lines.append(f"| {kind} | {agg['questions']} | "
                     + " | ".join(fmt(agg.get(k), k in RATES) for k in keys) + " |")
    return "\n".join(lines)


def failures(run: Mapping[str, Any]) -> list[str]:
    """One line per question that missed a judge-free bar, with what went wrong."""
    out = []
    for r in run["rows"]:
        problems = []
        if not r["refusal_correct"]:
            problems.append("refused an answerable question" if r["answerable"] else "answered an unanswerable question")
        elif r["answerable"] and not r["correct"]:
            problems.append("answer lacks a reference keyword")
        if r.get("citation_valid") is False:
            problems.append("citations: " + "; ".join(r.get("citation_reasons") or []))
        if problems:
            out.append(f"- `{r['id']}` {r['question']} — {', '.join(problems)}. Answer: {r['answer'][:160]}")
    return out


def markdown(run: Mapping[str, Any], charts: Sequence[Path]) -> str:
    parts = [f"# Evaluation {run['created']}", "", summary_table(run), "", "## By kind of question", "",
             kind_table(run), "", "## Questions that missed", ""]
    parts += failures(run) or ["None."]
    if run["aggregates"].get("faithfulness") is not None:
        low = sorted((r for r in run["rows"] if r.get("faithfulness") is not None), key=lambda r: r["faithfulness"])
        parts += ["", "## Lowest Faithfulness", ""]
        parts += [f"- `{r['id']}` {fmt(r['faithfulness'])}: {r['answer'][:160]}" for r in low[:5]]
    parts += ["", "## Charts", ""] + [f"![{p.stem}]({p.name})" for p in charts]
    parts += ["", "## Settings", "", "```json", json.dumps(run["settings"], indent=1), "```", ""]
    return "\n".join(parts)


def chart_values(run: Mapping[str, Any], key: str) -> dict[str, float]:
    """The metric per kind of question, plus 'all'; kinds where it does not apply are left out."""
    values = {"all": run["aggregates"].get(key)}
    values.update({kind: agg.get(key) for kind, agg in run.get("by_kind", {}).items()})
    return {k: float(v) for k, v in values.items() if v is not None and not math.isnan(float(v))}


def write_charts(run: Mapping[str, Any], folder: Path, stem: str) -> list[Path]:
    """One PNG bar chart per metric (by kind of question), drawn with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("faithfulness", "Faithfulness")] if run["aggregates"].get("faithfulness") is not None else []
    keys += [(k, label) for k, label, _ in METRICS]
    paths = []
    for key, label in keys:
        values = chart_values(run, key)
        if not values:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
        bars = ax.bar(list(values), list(values.values()), color=["#444"] + ["#4a7fb5"] * (len(values) - 1))
        ax.bar_label(bars, labels=[fmt(v, key in RATES) for v in values.values()], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(label + (f" ({judge_label(run)})" if key == "faithfulness" else ""), fontsize=9)
        ax.tick_params(axis="x", labelsize=8, rotation=20)
        fig.tight_layout()
        path = folder / f"{stem}-{key}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_run(run: Mapping[str, Any], folder: Path, stem: str, charts: bool = True) -> tuple[Path, Path]:
    """eval/results/<stem>.json and <stem>.md (with its charts); returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{stem}.json"
    json_path.write_text(json.dumps(run, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    pngs = write_charts(run, folder, stem) if charts else []
    md_path = folder / f"{stem}.md"
    md_path.write_text(markdown(run, pngs), encoding="utf-8")
    return json_path, md_path


def load_run(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """What changed from run A to run B: settings that differ, every summary figure, and the questions whose
    outcome flipped."""
    lines = [f"A: {a.get('created')} {a.get('dataset')}", f"B: {b.get('created')} {b.get('dataset')}", ""]
    changed = {k: (v, b["settings"].get(k)) for k, v in a["settings"].items() if b["settings"].get(k) != v}
    lines += [f"settings: {k} {va!r} -> {vb!r}" for k, (va, vb) in changed.items()] or ["settings: identical"]
    lines += ["", "| metric | A | B | change |", "|---|---|---|---|"]
    keys = [("faithfulness", "Faithfulness")] + [(k, label) for k, label, _ in METRICS]
    for key, label in keys:
        va, vb = a["aggregates"].get(key), b["aggregates"].get(key)
        if va is None and vb is None:
            continue
        delta = "" if va is None or vb is None else f"{100 * (vb - va):+.1f} pts" if key in RATES else f"{vb - va:+.3f}"
        lines.append(f"| {label} | {fmt(va, key in RATES)} | {fmt(vb, key in RATES)} | {delta} |")
    la, lb = a["aggregates"]["latency_s"]["mean"], b["aggregates"]["latency_s"]["mean"]
    lines.append(f"| Latency mean (s) | {fmt(la)} | {fmt(lb)} | "
                 f"{'' if la is None or lb is None else f'{lb - la:+.3f}'} |")
    if a.get("judge", {}).get("name") or b.get("judge", {}).get("name"):
        lines += ["", f"A: {judge_label(a)}", f"B: {judge_label(b)}"]
    rows_a = {r["id"]: r for r in a["rows"]}
    flips = []
    for r in b["rows"]:
        old = rows_a.get(r["id"])
        if old and (old["correct"], old["refused"]) != (r["correct"], r["refused"]):
            flips.append(f"- `{r['id']}`: {'right' if old['correct'] else 'wrong'}"
                         f"{' (refused)' if old['refused'] else ''} -> {'right' if r['correct'] else 'wrong'}"
                         f"{' (refused)' if r['refused'] else ''}")
    lines += ["", "questions that changed:"] + (flips or ["none"])
    return "\n".join(lines)
