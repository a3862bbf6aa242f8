"""Invariants of particular kinds: each takes a trial and returns the violations it found (empty if none).

Tolerances are ``κ·ε`` of the trial's dtype times the magnitudes involved; the invariants hold exactly in
exact arithmetic, so nothing here is tuned to a layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gradcheck.engine.tolerances import machine_eps

if TYPE_CHECKING:
    from gradcheck.checklist.trial import Trial

KAPPA = 64.0


def _eps(trial: Trial) -> float:
    return machine_eps(trial.case.dtype)


def _report(name: str, err: float, tol: float, what: str) -> list[str]:
    return [] if err <= tol else [f"{name}: {what} (off by {err:.3g}, allowed {tol:.3g})"]


def elementwise_identity_on_positive(trial: Trial) -> list[str]:
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


def rows_sum_to_one(trial: Trial) -> list[str]:
    """Softmax rows sum to 1 and are non-negative."""
    view, values = trial.build()
    y = view.forward(values)
    err = float(np.max(np.abs(y.sum(axis=1) - 1)))
    out = _report(
        "rows sum to 1",
        err,
        KAPPA * _eps(trial) * y.shape[1],
        "a row of the softmax does not sum to 1",
    )
    return out + ([] if (y >= 0).all() else ["rows sum to 1: negative probabilities in the output"])


def softmax_shift_invariant(trial: Trial) -> list[str]:
    """softmax(x + c) = softmax(x) for a constant c per row (the max-subtraction trick relies on it)."""
    view, values = trial.build()
    x = values["x"]
    shift = np.asarray(np.ceil(np.abs(x).max(axis=1, keepdims=True)) + 1, dtype=x.dtype)
    y0, y1 = view.forward(values), view.forward({**values, "x": x + shift})
    tol = KAPPA * _eps(trial) * float(np.max(np.abs(x) + shift)) * float(y0.max())
    return _report("shift invariance", float(np.max(np.abs(y1 - y0))), tol, "softmax(x + c) ≠ softmax(x)")


def loss_nonnegative(trial: Trial) -> list[str]:
    """Cross-entropy of probabilities in (0, 1] is ≥ 0."""
    view, values = trial.build()
    loss = float(view.forward(values))
    return [] if loss >= 0 else [f"loss is negative ({loss:.6g}) for probabilities in (0, 1]"]


def linear_in_x(trial: Trial) -> list[str]:
    """An affine layer satisfies f(x1 + x2) + f(0) = f(x1) + f(x2)."""
    view, values = trial.build()
    x = values["x"]
    x2 = np.roll(x, 1, axis=0)[::-1].copy()
    f = {k: view.forward({**values, "x": v}) for k, v in (("x1", x), ("x2", x2), ("0", np.zeros_like(x)))}
    f12 = view.forward({**values, "x": x + x2})
    err = float(np.max(np.abs(f12 + f["0"] - f["x1"] - f["x2"])))
    mag = max(float(np.max(np.abs(v))) for v in (*f.values(), f12))
    return _report("affine in x", err, KAPPA * _eps(trial) * mag * max(4, x.shape[-1]), "f is not affine in x")


def batchnorm_standardises(trial: Trial) -> list[str]:
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


def _shift(trial: Trial, axis: int) -> list[str]:
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


def batch_shift_invariant(trial: Trial) -> list[str]:
    """Batch norm ignores a constant added to a feature across the batch."""
    return _shift(trial, 0)


def sample_shift_invariant(trial: Trial) -> list[str]:
    """Layer norm ignores a constant added to all features of a sample."""
    return _shift(trial, 1)


def pool_passes_upstream_once(trial: Trial) -> list[str]:
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
