"""Central differences with Richardson extrapolation, an error estimate, one-sided slopes and kink detection.

Everything here works on a plain function ``g(t)`` of one scalar, returning an array (the terms of a projected
output, or a whole output column); nothing here knows about layers.

For a step ``t`` the five samples ``g(-t), g(-t/2), g(0), g(t/2), g(t)`` give

* central differences ``D(s) = (g(s) - g(-s)) / 2s`` and the Richardson value ``R = (4·D(t/2) - D(t)) / 3``,
  whose ``t²`` term cancels;
* the truncation estimate ``|D(t/2) - D(t)| / 3`` (the error of ``D(t/2)``: an upper bound for that of ``R``);
* the one-sided Richardson slopes ``R± = 2·D±(t/2) - D±(t)`` with ``D+(s) = (g(s) - g(0)) / s``; for a smooth
  ``g`` both equal ``g'(0) - g'''·t²/12`` and differ only by ``O(t³)``, at a kink they differ by the jump;
* a rounding bound ``κ·ε·(|g| + P)/t`` from the dtype of the evaluation, where ``P = Σ_i |∂g/∂x_i|·|x_i|``
  (``point_mag``, supplied by the caller) is the backward-stability part: a computed ``g`` is ``g`` at a point
  moved by up to ``ε·|x_i|`` per element (and ``x + s·d`` is itself rounded), which changes it by up to ``ε·P``
  however small ``|g|`` is (``sin`` at ``x ~ 1e6``: ``|g| ≤ 1`` but ``P ~ 1e6``; ``x - mean(x)`` on near-constant
  ``x``); the difference quotient divides that by the step.

:func:`derivative` tries ``t, t/8, t/64, …`` until the estimate is converged and free of kinks, so that a kink
near (not at) the point is stepped around, and keeps the most accurate step otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from gradcheck.engine.policy import EVAL_SAFETY, FD_SAFETY

__all__ = ["Estimate", "derivative"]

#: Refinement factor between successive steps and how many refinements are tried at most.
REFINE_FACTOR = 8.0
MAX_REFINE = 4


@dataclass(frozen=True)
class Estimate:
    """A numerical derivative ``g'(0)`` (elementwise over ``g``'s output, or summed when ``reduce``)."""

    value: np.ndarray  # Richardson central estimate
    trunc: np.ndarray  # truncation estimate |D(t/2) - D(t)| / 3
    noise: np.ndarray  # rounding bound of ``value``
    left: np.ndarray  # one-sided slope from t < 0
    right: np.ndarray  # one-sided slope from t > 0
    side_error: np.ndarray  # error bound of the one-sided slopes
    kink: np.ndarray  # bool: the one-sided slopes disagree beyond their errors
    # The subgradients at a kink: Σ_j min/max of each term's one-sided slopes (a reduced ``g`` = ⟨c, f⟩ is a sum
    # of outputs, each of which may choose its own subgradient; equal to min/max(left, right) when not reduced).
    sub_lo: np.ndarray
    sub_hi: np.ndarray
    slope_mag: np.ndarray  # Σ|g(t/2) - g(-t/2)| / t: magnitude of the terms of g'
    curv_mag: np.ndarray  # Σ|g(t/2) - 2g(0) + g(-t/2)| / (t/2)²: magnitude of the terms of g''
    step: float
    n_evals: int
    kink_seen: bool = False  # a kink at the chosen step, or one that persisted over two steps

    @property
    def error(self) -> np.ndarray:
        """Error bound of :attr:`value`: truncation estimate plus rounding bound."""
        return self.trunc + self.noise


def _sum(a: np.ndarray, reduce: bool) -> np.ndarray:
    return np.asarray(a.sum()) if reduce else a


def _estimate(
    z: np.ndarray,
    samples: tuple[np.ndarray, ...],
    t: float,
    eps: float,
    reduce: bool,
    point_mag: np.ndarray | float,
    point_noise: np.ndarray | float,
) -> Estimate:
    p1, p2, m1, m2 = samples
    # Noise of one evaluation: κ·ε per term, each term counted at least at the rms scale of g(0), since
    # cancellation inside g can leave a small result with the rounding error of its large parts; plus κ·ε·P for
    # the rounding of the evaluation point (the realised step differs from s·d by up to ε·|x_i| per element);
    # plus κ times the measured rounding of the terms the step moves (a term the step leaves bit-for-bit
    # unchanged in all four samples does not depend on the moved elements: its rounding cancels exactly).
    rms = float(np.sqrt(np.mean(z * z))) if z.size else 0.0
    moved = (p1 != z) | (p2 != z) | (m1 != z) | (m2 != z)
    measured = _sum(np.where(moved, point_noise, 0.0), reduce)
    eta = EVAL_SAFETY * (
        eps * (_sum(np.maximum(np.maximum(np.abs(z), np.abs(p1)), rms), reduce) + point_mag) + measured
    )
    slope_mag = _sum(np.abs(p2 - m2), reduce) / t
    curv_mag = _sum(np.abs(p2 - 2 * z + m2), reduce) / (t / 2) ** 2
    # One-sided Richardson slopes of each term; those of the sum are their sums.
    term_right = (4 * (p2 - z) - (p1 - z)) / t
    term_left = (4 * (z - m2) - (z - m1)) / t
    right, left = _sum(term_right, reduce), _sum(term_left, reduce)
    sub_lo = _sum(np.minimum(term_left, term_right), reduce)
    sub_hi = _sum(np.maximum(term_left, term_right), reduce)
    z, p1, p2, m1, m2 = (_sum(a, reduce) for a in (z, p1, p2, m1, m2))
    d1 = (p1 - m1) / (2 * t)
    d2 = (p2 - m2) / t
    trunc = np.abs(d2 - d1) / 3
    # Amplification of one evaluation's noise: 3/t for R, 10/t for the one-sided slopes.
    side_error = trunc + 10 * eta / t
    return Estimate(
        value=(4 * d2 - d1) / 3,
        trunc=trunc,
        noise=3 * eta / t,
        left=left,
        right=right,
        side_error=side_error,
        kink=np.abs(right - left) > 2 * FD_SAFETY * side_error,
        sub_lo=sub_lo,
        sub_hi=sub_hi,
        slope_mag=slope_mag,
        curv_mag=curv_mag,
        step=t,
        n_evals=4,
    )


def _converged(est: Estimate, eps: float) -> bool:
    # Converged: no kink in reach and the truncation error is at most √ε relative, or below rounding.
    target = np.maximum(est.noise, np.sqrt(eps) * np.abs(est.value))
    return bool(not est.kink.any() and np.all(est.trunc <= target))


def _score(est: Estimate) -> float:
    # Total uncertainty of a step: its error, plus the size of the jump where a kink was seen.
    jump = np.where(est.kink, np.abs(est.right - est.left), 0.0)
    return float(np.sum(est.error + jump))


def _persistent_kink(a: Estimate, b: Estimate) -> np.ndarray:
    # A kink at the point keeps its jump when the step shrinks; an under-resolved smooth function (sin at 1e6
    # with a step of radians) shows a "jump" that shrinks like the step squared (64× per refinement).
    jump_a, jump_b = np.abs(a.right - a.left), np.abs(b.right - b.left)
    return a.kink & b.kink & (jump_b * REFINE_FACTOR >= jump_a)


def derivative(
    g: Callable[[float], np.ndarray],
    z: np.ndarray,
    *,
    t: float,
    eps: float,
    reduce: bool = False,
    max_refine: int = MAX_REFINE,
    point_mag: np.ndarray | float = 0.0,
    point_noise: np.ndarray | float = 0.0,
    stop_at_kink: bool = False,
) -> Estimate:
    """Estimate ``g'(0)`` with the first converged, kink-free step among ``t, t/8, …``, else the best one.

    Args:
        g: function of a scalar step returning a float64 array (already projected or not).
        z: ``g(0)``, computed once by the caller.
        t: the first (largest) step.
        eps: unit roundoff of the dtype ``g`` is evaluated in.
        reduce: sum the output of ``g`` (the terms of a projection ``⟨c, f⟩``) before differencing.
        max_refine: how many times the step may be divided by 8.
        point_mag: ``Σ_i |∂g/∂x_i|·|x_i|`` (per output of ``g`` unless ``reduce``): the sensitivity of ``g`` to
            rounding its point (and its internal rounding, for a backward-stable ``g``); 0 to ignore it.
        point_noise: the measured rounding of each term of ``g`` (elementwise, in ``g``'s units; see
            :func:`gradcheck.engine.vjp_check.forward_spread`), counted for the terms the steps move.
        stop_at_kink: stop refining once two successive steps see the same kink (one at the point, not one that
            a smaller step avoids), for a caller that splits such a line anyway.

    Returns:
        The :class:`Estimate` of the chosen step; ``n_evals`` counts every evaluation made.
    """
    best: Estimate | None = None
    evals = 0
    prev: Estimate | None = None
    persistent: np.ndarray | bool = False
    for k in range(max_refine + 1):
        s = t / REFINE_FACTOR**k
        est = _estimate(z, (g(s), g(s / 2), g(-s), g(-s / 2)), s, eps, reduce, point_mag, point_noise)
        evals += 4
        if _converged(est, eps):
            return replace(est, n_evals=evals)
        if prev is not None:
            persistent = persistent | _persistent_kink(prev, est)
        if stop_at_kink and np.any(persistent):
            return replace(est, n_evals=evals, kink=est.kink | persistent, kink_seen=True)
        if best is None or _score(est) < _score(best):
            best = est
        prev = est
        if np.all(est.noise >= est.trunc):
            break  # rounding dominates: a smaller step only adds noise
    assert best is not None
    # No step converged. A kink that persisted over two steps is at (or within the smallest step of) the point:
    # a smaller step can straddle it in a way that makes its one-sided slopes agree by accident and its central
    # value wrong, so the estimate stays marked as a kink and is judged between its one-sided slopes.
    kink = best.kink | persistent
    return replace(best, n_evals=evals, kink=kink, kink_seen=bool(np.any(kink)))
