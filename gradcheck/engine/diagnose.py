"""Say what is probably wrong when an analytic gradient disagrees with the numerical one."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["diagnose"]

_RATIO_RTOL = 1e-3


def _name_factor(k: float, batch: int | None) -> str:
    if batch and batch > 1:
        if abs(k * batch - 1) < _RATIO_RTOL:
            return f"1/B (B = {batch}): a mean where a sum was due, or a 1/B applied twice"
        if abs(k / batch - 1) < _RATIO_RTOL:
            return f"B (B = {batch}): a sum where a mean was due, or a missing 1/B"
    if abs(k + 1) < _RATIO_RTOL:
        return "-1: the sign is flipped"
    # Name a simple fraction (2, 1/2, 3/2…) only when it fits far better than chance: any ratio lies within
    # 1e-3 of some p/q with q ≤ 12, so demand a tight fit and a small numerator too.
    frac = Fraction(k).limit_denominator(12)
    if abs(frac.numerator) <= 12 and abs(float(frac) - k) < 1e-5 * abs(k):
        return f"{frac}"
    return f"≈ {k:.4g}"


def _ratios(a: np.ndarray, n: np.ndarray, tol: np.ndarray, least: int = 2) -> np.ndarray | None:
    sig = np.abs(n) > 10 * tol
    if sig.sum() < least:
        return None
    return a[sig] / n[sig]


def _is_constant(r: np.ndarray) -> float | None:
    k = float(np.median(r))
    return k if k != 0 and np.all(np.abs(r - k) <= _RATIO_RTOL * abs(k)) else None


def _constant_factor(a: np.ndarray, n: np.ndarray, tol: np.ndarray, batch: int | None) -> str:
    r = _ratios(a, n, tol, least=1)
    k = None if r is None else _is_constant(r)
    if k is None or abs(k - 1) <= _RATIO_RTOL:
        return ""
    name = _name_factor(k, batch)
    if r is not None and r.size == 1 and name.startswith("≈"):
        return ""  # a single entry's ratio is a pattern only when it is a simple one (2, 1/2, -1, B…)
    return f"the analytic gradient is the numeric one times {name}"


def _per_slice_factor(a: np.ndarray, n: np.ndarray, tol: np.ndarray) -> str:
    """A factor constant within each slice along the first or last axis but different between slices."""
    if a.ndim < 2:
        return ""
    for axis, what in ((0, "output row (first index)"), (a.ndim - 1, "column (last index)")):
        factors = []
        for i in range(a.shape[axis]):
            r = _ratios(*(np.take(v, i, axis=axis) for v in (a, n, tol)))
            factors.append(None if r is None else _is_constant(r))
        known = [f for f in factors if f is not None]
        if len(known) >= 2 and len(known) == len(factors) and np.ptp(known) > _RATIO_RTOL * max(map(abs, known)):
            shown = ", ".join(f"{f:.4g}" for f in known[:6])
            return (
                f"the analytic gradient is the numeric one times a factor that is constant along each {what} "
                f"but differs between them ({shown}): a wrong power of a per-{what.split()[0]} quantity "
                "(e.g. an exponent slip in (σ² + ε)^p) or a wrong per-feature scale"
            )
    return ""


def _transposed(a: np.ndarray, n: np.ndarray, tol: np.ndarray) -> str:
    if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1 and np.all(np.abs(a - n.T) <= tol.T):
        return "the analytic gradient is the transpose of the numeric one (an index slip: W vs Wᵀ)"
    return ""


def _branch(bad: np.ndarray, x: np.ndarray | None) -> str:
    if x is None or x.shape != bad.shape:
        return ""
    for name, region in (("negative", x < 0), ("positive", x > 0), ("zero", x == 0)):
        # Only a branch if the other side exists and is right: one element is no pattern.
        if region.any() and (~region).any() and bad[region].all() and not bad[~region].any():
            return f"wrong exactly on the {name} inputs (one branch of the derivative)"
    return ""


def diagnose(
    analytic: np.ndarray,
    numeric: np.ndarray,
    tolerance: np.ndarray,
    ok: np.ndarray,
    *,
    x: np.ndarray | None = None,
    batch: int | None = None,
) -> str:
    """A one-line diagnosis of an elementwise mismatch, or ``""`` when nothing specific fits.

    Recognised: a constant factor (named when it is -1, B, 1/B or a small fraction), a transpose, a factor
    constant per output row or per column (an exponent slip on a per-feature quantity), a zero analytic gradient,
    mismatches on exactly one branch of the input (negative, positive or zero entries), a single element.
    """
    a, n, tol = (np.asarray(v, dtype=np.float64) for v in (analytic, numeric, tolerance))
    bad = ~np.asarray(ok, dtype=bool)
    if not bad.any():
        return ""
    if not np.all(np.isfinite(a)):
        return "the analytic gradient has non-finite entries (overflow, division by zero or log of zero)"
    checks = (_constant_factor(a, n, tol, batch), _transposed(a, n, tol), _per_slice_factor(a, n, tol), _branch(bad, x))
    for found in checks:
        if found:
            return found
    if np.all(a[bad] == 0):
        return "the analytic gradient is zero where the numeric one is not (a missing term or a dropped path)"
    if bad.sum() == 1:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
        return f"only element {idx} is wrong"
    return ""
