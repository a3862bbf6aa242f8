"""``gradcheck check DIR [DIR...] [--jobs N] [--timeout S] [--format text|markdown|json|junit] [--out FILE]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gradcheck.submissions.batch import Row, check_submissions
from gradcheck.submissions.discover import submissions_in
from gradcheck.submissions.report import render
from gradcheck.usage import ArgumentParser, parse_args, usage_error

__all__ = ["main"]

PROG = "gradcheck check"


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description="Check every submission in DIR...: the course's classes, each in its own process.",
    )
    p.add_argument("dirs", nargs="+", type=Path, help="a submission directory, or a directory of them")
    p.add_argument("--jobs", "-j", type=int, default=1, help="processes at a time (default 1)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per class checked (default 300)")
    p.add_argument("--format", choices=("text", "markdown", "json", "junit"), default="text")
    p.add_argument("--out", type=Path, default=None, help="write the table to FILE (default: stdout)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", choices=("dev", "ci", "thorough"), default=None)
    p.add_argument("--max-examples", type=int, default=None)
    return p


def _progress(total: int) -> Any:
    """A tqdm bar over the checks on stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty() or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="check", desc="gradcheck", leave=False)


def main(argv: Sequence[str]) -> int:
    """Exit 0 when nothing failed, errored or timed out; 1 otherwise; 2 for a usage error."""
    args = parse_args(_parser(), list(argv))
    if isinstance(args, int):
        return args
    missing = [str(d) for d in args.dirs if not d.exists()]
    if missing or args.jobs < 1 or args.timeout <= 0:
        why = f"no such directory: {', '.join(missing)}" if missing else "--jobs and --timeout must be positive"
        return usage_error(PROG, why)
    subs = submissions_in(list(args.dirs))
    bar = _progress(sum(len(s.targets) for s in subs))

    def done(row: Row) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{row.submission}: {row.status}", refresh=False)
            bar.update(1)

    try:
        rows = check_submissions(
            subs,
            jobs=args.jobs,
            timeout=args.timeout,
            seed=args.seed,
            profile=args.profile,
            max_examples=args.max_examples,
            on_done=done,
        )
    finally:
        if bar is not None:
            bar.close()
    text = render(rows, args.format)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 1 if any(r.status in ("fail", "error", "timeout") for r in rows) else 0
