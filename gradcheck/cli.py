"""The ``gradcheck`` command: ``check``, ``list``, ``train`` and ``bench-report``.

Exit status: 0 when every property passed, 1 when any failed, 2 for a usage error (one-line reason).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from gradcheck.errors import GradcheckError

__all__ = ["main"]

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradcheck", description="Gradient verification for hand-written layers.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="run the property checklist on an implementation of a kind")
    c.add_argument("kind", nargs="?", help="kind of layer (see 'gradcheck list')")
    c.add_argument("target", nargs="?", help="path/to/file.py:ClassName or package.module:ClassName")
    c.add_argument("--all", action="store_true", help="check every built-in layer (the project's main job)")
    c.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    c.add_argument("--max-examples", type=int, default=None, help="examples per property (overrides profile)")
    c.add_argument(
        "--profile",
        choices=("dev", "ci", "thorough"),
        default=None,
        help="number of examples (default: ci when CI is set, else dev)",
    )
    c.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    c.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    c.add_argument(
        "--property",
        action="append",
        dest="properties",
        metavar="NAME",
        help="run only this property (repeatable)",
    )
    lst = sub.add_parser("list", help="list kinds and properties")
    lst.add_argument("--markdown", action="store_true", help="print docs/checklist.md (generated from the registry)")
    sub.add_parser("train", help="train a model on digits or CIFAR-10 (see 'gradcheck train --help')", add_help=False)
    sub.add_parser(
        "bench-report",
        help="write the benchmark report (see 'gradcheck bench-report --help')",
        add_help=False,
    )
    return p


def _progress(label: str) -> Callable[[str, int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(name: str, i: int, n: int) -> None:
        sys.stderr.write(f"\r\033[K[{i + 1:2d}/{n}] {label}: {name}")
        sys.stderr.flush()

    return show


def _targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    from gradcheck.kinds import KINDS, get_kind

    if args.all:
        if args.kind or args.target:
            raise GradcheckError("--all takes no KIND or TARGET")
        get_kind("relu")  # loads the built-in declarations
        return [(k.name, t) for k in KINDS.values() for t in k.builtin]
    if not (args.kind and args.target):
        raise GradcheckError("check needs KIND and TARGET (or --all); see 'gradcheck list' for kinds")
    get_kind(args.kind)
    return [(args.kind, args.target)]


def _check(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from gradcheck.checklist.runner import check_kind
    from gradcheck.loading import load_target
    from gradcheck.report.checklist import render

    reports = []
    for kind, spec in _targets(args):
        loaded = load_target(spec)
        report = check_kind(
            kind,
            loaded.obj,
            seed=args.seed,
            profile=args.profile,
            max_examples=args.max_examples,
            properties=args.properties,
            device=args.device,
            label=spec,
            on_property=_progress(f"{kind} · {spec}"),
        )
        if loaded.captured:
            report = replace(
                report,
                notes=(
                    *report.notes,
                    f"the module printed while imported: {loaded.captured.strip()[:200]!r}",
                ),
            )
        reports.append(report)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    print(render(reports, args.format))
    return 0 if all(r.passed for r in reports) else 1


def _list(markdown: bool) -> int:
    from gradcheck.kinds import KINDS, get_kind
    from gradcheck.properties.registry import load

    if markdown:
        from gradcheck.report.checklist_doc import render_checklist_doc

        print(render_checklist_doc(), end="")
        return 0
    get_kind("relu")
    print("kinds:")
    for k in KINDS.values():
        print(f"  {k.name:20s} {k.summary}  [{', '.join(k.builtin)}]")
    print("properties:")
    for p in load().values():
        print(f"  {p.name:20s} {p.title}")
    return 0


def _delegate(command: str, argv: list[str]) -> int:
    if command == "train":
        from layers.training.cli import main as train_main

        return int(train_main(argv))
    from gradcheck.benchreport.cli import main as bench_main

    return int(bench_main(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradcheck`` console script and of ``python -m gradcheck``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("train", "bench-report"):
        return _delegate(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    try:
        return _list(args.markdown) if args.command == "list" else _check(args)
    except GradcheckError as exc:
        print(f"gradcheck: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
