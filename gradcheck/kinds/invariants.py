"""Invariants of particular kinds: each takes a trial and returns the :class:`~gradcheck.results.Finding`s
it found (empty if none).

Tolerances are ``κ·ε`` of the trial's dtype (κ = :data:`~gradcheck.engine.policy.INVARIANT_SAFETY`) times the
scale of the computation involved (the largest logit of a row, the magnitude of x, of the upstream gradient);
the invariants hold exactly in exact arithmetic, so nothing here is tuned to a layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gradcheck.engine.policy import INVARIANT_SAFETY
from gradcheck.engine.tolerances import machine_eps
from gradcheck.results import Finding

if TYPE_CHECKING:
    from gradcheck.checklist.trial import Trial

__all__ = [
    "batch_shift_invariant",
    "batchnorm_standardises",
    "elementwise_identity_on_positive",
    "linear_in_x",
    "loss_nonnegative",
    "pool_passes_upstream_once",
    "rows_sum_to_one",
    "sample_shift_invariant",
    "softmax_shift_invariant",
]

KAPPA = INVARIANT_SAFETY


def _eps(trial: Trial) -> float:
    return machine_eps(trial.case.dtype)


def _report(name: str, err: float, tol: float, what: str, expected: str = "") -> list[Finding]:
    if err <= tol:
        return []
    return [Finding(name, "fail", what, expected, error=err, tolerance=tol, location=("invariants", name))]


def elementwise_identity_on_positive(trial: Trial) -> list[Finding]:
    """y = x wherever x > 0 (ReLU, LeakyReLU and ELU all pass positive inputs through)."""
    view, values = trial.build()
    x = values["x"]
    y = view.forward(values)
    pos = x > 0
    err = float(np.max(np.abs(y[pos] - x[pos]), initial=0.0))
    return _report(
        "identity on x > 0",
        err,
        KAPPA * _eps(trial) * float(np.max(np.abs(x), initial=1.0)),
        "output differs from the input where x > 0",
    )


def rows_sum_to_one(trial: Trial) -> list[Finding]:
    """Softmax rows sum to 1 and are non-negative.

    Tolerance per row ``κ·ε·(C + 2·max|x_row|)``: the C roundings of the sum, and those of the logits' own scale —
    a log-sum-exp softmax ``exp(x − lse(x))`` rounds ``x − lse`` at ε·|x| (|lse − x_j| ≤ 2·max|x_row| + log C), and
    ``Σ s_j·ε·|x_j − lse|`` ≤ ε·max_j|x_j − lse|: rows of logits ±2000 sum to 1 within ~ε·4000.
    """
    view, values = trial.build()
    y = view.forward(values).astype(np.float64)
    x = np.asarray(values["x"], dtype=np.float64)
    tol = KAPPA * _eps(trial) * (y.shape[1] + 2 * np.max(np.abs(x), axis=1))
    ratio = np.abs(y.sum(axis=1) - 1) / tol
    row = int(np.argmax(ratio))
    out = _report(
        "rows sum to 1",
        float(np.abs(y[row].sum() - 1)),
        float(tol[row]),
        f"row {row} of the softmax does not sum to 1",
        "Σ_j s_j = 1",
    )
    if not (y >= 0).all():
        out.append(
            Finding("rows sum to 1", "fail", "negative probabilities in the output", "s ≥ 0", location=("invariants",))
        )
    return out


def softmax_shift_invariant(trial: Trial) -> list[Finding]:
    """softmax(x + c) = softmax(x) for a constant c per row (the max-subtraction trick relies on it)."""
    view, values = trial.build()
    x = values["x"]
    shift = np.asarray(np.ceil(np.abs(x).max(axis=1, keepdims=True)) + 1, dtype=x.dtype)
    y0, y1 = view.forward(values), view.forward({**values, "x": x + shift})
    tol = KAPPA * _eps(trial) * float(np.max(np.abs(x) + shift)) * float(y0.max())
    return _report("shift invariance", float(np.max(np.abs(y1 - y0))), tol, "softmax(x + c) ≠ softmax(x)")


def loss_nonnegative(trial: Trial) -> list[Finding]:
    """Cross-entropy of probabilities in (0, 1] is ≥ 0 (``log p ≤ 0`` holds exactly in floating point too).

    A negative loss that a stabilising epsilon explains (``log(p + 1e-10)`` at p = 1 gives −1e-10), with a
    backward consistent with it, is within the explained deviation: a warning naming the epsilon.
    """
    from gradcheck.properties.stabilised import forward_stabiliser  # the fit lives with the properties

    view, values = trial.build()
    loss = float(view.forward(values))
    if loss >= 0:
        return []
    observed = f"loss is negative ({loss:.6g}) for probabilities in (0, 1]"
    fit = forward_stabiliser(trial)
    if fit is not None:
        floor = min(0.0, float(trial.reference_forward(fit.shifted(values))))
        if loss >= floor - KAPPA * _eps(trial) * abs(floor):
            where = ("invariants", "loss ≥ 0")
            return [
                Finding(
                    "loss ≥ 0", "warn", observed, "loss ≥ 0", error=-loss, location=where, explanation=fit.explanation()
                )
            ]
    return [
        Finding(
            "loss ≥ 0", "fail", observed, "loss ≥ 0", error=-loss, tolerance=0.0, location=("invariants", "loss ≥ 0")
        )
    ]


def linear_in_x(trial: Trial) -> list[Finding]:
    """An affine layer satisfies f(x1 + x2) + f(0) = f(x1) + f(x2)."""
    view, values = trial.build()
    x = values["x"]
    x2 = np.roll(x, 1, axis=0)[::-1].copy()
    f = {k: view.forward({**values, "x": v}) for k, v in (("x1", x), ("x2", x2), ("0", np.zeros_like(x)))}
    f12 = view.forward({**values, "x": x + x2})
    err = float(np.max(np.abs(f12 + f["0"] - f["x1"] - f["x2"])))
    mag = max(float(np.max(np.abs(v))) for v in (*f.values(), f12))
    return _report("affine in x", err, KAPPA * _eps(trial) * mag * max(4, x.shape[-1]), "f is not affine in x")


def batchnorm_standardises(trial: Trial) -> list[Finding]:
    """With γ = 1 and β = 0 every feature has batch mean 0 and biased variance σ²/(σ² + ε)."""
    view, values = trial.build()
    x = values["x"]
    vals = {**values, "gamma": np.ones_like(values["gamma"]), "beta": np.zeros_like(values["beta"])}
    y = view.forward(vals).astype(np.float64)
    var = x.astype(np.float64).var(axis=0)
    expected = var / (var + trial.case.ctor["eps"])
    tol = KAPPA * _eps(trial) * float(np.max(np.abs(x - x.mean(0)) / np.sqrt(var + trial.case.ctor["eps"])))
    tol += KAPPA * _eps(trial) * float(np.max(np.abs(x))) / float(np.sqrt(np.min(var) + trial.case.ctor["eps"]))
    return _report("standardises", float(np.max(np.abs(y.mean(0)))), tol, "batch mean of the output is not 0") + (
        _report(
            "standardises",
            float(np.max(np.abs(y.var(0) - expected))),
            2 * tol,
            "biased batch variance of the output is not σ²/(σ²+ε)",
        )
    )


def _shift(trial: Trial, axis: int) -> list[Finding]:
    view, values = trial.build()
    x = values["x"]
    spread = x.astype(np.float64).std(axis=axis, keepdims=True) + 1.0
    shift = np.asarray(np.round(3 * spread), dtype=x.dtype)
    y0, y1 = view.forward(values), view.forward({**values, "x": x + shift})
    std = np.sqrt(x.astype(np.float64).var(axis=axis) + trial.case.ctor["eps"]).min()
    gamma = float(np.max(np.abs(values["gamma"])))
    tol = KAPPA * _eps(trial) * float(np.max(np.abs(x) + np.abs(shift))) / float(std) * gamma
    name = "shift invariance"
    return _report(name, float(np.max(np.abs(y1 - y0))), tol, "adding a constant to the normalised axis changes y")


def batch_shift_invariant(trial: Trial) -> list[Finding]:
    """Batch norm ignores a constant added to a feature across the batch."""
    return _shift(trial, 0)


def sample_shift_invariant(trial: Trial) -> list[Finding]:
    """Layer norm ignores a constant added to all features of a sample."""
    return _shift(trial, 1)


def pool_passes_upstream_once(trial: Trial) -> list[Finding]:
    """Every pooling window sends its upstream gradient to exactly one input: Σ dx = Σ dout per channel.

    Checked at the case's input and at the same input quantised to {0, 1}, so that windows with tied maxima are
    always present (the regime that draws ties is only one of several, and ties are what this invariant is for).
    """
    view, values = trial.build()
    x = values["x"]
    tied = (np.random.default_rng(trial.case.seed).random(x.shape) < 0.5).astype(x.dtype)
    for point in (x, tied):
        y = view.forward({**values, "x": point})
        dout = np.random.default_rng(trial.case.seed).uniform(0.5, 1.5, size=y.shape)
        dx = view.vjp({**values, "x": point}, dout)["x"]
        if dx is None:
            return []
        got, want = dx.sum(axis=(2, 3)), dout.sum(axis=(2, 3))
        tol = KAPPA * _eps(trial) * float(np.abs(dout).sum())
        where = "" if point is x else " (at an input of 0s and 1s, tied maxima in most windows)"
        found = _report(
            "gradient routed once per window",
            float(np.max(np.abs(got - want))),
            tol,
            "Σ dx ≠ Σ dout over a channel: some window passed its gradient to several inputs (ties?) "
            "or to none" + where,
        )
        if found:
            return found
    return []
