"""Contract properties: the interface, the forward values, finiteness and the nn.Module contract."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.policy import MARGIN_FLOOR, SUBSET_SAFETY
from gradcheck.engine.tolerances import machine_eps
from gradcheck.errors import LayerError
from gradcheck.properties.compare import argument_rounding, constants_allowance
from gradcheck.properties.registry import Outcome, prop
from gradcheck.properties.stabilised import explained_by_stabiliser, forward_record, stabiliser_finding
from gradcheck.results import Finding


def _dtype_finding(trial: Trial, what: str, got: np.dtype, want: np.dtype, location: tuple[str, ...]) -> Finding:
    """A dtype other than the contract's: a warning when a NumPy layer promotes (no precision lost), else a failure.

    NumPy promotes silently (``dout * np.where(x > 0, 1.0, a)``, ``np.eye(C)``, weights from ``np.random.normal``):
    a float64 result for float32 data is as accurate as float32 or more, and the other properties judge its values
    at float32 accuracy. A narrower result (float32 for float64 data) has lost precision; a torch layer's dtype is
    the framework's contract.
    """
    promoted = got.kind == "f" and want.kind == "f" and got.itemsize > want.itemsize
    numpy_layer = trial.kind.protocol in ("numpy", "numpy_loss")
    if promoted and numpy_layer:
        return Finding(
            "dtype",
            "warn",
            f"{what} has dtype {got} for {want} data",
            expected=str(want),
            location=location,
            explanation="NumPy promotion (a float64 constant or array in the computation); no precision is lost",
        )
    lost = got.kind == "f" and want.kind == "f" and got.itemsize < want.itemsize
    why = "precision lost: the computation is narrower than its data" if lost else "the dtype contract is broken"
    return Finding(
        "dtype", "fail", f"{what} has dtype {got} for {want} data", str(want), location=location, explanation=why
    )


@prop(
    "interface",
    title="interface",
    verifies="the constructor accepts the drawn arguments; output shape and dtype follow the contract; every "
    "parameter has a gradient of its shape and dtype",
    guards="the bookkeeping of the derivation: which arrays exist and what shape each gradient has",
    failure_means="a missing or misnamed attribute, a transposed parameter, a gradient of the wrong shape or a "
    "float64 input computed in float32 (a float64 result for float32 data in a NumPy layer is a warning)",
)
def interface(trial: Trial) -> Outcome:
    view, values = trial.build()
    found: list[Finding] = []
    out = view.forward(values)
    want = trial.reference_forward(values)
    dtype = np.dtype(trial.case.dtype)
    if out.shape != want.shape:
        found.append(
            Finding("shape", "fail", f"output shape {out.shape}", str(want.shape), location=(view.name, "out"))
        )
    if out.dtype != dtype:
        found.append(_dtype_finding(trial, "the output", out.dtype, dtype, (view.name, "out")))
    cot = np.ones(out.shape)
    try:
        grads = view.vjp(values, cot)
    except LayerError as exc:
        if exc.fault is None or exc.fault.exc_type:
            raise  # an exception of the layer's own code: an error of this property
        # The harness found the result unusable (a gradient of the wrong shape): the contract is broken.
        found.append(Finding("gradient shape", "fail", exc.fault.message, location=(view.name, exc.fault.call)))
        return Outcome.from_records(findings=tuple(found))
    for k in view.names:
        g = grads.get(k)
        if g is None:
            if k in view.param_names:
                found.append(
                    Finding("gradient", "fail", f"no gradient for parameter {k!r}", "an array", location=(view.name, k))
                )
            continue
        if g.shape != values[k].shape:
            found.append(
                Finding(
                    "shape",
                    "fail",
                    f"gradient of {k!r} has shape {g.shape}",
                    str(values[k].shape),
                    location=(view.name, k),
                )
            )
        if g.dtype != values[k].dtype and values[k].dtype.kind == "f":
            found.append(_dtype_finding(trial, f"the gradient of {k!r}", g.dtype, values[k].dtype, (view.name, k)))
    if trial.kind.protocol == "function" and not any(f.status == "fail" for f in found):
        found += _one_input_at_a_time(trial, values, cot, grads)
    return Outcome.from_records(findings=tuple(found))


def _one_input_at_a_time(trial: Trial, values: dict, cot: np.ndarray, grads: dict) -> list[Finding]:
    """A Function called with only one input requiring a gradient (a frozen input, a frozen layer) must still give
    that input its gradient: ``ctx.needs_input_grad`` decides what may be skipped, never what is returned for it."""
    import torch

    fn = trial.subject.target
    assert trial.kind.call is not None
    args = trial.kind.call(trial.case.ctor, values)
    names = [next((k for k, v in values.items() if v is a), None) for a in args]
    found = []
    for k in (n for n in names if n is not None and grads.get(n) is not None):
        where = (getattr(fn, "__name__", "Function"), k)
        alone = f"with only {k!r} requiring a gradient"
        tensors = [
            torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(n == k) if n is not None else a
            for a, n in zip(args, names, strict=True)
        ]
        wrt = tensors[names.index(k)]
        try:
            out = fn.apply(*tensors)
            out = out[0] if isinstance(out, tuple | list) else out
            (g,) = torch.autograd.grad(out, [wrt], torch.from_numpy(cot).to(out.dtype), allow_unused=True)
        except Exception as exc:  # the layer's own failure, reported as such
            found.append(
                Finding(
                    "needs_input_grad", "fail", f"{alone}, backward raised {type(exc).__name__}: {exc}", location=where
                )
            )
            continue
        full = grads[k].astype(np.float64)
        if g is None:
            found.append(
                Finding(
                    "needs_input_grad",
                    "fail",
                    f"{alone}, backward returned None for it",
                    "its gradient",
                    location=where,
                    explanation="ctx.needs_input_grad read for the wrong input?",
                )
            )
            continue
        err = float(np.max(np.abs(g.detach().numpy().astype(np.float64) - full), initial=0.0))
        tol = SUBSET_SAFETY * machine_eps(trial.case.dtype) * float(np.max(np.abs(full), initial=0.0))
        if g.shape != wrt.shape or err > tol:
            found.append(
                Finding(
                    "needs_input_grad",
                    "fail",
                    f"{alone}, its gradient differs from the one computed when every input requires one",
                    "the same gradient",
                    error=err,
                    tolerance=tol,
                    location=where,
                    explanation="backward depends on ctx.needs_input_grad of the other inputs",
                )
            )
    return found


@prop(
    "forward",
    title="forward matches the reference",
    verifies="the output equals the kind's PyTorch oracle at the same inputs and parameters, including extreme "
    "but valid values (large logits, near-constant features, probabilities near 0, exact ties); tolerance from "
    "the oracle's sensitivity to rounding its values at the computation's scale; a deviation confined to extreme "
    "inputs that a stabilising epsilon explains is a warning",
    guards="the forward equations the backward is derived from",
    failure_means="the forward computes another function (a wrong axis, a constructor argument ignored, the "
    "unbiased variance, overflow for large values, a float32 intermediate in a float64 run)",
)
def forward(trial: Trial) -> Outcome:
    view, values = trial.build()
    got = view.forward(values)
    r = forward_record(trial, view.name, values, got)
    if r.margin < MARGIN_FLOOR and got.shape == r.shape:
        # Near or over the line: rounding at the scale of the layer's constants is allowed too.
        eps = machine_eps(trial.case.dtype)
        allowance = constants_allowance(trial.reference_forward, values, eps, trial.case.seed, trial.kind.positive)
        allowance = allowance + argument_rounding(values, trial.reference_forward(values), eps)
        r = forward_record(trial, view.name, values, got, allowance=allowance)
    fit = explained_by_stabiliser(trial, values, got, r)
    if fit is None:
        return Outcome.from_records((r,))
    at = fit.shifted(values)
    shifted = replace(forward_record(trial, view.name, values, got, at), against=f"PyTorch reference at {fit.name} + ε")
    return Outcome.from_records((shifted,), (stabiliser_finding(fit, "forward", r.location),))


@prop(
    "finite",
    title="finite outputs and gradients",
    verifies="outputs and all gradients are finite everywhere in the kind's domain",
    guards="numerical stability of each step (max-subtraction in softmax, ε inside the square root)",
    failure_means="overflow (exp of a large logit), division by zero, log of zero",
)
def finite(trial: Trial) -> Outcome:
    view, values = trial.build()
    out = view.forward(values)
    found = []
    if not np.all(np.isfinite(out)):
        n = int((~np.isfinite(out)).sum())
        found.append(
            Finding(
                "finite", "fail", f"output has {n} non-finite entries", "finite values", location=(view.name, "out")
            )
        )
    grads = view.vjp(values, np.random.default_rng(trial.case.seed).standard_normal(out.shape))
    for k, g in grads.items():
        if g is not None and not np.all(np.isfinite(g)):
            n = int((~np.isfinite(g)).sum())
            found.append(
                Finding(
                    "finite",
                    "fail",
                    f"gradient of {k!r} has {n} non-finite entries",
                    "finite values",
                    location=(view.name, k),
                )
            )
    return Outcome.from_records(findings=tuple(found))


@prop(
    "module_contract",
    title="nn.Module contract",
    verifies="parameters are registered nn.Parameters with the documented initial values and receive .grad "
    "after backward",
    guards="that the optimiser will see and update the parameters the derivation differentiates",
    failure_means="a parameter stored as a plain tensor (never trained), a wrong initial value, a gradient that "
    "never reaches .grad",
    applies=lambda kind: None if kind.protocol == "module" else "only for torch.nn.Module kinds",
)
def module_contract(trial: Trial) -> Outcome:
    import torch

    layer = trial.construct()
    label = trial.subject.label
    params = dict(layer.named_parameters())
    if len(params) < len(trial.arrays[1]):  # no layout can place them: the parameters are not all registered
        observed = f"{len(params)} registered parameter(s) {sorted(params)}; the kind has {sorted(trial.arrays[1])}"
        finding = Finding("registered", "fail", observed, "every parameter an nn.Parameter", location=(label,))
        return Outcome.from_records(findings=(finding,))
    names = {k: trial.placed(k) for k in trial.arrays[1]}  # the layer's own names (layout)
    found = [
        Finding("registered", "fail", f"parameter {k!r} is not registered", "an nn.Parameter", location=(label, k))
        for k, n in names.items()
        if n not in params
    ]
    for k, value in trial.kind.init.items():
        if names.get(k) in params and not torch.all(params[names[k]].detach() == value):
            found.append(
                Finding(
                    "initial value",
                    "fail",
                    f"parameter {k!r} ({names[k]}) is not initialised to {value}",
                    str(value),
                    location=(label, k),
                )
            )
    if found:
        return Outcome.from_records(findings=tuple(found))
    x = torch.from_numpy(trial.arrays[0]["x"].astype(np.float64)).to(next(iter(params.values())).dtype)
    layer(x).sum().backward()
    found = [
        Finding(".grad", "fail", f"parameter {k!r} has no .grad after backward", "a .grad tensor", location=(label, k))
        for k, p in params.items()
        if p.grad is None
    ]
    return Outcome.from_records(findings=tuple(found))
