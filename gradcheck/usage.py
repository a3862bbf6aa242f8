"""One way to report a usage error in every command line of the project (``gradcheck``, ``gradcheck train``,
``gradcheck bench-report``): one line ``PROG: error: REASON`` on stderr, exit status 2. argparse's own errors
(an unknown option, a missing argument, an invalid choice) take the same way instead of printing the usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from gradcheck.errors import InvalidArgument

__all__ = ["USAGE_ERROR", "ArgumentParser", "UsageError", "parse_args", "usage_error"]

#: The exit status of a usage error (as argparse's).
USAGE_ERROR = 2


class UsageError(InvalidArgument):
    """A command-line argument is invalid; the message names the value and what to pass instead."""


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse.ArgumentParser`` whose errors raise :class:`UsageError` (its sub-parsers inherit this)."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` instead of printing the usage and exiting."""
        raise UsageError(message)


def usage_error(prog: str, message: object) -> int:
    """Print ``PROG: error: MESSAGE`` as one line on stderr and return :data:`USAGE_ERROR`."""
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return USAGE_ERROR


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace | int:
    """``parser.parse_args(argv)``, or the exit status to return at once: 0 after ``--help``, 2 after a usage
    error (already reported in one line under the parser's ``prog``)."""
    try:
        return parser.parse_args(argv)
    except UsageError as exc:
        return usage_error(parser.prog, exc)
    except SystemExit as exc:  # --help (and --version) print, then exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
