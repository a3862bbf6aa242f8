"""The verdict on one analytic value against one numerical :class:`Estimate` (smooth point or kink)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.engine.finite_diff import Estimate
from gradcheck.engine.policy import ANALYTIC_SAFETY, FD_SAFETY

__all__ = ["Verdict", "analytic_error", "judge"]


@dataclass(frozen=True)
class Verdict:
    """Elementwise outcome: ``ok``, ``at_kink``, the reference value used and the tolerance allowed."""

    ok: np.ndarray
    at_kink: np.ndarray
    numeric: np.ndarray
    tolerance: np.ndarray


def analytic_error(eps: float, terms_mag: np.ndarray, est: Estimate) -> np.ndarray:
    """Rounding bound of an analytic directional derivative computed in a dtype with unit roundoff ``eps``.

    ``κ·ε·(Σ|g_i d_i| + Σ|c_j (J d)_j| + Σ|c_j dᵀH_j d|)``: the magnitude of the inner product's terms, of the
    same product formed on the output side (catches cancellation inside the backward, e.g. softmax with a
    near-constant cotangent), and of the curvature, since rounding the point by ``ε·|x|`` moves the gradient by
    ``H·ε·|x|`` (large logits in float32). The curvature term is dropped at kinks, where it measures the jump.
    """
    curvature = np.where(est.kink, 0.0, est.curv_mag)
    return ANALYTIC_SAFETY * eps * (terms_mag + est.slope_mag + curvature)


def judge(analytic: np.ndarray, est: Estimate, analytic_err: np.ndarray) -> Verdict:
    """Accept ``analytic`` if within the error of the central estimate, or, at a kink, within the one-sided slopes.

    At a kink any subgradient is valid: the analytic value must lie in ``[min(R-, R+), max(R-, R+)]`` (or the sum
    of each term's such interval, when the estimate is of a sum: each output picks its own) widened by
    the one-sided slopes' error; the reported reference is the nearest point of that interval.
    """
    a = np.asarray(analytic, dtype=np.float64)
    smooth_tol = FD_SAFETY * est.error + analytic_err
    side_tol = FD_SAFETY * est.side_error + analytic_err
    # Each output of a projected ⟨c, f⟩ may take its own subgradient (max pooling's tied maxima: each window
    # routes its gradient to one of them): the interval is the sum of the terms' intervals, not that of the sum.
    lo = np.minimum(est.sub_lo, np.minimum(est.left, est.right))
    hi = np.maximum(est.sub_hi, np.maximum(est.left, est.right))
    nearest = np.clip(a, lo, hi)
    numeric = np.where(est.kink, nearest, est.value)
    tolerance = np.where(est.kink, side_tol, smooth_tol)
    # A non-finite analytic value never passes (an infinite one would otherwise bring an infinite tolerance).
    ok = (np.abs(a - numeric) <= tolerance) & np.isfinite(a)
    return Verdict(ok=ok, at_kink=est.kink & ok, numeric=numeric, tolerance=tolerance)
