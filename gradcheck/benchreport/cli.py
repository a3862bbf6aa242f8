"""``bench-report RESULTS.json [--compare BEFORE.json] [--out DIR | --update-docs] [--title TITLE] [--no-plots]``.

The report goes to ``out/`` (gitignored) unless ``--out`` names another folder; only ``--update-docs`` writes
the tracked ``docs/benchmarks.md`` and ``docs/figures/bench_*.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gradcheck.benchreport.report import Results, load_results, render_markdown
from gradcheck.errors import InvalidArgument
from gradcheck.usage import ArgumentParser, parse_args, usage_error

__all__ = ["main"]

PROG = "bench-report"


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Render pytest-benchmark JSON (--benchmark-json) as <out>/benchmarks.md and "
        "<out>/figures/bench_*.png: machine, per-layer tables with ratios to PyTorch, targets, "
        "cost of checking.",
    )
    parser.add_argument("results", metavar="RESULTS.json", help="pytest-benchmark JSON of this run")
    parser.add_argument("--compare", metavar="BEFORE.json", help="a baseline run: adds a before/after table")
    parser.add_argument("--out", metavar="DIR", default=None, help="output folder (default: out)")
    parser.add_argument(
        "--update-docs", action="store_true", help="write the tracked docs/ (benchmarks.md and figures) instead"
    )
    parser.add_argument("--title", default="Benchmarks", help="the report's title")
    parser.add_argument("--no-plots", action="store_true", help="do not write PNG plots (no matplotlib needed)")
    parser.add_argument(
        "--notes", metavar="NOTES.md", help="Markdown appended to the Notes, which are otherwise written from the data"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write ``<out>/benchmarks.md`` and ``<out>/figures/bench_*.png`` from pytest-benchmark JSON.

    Args:
        argv: the arguments after the command name (default: ``sys.argv[1:]``).

    Returns:
        0 on success; 2 with one line on stderr when a file is missing, is not pytest-benchmark JSON or cannot
        be written, or an argument is invalid (one pattern for every command: gradcheck.usage).

    Example:
        ``main(["out/bench.json"])`` returns 0 and writes ``out/benchmarks.md``; with ``--update-docs`` it
        writes ``docs/benchmarks.md``;
        ``main(["missing.json"])`` prints ``bench-report: error: missing.json: no such file`` and returns 2.
    """
    args = parse_args(_parser(), argv)
    if isinstance(args, int):  # --help, or a usage error already reported
        return args
    try:
        results = load_results(args.results)
        before: Results | None = load_results(args.compare) if args.compare else None
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
    except InvalidArgument as exc:
        return usage_error(PROG, exc)
    except OSError as exc:
        return usage_error(PROG, f"{args.notes}: {exc.strerror or exc}")
    out = Path(args.out or ("docs" if args.update_docs else "out"))
    figures: dict[str, str] = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not args.no_plots:
            from gradcheck.benchreport.plots import plot_all

            for key, path in plot_all(results.records, out / "figures").items():
                figures[key] = path.relative_to(out).as_posix()
        md = out / "benchmarks.md"
        text = render_markdown(results, title=args.title, figures=figures, before=before, extra_notes=notes)
        md.write_text(text, encoding="utf-8")
    except OSError as exc:
        return usage_error(PROG, f"cannot write to {out}: {exc.strerror or exc}")
    print(f"wrote {md} ({len(results.records)} benchmarks, {len(figures)} figures)")
    return 0
