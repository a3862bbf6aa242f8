"""Gradient properties: finite differences, PyTorch autograd, linearity, dtype and device parity, higher order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.noise import COTANGENT, perturbation_spread, split_noise, vjp_noise
from gradcheck.engine.policy import MARGIN_FLOOR
from gradcheck.engine.tolerances import machine_eps
from gradcheck.properties.compare import (
    argument_rounding,
    compare,
    constants_allowance,
    output_reading,
    reference_spread,
)
from gradcheck.properties.registry import Outcome, prop
from gradcheck.properties.stabilised import forward_stabiliser, stabiliser_finding, vjp_stabiliser
from gradcheck.results import Finding, GradientResult
from gradcheck.verify import NO_GRADIENT, check_view
from gradcheck.view.base import present


def _drop(values: dict) -> dict:
    return {k: v for k, v in values.items() if k != COTANGENT}


def _outcome(results: list[GradientResult], findings: list[Finding] | tuple[Finding, ...] = ()) -> Outcome:
    """The records as an outcome: skip when nothing was compared; a failure outranks a crash in another record."""
    if not findings and all(r.status == "skip" for r in results):
        reason = "; ".join(r.message for r in results) or "nothing to check"
        return Outcome("skip", details=tuple(results), reason=reason)
    out = Outcome.from_records(tuple(results), tuple(findings))
    if out.status == "error" and any(r.status == "fail" for r in results):
        return replace(out, status="fail")
    return out


def undecided(r: GradientResult) -> bool:
    """A comparison that failed, or passed with less than ``MARGIN_FLOOR`` to spare: the measured rounding of the
    computation decides it (the first tolerance counts ε per term and cannot see cancellation between terms, nor a
    backward that reads the forward's rounded output, like a saturated softmax's ``s(1 − s)``)."""
    return r.status == "fail" or (r.status == "pass" and r.margin < MARGIN_FLOOR)


def _returns_dx(trial: Trial) -> bool:
    # The kinds' contracts return dL/dx, except the 2018 MLP skeleton's network, whose backward returns None.
    return bool(getattr(trial.kind, "returns_dx", not trial.kind.network))


def _no_gradient(trial: Trial, r: GradientResult, is_input: bool) -> Finding:
    """``backward`` returned None for an argument: a failure where the contract returns its gradient."""
    name = r.location[-1]
    allowed = is_input and not _returns_dx(trial)
    return Finding(
        "gradient returned",
        "warn" if allowed else "fail",
        f"backward returned None for {name!r}: its gradient was not checked",
        f"the gradient of {name!r}" if not allowed else "",
        location=r.location,
        explanation="the network's contract returns no input gradient (the 2018 MLP skeleton)" if allowed else "",
    )


def _fd(trial: Trial, which: str) -> Outcome:
    view, values = trial.build()
    names = view.input_names if which == "inputs" else view.param_names
    seed = trial.case.seed % 2**31
    results = check_view(view, values, wrt=names, seed=seed, batch=trial.case.batch, positive=trial.kind.positive)
    if trial.case.dtype != "float64":
        results = [_float32_arbiter(trial, r) if undecided(r) else r for r in results]
    missing = [_no_gradient(trial, r, which == "inputs") for r in results if r.mode == NO_GRADIENT]
    return _outcome(results, missing)


def _float32_arbiter(trial: Trial, failed: GradientResult) -> GradientResult:
    """A float32 gradient that misses the finite differences by more than the float32 bound allows, or comes
    within MARGIN_FLOOR of it.

    Two questions, each answered where it belongs: is the derivation right — the same case in float64 must pass
    the finite differences at float64 tolerance; and is the float32 result as accurate as float32 can be at this
    point — it must agree with the float64 one under :func:`dtype_parity`'s tolerance (the oracle's own float32
    error, the rounding of cancelling terms, the layer's measured float32 noise). Both yes: a pass, with a note;
    otherwise the record stands (a failure stays one; a narrow pass keeps its own numbers).
    """
    name = failed.location[-1]
    view64, values64 = trial.build("float64")
    seed = trial.case.seed % 2**31
    again = check_view(view64, values64, wrt=(name,), seed=seed, batch=trial.case.batch, positive=trial.kind.positive)
    if not again[0].passed or not _float32_matches_float64(trial, [name]):
        return failed
    note = (
        "float32 rounding at an ill-conditioned point: float64 passes (this record) and float32 agrees with it to "
        f"float32 accuracy (its own difference {failed.max_abs_err:.3g} "
        f"{'exceeds' if failed.status == 'fail' else 'comes close to'} the a-priori float32 bound "
        f"{failed.tolerance:.3g})"
    )
    # The record that decided is the float64 one: its numbers, and so its margin, are what the verdict rests on.
    return replace(again[0], status="pass", message=note)


@prop(
    "input_gradient",
    title="input gradient vs finite differences",
    verifies="dL/dx from backward equals central differences (Richardson-extrapolated, steps and tolerances "
    "derived from the dtype and the magnitude of x); kinks stepped around, subgradients accepted at them",
    guards="the chain-rule step that sends the upstream gradient to the layer's input",
    failure_means="a wrong local Jacobian: a factor, a sign, a transpose, a missing term, one branch wrong",
    cost=3,
)
def input_gradient(trial: Trial) -> Outcome:
    return _fd(trial, "inputs")


@prop(
    "param_gradients",
    title="parameter gradients vs finite differences",
    verifies="every parameter's gradient equals central differences, with parameters drawn at a realistic "
    "scale (never the 1e-4 initialisation that hides errors under an absolute tolerance)",
    guards="the derivatives with respect to weights, biases, γ and β (sums over the batch)",
    failure_means="a mean where a sum is due (or the reverse), a transposed weight gradient, a gradient "
    "computed from a stale cache",
    applies=lambda kind: None if kind.has_params else "the kind has no parameters",
    cost=3,
)
def param_gradients(trial: Trial) -> Outcome:
    view, _ = trial.build()
    if not view.param_names:
        return Outcome("skip", reason=f"{view.name} has no parameters")
    return _fd(trial, "params")


def _autograd_one(
    trial: Trial, view: Any, values: dict, name: str, got: np.ndarray, want: np.ndarray, spread: np.ndarray
) -> GradientResult:
    r = compare(
        got,
        want,
        eps=machine_eps(trial.case.dtype),
        spread=spread,
        location=(view.name, "autograd", name),
        dtype=trial.case.dtype,
        seed=trial.case.seed,
        against="PyTorch reference",
    )
    if r.passed:
        return r
    # At kinks and ties autograd picks one subgradient; any other valid one passes the kink-aware FD check.
    fd = check_view(
        view, values, wrt=(name,), mode="elementwise", seed=trial.case.seed % 2**31, positive=trial.kind.positive
    )[0]
    if fd.status == "kink":
        return GradientResult(
            (view.name, "autograd", name),
            "kink",
            mode="compare",
            n_kinks=fd.n_kinks,
            diagnosis="differs from autograd only at kinks, where any subgradient is valid",
            against="PyTorch reference",
        )
    return r


@prop(
    "autograd_agreement",
    title="agreement with PyTorch autograd",
    verifies="every gradient equals autograd's gradient of the PyTorch oracle at the same point and cotangent: "
    "tight, no finite-difference noise; where they differ only at kinks or ties, any valid subgradient passes",
    guards="the whole backward at once, to rounding accuracy",
    failure_means="the analytic gradient differs from the reference derivative (small errors finite "
    "differences cannot resolve show here)",
    cost=2,
)
def autograd_agreement(trial: Trial) -> Outcome:
    view, values = trial.build()
    out = view.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape).astype(trial.case.dtype)
    got = present(view.vjp(values, cot))
    names = [k for k in view.names if k in got]
    if not names:
        return Outcome("skip", reason=f"{view.name} returns no gradients to compare")
    ref = trial.reference_vjp(values, cot.astype(np.float64))
    spreads = _vjp_spread(trial, values, cot, machine_eps(trial.case.dtype))
    # In float32, PyTorch's own float32 error is part of what float32 accuracy means.
    own = trial.reference_noise(values, cot)
    eps = machine_eps(trial.case.dtype)
    ref_out = trial.reference_forward(values)
    results = [
        _autograd_one(
            trial,
            view,
            values,
            k,
            got[k],
            ref[k],
            spreads[k] + own[k] + output_reading(values[k], out, ref_out, cot, eps),
        )
        for k in names
    ]
    if any(undecided(r) for r in results):
        # Another correct order of the same sums rounds differently: allow the oracle's own rounding of them.
        noise = _oracle_split_noise(trial, values, cot, machine_eps(trial.case.dtype))
        mine = layer_noise(view, values, cot, names, trial.case.dtype, trial.case.seed)
        results = [
            r
            if not undecided(r)
            else _autograd_one(trial, view, values, k, got[k], ref[k], spreads[k] + own[k] + noise[k] + mine[k])
            for k, r in zip(names, results, strict=True)
        ]
    if any(r.status == "fail" for r in results):
        return _stabilised(trial, view, values, cot, got, names, results)
    return _outcome(results)


def _vjp_spread(trial: Trial, values: dict, cot: np.ndarray, eps: float, vjp: Any = None) -> dict:
    """How far the VJP (default: the oracle's) moves when its values move by ε of the computation's scale and the
    cotangent by ε of each element (it is data): cancellation inside the backward shows up as sensitivity to it."""
    vjp = vjp or trial.reference_vjp
    return reference_spread(
        lambda v: vjp(_drop(v), v[COTANGENT]),
        {**values, COTANGENT: np.asarray(cot, dtype=np.float64)},
        eps,
        trial.case.seed,
        trial.kind.positive,
        scales={COTANGENT: np.abs(np.asarray(cot, dtype=np.float64))},
    )


def _stabilised(
    trial: Trial, view: Any, values: dict, cot: np.ndarray, got: dict, names: list[str], results: list
) -> Outcome:
    """A warning instead of a failure when the forward shows a stabilising epsilon (consistent with the backward,
    see :func:`~gradcheck.properties.contract.explained_by_stabiliser`) and the gradients are the reference's at
    the shifted point."""
    fit = forward_stabiliser(trial) or vjp_stabiliser(trial, values, cot, got, names)
    if fit is None:
        return _outcome(results)
    at = fit.shifted(values)
    eps = machine_eps(trial.case.dtype)
    ref = trial.reference_vjp(at, cot.astype(np.float64))
    spreads = _vjp_spread(trial, at, cot, eps)
    own = trial.reference_noise(at, cot)
    shifted = [
        replace(
            _autograd_one(trial, view, values, k, got[k], ref[k], spreads[k] + own[k]),
            against=f"PyTorch reference at {fit.name} + ε",
        )
        for k in names
    ]
    if any(r.status == "fail" for r in shifted):
        return _outcome(results)
    return _outcome(shifted, (stabiliser_finding(fit, "autograd_agreement", (view.name, "autograd")),))


def layer_noise(view: Any, values: dict, cot: np.ndarray, names: list[str], dtype: str, seed: int) -> dict:
    """The layer's own measured rounding noise of each VJP in ``dtype`` (:func:`gradcheck.engine.noise.vjp_noise`:
    its spread under ε-moves of every value and of the cotangent, accepted only as far as its float64 run shows
    the same amplification, so a low-precision bug cannot hide in it); one level per array."""

    def vjp(v: dict, c: np.ndarray) -> dict:
        g = present(view.vjp(v, c))
        return {k: np.asarray(g[k], dtype=np.float64) for k in names if k in g}

    levels = vjp_noise(vjp, values, cot, dtype, seed)
    return {k: np.full(np.shape(values[k]), levels.get(k, 0.0)) for k in names}


def _oracle_split_noise(trial: Trial, values: dict, cot: np.ndarray, eps: float) -> dict:
    """The float64 rounding of the VJP (see :func:`split_noise`), scaled to the precision ``eps``.

    The oracle's always. For a lower precision also the layer's own float64 run: its algorithm rounds the same
    terms at ``eps`` (batch norm's long backward at B = 2, where the oracle's compact one cancels exactly), and
    its float64 run is held to the oracle's float64 rounding by this property, its linearity in the cotangent by
    ``upstream_linearity``, so nothing wrong can hide in that allowance.
    """
    scale = eps / machine_eps("float64")
    v64 = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    noise = split_noise(lambda c: trial.reference_vjp(v64, c), cot, trial.case.seed)
    if eps > machine_eps("float64"):
        view, _ = trial.build("float64")
        own = split_noise(lambda c: view.vjp(v64, c), cot, trial.case.seed)
        noise = {k: np.maximum(v, own[k]) if own.get(k) is not None else v for k, v in noise.items()}
    return {k: v * scale for k, v in noise.items()}


#: The coefficients of the linearity check ``vjp(a·g1 + b·g2) = a·vjp(g1) + b·vjp(g2)``.
LINEARITY = (2.0, -0.5)


def linearity_data(view: Any, values: dict, dtype: str, seed: int) -> tuple[tuple[np.ndarray, ...], tuple[dict, ...]]:
    """Two upstream gradients drawn in ``dtype`` and their combination ``a·g1 + b·g2`` (:data:`LINEARITY`), and
    the layer's VJPs of the three."""
    out = view.forward(values)
    rng = np.random.default_rng(seed)
    g1, g2 = (rng.standard_normal(out.shape).astype(dtype).astype(np.float64) for _ in range(2))
    a, b = LINEARITY
    cots = (g1, g2, a * g1 + b * g2)
    return cots, tuple(present(view.vjp(values, g)) for g in cots)


def own_linearity_noise(
    view: Any, values: dict, cots: tuple[np.ndarray, ...], name: str, eps: float, seed: int
) -> np.ndarray:
    """The layer's own rounding of the three VJPs of the linearity check: how far each moves when its upstream
    gradient moves by ε (a nonlinear use of the upstream gradient is not excused: it is of order ε, the
    nonlinearity of order 1)."""

    def vjp_of(v: dict) -> np.ndarray:
        return present(view.vjp(values, v[COTANGENT]))[name]

    return sum(perturbation_spread(vjp_of, {COTANGENT: g}, eps, seed) for g in cots)


@prop(
    "upstream_linearity",
    title="backward is linear in the upstream gradient",
    verifies="backward(a·g1 + b·g2) = a·backward(g1) + b·backward(g2) for every returned gradient",
    guards="that backward multiplies the upstream gradient by a Jacobian and does nothing else with it",
    failure_means="the upstream gradient is ignored, squared, clipped, normalised, or mixed with state",
    applies=lambda kind: "a loss takes no upstream gradient" if kind.protocol == "numpy_loss" else None,
)
def upstream_linearity(trial: Trial) -> Outcome:
    view, values = trial.build()
    (g1, g2, g12), (v1, v2, v12) = linearity_data(view, values, trial.case.dtype, trial.case.seed)
    a, b = LINEARITY
    eps = machine_eps(trial.case.dtype)
    ref_noise = [trial.reference_noise(values, g) for g in (g1, g2, g12)]
    # The oracle's split noise only: the layer's own would excuse the very nonlinearity this property looks for.
    v64 = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    oracle = [
        {
            k: n * (eps / machine_eps("float64"))
            for k, n in split_noise(lambda c: trial.reference_vjp(v64, c), g, trial.case.seed).items()
        }
        for g in (g1, g2, g12)
    ]
    split = {k: [o.get(k, 0.0) for o in oracle] for k in oracle[0]}
    refs = [trial.reference_vjp(v64, g) for g in (g1, g2, g12)]
    results = []
    for k in view.names:
        if k not in v12 or k not in v1 or k not in v2:
            continue
        want = a * v1[k].astype(np.float64) + b * v2[k].astype(np.float64)
        noise = own_linearity_noise(view, values, (g1, g2, g12), k, eps, trial.case.seed)
        noise = noise + abs(a) * ref_noise[0].get(k, 0) + abs(b) * ref_noise[1].get(k, 0) + ref_noise[2].get(k, 0)
        if k in split:  # the oracle's rounding of the same (cancelling) terms; the oracle itself is linear
            noise = noise + abs(a) * split[k][0] + abs(b) * split[k][1] + split[k][2]
        # Where the gradient is exactly zero for every cotangent (layer norm of one feature), the layer's values are
        # rounding residues of cancelling terms: linearity says nothing about them (autograd_agreement holds them
        # to the oracle's zero), so they are allowed as they are.
        zero = np.all([np.asarray(r.get(k, 1.0)) == 0 for r in refs], axis=0)
        residue = abs(a) * np.abs(v1[k]) + abs(b) * np.abs(v2[k]) + np.abs(v12[k])
        noise = noise + np.where(zero, residue, 0.0)
        where = (view.name, "linearity", k)
        r = compare(
            v12[k], want, eps=eps, spread=noise, location=where, dtype=trial.case.dtype, against="a·vjp(g1) + b·vjp(g2)"
        )
        results.append(r)
    return _outcome(results)


@prop(
    "dtype_parity",
    title="float32 and float64 agree",
    verifies="the float32 run's output and gradients agree with the float64 run within float32 accuracy "
    "(tolerance from the float64 oracle's sensitivity to float32 rounding)",
    guards="that the implementation is dtype-generic and stable in single precision",
    failure_means="float32 overflow or cancellation, a hard-coded float64 buffer, a dtype-dependent branch",
    cost=2,
)
def dtype_parity(trial: Trial) -> Outcome:
    v64, values64 = trial.build("float64")
    v32, values32 = trial.build("float32")
    out64 = v64.forward(values64)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out64.shape).astype(np.float32)
    eps32 = machine_eps("float32")
    results = []

    def forward64(v: dict) -> np.ndarray:
        return v64.forward(v)

    spread = reference_spread(forward64, values64, eps32, trial.case.seed, trial.kind.positive)
    spread = spread + ref32_forward_error(trial, values64)
    out32 = v32.forward(values32)
    where = (v32.name, "float32 vs float64", "forward")
    kw: dict[str, Any] = {"eps": eps32, "location": where, "dtype": "float32", "compared": "output"}
    r = compare(out32, out64, spread=spread, against="float64 run", **kw)
    if r.margin < MARGIN_FLOOR and out32.shape == out64.shape:
        # The float32 run's rounding at the scale of its constants (α(eˣ − 1) keeps ε32·α of eˣ ≈ 1).
        extra = constants_allowance(forward64, values64, eps32, trial.case.seed, trial.kind.positive)
        extra = extra + argument_rounding(values64, out64, eps32)
        r = compare(out32, out64, spread=spread + extra, against="float64 run", **kw)
    results.append(r)
    g32, g64 = present(v32.vjp(values32, cot.astype(np.float64))), present(v64.vjp(values64, cot.astype(np.float64)))
    # PyTorch's own float32-vs-float64 gap is float32 accuracy for this problem (ill-conditioned algorithms).
    ref32 = Trial(trial.subject, replace(trial.case, dtype="float32"))
    own = ref32.reference_noise(values64, cot)
    names = [k for k in v64.names if k in g32 and k in g64]

    def vjp64(v: dict, c: np.ndarray) -> Any:
        return v64.vjp(v, c)

    spreads = _vjp_spread(trial, values64, cot, eps32, vjp64) if names else {}
    grads = [
        compare(
            g32[k],
            g64[k],
            eps=eps32,
            spread=spreads[k] + own.get(k, 0.0),
            location=(v32.name, "float32 vs float64", k),
            dtype="float32",
            against="float64 run",
        )
        for k in names
    ]
    if any(undecided(r) for r in grads):
        # Sums that cancel to far below their terms round at ε32 of the terms, as the oracle's own rounding shows.
        noise = _oracle_split_noise(
            Trial(trial.subject, replace(trial.case, dtype="float64")), values64, cot.astype(np.float64), eps32
        )
        mine = layer_noise(v32, values32, cot, names, "float32", trial.case.seed)
        grads = [
            compare(
                g32[k],
                g64[k],
                eps=eps32,
                spread=spreads[k]
                + own.get(k, 0.0)
                + noise.get(k, 0.0)
                + mine[k]
                + output_reading(values64[k], out32, out64, cot, eps32),
                location=(v32.name, "float32 vs float64", k),
                dtype="float32",
                against="float64 run",
            )
            for k in names
        ]
    return _outcome(results + grads)


def _float32_matches_float64(trial: Trial, names: list[str]) -> bool:
    f32 = Trial(trial.subject, replace(trial.case, dtype="float32"))
    outcome = dtype_parity(f32)
    bad = {r.location[-1] for r in outcome.details if not r.passed}
    return outcome.status != "error" and not (bad & set(names))


def ref32_forward_error(trial: Trial, values: dict) -> Any:
    """PyTorch's own float32 forward error at ``values``."""
    return Trial(trial.subject, replace(trial.case, dtype="float32")).reference_noise(values)


@prop(
    "double_backward",
    title="double backward and forward mode",
    verifies="for Functions that support it, the gradient of the backward (a gradgradcheck equivalent) matches "
    "finite differences of the backward; a Function defining jvp has its forward-mode derivative checked too",
    guards="second-order uses: Hessian-vector products, gradient penalties, meta-learning",
    failure_means="a backward built from detached tensors or in-place ops, or a wrong jvp",
    applies=lambda kind: None if kind.double_backward else "the kind does not declare double backward",
    cost=3,
)
def double_backward(trial: Trial) -> Outcome:
    from gradcheck.properties.higher_order import DetachedBackward, check_double_backward

    try:
        return _outcome(check_double_backward(trial))
    except DetachedBackward as exc:
        where = (getattr(trial.subject.target, "__name__", "Function"), "double backward")
        finding = Finding(
            "double backward", "fail", str(exc), "a backward built from differentiable operations", location=where
        )
        return Outcome.from_records(findings=(finding,))


@prop(
    "device_parity",
    title="CUDA agrees with CPU",
    verifies="forward and every gradient on CUDA agree with the CPU run",
    guards="device-specific kernels and implicit host/device copies",
    failure_means="a CUDA path that computes something else (or in another precision)",
    applies=lambda kind: None if kind.protocol in ("function", "module") else "NumPy layers run on the CPU only",
)
def device_parity(trial: Trial) -> Outcome:
    import torch

    if not torch.cuda.is_available():
        return Outcome("skip", reason="CUDA is not available on this machine (torch.cuda.is_available() is False)")
    cpu, values = trial.build(device="cpu")
    cuda, _ = trial.build(device="cuda")
    out = cpu.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape)
    eps = machine_eps(trial.case.dtype)
    # Two devices sum in different orders: the measured rounding noise of the computation is the allowance.
    results = [
        compare(
            cuda.forward(values),
            out,
            eps=eps,
            spread=trial.reference_noise(values),
            location=(cpu.name, "cuda vs cpu", "forward"),
            dtype=trial.case.dtype,
            compared="output",
            against="CPU run",
        )
    ]
    g_cpu, g_cuda = present(cpu.vjp(values, cot)), present(cuda.vjp(values, cot))
    noise = trial.reference_noise(values, cot)
    for k, g in g_cpu.items():
        if k in g_cuda:
            results.append(
                compare(
                    g_cuda[k],
                    g,
                    eps=eps,
                    spread=noise.get(k, 0.0),
                    location=(cpu.name, "cuda vs cpu", k),
                    dtype=trial.case.dtype,
                    against="CPU run",
                )
            )
    return _outcome(results)
