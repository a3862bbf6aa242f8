"""Deviations from the reference that a stabilising epsilon explains: the forward comparison and its fit.

A layer that adds a small constant to probabilities (``log(p + 1e-10)`` in forward, ``-y / (p + 1e-10)`` in
backward) computes a slightly different, well-posed function: it matches the reference except at inputs near the
constant. :func:`explained_by_stabiliser` fits the constant (:mod:`gradcheck.engine.stabiliser`) and accepts it
only when the backward is consistent with the forward (the input gradients pass the finite differences of the
layer's own forward); the properties then report a warning (:func:`stabiliser_finding`) instead of a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradcheck.engine.stabiliser import Stabiliser, fit_stabiliser
from gradcheck.engine.tolerances import machine_eps
from gradcheck.properties.compare import compare, reference_spread, tolerance
from gradcheck.results import Finding, GradientResult
from gradcheck.verify import check_view

if TYPE_CHECKING:
    from gradcheck.checklist.trial import Trial

__all__ = [
    "consistent",
    "explained_by_stabiliser",
    "forward_record",
    "forward_stabiliser",
    "stabiliser_finding",
    "vjp_stabiliser",
]


def forward_record(
    trial: Trial, name: str, values: dict, got: np.ndarray, at: dict | None = None, allowance: Any = 0.0
) -> GradientResult:
    """``got`` against the oracle at ``at`` (default ``values``): the tolerance of :mod:`.compare`, widened by
    ``allowance`` (see :func:`~gradcheck.properties.compare.constants_allowance`)."""
    at = values if at is None else at
    eps = machine_eps(trial.case.dtype)
    spread = reference_spread(trial.reference_forward, at, eps, trial.case.seed, trial.kind.positive)
    spread = spread + trial.reference_noise(at) + allowance
    return compare(
        got,
        trial.reference_forward(at),
        eps=eps,
        spread=spread,
        location=(name, "forward"),
        dtype=trial.case.dtype,
        seed=trial.case.seed,
        compared="output",
        against="PyTorch reference",
    )


def consistent(trial: Trial, fit: Stabiliser) -> bool:
    """Whether the layer computes the reference at the shifted point throughout: its forward matches the reference
    at ``x + c``, and its input gradients pass the finite differences of its own forward (the backward is that of
    the function the forward computes, so the epsilon is in both, not in the backward only)."""
    view, values = trial.build()
    got = view.forward(values)
    if forward_record(trial, view.name, values, got, fit.shifted(values)).status != "pass":
        return False
    checked = check_view(view, values, wrt=view.input_names, seed=trial.case.seed % 2**31, positive=trial.kind.positive)
    return all(r.passed for r in checked)


def explained_by_stabiliser(trial: Trial, values: dict, got: np.ndarray, record: GradientResult) -> Stabiliser | None:
    """A stabilising epsilon on a positive input that explains the forward's deviation, when the layer is
    :func:`consistent` with it."""
    if record.status != "fail" or not trial.kind.positive or got.shape != record.shape:
        return None
    eps = machine_eps(trial.case.dtype)
    spread = reference_spread(trial.reference_forward, values, eps, trial.case.seed, trial.kind.positive)
    tol = tolerance(trial.reference_forward(values), eps, spread + trial.reference_noise(values))
    fit = fit_stabiliser(trial.reference_forward, values, got, tol, trial.kind.positive)
    return fit if fit is not None and consistent(trial, fit) else None


def vjp_stabiliser(trial: Trial, values: dict, cot: np.ndarray, got: dict, names: list[str]) -> Stabiliser | None:
    """A stabilising epsilon that explains the gradients' deviation from the reference's (``−y / (p + c)``), when
    the layer is :func:`consistent` with it. Fitted on the gradients: in a mean loss the forward's deviation
    (``c/p`` divided by the batch) can hide below the forward's tolerance while the gradient's cannot."""
    if not trial.kind.positive:
        return None
    eps = machine_eps(trial.case.dtype)
    c64 = np.asarray(cot, dtype=np.float64)

    def flat(v: dict) -> np.ndarray:
        ref = trial.reference_vjp(v, c64)
        return np.concatenate([np.asarray(ref[k], dtype=np.float64).ravel() for k in names])

    want = flat(values)
    noise = trial.reference_noise(values, cot)
    tol = tolerance(want, eps, np.concatenate([np.asarray(noise[k], dtype=np.float64).ravel() for k in names]))
    mine = np.concatenate([np.asarray(got[k], dtype=np.float64).ravel() for k in names])
    fit = fit_stabiliser(flat, values, mine, tol, trial.kind.positive)
    return fit if fit is not None and consistent(trial, fit) else None


def stabiliser_finding(fit: Stabiliser, check: str, location: tuple[str, ...]) -> Finding:
    """The warning for a deviation that ``fit`` explains."""
    return Finding(
        check,
        "warn",
        f"differs from the reference only where {fit.name} < {fit.below:.0e}",
        "the reference",
        location=location,
        explanation=fit.explanation(),
    )


def forward_stabiliser(trial: Trial) -> Stabiliser | None:
    """The stabiliser the layer's forward shows at this trial, if any (see :func:`explained_by_stabiliser`)."""
    view, values = trial.build()
    got = view.forward(values)
    return explained_by_stabiliser(trial, values, got, forward_record(trial, view.name, values, got))
