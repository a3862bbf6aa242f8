"""The ``gradcheck`` command: ``check``, ``list``, ``train`` and ``bench-report``.

Exit status: 0 when every property passed (warnings allowed, unless ``--strict``), 1 when one failed or errored,
2 for a usage error (one line on stderr: an unknown kind, a file that does not import, a class that does not fit
its kind, ``--device cuda`` where it cannot run), 130 when interrupted (Ctrl-C; the report so far is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn

from gradcheck.errors import InvalidArgument, InvalidTarget
from gradcheck.usage import USAGE_ERROR, ArgumentParser, UsageError, parse_args, usage_error

if TYPE_CHECKING:  # the kinds are imported when a command runs: `gradcheck --help` stays fast
    from gradcheck.kinds import Kind

__all__ = ["DELEGATED", "INTERRUPTED", "USAGE_ERROR", "main", "run_checklist"]

PROG = "gradcheck"
#: The exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Gradient verification for hand-written layers.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser(
        "check",
        help="run the property checklist on an implementation of a kind",
        epilog="Two more forms: 'gradcheck check auto FILE:CLASS --example \"x=(8,5)\"' checks a layer of no "
        "declared kind from one example (see 'gradcheck check auto --help'); 'gradcheck check DIR [DIR ...]' "
        "checks whole submissions, each class in its own process (see 'gradcheck check DIR --help').",
    )
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
    c.add_argument("--strict", action="store_true", help="warnings fail the run (exit status 1)")
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


# --- gradcheck check ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One implementation to check: loaded, fitted to its kind, on its device."""

    kind: Kind
    spec: str
    obj: Any
    captured: str
    device: str


def _targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    from gradcheck.kinds import KINDS, get_kind

    if args.all:
        if args.kind or args.target:
            raise UsageError("--all takes no KIND or TARGET")
        get_kind("relu")  # loads the built-in declarations
        return [(k.name, t) for k in KINDS.values() for t in k.builtin]
    if not (args.kind and args.target):
        raise UsageError("check needs KIND and TARGET (or --all); see 'gradcheck list' for kinds")
    get_kind(args.kind)
    return [(args.kind, args.target)]


def _prepare(targets: Sequence[tuple[str, str]], device: str, every_kind: bool) -> list[_Run]:
    """Load every target and refuse, before anything runs, what cannot be checked (one line each)."""
    from gradcheck.checklist.fit import check_device, check_fits
    from gradcheck.kinds import get_kind
    from gradcheck.loading import load_target

    runs = []
    for name, spec in targets:
        kind = get_kind(name)
        # --all --device cuda: the torch kinds on the GPU, the NumPy ones where they run (the CPU).
        on = "cpu" if every_kind and kind.protocol in ("numpy", "numpy_loss") else device
        check_device(kind, on)
        loaded = load_target(spec)
        check_fits(kind, loaded.obj)
        runs.append(_Run(kind, spec, loaded.obj, loaded.captured, on))
    return runs


class _Progress:
    """One tqdm bar on stderr for the whole run (every case of every target); nothing unless stderr is a terminal."""

    def __init__(self, total: int) -> None:
        self.bar: Any = None
        self.offset = 0
        if total and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: no bar
                return
            self.bar = tqdm(total=total, file=sys.stderr, unit="case", leave=False, dynamic_ncols=True)

    def callback(self, label: str) -> Callable[[str, int, int], None] | None:
        """The ``on_case`` callback for one target, placed after the targets before it."""
        if self.bar is None:
            return None
        offset = self.offset

        def tick(prop: str, done: int, total: int) -> None:
            self.bar.set_description_str(f"{label}: {prop}", refresh=False)
            self.bar.update(offset + done - self.bar.n)

        return tick

    def advance(self, cases: int) -> None:
        """The next target's cases start after ``cases`` more."""
        self.offset += cases

    def close(self) -> None:
        """Remove the bar (the report follows on stdout)."""
        if self.bar is not None:
            self.bar.close()


def _cases(run: _Run, args: argparse.Namespace) -> int:
    from gradcheck.checklist.runner import planned_cases

    props = args.properties or ()
    return planned_cases(run.kind, profile=args.profile, max_examples=args.max_examples, properties=props)


def _check_one(run: _Run, args: argparse.Namespace, progress: _Progress) -> Any:
    from gradcheck.checklist.runner import check_kind

    report = check_kind(
        run.kind,
        run.obj,
        seed=args.seed,
        profile=args.profile,
        max_examples=args.max_examples,
        properties=args.properties,
        device=run.device,
        label=run.spec,
        strict=args.strict,
        on_case=progress.callback(f"{run.kind.name} · {run.spec}"),
    )
    progress.advance(_cases(run, args))
    if run.captured:
        note = f"the module printed while imported: {run.captured.strip()[:200]!r}"
        report = replace(report, notes=(*report.notes, note))
    return report


@contextlib.contextmanager
def _hard_exit_raises() -> Iterator[None]:
    # os._exit in the checked code would end this process at once with its status (0: a green CI job) and no
    # report. While the checklist runs it raises SystemExit instead, which the harness reports as the layer's
    # error like any other exit() (at import: a one-line usage error). Only here: the CLI owns its process; a
    # library must not patch os.
    hard_exit = os._exit

    def raise_instead(status: int) -> NoReturn:
        raise SystemExit(status)

    os._exit = raise_instead
    try:
        yield
    finally:
        os._exit = hard_exit


def run_checklist(targets: Sequence[tuple[str, str]], args: argparse.Namespace, *, bulk: bool = False) -> int:
    """Check ``(kind, target spec)`` pairs with the options of ``gradcheck check``; print the report; the exit status.

    Every target is loaded and fitted to its kind before any property runs (a misfit is a usage error, raised as
    :class:`~gradcheck.errors.InvalidTarget`). ``bulk`` (``--all``, a folder of submissions): ``--device cuda``
    applies to the torch kinds and the NumPy ones run on the CPU, instead of being refused. Ctrl-C prints the
    reports finished so far, the interrupted one included as far as it got, and returns :data:`INTERRUPTED`.
    """
    from gradcheck.checklist.runner import Interrupted
    from gradcheck.report.checklist import render

    runs = _prepare(targets, args.device, every_kind=bulk)
    progress = _Progress(sum(_cases(r, args) for r in runs))
    reports: list[Any] = []
    stopped = ""
    try:
        for run in runs:
            reports.append(_check_one(run, args, progress))
    except Interrupted as exc:
        reports.append(exc.report)
        stopped = "interrupted"
    except KeyboardInterrupt:  # between two targets
        stopped = "interrupted"
    except SystemExit as exc:  # the checked code's exit() got past every guard: never a silent exit status
        stopped = f"the checked code called exit({exc.code!r}) where the harness could not catch it"
    finally:
        progress.close()
    _emit(render(reports, args.format))
    if stopped:
        print(f"{PROG}: {stopped}; {len(reports)} of {len(runs)} targets reported", file=sys.stderr)
        return INTERRUPTED if stopped == "interrupted" else 1
    return 0 if all(r.passed for r in reports) else 1


def _emit(text: str) -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `gradcheck check … | head`: the reader has gone; the exit status still tells
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's own advice, so that exit does not fail again


def _check(args: argparse.Namespace) -> int:
    """``gradcheck check KIND TARGET`` and ``gradcheck check --all``."""
    return run_checklist(_targets(args), args, bulk=args.all)


# --- the other commands -------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from gradcheck.kinds import KINDS, get_kind
    from gradcheck.properties import load

    if args.markdown:
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


#: Commands with a parser of their own, by the words that start them; ``main`` hands the rest of the line to the
#: module's ``main(argv)``, which follows the same usage-error pattern (:mod:`gradcheck.usage`).
DELEGATED: dict[tuple[str, ...], str] = {
    ("train",): "layers.training.cli",
    ("bench-report",): "gradcheck.benchreport.cli",
}


def _delegated(argv: list[str]) -> int | None:
    import importlib

    for words, module in DELEGATED.items():
        if tuple(argv[: len(words)]) == words:
            with _hard_exit_raises():  # some run the user's code too (a submission, a layer without a kind)
                return int(importlib.import_module(module).main(argv[len(words) :]))
    return None


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"check": _check, "list": _list}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradcheck`` console script and of ``python -m gradcheck``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    delegated = _delegated(argv)
    if delegated is not None:
        return delegated
    if argv[:2] == ["check", "auto"]:  # issue 14: a layer without a kind, from one example (gradcheck.auto)
        from gradcheck.auto.cli import main as auto_main

        return auto_main(argv[2:])
    if len(argv) > 1 and argv[0] == "check" and os.path.isdir(argv[1]):  # issue 14: submission directories
        from gradcheck.submissions.cli import main as submissions_main

        return submissions_main(argv[1:])
    args = parse_args(_parser(), argv)
    if isinstance(args, int):
        return args
    try:
        with _hard_exit_raises():
            return _COMMANDS[args.command](args)
    except (InvalidArgument, InvalidTarget) as exc:  # UsageError is an InvalidArgument
        return usage_error(PROG, exc)
    except KeyboardInterrupt:  # before any property ran (loading, fitting): nothing to report yet
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
