"""Load a target named on the command line: ``path/to/file.py:ClassName`` or ``package.module:ClassName``.

The file's directory is importable while it loads (students' files import their siblings), anything the file
prints is captured, and a file that shadows a library the harness needs gives a one-line reason.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradcheck.errors import InvalidTarget

__all__ = ["LoadedTarget", "load_target"]

# Modules the harness imports; a user file of the same name beside the target would shadow them.
_SHADOWABLE = ("torch", "numpy", "hypothesis", "pytest", "gradcheck")


@dataclass(frozen=True)
class LoadedTarget:
    """The loaded class and what its module printed while being imported."""

    obj: Any
    label: str
    captured: str


def _split(spec: str) -> tuple[str, str]:
    if ":" not in spec:
        raise InvalidTarget(f"target {spec!r} must be 'path/to/file.py:ClassName' or 'package.module:ClassName'")
    where, _, name = spec.rpartition(":")
    if not where or not name.isidentifier():
        raise InvalidTarget(f"target {spec!r}: expected 'FILE.py:ClassName' or 'module:ClassName'")
    return where, name


def _check_shadowing(directory: Path) -> None:
    for lib in _SHADOWABLE:
        if (directory / f"{lib}.py").exists() or (directory / lib / "__init__.py").exists():
            raise InvalidTarget(
                f"{directory / (lib + '.py')} shadows the library {lib!r}, which the harness needs; rename it"
            )


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise InvalidTarget(f"no such file: {path}")
    directory = path.resolve().parent
    _check_shadowing(directory)
    name = f"_gradcheck_target_{path.stem}_{abs(hash(str(path.resolve()))):x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidTarget(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(directory))
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(directory))
    return module


def _import_module(name: str) -> Any:
    # ``package.module`` resolves from the current directory too, as with ``python -m`` (the console script
    # does not put it on the path).
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(cwd)


def _one_line(exc: BaseException) -> str:
    # With the line of the user's file it came from: "NameError: name 'np' is not defined (modules.py:3)".
    from gradcheck.view.base import user_frame

    try:
        text = " ".join(str(exc).split())
    except Exception:  # a user exception whose __str__ fails
        text = ""
    frame = user_frame(exc.__traceback__)
    at = f" ({frame.filename}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {text}{at}" if text else f"{type(exc).__name__}{at}"


def load_target(spec: str) -> LoadedTarget:
    """Import the class named by ``spec``; raise :class:`InvalidTarget` with a one-line reason on failure.

    Whatever the module raises while being imported (``SystemExit`` included) is that one line; only
    ``KeyboardInterrupt`` passes.
    """
    where, name = _split(spec)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            module = _import_file(Path(where)) if where.endswith(".py") else _import_module(where)
    except (InvalidTarget, KeyboardInterrupt):
        raise
    except SystemExit as exc:
        raise InvalidTarget(f"cannot import {where}: it called exit({exc.code!r}) while being imported") from exc
    except BaseException as exc:  # anything the user's module raises while importing (Ctrl-C aside)
        raise InvalidTarget(f"cannot import {where}: {_one_line(exc)}") from exc
    if not hasattr(module, name):
        found = sorted(
            n for n, v in vars(module).items() if isinstance(v, type) and getattr(v, "__module__", "") != "typing"
        )
        raise InvalidTarget(f"{where} has no attribute {name!r}; classes found: {', '.join(found) or 'none'}")
    return LoadedTarget(getattr(module, name), spec, out.getvalue())
