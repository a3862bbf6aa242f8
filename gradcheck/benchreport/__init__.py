"""Benchmark report: pytest-benchmark JSON → ``benchmarks.md`` (machine, tables, targets) and PNG plots.

``main`` is the ``bench-report`` command; :func:`load_results` and :func:`render_markdown` are its pure core.
Plots need matplotlib and are imported only when written.
"""

from gradcheck.benchreport.cli import main
from gradcheck.benchreport.report import (
    NOISY,
    TARGETS,
    Record,
    Results,
    Target,
    TargetResult,
    evaluate_targets,
    load_results,
    render_markdown,
)

__all__ = [
    "NOISY",
    "TARGETS",
    "Record",
    "Results",
    "Target",
    "TargetResult",
    "evaluate_targets",
    "load_results",
    "main",
    "render_markdown",
]
