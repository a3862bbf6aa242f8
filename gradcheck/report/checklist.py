"""Renderings of checklist reports: text (✓/✗ per property, failures in full), JSON and Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence

from gradcheck.checklist.runner import KindReport, PropertyResult

__all__ = ["render", "render_failure", "render_json", "render_markdown", "render_text"]

MARKS = {"pass": "✓", "fail": "✗", "error": "!", "skip": "-"}


def _line(p: PropertyResult) -> str:
    note = f" ({p.message.splitlines()[0]})" if p.status == "skip" and p.message else ""
    timing = f" {p.seconds:.2f}s" if p.status != "skip" else ""
    return f"  {MARKS[p.status]} {p.name}{timing}{note}"


def render_failure(p: PropertyResult) -> str:
    """One failing property in full: message, minimal example, reproduction command, captured output."""
    lines = [f"--- {p.name}: {p.status.upper()} ({p.title})", p.message]
    if p.example:
        lines.append(f"minimal example: {p.example}")
    if p.reproduce:
        lines.append(f"reproduce: {p.reproduce}")
    if p.captured:
        lines.append("output printed by the checked code during this property:")
        lines.extend(f"  | {ln}" for ln in p.captured.rstrip().splitlines()[-20:])
    return "\n".join(lines)


def render_text(reports: Sequence[KindReport]) -> str:
    """One block per report: a header, one line per property, then every failure in full."""
    blocks = []
    for r in reports:
        verdict = "passed" if r.passed else "FAILED"
        head = f"{r.kind} · {r.target}: {verdict} ({r.seconds:.1f}s, seed {r.seed}, profile {r.profile})"
        notes = [f"  note: {n}" for n in r.notes]
        failures = [render_failure(p) for p in r.properties if p.status in ("fail", "error")]
        blocks.append("\n".join([head, *notes, *(_line(p) for p in r.properties), *failures]))
    if len(reports) > 1:
        bad = [f"{r.kind} · {r.target}" for r in reports if not r.passed]
        summary = f"{len(reports) - len(bad)} / {len(reports)} implementations passed"
        blocks.append(summary + (": failed " + ", ".join(bad) if bad else ""))
    return "\n\n".join(blocks)


def render_json(reports: Sequence[KindReport]) -> str:
    """One JSON object: the report itself for one target, ``{"passed", "reports"}`` for several."""
    if len(reports) == 1:
        return json.dumps(reports[0].to_dict(), indent=2)
    return json.dumps({"passed": all(r.passed for r in reports), "reports": [r.to_dict() for r in reports]}, indent=2)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def render_markdown(reports: Sequence[KindReport]) -> str:
    """A Markdown section per report with a property table and the failures as code blocks."""
    out = []
    for r in reports:
        out.append(f"## {r.kind} · `{r.target}` — {'passed' if r.passed else 'FAILED'}\n")
        out.append("| property | status | note |\n|---|---|---|")
        for p in r.properties:
            note = p.message.splitlines()[0] if p.message else ""
            out.append(f"| {p.name} | {MARKS[p.status]} {p.status} | {_cell(note)} |")
        for p in r.properties:
            if p.status in ("fail", "error"):
                out.append(f"\n### {p.name}\n\n```\n{render_failure(p)}\n```")
        out.append("")
    return "\n".join(out)


def render(reports: Sequence[KindReport], fmt: str) -> str:
    """Dispatch on ``fmt`` (``text``, ``json`` or ``markdown``)."""
    return {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt](reports)
