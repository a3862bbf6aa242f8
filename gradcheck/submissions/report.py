"""Renderings of the submissions table: text, Markdown, JSON and JUnit XML (one testcase per submission × kind)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from gradcheck.submissions.batch import STATUSES, Row

__all__ = ["render", "render_json", "render_junit", "render_markdown", "render_text", "summary"]

_MARKS = {"pass": "✓", "warn": "⚠", "fail": "✗", "error": "!", "timeout": "⏱", "not checked": "-"}


def summary(rows: Sequence[Row]) -> str:
    """``12 checks in 10 submissions: 6 pass, 1 warn, 2 fail, 1 error, 1 timeout, 1 not checked``."""
    counts = Counter(r.status for r in rows)
    parts = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    n_sub = len({r.submission for r in rows})
    return f"{len(rows)} checks in {n_sub} submissions: {parts or 'nothing found'}"


def _what(r: Row) -> str:
    return f"{r.prop}: {r.reason}" if r.prop else r.reason


def render_text(rows: Sequence[Row]) -> str:
    """An aligned table, one line per submission × kind, then the summary."""
    head = ("submission", "class", "kind", "verdict", "first failing property: reason")
    lines = [(r.submission, r.cls, r.kind or "-", f"{_MARKS[r.status]} {r.status}", _what(r)) for r in rows]
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(4)]
    out = ["  ".join(c.ljust(w) for c, w in zip(x[:4], widths, strict=True)) + "  " + x[4] for x in [head, *lines]]
    return "\n".join([*(line.rstrip() for line in out), "", summary(rows)])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: Sequence[Row]) -> str:
    """A Markdown table, one row per submission × kind, then the summary."""
    out = ["| submission | class | kind | verdict | first failing property: reason |", "|---|---|---|---|---|"]
    for r in rows:
        cells = (r.submission, f"`{r.cls}`", r.kind or "-", f"{_MARKS[r.status]} {r.status}", _what(r))
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join([*out, "", summary(rows)])


def render_json(rows: Sequence[Row]) -> str:
    """``{"passed", "counts", "rows": [...]}``; ``passed`` is False when any check failed, errored or timed out."""
    counts = Counter(r.status for r in rows)
    data = {
        "passed": not any(counts[s] for s in ("fail", "error", "timeout")),
        "counts": {s: counts[s] for s in STATUSES},
        "rows": [r.to_dict() for r in rows],
    }
    return json.dumps(data, indent=2)


def render_junit(rows: Sequence[Row]) -> str:
    """JUnit XML: one ``testsuite`` per submission, one ``testcase`` per class × kind (autograders read it).

    fail → ``<failure>``, error and timeout → ``<error>``, not checked → ``<skipped>``; a warning passes with the
    finding in ``<system-out>``.
    """
    suites = ET.Element("testsuites", name="gradcheck")
    for name in dict.fromkeys(r.submission for r in rows):
        mine = [r for r in rows if r.submission == name]
        counts = Counter(r.status for r in mine)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=name,
            tests=str(len(mine)),
            failures=str(counts["fail"]),
            errors=str(counts["error"] + counts["timeout"]),
            skipped=str(counts["not checked"]),
            time=f"{sum(r.seconds for r in mine):.3f}",
        )
        for r in mine:
            case = ET.SubElement(
                suite, "testcase", classname=name, name=f"{r.cls} [{r.kind or '-'}]", time=f"{r.seconds:.3f}"
            )
            text = _what(r)
            if r.status == "fail":
                ET.SubElement(case, "failure", message=text, type=r.prop or "fail").text = text
            elif r.status in ("error", "timeout"):
                ET.SubElement(case, "error", message=text, type=r.status).text = text
            elif r.status == "not checked":
                ET.SubElement(case, "skipped", message=text)
            elif r.status == "warn":
                ET.SubElement(case, "system-out").text = f"warning: {text}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def render(rows: Sequence[Row], fmt: str) -> str:
    """Dispatch on ``fmt``: ``text``, ``markdown``, ``json`` or ``junit``."""
    return {"text": render_text, "markdown": render_markdown, "json": render_json, "junit": render_junit}[fmt](rows)
