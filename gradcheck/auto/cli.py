"""``gradcheck check auto FILE:CLASS --example "x=(8,5)" [--ctor ...] [--reference MODULE:FUNC]``."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Sequence
from typing import Any

from gradcheck.errors import InvalidArgument, InvalidTarget, LayerError
from gradcheck.usage import ArgumentParser, parse_args, usage_error

__all__ = ["main", "parse_assignments"]

PROG = "gradcheck check auto"


def parse_assignments(text: str, what: str) -> dict[str, Any]:
    """``"x=(8,5), beta=1.5"`` → ``{"x": (8, 5), "beta": 1.5}`` (Python literals, in order).

    Raises:
        InvalidArgument: not a list of ``name=literal`` (the message shows the expected form).
    """
    try:
        call = ast.parse(f"f({text})", mode="eval").body
        assert isinstance(call, ast.Call) and not call.args
        return {str(kw.arg): ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except (SyntaxError, ValueError, AssertionError) as exc:
        raise InvalidArgument(f'{what} {text!r}: expected name=literal pairs, e.g. "x=(8, 5), beta=1.5"') from exc


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Check a layer without a kind, from one example call.")
    p.add_argument("target", help="path/to/file.py:ClassName or package.module:ClassName")
    p.add_argument("--example", action="append", required=True, help='inputs in call order: "x=(8,5)" (repeatable)')
    p.add_argument("--ctor", action="append", default=[], help='constructor arguments: "in_channels=2, kernel_size=3"')
    p.add_argument("--reference", default=None, help="a torch oracle MODULE:FUNC, called with inputs and params")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-examples", type=int, default=None)
    p.add_argument("--profile", choices=("dev", "ci", "thorough"), default=None)
    p.add_argument("--property", action="append", dest="properties", metavar="NAME")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--strict", action="store_true", help="warnings fail the run")
    return p


def main(argv: Sequence[str]) -> int:
    """Run the auto check; exit 0 when it passed, 1 when a property failed, 2 for a usage error."""
    args = parse_args(_parser(), list(argv))
    if isinstance(args, int):
        return args
    try:
        return _run(args)
    except (InvalidArgument, InvalidTarget, LayerError) as exc:  # LayerError: it cannot run at the example
        return usage_error(PROG, exc)


def _run(args: argparse.Namespace) -> int:
    from gradcheck.auto.check import check_layer
    from gradcheck.loading import load_target
    from gradcheck.report.checklist import render

    example: dict[str, Any] = {}
    for text in args.example:
        example.update(parse_assignments(text, "--example"))
    ctor: dict[str, Any] = {}
    for text in args.ctor:
        ctor.update(parse_assignments(text, "--ctor"))
    reference = load_target(args.reference).obj if args.reference else None
    loaded = load_target(args.target)
    report = check_layer(
        loaded.obj,
        example,
        ctor=ctor,
        reference=reference,
        profile=args.profile,
        seed=args.seed,
        max_examples=args.max_examples,
        properties=args.properties,
        label=args.target,
        strict=args.strict,
    )
    print(render([report], args.format))
    return 0 if report.passed else 1
