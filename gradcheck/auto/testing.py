"""pytest tests for a layer without a kind: one test per property of the auto checklist."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from gradcheck.auto.check import ORDER, check_layer
from gradcheck.errors import GradcheckWarning, GradientMismatch, LayerError

__all__ = ["checklist_from_example"]


def checklist_from_example(
    target: Any,
    example_inputs: Mapping[str, Any],
    *,
    ctor: Mapping[str, Any] | None = None,
    reference: Callable[..., Any] | None = None,
    properties: list[str] | None = None,
) -> Callable[..., None]:
    """A pytest test function with one test per property of :func:`gradcheck.check_layer`'s checklist.

    Assign it to a module-level name starting with ``test``; the tests are ``<name>[<property>]``. The plugin's
    ``--gradcheck-profile``/``--gradcheck-seed``/``--gradcheck-max-examples`` options apply. A property that
    cannot run (no oracle, no parameters) is a skip with the reason; a warning is a :class:`GradcheckWarning`.

    Example:
        ``test_gelu = gradcheck.testing.checklist_from_example(GELUModule, {"x": (8, 5)})``
    """
    names = [n for n in ORDER if not properties or n in properties]

    @pytest.mark.parametrize("prop", names)
    def test(prop: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        from gradcheck.pytest_plugin import options
        from gradcheck.report.checklist import render_failure

        opts = options(request.config)
        report = check_layer(
            target,
            example_inputs,
            ctor=ctor,
            reference=reference,
            profile=opts.profile,
            seed=opts.seed,
            max_examples=opts.max_examples,
            properties=[prop],
        )
        (p,) = report.properties
        if p.status == "skip":
            pytest.skip(f"{p.name}: {p.reason}")
        if p.status == "pass":
            return
        message = f"{report.kind} · {report.target}: property {p.name} {p.status}\n{render_failure(p, report.kind)}"
        if p.status == "warn":
            warnings.warn(message, GradcheckWarning, stacklevel=1)
            return
        raise (LayerError if p.status == "error" else GradientMismatch)(message)

    return test
