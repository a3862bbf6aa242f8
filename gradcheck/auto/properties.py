"""Properties of the auto check that need no oracle, and ``determinism``.

The checklist's own versions of these read the kind's PyTorch reference for their tolerances (its rounding noise)
or assume one input called ``x``. Here every tolerance comes from the layer itself: its spread under rounding-level
moves of its own values (:func:`gradcheck.engine.noise.perturbation_spread`), and, for float32, its measured
rounding noise confirmed in float64 (:func:`gradcheck.engine.noise.vjp_noise`). They are not registered in the
checklist's registry: :func:`gradcheck.auto.check_layer` runs them for auto kinds only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from gradcheck.auto.infer import AutoKind
from gradcheck.checklist.trial import Trial
from gradcheck.engine.noise import COTANGENT, perturbation_spread, vjp_noise
from gradcheck.engine.tolerances import machine_eps
from gradcheck.kinds import Kind
from gradcheck.properties.compare import compare
from gradcheck.properties.gradients import LINEARITY, linearity_data, own_linearity_noise
from gradcheck.properties.registry import Outcome, Property
from gradcheck.results import Finding, GradientResult
from gradcheck.verify import check_view
from gradcheck.view.base import present

__all__ = ["AUTO_PROPERTIES"]


def _auto(trial: Trial) -> AutoKind:
    kind = trial.kind
    assert isinstance(kind, AutoKind)
    return kind


def _cot(trial: Trial, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(trial.case.seed)
    return rng.standard_normal(shape).astype(trial.case.dtype).astype(np.float64)


def _vjp_spread(view: Any, values: dict, cot: np.ndarray, eps: float, seed: int) -> dict[str, np.ndarray]:
    """How much each gradient moves when every value and the cotangent move by ε (the layer's own rounding)."""

    def fn(v: dict) -> dict:
        c = v[COTANGENT]
        return present(view.vjp({k: x for k, x in v.items() if k != COTANGENT}, c))

    spread = perturbation_spread(fn, {**values, COTANGENT: cot}, eps, seed)
    return {k: s for k, s in spread.items() if s is not None}


# ---------------------------------------------------------------------------------------------------- interface


def interface(trial: Trial) -> Outcome:
    """Output shape (the batch axis follows the batch), output dtype, and a gradient of the right shape each."""
    kind = _auto(trial)
    view, values = trial.build()
    out = view.forward(values)
    batch = trial.case.shapes[kind.batched[0]][0] if kind.batched else None
    want = (batch, *kind.out_tail) if kind.out_follows_batch else kind.out_tail
    findings: list[Finding] = []
    where = (view.name, "interface")
    if tuple(out.shape) != tuple(want):
        findings.append(Finding("interface", "fail", f"output shape {out.shape}", f"{want}", location=where))
    # A NumPy layer that promotes float32 to float64 loses nothing (a warning); a torch layer must keep the dtype.
    level: Literal["warn", "fail"] = "warn" if kind.protocol == "numpy" else "fail"
    if out.dtype != np.dtype(trial.case.dtype):
        findings.append(Finding("interface", level, f"output dtype {out.dtype}", trial.case.dtype, location=where))
    grads = view.vjp(values, np.ones(out.shape))
    for k in view.names:
        g = grads.get(k)
        if g is None:
            if k in view.param_names:
                findings.append(Finding("interface", "fail", f"no gradient for parameter {k!r}", location=where))
            continue
        if g.shape != values[k].shape:
            findings.append(
                Finding(
                    "interface", "fail", f"gradient of {k!r} has shape {g.shape}", f"{values[k].shape}", location=where
                )
            )
        elif g.dtype != values[k].dtype:
            findings.append(
                Finding(
                    "interface", level, f"gradient of {k!r} has dtype {g.dtype}", f"{values[k].dtype}", location=where
                )
            )
    return Outcome.from_records(findings=tuple(findings))


# ------------------------------------------------------------------------------------ finite differences


def _fd(trial: Trial, which: str) -> Outcome:
    view, values = trial.build()
    names = view.input_names if which == "inputs" else view.param_names
    if not names:
        return Outcome("skip", reason=f"{view.name} has no {'inputs' if which == 'inputs' else 'parameters'}")
    seed = trial.case.seed % 2**31
    results = check_view(view, values, wrt=names, seed=seed, batch=trial.case.batch)
    if trial.case.dtype != "float64":
        results = [_float32_arbiter(trial, r) if r.status == "fail" else r for r in results]
    return Outcome.from_records(tuple(results))


def _float32_arbiter(trial: Trial, failed: GradientResult) -> GradientResult:
    """A float32 gradient off by more than the float32 bound: it passes only if the same case passes in float64
    and the float32 gradient agrees with the float64 one to float32 accuracy (:func:`dtype_parity`'s rule)."""
    name = failed.location[-1]
    view64, values64 = trial.build("float64")
    again = check_view(view64, values64, wrt=(name,), seed=trial.case.seed % 2**31, batch=trial.case.batch)
    if not again[0].passed:
        return failed
    parity = dtype_parity(trial)
    if parity.status == "error" or name in {r.location[-1] for r in parity.details if r.status != "pass"}:
        # Without an oracle, float32 accuracy is unknown (see dtype_parity): the gradient is right in float64.
        return replace(failed, status="warn", message=PRECISION)
    note = "float32 rounding at an ill-conditioned point: float64 passes and float32 agrees with it to float32 accuracy"
    return replace(failed, status="pass", message=note, diagnosis="")


def input_gradient(trial: Trial) -> Outcome:
    """Every input's gradient against finite differences."""
    return _fd(trial, "inputs")


def param_gradients(trial: Trial) -> Outcome:
    """Every parameter's gradient against finite differences."""
    return _fd(trial, "params")


# ------------------------------------------------------------------------------------ linearity and parity


def upstream_linearity(trial: Trial) -> Outcome:
    """vjp(a·g1 + b·g2) = a·vjp(g1) + b·vjp(g2), within the layer's own rounding of the three VJPs."""
    view, values = trial.build()
    cots, (v1, v2, v12) = linearity_data(view, values, trial.case.dtype, trial.case.seed)
    a, b = LINEARITY
    eps = machine_eps(trial.case.dtype)
    results = []
    for k in view.names:
        if not (k in v1 and k in v2 and k in v12):
            continue
        want = a * v1[k].astype(np.float64) + b * v2[k].astype(np.float64)
        noise = own_linearity_noise(view, values, cots, k, eps, trial.case.seed)
        noise = noise + eps * (abs(a) * np.abs(v1[k]) + abs(b) * np.abs(v2[k]))
        r = compare(v12[k], want, eps=eps, spread=noise, location=(view.name, "linearity", k), dtype=trial.case.dtype)
        results.append(replace(r, against="a·vjp(g1) + b·vjp(g2)"))
    return Outcome.from_records(tuple(results))


#: Why a float32 gradient beyond its bound is a warning without an oracle.
PRECISION = (
    "float32 loses accuracy here beyond what rounding the inputs explains; the float64 run is right. Without a "
    "reference the harness cannot tell a float32 bug from the rounding every float32 implementation makes at this "
    "point (a saturated gate whose 1 − σ rounds to 0): pass reference= to decide"
)


def dtype_parity(trial: Trial) -> Outcome:
    """The float32 run agrees with the float64 run within float32 accuracy measured on the layer itself.

    The output must agree (a fail otherwise). A gradient that does not is a warning: the tolerance sees the
    rounding of the inputs and the layer's own measured noise, not an intermediate that float32 rounds away
    (``1 − σ(v)`` at large ``v``), which only an oracle's own float32 run shows; the finite-difference properties
    decide whether the gradients are right.
    """
    v64, values64 = trial.build("float64")
    v32, values32 = trial.build("float32")
    out64 = v64.forward(values64)
    eps32 = machine_eps("float32")
    seed = trial.case.seed
    spread = perturbation_spread(v64.forward, values64, eps32, seed) + np.finfo(np.float32).tiny
    r = compare(
        v32.forward(values32),
        out64,
        eps=eps32,
        spread=spread,
        location=(v32.name, "float32", "output"),
        dtype="float32",
    )
    results = [replace(r, compared="output", against="float64 run")]
    cot = np.random.default_rng(seed).standard_normal(out64.shape).astype(np.float32).astype(np.float64)
    g32, g64 = present(v32.vjp(values32, cot)), present(v64.vjp(values64, cot))
    names = [k for k in v64.names if k in g32 and k in g64]
    if names:
        spreads = _vjp_spread(v64, values64, cot, eps32, seed)
        grads = [_parity(v32, k, g32[k], g64[k], spreads[k]) for k in names]
        if any(not x.passed for x in grads):
            # The layer's own float32 rounding noise, accepted only as far as its float64 run amplifies the same.
            own = vjp_noise(v32.vjp, values32, cot, "float32", seed)
            grads = [_parity(v32, k, g32[k], g64[k], spreads[k] + own.get(k, 0.0)) for k in names]
        results += [replace(g, status="warn", message=PRECISION) if g.status == "fail" else g for g in grads]
    return Outcome.from_records(tuple(results))


def _parity(view: Any, k: str, got: np.ndarray, want: np.ndarray, spread: Any) -> GradientResult:
    # float32 cannot hold magnitudes below its smallest normal number: a float64 gradient of 1e-128 (saturated
    # gates at large inputs) is 0 in any float32 implementation.
    spread = spread + np.finfo(np.float32).tiny
    r = compare(
        got, want, eps=machine_eps("float32"), spread=spread, location=(view.name, "float32", k), dtype="float32"
    )
    return replace(r, against="float64 run")


# ------------------------------------------------------------------------------------------ state, determinism


def _moved(trial: Trial, values: dict, names: tuple[str, ...]) -> dict:
    return {k: ((-0.7 * v[::-1]).astype(v.dtype) if k in names and v.ndim else v) for k, v in values.items()}


def state(trial: Trial) -> Outcome:
    """forward(x1), forward(x2), backward gives the gradients at x2, twice; as a fresh instance does."""
    view, values = trial.build()
    if view.probe_interleaved is None:
        return Outcome("skip", reason=f"no state probe for protocol {view.protocol}")
    first = _moved(trial, values, view.input_names)
    fresh_view, _ = trial.build()
    out = fresh_view.forward(values)
    cot = _cot(trial, out.shape)
    fresh = present(fresh_view.vjp(values, cot))
    once, twice = (present(g) for g in view.probe_interleaved(first, values, cot))
    eps = machine_eps(trial.case.dtype)
    results = []
    for k, want in fresh.items():
        for label, got in (("after another forward", once.get(k)), ("on a second backward", twice.get(k))):
            if got is None:
                continue
            r = compare(
                got,
                want,
                eps=eps,
                spread=eps * np.abs(want),
                location=(view.name, "state", label, k),
                dtype=trial.case.dtype,
            )
            results.append(replace(r, against="fresh instance"))
    return Outcome.from_records(tuple(results))


def determinism(trial: Trial) -> Outcome:
    """Two identical calls give bitwise identical outputs and gradients."""
    view, values = trial.build()
    out1, out2 = view.forward(values), view.forward(values)
    cot = _cot(trial, np.shape(out1))
    g1, g2 = present(view.vjp(values, cot)), present(view.vjp(values, cot))
    findings = []
    for what, a, b in [("output", out1, out2), *((f"gradient of {k!r}", g1[k], g2.get(k)) for k in g1)]:
        if b is None or not np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True):
            diff = (
                float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if b is not None else None
            )
            findings.append(
                Finding(
                    "determinism",
                    "fail",
                    f"two identical calls give different {what}"
                    + (f" (by up to {diff:.3g})" if diff is not None else ""),
                    "bitwise identical results",
                    error=diff,
                    tolerance=0.0,
                    location=(view.name, "determinism", what),
                    explanation="randomness drawn per call (fix the seed or the mask) or state carried between calls",
                )
            )
    return Outcome.from_records(findings=tuple(findings)) if findings else Outcome("pass")


# ------------------------------------------------------------------------------------------------ batch semantics


def batch_semantics(trial: Trial) -> Outcome:
    """What the probe found, checked on every case: per-sample independence or the loss's 1/B (or sum)."""
    kind = _auto(trial)
    check = _SEMANTICS.get(kind.found_semantics)
    if check is None:
        return Outcome(
            "skip", reason=f"no generic batch property for a layer that is {kind.found_semantics.replace('_', '-')}"
        )
    return Outcome.from_records(tuple(check(trial, kind)))


def _rows(values: dict, batched: tuple[str, ...], b: int) -> dict:
    return {k: (v[b : b + 1] if k in batched else v) for k, v in values.items()}


def _cmp(
    trial: Trial, got: Any, want: Any, spread: Any, what: str, k: str, compared: str = "gradient"
) -> GradientResult:
    r = compare(
        got, want, eps=machine_eps(trial.case.dtype), spread=spread, location=("batch", what, k), dtype=trial.case.dtype
    )
    return replace(r, compared=compared, against=what)


def _per_sample(trial: Trial, kind: AutoKind) -> list[GradientResult]:
    view, values = trial.build()
    eps = machine_eps(trial.case.dtype)
    batched = kind.batched
    n = values[batched[0]].shape[0]
    out = view.forward(values)
    spread = perturbation_spread(view.forward, values, eps, trial.case.seed)
    perm = np.random.default_rng(trial.case.seed).permutation(n)
    permuted = {k: (v[perm] if k in batched else v) for k, v in values.items()}
    results = [_cmp(trial, view.forward(permuted), out[perm], spread[perm], "permuted batch", "output", "output")]
    alone = np.concatenate([view.forward(_rows(values, batched, b)) for b in range(n)])
    results.append(_cmp(trial, alone, out, spread, "each sample alone", "output", "output"))
    cot = _cot(trial, out.shape)
    full = present(view.vjp(values, cot))
    noise = _vjp_spread(view, values, cot, eps, trial.case.seed)
    singles = [present(view.vjp(_rows(values, batched, b), cot[b : b + 1])) for b in range(n)]
    for k in full:
        if any(k not in s for s in singles):
            continue
        parts = [s[k].astype(np.float64) for s in singles]
        per = k in batched
        want = np.concatenate(parts) if per else np.sum(parts, axis=0)
        mag = np.abs(want) if per else np.sum([np.abs(p) for p in parts], axis=0)
        what = "gradient of each sample alone" if per else "sum of per-sample gradients"
        results.append(_cmp(trial, full[k], want, 4 * eps * mag * n + noise.get(k, 0.0), what, k))
    return results


def _loss(trial: Trial, kind: AutoKind) -> list[GradientResult]:
    view, values = trial.build()
    eps = machine_eps(trial.case.dtype)
    batched = kind.batched
    n = values[batched[0]].shape[0]
    factor = 1.0 / n if kind.found_semantics == "loss_mean" else 1.0
    how = "mean" if factor != 1.0 else "sum"
    losses = np.array([float(np.squeeze(view.forward(_rows(values, batched, b)))) for b in range(n)])
    total = float(np.squeeze(view.forward(values)))
    results = [
        _cmp(
            trial,
            np.asarray(total),
            np.asarray(losses.sum() * factor),
            np.asarray(4 * eps * np.abs(losses).sum()),
            f"{how} of per-sample losses",
            "loss",
            "output",
        )
    ]
    one = np.ones(np.shape(view.forward(values)))
    full = present(view.vjp(values, one))
    singles = [present(view.vjp(_rows(values, batched, b), one)) for b in range(n)]
    for k in full:
        if any(k not in s for s in singles):
            continue
        parts = [s[k].astype(np.float64) * factor for s in singles]
        want = np.concatenate(parts) if k in batched else np.sum(parts, axis=0)
        mag = np.abs(want) if k in batched else np.sum([np.abs(p) for p in parts], axis=0)
        results.append(_cmp(trial, full[k], want, 4 * eps * mag * n, f"per-sample gradients × {factor:g}", k))
    return results


_SEMANTICS: dict[str, Callable[[Trial, AutoKind], list[GradientResult]]] = {
    "per_sample": _per_sample,
    "loss_mean": _loss,
    "loss_sum": _loss,
}


def double_backward(trial: Trial) -> Outcome:
    """The checklist's double backward, as a warning: the layer never declared that it supports it.

    A Function whose backward builds a graph (it multiplies by saved tensors) may still give wrong second
    derivatives, when what it saved was computed in forward without a graph. That is a finding for whoever needs
    double backward (Hessian-vector products, gradient penalties), not a wrong gradient.
    """
    from gradcheck.properties import load

    outcome = load()["double_backward"].fn(trial)
    if outcome.status != "fail":
        return outcome
    finding = Finding(
        "double_backward",
        "warn",
        "second derivatives through the backward disagree with finite differences of the backward",
        "a differentiable backward, or one marked @once_differentiable (torch then refuses double backward)",
        explanation="tensors saved in forward carry no graph, so their dependence on the inputs is lost; the "
        "first-order gradients are checked by the other properties",
    )
    return replace(outcome, status="warn", findings=(*outcome.findings, finding))


def _double(kind: Kind) -> str | None:
    if kind.double_backward:
        return None
    return "the backward builds no graph (a NumPy module, an nn.Module, or a Function marked @once_differentiable)"


def _has_params(kind: Kind) -> str | None:
    return None if kind.has_params else "the layer has no parameters"


AUTO_PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property(
            "interface",
            "interface",
            "output shape follows the batch, output and gradients keep the input's dtype, every parameter gets a "
            "gradient of its shape",
            "the bookkeeping of the derivation",
            "a gradient of the wrong shape, a missing parameter gradient, a dtype silently changed",
            interface,
        ),
        Property(
            "input_gradient",
            "input gradients vs finite differences",
            "every input's gradient equals central differences (derived steps and tolerances)",
            "the chain rule to each input",
            "a wrong local Jacobian",
            input_gradient,
            cost=3,
        ),
        Property(
            "param_gradients",
            "parameter gradients vs finite differences",
            "every parameter's gradient equals central differences",
            "the derivatives with respect to the parameters",
            "a mean where a sum is due, a transposed or stale gradient",
            param_gradients,
            applies=_has_params,
            cost=3,
        ),
        Property(
            "upstream_linearity",
            "backward is linear in the upstream gradient",
            "vjp(a·g1 + b·g2) = a·vjp(g1) + b·vjp(g2), within the layer's own rounding",
            "that backward multiplies the upstream gradient by a Jacobian",
            "the upstream gradient ignored, squared, normalised or mixed with state",
            upstream_linearity,
        ),
        Property(
            "state",
            "state",
            "forward(x1), forward(x2), backward gives the gradients at x2, twice, as a fresh instance does",
            "that backward uses the cache of its own forward",
            "a stale cache, gradients accumulated across calls",
            state,
        ),
        Property(
            "batch_semantics",
            "batch semantics",
            "what the probe found holds on every case: per-sample outputs and gradients are those of each sample "
            "alone (parameter gradients their sum); a loss's gradient carries its 1/B (or not, for a sum)",
            "which sums run over the batch",
            "samples leak into each other, a 1/B missing or applied twice",
            batch_semantics,
            cost=2,
        ),
        Property(
            "determinism",
            "determinism",
            "two identical calls give bitwise identical outputs and gradients",
            "that finite differences and every other property see one function",
            "randomness drawn per call, state carried between calls",
            determinism,
        ),
        Property(
            "dtype_parity",
            "float32 and float64 agree",
            "the float32 run agrees with the float64 run within float32 accuracy measured on the layer itself",
            "that the implementation is dtype-generic and stable in single precision",
            "float32 overflow or cancellation, a hard-coded dtype",
            dtype_parity,
            cost=2,
        ),
        Property(
            "double_backward",
            "double backward and forward mode",
            "for a Function whose backward builds a graph, the gradient of the backward matches finite differences "
            "of the backward (a warning where it does not); a jvp, if defined, is checked too",
            "second-order uses: Hessian-vector products, gradient penalties",
            "saved tensors without a graph, or a wrong jvp",
            double_backward,
            applies=_double,
            cost=3,
        ),
    )
}
