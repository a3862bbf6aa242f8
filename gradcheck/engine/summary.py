"""Turn a raw :class:`Comparison` into a :class:`GradientResult` record."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gradcheck.engine.diagnose import diagnose
from gradcheck.engine.vjp_check import Comparison
from gradcheck.results import GradientResult

__all__ = ["summarise"]


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def summarise(
    comp: Comparison,
    location: tuple[str, ...],
    *,
    x: np.ndarray,
    seed: int | None,
    dtype: str,
    eval_dtype: str,
    device: str = "cpu",
    batch: int | None = None,
) -> GradientResult:
    """Record of ``comp``: counts, worst element (largest error relative to its tolerance), diagnosis."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _summarise(comp, location, x, seed, dtype, eval_dtype, device, batch)


def _summarise(
    comp: Comparison,
    location: tuple[str, ...],
    x: np.ndarray,
    seed: int | None,
    dtype: str,
    eval_dtype: str,
    device: str,
    batch: int | None,
) -> GradientResult:
    a, n, tol = comp.analytic, comp.numeric, comp.tolerance
    diff = np.abs(a - n)
    diff = np.where(np.isnan(diff), np.inf, diff)
    ratio = diff / np.maximum(tol, np.finfo(np.float64).tiny)
    worst = int(np.argmax(ratio)) if ratio.size else 0
    rel = diff / np.maximum(np.abs(n), np.finfo(np.float64).tiny)
    failed = not bool(np.all(comp.ok))
    diagnosis = ""
    if failed and comp.mode == "elementwise":
        diagnosis = diagnose(a, n, tol, comp.ok, x=x, batch=batch)
    elif failed:
        diagnosis = diagnose(a, n, tol, comp.ok, batch=batch)
    record = GradientResult(
        location=location,
        status="fail" if failed else ("kink" if comp.at_kink.any() else "pass"),
        mode=comp.mode,
        n_checked=int(comp.ok.size),
        n_mismatched=int((~comp.ok).sum()),
        n_kinks=int(comp.at_kink.sum()),
        max_abs_err=float(diff.max()) if diff.size else 0.0,
        max_rel_err=float(rel.max()) if rel.size else 0.0,
        worst_index=_index(worst, a.shape) if comp.mode == "elementwise" else (worst,),
        analytic=float(a.flat[worst]) if a.size else None,
        numeric=float(n.flat[worst]) if n.size else None,
        tolerance=float(tol.flat[worst]) if tol.size else 0.0,
        step=comp.step,
        n_evals=comp.n_evals,
        seed=seed,
        shape=tuple(x.shape),
        dtype=dtype,
        eval_dtype=eval_dtype,
        device=device,
        diagnosis=diagnosis,
    )
    if comp.located is not None:
        loc = comp.located
        note = f"element {loc.index} located by bisection: analytic {loc.analytic:.6g}, numeric {loc.numeric:.6g}"
        record = replace(
            record,
            worst_index=loc.index,
            analytic=loc.analytic,
            numeric=loc.numeric,
            tolerance=loc.tolerance,
            diagnosis="; ".join(filter(None, [diagnosis, note])),
        )
    return record
