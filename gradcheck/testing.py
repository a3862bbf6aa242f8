"""Declarative pytest tests: one line turns a layer into one test per property of its kind's checklist.

    >>> test_linear = checklist("linear", MyLinear)          # doctest: +SKIP

in a test module makes ``test_linear[interface]``, ``test_linear[input_gradient]``, … one pytest test per
property; properties that do not apply to the kind are pytest skips with the reason. A failure is reported in the
harness's template (what failed, the shrunk minimal example, a ``gradcheck check`` command and a pytest command
that reproduce it) with no harness frames in the traceback. A property that warns passes with a
:class:`~gradcheck.errors.GradcheckWarning` (shown in pytest's warnings summary) unless strict. The options of the
:mod:`gradcheck.pytest_plugin` (``--gradcheck-profile``, ``--gradcheck-seed``, ``--gradcheck-max-examples``,
``--gradcheck-strict``) apply.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from gradcheck.errors import GradcheckWarning, GradientMismatch, InvalidArgument, LayerError

if TYPE_CHECKING:
    from gradcheck.checklist.runner import PropertyResult
    from gradcheck.kinds import Kind

__all__ = ["checklist", "checklist_from_example", "submissions"]

DEVICES = ("cpu", "cuda")


def checklist(
    kind: str | Kind,
    target: Any,
    *,
    properties: Sequence[str] | None = None,
    devices: Sequence[str] = ("cpu",),
    label: str | None = None,
    strict: bool | None = None,
) -> Callable[..., None]:
    """A pytest test function, parametrized with one test per property of ``kind``'s checklist, for ``target``.

    Assign the result to a module-level name starting with ``test`` (not a class attribute: pytest would bind it
    as a method); its tests are named
    ``<name>[<property>]`` (``<name>[<property>-<device>]`` when ``devices`` is not ``("cpu",)``) and carry the
    ``gradcheck`` marker. Each runs :func:`gradcheck.check_kind` for its one property with the run's profile,
    seed and case count (see :mod:`gradcheck.pytest_plugin`); a property that does not apply is a pytest skip
    with the reason, and a CUDA test is skipped, with the reason, where no GPU is available.

    Args:
        kind: a registered kind name (``"linear"``; ``gradcheck list`` lists them) or a
            :class:`~gradcheck.kinds.Kind` declared in the test file for a new kind of layer.
        target: the implementation: a NumPy module class, an ``nn.Module`` class or an ``autograd.Function``
            class, or a string ``"package.module:ClassName"`` / ``"path/to/file.py:ClassName"``.
        properties: only these properties (default: every property of the checklist).
        devices: ``"cpu"`` and/or ``"cuda"`` (torch kinds only); default ``("cpu",)``.
        label: how the target is named in messages (default: ``module:ClassName``, or ``file.py:ClassName`` for a
            class defined in a test file, which is what ``gradcheck check`` loads).
        strict: a property that warns fails its test (``True``) or passes with a ``GradcheckWarning`` (``False``);
            default ``None``: as ``--gradcheck-strict`` says.

    Returns:
        The test function; its attributes ``gradcheck_kind`` and ``gradcheck_target`` hold the kind and the
        implementation it checks.

    Raises:
        InvalidArgument: an unknown kind or property, a device other than cpu/cuda, or cuda for a NumPy kind.
        InvalidTarget: ``target`` is a string that cannot be loaded.

    Example:
        In ``tests/test_my_layers.py``::

            import gradcheck.testing
            from mypkg.layers import LinearModule

            test_linear = gradcheck.testing.checklist("linear", LinearModule)     # passes: 16 tests
            test_broken = gradcheck.testing.checklist("linear", BrokenLinear)     # fails: input_gradient, …
    """
    __tracebackhide__ = True  # a misuse is reported at the user's line
    from gradcheck.kinds import Kind, get_kind
    from gradcheck.properties import load

    try:
        k = kind if isinstance(kind, Kind) else get_kind(_kind_name(kind))
    except InvalidArgument as exc:
        raise InvalidArgument(str(exc)) from None
    registry = load()
    names = list(properties) if properties is not None else list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown or not names:
        raise InvalidArgument(
            f"properties={list(names)!r}: unknown {unknown or 'none given'}; pass names from: {', '.join(registry)}"
        )
    devices = tuple(devices)
    bad = [d for d in devices if d not in DEVICES] or ([] if devices else ["none given"])
    if bad:
        raise InvalidArgument(f"devices={devices!r}: expected a non-empty subset of {DEVICES}")
    if "cuda" in devices and k.protocol.startswith("numpy"):
        raise InvalidArgument(
            f"devices={devices!r}: kind {k.name!r} is a NumPy kind, which runs on the CPU "
            "only; leave devices at ('cpu',)"
        )
    if isinstance(target, str):
        from gradcheck.loading import load_target

        label, target = label or target, load_target(target).obj
    params = [_param(registry[n], k, d, len(devices) > 1 or d != "cpu") for n in names for d in devices]

    @pytest.mark.gradcheck(kind=k.name)
    @pytest.mark.parametrize(("gradcheck_property", "gradcheck_on_device"), params)
    def test(gradcheck_property: str, gradcheck_on_device: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        _run(k, target, label, gradcheck_property, gradcheck_on_device, strict, request)

    # Report the tests where the user wrote them (skip lines, --junitxml file/line), not in this module.
    caller = sys._getframe(1).f_code.co_filename, sys._getframe(1).f_lineno
    test.__code__ = test.__code__.replace(co_filename=caller[0], co_firstlineno=caller[1])
    test.gradcheck_kind, test.gradcheck_target = k, target  # type: ignore[attr-defined]
    test.__doc__ = f"The gradcheck checklist of kind {k.name!r} on {_qualname(target)}, one test per property."
    return test


def _kind_name(kind: Any) -> str:
    __tracebackhide__ = True
    if not isinstance(kind, str):
        raise InvalidArgument(f"kind={kind!r}: expected a kind name such as 'linear' or a gradcheck.kinds.Kind")
    return kind


def _param(prop: Any, kind: Kind, device: str, show_device: bool) -> Any:
    marks: list[Any] = [pytest.mark.gradcheck(kind=kind.name, property=prop.name)]
    if device == "cuda":
        marks.append(pytest.mark.cuda)
    reason = prop.applies(kind)
    if reason:
        marks.append(pytest.mark.skip(reason=f"{prop.name}: {reason}"))
    return pytest.param(prop.name, device, marks=marks, id=f"{prop.name}-{device}" if show_device else prop.name)


def _qualname(target: Any) -> str:
    return str(getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or target)


def _default_label(target: Any, root: str) -> str | None:
    """``module:Class`` for an importable class, ``file.py:Class`` for one defined in a test file; else None."""
    qual = getattr(target, "__qualname__", "")
    module_name = getattr(target, "__module__", None)
    module = sys.modules.get(module_name or "")
    if not qual or not qual.isidentifier() or module is None:
        return None  # a nested or local class: no command can load it
    file = getattr(module, "__file__", None)
    base = os.path.basename(file or "")
    if file and (base.startswith(("test_", "conftest")) or base.endswith("_test.py") or module_name == "__main__"):
        return f"{os.path.relpath(file, root)}:{qual}"
    return f"{module_name}:{qual}"


def _run(
    kind: Kind,
    target: Any,
    label: str | None,
    prop: str,
    device: str,
    strict: bool | None,
    request: pytest.FixtureRequest,
) -> None:
    __tracebackhide__ = True
    from gradcheck.checklist.runner import check_kind
    from gradcheck.kinds import KINDS
    from gradcheck.pytest_plugin import options

    config = request.config
    opts = options(config)
    root = str(config.invocation_params.dir)
    name = label or _default_label(target, root) or _qualname(target)
    report = check_kind(
        kind,
        target,
        seed=opts.seed,
        profile=opts.profile,
        max_examples=opts.max_examples,
        properties=[prop],
        device=device,
        label=name,
        strict=opts.strict if strict is None else strict,
    )
    (p,) = report.properties
    if p.status == "skip":
        _skip(f"{p.name}: {p.reason}")
    if report.passed and p.status == "pass":
        return
    rerun = f"pytest '{request.node.nodeid}' --gradcheck-seed {opts.seed} --gradcheck-profile {opts.profile}"
    if opts.max_examples is not None:
        rerun += f" --gradcheck-max-examples {opts.max_examples}"
    if report.strict:
        rerun += " --gradcheck-strict"
    cli = p.reproduce
    if cli and opts.max_examples is not None:
        cli += f" --max-examples {opts.max_examples}"
    runnable = KINDS.get(kind.name) is kind and (label is not None or _default_label(target, root) is not None)
    p = replace(p, reproduce=f"{cli}\n       or: {rerun}" if runnable and cli else rerun)
    word = {"fail": "FAILED", "error": "ERROR", "warn": "WARNING"}[p.status]
    head = (
        f"{kind.name} · {name}: property {p.name} {word} "
        f"(seed {opts.seed}, profile {opts.profile}, device {device}, {p.n_examples} cases tried)"
    )
    if p.status == "warn" and report.passed:
        _warn(p, kind.name, head, request)
        return
    _raise(p, kind.name, head + (" (strict: warnings fail)" if p.status == "warn" else ""))


def _skip(reason: str) -> None:
    __tracebackhide__ = True
    # Reported at the test's own location (the checklist line in the user's file), as a marker's skip is.
    raise pytest.skip.Exception(reason, _use_item_location=True)


def _warn(p: PropertyResult, kind: str, head: str, request: pytest.FixtureRequest) -> None:
    __tracebackhide__ = True  # -W error turns the warning into the test's failure
    from gradcheck.report.checklist import render_failure

    # Attributed to the user's checklist line, as the test itself is (see checklist()).
    code = request.function.__code__
    warnings.warn_explicit(
        f"{head}\n{render_failure(p, kind)}", GradcheckWarning, code.co_filename, code.co_firstlineno
    )


def _raise(p: PropertyResult, kind: str, head: str) -> None:
    __tracebackhide__ = True
    from gradcheck.report.checklist import render_failure

    message = f"{head}\n{render_failure(p, kind)}"
    if p.status == "error":
        raise LayerError(message)
    if p.status == "warn":  # under strict: the gradients are right, so not a GradientMismatch
        pytest.fail(message, pytrace=False)
    raise GradientMismatch(message)


def checklist_from_example(target: Any, example_inputs: Any, **options: Any) -> Callable[..., None]:
    """One pytest test per property for a layer without a kind (see :func:`gradcheck.auto.testing.
    checklist_from_example`): ``test_gelu = checklist_from_example(GELUModule, {"x": (8, 5)})``."""
    from gradcheck.auto.testing import checklist_from_example as from_example

    return from_example(target, example_inputs, **options)


def submissions(*dirs: Any, timeout: float = 300.0) -> Callable[..., None]:
    """One pytest test per submission × kind × property of ``dirs``, each kind checked in its own process (see
    :func:`gradcheck.submissions.testing.submissions`): ``test_course = submissions("submissions/")``."""
    from gradcheck.submissions.testing import submissions as batch

    return batch(*dirs, timeout=timeout)
