"""Turn compared arrays into a :class:`GradientResult` record: the one "worst element → record" summary.

Every comparison of the harness (finite differences, a reference, a float64 run, a forward-mode derivative)
ends here: :func:`worst` picks the element with the largest error relative to its tolerance and fills the
record's numbers; :func:`summarise` adds the finite-difference specifics (step, kinks, diagnosis, bisection).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck.engine.diagnose import diagnose
from gradcheck.engine.vjp_check import Comparison
from gradcheck.results import GradientResult

__all__ = ["summarise", "worst"]

_TINY = np.finfo(np.float64).tiny


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def worst(
    location: tuple[str, ...],
    analytic: Any,
    reference: Any,
    tolerance: Any,
    *,
    ok: Any = None,
    by_element: bool = True,
    **fields: Any,
) -> GradientResult:
    """The record of an elementwise comparison, with the numbers of its worst element.

    Args:
        location: the record's location path.
        analytic: the values under test (the layer's).
        reference: what they are compared with (same shape).
        tolerance: the allowed difference per element (broadcast to the shape).
        ok: per-element verdicts when the caller decided them otherwise (kinks); default ``|a − r| ≤ tol``.
        by_element: ``worst_index`` indexes the array (else it is the position in a list of directions).
        fields: further :class:`GradientResult` fields (mode, dtype, compared, against, step...).

    A NaN difference counts as infinite; the status is ``fail`` when any element is not ok, else ``pass``
    (callers set ``kink`` themselves). Tolerances of zero are floored at the smallest normal float.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        a = np.asarray(analytic, dtype=np.float64)
        r = np.asarray(reference, dtype=np.float64)
        tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), a.shape)
        diff = np.abs(a - r)
        diff = np.where(np.isnan(diff), np.inf, diff)
        good = diff <= tol if ok is None else np.asarray(ok, dtype=bool)
        # A NaN tolerance (a reference undefined near the point) fails its element; among such elements a
        # non-finite difference (a NaN gradient) is the one to show, not the first element that merely agrees.
        ratio = np.where(np.isnan(tol), np.where(np.isinf(diff), np.inf, 0.0), diff / np.maximum(tol, _TINY))
        k = int(np.argmax(ratio)) if diff.size else 0
        rel = diff / np.maximum(np.abs(r), _TINY)
        return GradientResult(
            location=location,
            status="pass" if good.all() else "fail",
            n_checked=int(good.size),
            n_mismatched=int((~good).sum()),
            max_abs_err=float(diff.max()) if diff.size else 0.0,
            max_rel_err=float(rel.max()) if rel.size else 0.0,
            worst_index=(_index(k, a.shape) if by_element else (k,)) if a.ndim else (),
            analytic=float(a.flat[k]) if a.size else None,
            numeric=float(r.flat[k]) if r.size else None,
            tolerance=float(tol.flat[k]) if tol.size else 0.0,
            **fields,
        )


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
    failed = not bool(np.all(comp.ok))
    diagnosis = ""
    if failed:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            where = x if comp.mode == "elementwise" else None
            diagnosis = diagnose(comp.analytic, comp.numeric, comp.tolerance, comp.ok, x=where, batch=batch)
    record = worst(
        location,
        comp.analytic,
        comp.numeric,
        comp.tolerance,
        ok=comp.ok,
        by_element=comp.mode == "elementwise",
        mode=comp.mode,
        n_kinks=int(comp.at_kink.sum()),
        step=comp.step,
        n_evals=comp.n_evals,
        seed=seed,
        shape=tuple(x.shape),
        dtype=dtype,
        eval_dtype=eval_dtype,
        device=device,
        diagnosis=diagnosis,
    )
    if not failed and comp.at_kink.any():
        record = replace(record, status="kink")
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
