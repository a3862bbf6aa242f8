"""The batch as pytest tests: one test per submission × kind × property, spread over pytest-xdist workers.

Each submission × kind is checked once, in its own process with a timeout (as ``gradcheck check DIR`` does), by
the first of its tests that runs on a worker; its other property tests read the same report. The tests of one
submission × kind carry the ``xdist_group`` mark, so ``pytest -n 8 --dist loadgroup`` keeps them on one worker
(one process per submission × kind) while the submissions spread over the workers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gradcheck.errors import GradcheckWarning, GradientMismatch, LayerError
from gradcheck.submissions.batch import Row, run_target
from gradcheck.submissions.discover import Target, submissions_in

__all__ = ["submissions"]

_CACHE: dict[tuple[Any, ...], tuple[Row, dict[str, Any] | None]] = {}


def _marks(group: str) -> list[Any]:
    try:
        import xdist  # noqa: F401
    except ImportError:
        return []
    return [pytest.mark.xdist_group(group)]


def _params(targets: list[Target], names: list[str]) -> list[Any]:
    params = []
    for t in targets:
        base = f"{t.submission}-{t.cls}-{t.kind or 'none'}"
        if t.kind is None:
            marks = [pytest.mark.skip(reason=t.reason)] if t.reason.startswith("not checked") else []
            params.append(pytest.param(t, "", id=base, marks=marks))
            continue
        params += [pytest.param(t, n, id=f"{base}-{n}", marks=_marks(base)) for n in names]
    return params


def submissions(*dirs: str | Path, timeout: float = 300.0) -> Callable[..., None]:
    """A pytest test function with one test per submission × kind × property of the directories ``dirs``.

    ``dirs`` are read as ``gradcheck check DIR`` reads them (a directory of Python files is one submission,
    otherwise each subdirectory is). A class without a kind is a skip; a submission that hangs, crashes, exits or
    does not import fails every test of its kind with the reason. The plugin's ``--gradcheck-profile``,
    ``--gradcheck-seed`` and ``--gradcheck-max-examples`` apply.

    Example:
        ``test_course = gradcheck.testing.submissions("submissions/", timeout=120)`` in a test file, then
        ``pytest -n 8 --dist loadgroup``.
    """
    from gradcheck.properties import load

    targets = [t for s in submissions_in([Path(d) for d in dirs]) for t in s.targets]
    names = list(load())

    @pytest.mark.parametrize(("target", "prop"), _params(targets, names))
    def test(target: Target, prop: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        from gradcheck.pytest_plugin import options

        opts = options(request.config)
        key = (target.spec, target.kind, opts.seed, opts.profile, opts.max_examples, timeout)
        if key not in _CACHE:
            _CACHE[key] = run_target(
                target, timeout=timeout, seed=opts.seed, profile=opts.profile, max_examples=opts.max_examples
            )
        row, data = _CACHE[key]
        if data is None:
            raise LayerError(f"{target.spec} [{target.kind}]: {row.status}: {row.reason}")
        _verdict(target, prop, data)

    return test


def _verdict(target: Target, prop: str, data: dict[str, Any]) -> None:
    __tracebackhide__ = True
    found = next((p for p in data.get("properties", []) if p.get("name") == prop), None)
    if found is None:
        pytest.skip(f"{prop}: not in the report")
    status = found.get("status")
    message = f"{target.spec} [{target.kind}] · {prop}: {status}\n{found.get('message') or found.get('reason', '')}"
    if status == "pass":
        return
    if status == "skip":
        pytest.skip(f"{prop}: {found.get('reason', '')}")
    if status == "warn":
        warnings.warn(message, GradcheckWarning, stacklevel=1)
        return
    raise (LayerError if status == "error" else GradientMismatch)(message)
