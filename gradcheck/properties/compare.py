"""Comparison of two arrays with a condition-aware tolerance, as a :class:`GradientResult` record.

Two computations of the same quantity (the layer and its PyTorch oracle, float32 and float64 runs) differ by
rounding amplified by the problem's conditioning. The tolerance measures that amplification directly: the
oracle is re-evaluated with every input and parameter perturbed by ``ε·|v|`` (random signs), and the change
it shows, plus ``ε`` times the magnitude of the result, is allowed ``κ`` times over. Nothing is tuned.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.results import GradientResult

__all__ = ["KAPPA", "compare", "perturbation_spread"]

KAPPA = 16.0


def perturbation_spread(
    fn: Callable[[dict[str, np.ndarray]], np.ndarray], values: dict[str, np.ndarray], eps: float, seed: int
) -> np.ndarray:
    """Largest change of ``fn`` (elementwise) when every value is perturbed by ``ε·|v|`` with random signs."""
    rng = np.random.default_rng(seed)
    base = np.asarray(fn(values), dtype=np.float64)
    spread = np.zeros_like(base)
    for _ in range(2):
        moved = {
            k: v.astype(np.float64) * (1 + eps * (rng.integers(0, 2, v.shape) * 2 - 1)) for k, v in values.items()
        }
        spread = np.maximum(spread, np.abs(np.asarray(fn(moved), dtype=np.float64) - base))
    return spread


def compare(
    got: np.ndarray,
    want: np.ndarray,
    *,
    eps: float,
    spread: np.ndarray,
    location: tuple[str, ...],
    dtype: str,
    seed: int | None = None,
) -> GradientResult:
    """Compare ``got`` with ``want`` elementwise; tolerance ``κ·(spread + ε·(|want| + rms(want)))``."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return GradientResult(location, "fail", mode="compare", shape=got.shape, dtype=dtype,
                              message=f"shape {got.shape}, expected {want.shape}")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _compare(got, want, eps, spread, location, dtype, seed)


def _compare(got: np.ndarray, want: np.ndarray, eps: float, spread: np.ndarray, location: tuple[str, ...],
             dtype: str, seed: int | None) -> GradientResult:
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
