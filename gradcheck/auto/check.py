"""``check_layer``: the checklist of a layer that has no kind, inferred from one example call."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from gradcheck.auto.infer import NO_ORACLE, infer
from gradcheck.auto.properties import AUTO_PROPERTIES
from gradcheck.checklist.profiles import default_profile, examples_for
from gradcheck.checklist.runner import KindReport, PropertyResult, run_property, single_thread
from gradcheck.checklist.trial import Subject
from gradcheck.errors import InvalidArgument
from gradcheck.properties import load
from gradcheck.properties.registry import ORDER as REGISTRY_ORDER
from gradcheck.properties.registry import Property

__all__ = ["ORDER", "check_layer"]

#: The auto checklist, in order: the checklist's order (see the registry) with ``determinism`` after the batch
#: semantics, without the properties that need a declared module contract or a network.
ORDER = tuple(
    name
    for base in REGISTRY_ORDER
    if base not in ("module_contract", "trainability")
    for name in ((base, "determinism") if base == "batch_semantics" else (base,))
)
#: Checklist properties that compare with the oracle itself: skipped, with the way to add one, when there is none.
NEEDS_ORACLE = ("forward", "autograd_agreement", "invariants", "device_parity")
#: Checklist properties whose tolerance reads the oracle's noise: replaced by the layer's own without one.
ORACLE_NOISE = ("interface", "input_gradient", "param_gradients", "upstream_linearity", "dtype_parity")
#: Auto properties used with or without an oracle.
ALWAYS = ("state", "batch_semantics", "determinism", "double_backward")


def _plan(has_oracle: bool) -> list[tuple[str, Property | str]]:
    """Each property of the auto checklist with the implementation to run, or the reason it cannot run."""
    registry = load()
    plan: list[tuple[str, Property | str]] = []
    for name in ORDER:
        if name in ALWAYS or (name in AUTO_PROPERTIES and not has_oracle):
            plan.append((name, AUTO_PROPERTIES[name]))
        elif name in NEEDS_ORACLE and not has_oracle:
            plan.append((name, NO_ORACLE))
        else:
            plan.append((name, registry[name]))
    return plan


def _title(name: str) -> str:
    registry = load()
    return registry[name].title if name in registry else AUTO_PROPERTIES[name].title


def check_layer(
    target: Any,
    example_inputs: Mapping[str, Any],
    *,
    ctor: Mapping[str, Any] | None = None,
    reference: Callable[..., Any] | None = None,
    profile: str | None = None,
    seed: int = 0,
    max_examples: int | None = None,
    properties: list[str] | None = None,
    label: str | None = None,
    strict: bool = False,
) -> KindReport:
    """Check a layer that has no kind, from one example call: the kind is inferred, the checklist runs.

    The layer is probed at the example (see :func:`gradcheck.auto.infer.infer`): its differentiable inputs (float
    arrays), fixed arguments, parameters, batch axis and semantics (per-sample, a loss, batch-coupled) are read
    off and reported as notes. Cases vary the batch size around the example (1, the example's, larger), the
    dtype (float32, float64), the value scale and regime (normal, ties, large values where the layer stays
    finite); the example, B = 1, ties and large values are explicit edge cases run on every seed. Every property
    that needs no oracle runs (gradients against finite differences, upstream linearity, purity, state, batch
    semantics, determinism, float32/float64 parity, double backward where the backward builds a graph); with a
    ``reference`` the oracle's properties run too, otherwise they are skipped with the way to add one.

    Args:
        target: a NumPy module class (``forward``/``backward``, ``params``/``grads``), a ``torch.nn.Module``
            class or a ``torch.autograd.Function`` subclass.
        example_inputs: the call's arguments in order: a shape (or an array) per float array input, any other
            value for a fixed argument, e.g. ``{"x": (8, 5)}`` or ``{"x": (4, 6), "beta": 1.5}``.
        ctor: constructor keyword arguments of a module class.
        reference: optional torch oracle, ``reference(*inputs, **params)`` returning a tensor.
        profile: ``dev``, ``ci`` or ``thorough`` (default: ``ci`` when CI is set, else ``dev``).
        seed: Hypothesis seed.
        max_examples: generated examples per property (overrides the profile).
        properties: only these properties.
        label: how the target is named in the report.
        strict: warnings fail the run.

    Returns:
        A :class:`~gradcheck.checklist.runner.KindReport` whose notes say how the layer was read.

    Raises:
        InvalidArgument: the target follows no supported protocol, the example does not fit it, or an option is
            invalid.
        LayerError: the layer cannot be called at the example.

    Example:
        >>> report = check_layer(GELUModule, {"x": (8, 5)})         # doctest: +SKIP
        >>> report.passed, report.notes[-1]                         # doctest: +SKIP
    """
    profile = profile or default_profile()
    examples_for(profile, 1, max_examples)
    unknown = [p for p in properties or () if p not in ORDER]
    if unknown:
        raise InvalidArgument(f"unknown properties {unknown}; the auto checklist has: {', '.join(ORDER)}")
    inferred = infer(target, example_inputs, ctor=ctor, reference=reference, label=label)
    subject = Subject(inferred.kind, inferred.target, inferred.label)
    start = time.perf_counter()
    results = []
    with single_thread():
        for name, prop in _plan(reference is not None):
            if properties and name not in properties:
                continue
            if isinstance(prop, str):
                results.append(PropertyResult(name, _title(name), "skip", reason=prop))
                continue
            result = run_property(prop, subject, seed=seed, profile=profile, max_examples=max_examples)
            if result.reproduce:
                again = _reproduce(inferred.label, example_inputs, ctor, seed, profile, name, max_examples)
                result = replace(result, reproduce=again)
            results.append(result)
    notes = (*inferred.notes, *subject.notes)
    seconds = time.perf_counter() - start
    return KindReport(inferred.kind.name, inferred.label, seed, profile, tuple(results), seconds, notes, strict)


def _literal(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return repr(tuple(shape)) if shape is not None else repr(value)


def _reproduce(
    label: str,
    example: Mapping[str, Any],
    ctor: Mapping[str, Any] | None,
    seed: int,
    profile: str,
    prop: str,
    max_examples: int | None,
) -> str:
    """The ``gradcheck check auto`` command that reruns one property (arrays in the example given by shape)."""
    ex = ", ".join(f"{k}={_literal(v)}" for k, v in example.items())
    cmd = f'gradcheck check auto {label} --example "{ex}"'
    if ctor:
        cmd += ' --ctor "' + ", ".join(f"{k}={v!r}" for k, v in ctor.items()) + '"'
    cmd += f" --seed {seed} --profile {profile} --property {prop}"
    return cmd + (f" --max-examples {max_examples}" if max_examples is not None else "")
