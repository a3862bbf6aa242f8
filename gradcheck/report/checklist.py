"""Renderings of checklist reports: text (a mark per property, failures and warnings in full), JSON and Markdown.

Everything here is made from the records a :class:`~gradcheck.checklist.runner.KindReport` holds; the layer's
exception (a :class:`~gradcheck.results.LayerFault`) that several properties ran into is shown in full once and
referred to by the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gradcheck.checklist.runner import KindReport, PropertyResult
from gradcheck.report.text import render_fault, render_finding, render_result
from gradcheck.results import Finding, LayerFault

__all__ = [
    "MARKS",
    "render",
    "render_failure",
    "render_json",
    "render_markdown",
    "render_outcome",
    "render_text",
    "verdict_line",
]

MARKS = {"pass": "✓", "warn": "⚠", "fail": "✗", "error": "!", "skip": "-"}
_STATUS_WORD = {"warn": "WARNING", "fail": "FAIL", "error": "ERROR"}


def render_outcome(p: PropertyResult, kind: str = "", seen: dict[Any, str] | None = None) -> str:
    """The records of ``p``'s decisive case as text: the fault, the comparisons that did not pass, the findings.

    ``seen`` maps the faults already shown (by :attr:`~gradcheck.results.LayerFault.key`) to the property that
    showed them: a fault met again is referred to ("same error as in interface") rather than repeated.
    """
    o = p.outcome
    if o is None:
        return p.reason
    prefix = tuple(s for s in (kind, p.name) if s)
    seen = {} if seen is None else seen
    faults: dict[Any, LayerFault] = {}  # one per key: the same exception met by several comparisons is one
    for fault in [o.fault, *(r.fault for r in o.problems)]:
        if fault is not None:
            faults.setdefault(fault.key, fault)
    lines = [_fault_once(f, p.name, seen) for f in faults.values()]
    lines += [render_result(r, prefix) for r in o.problems if r.fault is None]
    lines += [render_finding(_explained_once(f, p, seen)) for f in o.findings]  # the header names the property
    if not lines:  # no records: the transitional free text, else the reason
        lines.append(o.message or o.reason or p.reason)
    return "\n".join(line for line in lines if line)


def _fault_once(fault: LayerFault, prop: str, seen: dict[Any, str]) -> str:
    first = seen.setdefault(fault.key, prop)
    if first != prop:
        return f"{fault.layer}.{fault.call} raised {fault.exc_type}: same error as in {first}"
    return render_fault(fault)


def _explained_once(f: Finding, p: PropertyResult, seen: dict[Any, str]) -> Finding:
    # The same cause on the same case (a domain boundary, a stabilising epsilon) shows in several properties:
    # its explanation is said by the first and referred to by the others.
    if not f.explanation:
        return f
    first = seen.setdefault(("explanation", f.explanation, p.example), p.name)
    return f if first == p.name else replace(f, explanation=f"the same cause as in {first}")


def render_failure(p: PropertyResult, kind: str = "", seen: dict[Any, str] | None = None) -> str:
    """One property that failed, errored or warned, in full: its records, the contrast with neighbouring cases,
    the minimal example, the reproduction command and what the checked code printed."""
    lines = [f"--- {p.name}: {_STATUS_WORD.get(p.status, p.status.upper())} ({p.title})", render_outcome(p, kind, seen)]
    if p.contrast:
        lines.append("diagnosis: fails " + "; ".join(p.contrast))
    if p.example:
        first = (seen or {}).setdefault(("example", p.example), p.name)
        example = p.example if first == p.name else f"the same case as in {first}"
        lines.append(f"minimal example: {example}" if p.status != "warn" else f"example: {example}")
    if p.reproduce:
        lines.append(f"reproduce: {p.reproduce}")
    if p.captured:
        lines.append("output printed by the checked code during this property:")
        lines.extend(f"  | {ln}" for ln in p.captured.rstrip().splitlines()[-20:])
    return "\n".join(line for line in lines if line)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def verdict_line(r: KindReport) -> str:
    """``passed (14 checked: 13 passed, 1 warning; 2 skipped)``: the run's verdict and how many were checked."""
    c = r.counts
    checked = len(r.properties) - c["skip"]
    parts = [f"{c['pass']} passed"]
    parts += [_plural(c["warn"], "warning")] if c["warn"] else []
    parts += [f"{c['fail']} failed"] if c["fail"] else []
    parts += [_plural(c["error"], "error")] if c["error"] else []
    counts = f"{checked} checked: " + ", ".join(parts) + (f"; {c['skip']} skipped" if c["skip"] else "")
    if r.interrupted:
        word = "INTERRUPTED"
    elif r.passed:
        word = "passed with warnings" if c["warn"] else "passed"
    else:
        word = "FAILED (strict: warnings fail)" if r.verdict == "warn" else "FAILED"
    return f"{word} ({counts})"


def _line(p: PropertyResult) -> str:
    note = f" ({p.reason.splitlines()[0]})" if p.status == "skip" and p.reason else ""
    timing = f" {p.seconds:.2f}s" if p.status != "skip" else ""
    return f"  {MARKS[p.status]} {p.name}{timing}{note}"


def _text_block(r: KindReport) -> str:
    head = f"{r.kind} · {r.target}: {verdict_line(r)} ({r.seconds:.1f}s, seed {r.seed}, profile {r.profile})"
    lines = [head, *(f"  note: {n}" for n in r.notes), *(_line(p) for p in r.properties)]
    seen: dict[Any, str] = {}
    failures = [render_failure(p, r.kind, seen) for p in r.properties if p.status in ("fail", "error")]
    warnings = [render_failure(p, r.kind, seen) for p in r.properties if p.status == "warn"]
    if failures:
        lines += ["failures:", *failures]
    if warnings:
        lines += ["warnings:", *warnings]
    return "\n".join(lines)


def render_text(reports: Sequence[KindReport]) -> str:
    """One block per report: a header with the verdict, one line per property, then failures and warnings."""
    blocks = [_text_block(r) for r in reports]
    if len(reports) > 1:
        bad = [f"{r.kind} · {r.target}" for r in reports if not r.passed]
        warned = sum(1 for r in reports if r.passed and r.counts["warn"])
        summary = f"{len(reports) - len(bad)} / {len(reports)} implementations passed"
        summary += f" ({warned} with warnings)" if warned else ""
        blocks.append(summary + (": failed " + ", ".join(bad) if bad else ""))
    return "\n\n".join(blocks)


def _json_report(r: KindReport) -> dict[str, Any]:
    d = r.to_dict()
    for p, pd in zip(r.properties, d["properties"], strict=True):
        pd["message"] = "" if p.status == "pass" else render_outcome(p, r.kind)
    return d


def render_json(reports: Sequence[KindReport]) -> str:
    """One JSON object: the report itself for one target, ``{"passed", "reports"}`` for several.

    Every property has ``name``, ``status`` (``pass``/``warn``/``fail``/``error``/``skip``), ``margin`` and
    ``message`` (the rendered records); one that did not pass or skip also has ``details``, ``findings`` and
    ``fault`` (the records as numbers), ``example`` and ``reproduce``.
    """
    if len(reports) == 1:
        return json.dumps(_json_report(reports[0]), indent=2)
    data = {"passed": all(r.passed for r in reports), "reports": [_json_report(r) for r in reports]}
    return json.dumps(data, indent=2)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def render_markdown(reports: Sequence[KindReport]) -> str:
    """A Markdown section per report with a property table, then the failures and warnings as code blocks."""
    out = []
    for r in reports:
        out.append(f"## {r.kind} · `{r.target}` — {verdict_line(r)}\n")
        out.append("| property | status | note |\n|---|---|---|")
        for p in r.properties:
            text = "" if p.status == "pass" else render_outcome(p, r.kind)
            note = text.splitlines()[0] if text else ""
            out.append(f"| {p.name} | {MARKS[p.status]} {p.status} | {_cell(note)} |")
        seen: dict[Any, str] = {}
        for status, heading in (("fail", "failures"), ("warn", "warnings")):
            shown = [p for p in r.properties if p.status == status or (status == "fail" and p.status == "error")]
            if shown:
                out.append(f"\n### {heading}")
            for p in shown:
                out.append(f"\n#### {p.name}\n\n```\n{render_failure(p, r.kind, seen)}\n```")
        out.append("")
    return "\n".join(out)


def render(reports: Sequence[KindReport], fmt: str) -> str:
    """Dispatch on ``fmt`` (``text``, ``json`` or ``markdown``)."""
    return {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt](reports)
