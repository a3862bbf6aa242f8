"""Comparison of two arrays with a condition-aware tolerance, as a :class:`GradientResult` record.

Two computations of the same quantity (the layer and its PyTorch oracle, float32 and float64 runs) differ by
rounding amplified by the problem's conditioning. The tolerance measures that amplification directly: the
oracle is re-evaluated with every input and parameter perturbed by ``ε·|v|`` (random signs), and the change
it shows, plus ``ε`` times the magnitude of the result, is allowed ``κ`` times over. Nothing is tuned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from gradcheck.results import GradientResult

__all__ = ["KAPPA", "compare", "perturbation_spread", "sign_patterns", "split_noise"]

KAPPA = 16.0


def sign_patterns(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """±1 patterns over ``n`` elements such that every pair of elements has opposite signs in some pattern.

    A random pattern ``r`` and ``r`` with the signs flipped where bit ``k`` of the element's index is set, for
    each of the ⌈log₂ n⌉ bits: two elements differ in some bit, so their relative sign flips between ``r`` and
    that pattern. Random signs alone give equal values the same perturbation with probability 1/2 per draw, and
    a shift-invariant function (softmax, normalisations) of exactly tied values then shows no rounding at all.
    """
    r = rng.integers(0, 2, n) * 2 - 1
    index = np.arange(n)
    return [r] + [r * (1 - 2 * ((index >> k) & 1)) for k in range(max(0, int(n - 1).bit_length()))]


def perturbation_spread(
    fn: Callable[[dict[str, np.ndarray]], Any], values: dict[str, np.ndarray], eps: float, seed: int
) -> Any:
    """Largest change of ``fn`` (elementwise) when every value is perturbed by ``ε·|v|`` with signs from
    :func:`sign_patterns` over all elements of all values; ``fn`` may return an array or a dict of arrays."""
    rng = np.random.default_rng(seed)
    base = _as_float64(fn(values))
    spread = _map(base, np.zeros_like)
    sizes = [v.size for v in values.values()]
    for signs in sign_patterns(sum(sizes), rng):
        parts = np.split(signs, np.cumsum(sizes)[:-1])
        pairs = zip(values.items(), parts, strict=True)
        moved = {k: v.astype(np.float64) * (1 + eps * p.reshape(v.shape)) for (k, v), p in pairs}
        change = _as_float64(fn(moved))
        spread = _map2(spread, change, base, lambda s, c, b: np.maximum(s, np.abs(c - b)))
    return spread


def split_noise(vjp: Callable[[np.ndarray], Mapping[str, Any]], cot: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Rounding noise of a VJP, measured through its exact linearity in the cotangent.

    ``vjp(c) − vjp(c ⊙ m) − vjp(c ⊙ (1 − m))`` is zero in exact arithmetic for any mask ``m``; in floating point
    it is the rounding of the terms the VJP sums, whatever their cancellation leaves of the result (batch norm
    at B = 2, softmax where ``1 − s`` absorbs a tiny ``s``). The masks are the patterns of :func:`sign_patterns`,
    so every pair of output elements is split apart once. Returns the largest discrepancy per name.
    """
    c = np.asarray(cot, dtype=np.float64)
    whole = vjp(c)
    noise = {k: np.zeros_like(v) for k, v in whole.items() if v is not None}
    for signs in sign_patterns(c.size, np.random.default_rng(seed))[1:] or [np.ones(c.size)]:
        m = (signs.reshape(c.shape) > 0).astype(np.float64)
        a, b = vjp(c * m), vjp(c * (1 - m))
        for k in noise:
            noise[k] = np.maximum(noise[k], np.abs(whole[k] - a[k] - b[k]))
    return noise


def _as_float64(out: Any) -> Any:
    if isinstance(out, dict):
        return {k: None if v is None else np.asarray(v, dtype=np.float64) for k, v in out.items()}
    return np.asarray(out, dtype=np.float64)


def _map(a: Any, f: Callable[[np.ndarray], np.ndarray]) -> Any:
    return {k: None if v is None else f(v) for k, v in a.items()} if isinstance(a, dict) else f(a)


def _map2(s: Any, c: Any, b: Any, f: Callable[..., np.ndarray]) -> Any:
    if isinstance(s, dict):
        return {k: None if s[k] is None else f(s[k], c[k], b[k]) for k in s}
    return f(s, c, b)


def compare(
    got: npt.ArrayLike,
    want: npt.ArrayLike,
    *,
    eps: float,
    spread: npt.ArrayLike,
    location: tuple[str, ...],
    dtype: str,
    seed: int | None = None,
) -> GradientResult:
    """Compare ``got`` with ``want`` elementwise; tolerance ``κ·(spread + ε·(|want| + rms(want)))``."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return GradientResult(
            location,
            "fail",
            mode="compare",
            shape=got.shape,
            dtype=dtype,
            message=f"shape {got.shape}, expected {want.shape}",
        )
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _compare(got, want, eps, np.asarray(spread, dtype=np.float64), location, dtype, seed)


def _compare(
    got: np.ndarray,
    want: np.ndarray,
    eps: float,
    spread: np.ndarray,
    location: tuple[str, ...],
    dtype: str,
    seed: int | None,
) -> GradientResult:
    rms = float(np.sqrt(np.mean(want * want))) if want.size else 0.0
    tol = KAPPA * (spread + eps * (np.abs(want) + rms)) + np.finfo(np.float64).tiny
    diff = np.abs(got - want)
    diff = np.where(np.isnan(diff), np.inf, diff)
    ok = diff <= tol
    worst = int(np.argmax(diff / tol)) if diff.size else 0
    idx = tuple(int(i) for i in np.unravel_index(worst, want.shape)) if want.ndim else ()
    return GradientResult(
        location=location,
        status="pass" if ok.all() else "fail",
        mode="compare",
        n_checked=int(ok.size),
        n_mismatched=int((~ok).sum()),
        max_abs_err=float(diff.max()) if diff.size else 0.0,
        max_rel_err=float((diff / np.maximum(np.abs(want), np.finfo(float).tiny)).max()) if diff.size else 0.0,
        worst_index=idx,
        analytic=float(got.flat[worst]) if got.size else None,
        numeric=float(want.flat[worst]) if want.size else None,
        tolerance=float(tol.flat[worst]) if tol.size else 0.0,
        seed=seed,
        shape=tuple(want.shape),
        dtype=dtype,
        eval_dtype="float64",
    )
