"""Deviations from the reference that a stabilising epsilon explains: the forward comparison and its fit.

A layer that adds a small constant to probabilities (``log(p + 1e-10)`` in forward, ``-y / (p + 1e-10)`` in
backward) computes a slightly different, well-posed function: it matches the reference except at inputs near the
constant. :func:`explained_by_stabiliser` fits the constant (:mod:`gradcheck.engine.stabiliser`) and accepts it
only when the backward is consistent with the forward (the input gradients pass the finite differences of the
layer's own forward); the properties then report a warning (:func:`stabiliser_finding`) instead of a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gradcheck.engine.stabiliser import Stabiliser, fit_stabiliser
from gradcheck.engine.tolerances import machine_eps
from gradcheck.properties.compare import compare, reference_spread, tolerance
from gradcheck.results import Finding, GradientResult
from gradcheck.verify import check_view

if TYPE_CHECKING:
    from gradcheck.checklist.trial import Trial

__all__ = ["explained_by_stabiliser", "forward_record", "forward_stabiliser", "stabiliser_finding"]


def forward_record(trial: Trial, name: str, values: dict, got: np.ndarray, at: dict | None = None) -> GradientResult:
    """``got`` against the oracle at ``at`` (default ``values``): the tolerance of :mod:`.compare`."""
    at = values if at is None else at
    eps = machine_eps(trial.case.dtype)
    spread = reference_spread(trial.reference_forward, at, eps, trial.case.seed, trial.kind.positive)
    spread = spread + trial.reference_noise(at)
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


def explained_by_stabiliser(trial: Trial, values: dict, got: np.ndarray, record: GradientResult) -> Stabiliser | None:
    """A stabilising epsilon on a positive input that explains the forward's deviation, when the backward is
    consistent with the forward (its gradients pass the finite differences of the layer's own forward)."""
    if record.status != "fail" or not trial.kind.positive or got.shape != record.shape:
        return None
    eps = machine_eps(trial.case.dtype)
    spread = reference_spread(trial.reference_forward, values, eps, trial.case.seed, trial.kind.positive)
    tol = tolerance(trial.reference_forward(values), eps, spread + trial.reference_noise(values))
    fit = fit_stabiliser(trial.reference_forward, values, got, tol, trial.kind.positive)
    if fit is None or forward_record(trial, record.location[0], values, got, fit.shifted(values)).status != "pass":
        return None
    view, point = trial.build()
    checked = check_view(view, point, wrt=view.input_names, seed=trial.case.seed % 2**31, positive=trial.kind.positive)
    return fit if all(r.passed for r in checked) else None


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
