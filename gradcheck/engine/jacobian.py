"""Full finite-difference Jacobians, and the comparison of a closed-form Jacobian (one equation) with them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.engine.compare import analytic_error, judge
from gradcheck.engine.diagnose import diagnose
from gradcheck.engine.finite_diff import derivative
from gradcheck.engine.tolerances import base_step, element_scale, machine_eps
from gradcheck.errors import InvalidArgument
from gradcheck.results import GradientResult

__all__ = ["check_jacobian"]

Fn = Callable[[np.ndarray], np.ndarray]


def _closed_form(jacobian: Fn | np.ndarray, x: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    j = np.asarray(jacobian(x) if callable(jacobian) else jacobian, dtype=np.float64)
    expected = out_shape + x.shape
    if j.shape != expected:
        if j.size == int(np.prod(expected)) and j.ndim == 2:
            return j.reshape(expected)  # a matrix (m, n) of a flattened map is accepted as it is
        raise InvalidArgument(
            f"jacobian has shape {j.shape}, expected f(x).shape + x.shape = {expected} (or a matrix of that size)"
        )
    return j


def check_jacobian(
    f: Fn,
    jacobian: Fn | np.ndarray,
    x: np.ndarray,
    *,
    name: str = "jacobian",
    batch: int | None = None,
) -> GradientResult:
    r"""Compare a closed-form Jacobian ``∂f_j/∂x_i`` (one equation of a derivation) with finite differences.

    Column ``i`` of the numerical Jacobian is the Richardson-extrapolated central difference of ``f`` along
    ``x_i`` with step ``ε^(1/3)·max(|x_i|, rms(x))`` (float64), refined when not converged or near a kink. Entry
    ``(j, i)`` passes when ``|J_ji − N_ji| ≤ 2·err_ji + κ·ε·(|J_ji| + |f| terms)``, or, at a kink, when ``J_ji``
    lies between the one-sided slopes. Cost: ``4·x.size`` evaluations of ``f`` (more where refined).

    Args:
        f: a NumPy function of one float64 array.
        jacobian: the closed form: an array of shape ``f(x).shape + x.shape`` (or the equivalent matrix), or a
            function of ``x`` returning one.
        x: the point.
        name: label used in the record's location (e.g. ``"eq. 17"``).
        batch: batch size, used only to name a ``1/B`` factor in the diagnosis.

    Returns:
        A :class:`GradientResult` with ``mode="jacobian"``; ``worst_index`` is ``output index + input index``.

    Raises:
        InvalidArgument: ``x`` is not a float array or the Jacobian has the wrong shape.

    Example:
        >>> import numpy as np
        >>> x = np.array([0.5, -1.0])
        >>> check_jacobian(np.tanh, lambda v: np.diag(1 - np.tanh(v) ** 2), x).passed
        True
        >>> check_jacobian(np.tanh, lambda v: np.diag(1 - np.tanh(v)), x).passed   # missing square
        False
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise InvalidArgument(f"x must be a float array, got dtype {x.dtype}; pass x.astype(float)")
    x = x.astype(np.float64)
    y0 = np.asarray(f(x), dtype=np.float64)
    j = _closed_form(jacobian, x, y0.shape)
    scale = element_scale(x)
    jt = j.reshape(y0.size, x.size)
    cols = {k: np.zeros((y0.size, x.size)) for k in ("numeric", "tol")}
    ok = np.zeros((y0.size, x.size), dtype=bool)
    kink = np.zeros_like(ok)
    evals, step = 1, 0.0
    eps = machine_eps(np.float64)
    # Rounding of the point (see finite_diff): output j moves by up to ε·Σ_i |J_ji x_i|.
    point_mag = np.abs(jt * x.ravel()).sum(axis=1)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = scale.flat[i]
        d = e.reshape(x.shape)

        def g(t: float, d: np.ndarray = d) -> np.ndarray:
            return np.asarray(f(x + t * d), dtype=np.float64).ravel()

        est = derivative(
            g,
            y0.ravel(),
            t=base_step(np.float64),
            eps=eps,
            point_mag=point_mag,
        )
        a = jt[:, i] * scale.flat[i]
        v = judge(a, est, analytic_error(eps, np.abs(a), est))
        cols["numeric"][:, i] = v.numeric / scale.flat[i]
        cols["tol"][:, i] = v.tolerance / scale.flat[i]
        ok[:, i], kink[:, i] = v.ok, v.at_kink
        evals += est.n_evals
        step = max(step, est.step)
    diff = np.abs(jt - cols["numeric"])
    worst = int(np.argmax(diff / np.maximum(cols["tol"], np.finfo(float).tiny)))
    wi, wj = np.unravel_index(worst, jt.shape)
    failed = not ok.all()
    return GradientResult(
        location=(name,),
        status="fail" if failed else ("kink" if kink.any() else "pass"),
        mode="jacobian",
        n_checked=ok.size,
        n_mismatched=int((~ok).sum()),
        n_kinks=int(kink.sum()),
        max_abs_err=float(diff.max()),
        max_rel_err=float((diff / np.maximum(np.abs(cols["numeric"]), np.finfo(float).tiny)).max()),
        worst_index=tuple(int(v) for v in np.unravel_index(wi, y0.shape))
        + tuple(int(v) for v in np.unravel_index(wj, x.shape)),
        analytic=float(jt[wi, wj]),
        numeric=float(cols["numeric"][wi, wj]),
        tolerance=float(cols["tol"][wi, wj]),
        step=step,
        n_evals=evals,
        shape=tuple(j.shape),
        dtype="float64",
        eval_dtype="float64",
        diagnosis=diagnose(jt, cols["numeric"], cols["tol"], ok, batch=batch) if failed else "",
    )
