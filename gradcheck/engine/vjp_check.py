"""Check a vector-Jacobian product against finite differences, element by element or along random directions.

Works on plain functions of one array: ``f(x) -> y`` evaluated in the finite-difference dtype, and
``vjp(c) -> ∂⟨c, f⟩/∂x`` at the base point, computed by the code under test. Nothing here knows about layers.

Elementwise mode draws one cotangent ``c ~ N(0, 1)`` and compares every ``∂⟨c, f⟩/∂x_i`` (``4·n`` evaluations,
localises the worst element). Directional mode draws, per direction ``k``, a fresh cotangent ``c_k`` and a
Rademacher direction ``u_k`` (±1 per element, scaled per element by ``max(|x_i|, rms(x))``) and compares
``⟨vjp(c_k), d_k⟩`` with the derivative of ``t ↦ ⟨c_k, f(x + t·d_k)⟩`` (4 evaluations per direction, whatever
the size of ``x``).

Miss probability of directional mode: let ``e = vjp(c) - Jᵀc`` be the error of the code under test. Since ``c``
is Gaussian, ``e ≠ 0`` almost surely whenever the Jacobian is wrong. If some element has ``|e_i·d_i| > τ`` (the
tolerance), then fixing every sign but ``u_i``, the two possible values of ``Σ e_j d_j`` are ``2|e_i d_i| > 2τ``
apart, so at most one of them lies within ``τ`` of zero: one direction misses with probability at most 1/2, and
``k`` independent directions miss with probability at most ``2^-k`` (0.4 % for the default ``k = 8``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from gradcheck.engine.compare import analytic_error, judge
from gradcheck.engine.finite_diff import Estimate, derivative
from gradcheck.engine.noise import jitter
from gradcheck.engine.policy import (
    ANALYTIC_SAFETY,
    EVAL_SAFETY,
    FAST_CURVATURE_SLACK,
    FD_SAFETY,
    MARGIN_FLOOR,
    NOISE_SAFETY,
)
from gradcheck.engine.tolerances import base_step, element_scale, machine_eps

__all__ = ["Comparison", "directional", "elementwise", "fast", "rademacher"]

Fn = Callable[[np.ndarray], np.ndarray]
#: ``c ↦`` per-element rounding noise of ``vjp(c)`` (measured by the caller, e.g. from a split cotangent).
Noise = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """Raw outcome of a vjp check, in the units of the gradient (per element or per direction)."""

    mode: str
    analytic: np.ndarray
    numeric: np.ndarray
    tolerance: np.ndarray
    ok: np.ndarray
    at_kink: np.ndarray
    step: float
    n_evals: int
    located: Located | None = None


@dataclass(frozen=True)
class Located:
    """One wrong element found by bisection after a directional failure (gradient units)."""

    index: tuple[int, ...]
    analytic: float
    numeric: float
    tolerance: float


def rademacher(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random signs ±1 of the given shape."""
    n = int(np.prod(shape))
    bits = np.unpackbits(np.frombuffer(rng.bytes((n + 7) // 8), dtype=np.uint8), count=n)  # 8 signs per byte
    return (1.0 - 2.0 * bits).reshape(shape)


def cotangent(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A standard normal cotangent, rounded to ``dtype`` so that both sides of the comparison see the same one."""
    # float32 normals: half the cost of float64 ones, and as Gaussian as the argument of the miss bound needs.
    return rng.standard_normal(shape, dtype=np.float32).astype(dtype).astype(np.float64)


def _along(f: Fn, x: np.ndarray, d: np.ndarray, c: np.ndarray) -> Callable[[float], np.ndarray]:
    return lambda t: c * f(x + t * d)


#: Sign patterns of :func:`forward_spread` per move size: a second difference of three roundings is itself a random
#: sample (it can nearly cancel); with four, the largest is within a factor ~2 of the rounding's bound, and a chance
#: small sample at the fine size rarely makes rounding look like a kink.
FORWARD_SPREAD_DRAWS = 4


def forward_spread(
    f: Fn, x: np.ndarray, dtype: np.dtype, positive: bool = False, y0: np.ndarray | None = None
) -> np.ndarray:
    """Per output element, the measured rounding noise of one evaluation of ``f`` near ``x`` (in ``dtype``):
    :func:`gradcheck.engine.noise.jitter` with the step's per-element scale.

    It counts the cancellation inside the layer that an ``ε·|f|`` bound misses (``eˣ − 1`` at x = 1e-4 keeps ε·1
    of ``eˣ``), and stays at rounding level where there is none (``sin`` at 1e-6).
    """
    # Its own generator (seeded by the size): the directions and cotangents drawn from ``rng`` stay as they were.
    scale = {"x": element_scale(x, positive)}
    return jitter(lambda v: f(v["x"]), {"x": x}, machine_eps(dtype), x.size, scales=scale, draws=FORWARD_SPREAD_DRAWS)


def _fd(
    f: Fn,
    x: np.ndarray,
    d: np.ndarray,
    c: np.ndarray,
    z: np.ndarray,
    dtype: np.dtype,
    g: np.ndarray,
    ny: np.ndarray,
    stop_at_kink: bool = False,
) -> Estimate:
    # A backward-stable evaluation of f returns f at a point moved by up to ε·|x_i| per element (and x + s·d is
    # itself rounded): that changes ⟨c, f⟩ by up to ε·Σ|g_i x_i|, however small ⟨c, f⟩ is (sin at 1e6; x - mean(x)
    # on near-constant x). g is the analytic gradient, the only per-element one at hand. ``ny`` is the measured
    # rounding of f at the computation's scale (:func:`forward_spread`): |c_j|·ny_j per term of ⟨c, f⟩.
    point_mag = float(np.abs(g * x).sum())
    return derivative(
        _along(f, x, d, c),
        z,
        t=base_step(dtype),
        eps=machine_eps(dtype),
        reduce=True,
        point_mag=point_mag,
        point_noise=np.abs(c) * ny,
        stop_at_kink=stop_at_kink,
    )


def elementwise(
    f: Fn,
    vjp: Fn,
    x: np.ndarray,
    *,
    rng: np.random.Generator,
    eval_dtype: np.dtype,
    analytic_dtype: np.dtype,
    positive: bool = False,
    analytic_noise: Noise | None = None,
) -> Comparison:
    """Compare every element of ``vjp(c)`` with the central difference of ``⟨c, f⟩`` along that element.

    ``analytic_noise(c)``, when given, is the measured rounding noise of each element of ``vjp(c)``; it is only
    asked for when some element fails or passes with less than ``MARGIN_FLOOR`` to spare, and widens the tolerance
    by ``NOISE_SAFETY`` times it (the a-priori bound counts ε per term and cannot see cancellation between inputs).
    """
    eps_a = machine_eps(analytic_dtype)
    y0 = f(x)
    ny = forward_spread(f, x, eval_dtype, positive)
    c = cotangent(rng, y0.shape, analytic_dtype)
    g = np.asarray(vjp(c), dtype=np.float64)
    scale = element_scale(x, positive)
    n = x.size
    out = {k: np.zeros(n) for k in ("numeric", "tol", "ok", "kink")}
    kinked = np.zeros(n, dtype=bool)
    evals, step = 18, 0.0  # f(x) and the 17 evaluations of forward_spread
    for i in range(n):
        if scale.flat[i] == 0:  # x_i = 0 in a domain x > 0: no step stays inside it, nothing to compare
            out["numeric"][i], out["ok"][i] = g.flat[i], True
            continue
        d = np.zeros(n)
        d[i] = scale.flat[i]
        est = _fd(f, x, d.reshape(x.shape), c, c * y0, eval_dtype, g, ny)
        a = g.flat[i] * d[i]
        v = judge(a, est, analytic_error(eps_a, np.abs(a), est))
        out["numeric"][i] = v.numeric / d[i]
        out["tol"][i] = v.tolerance / d[i]
        out["ok"][i], out["kink"][i] = v.ok, v.at_kink
        kinked[i] = bool(np.any(est.kink)) or est.kink_seen
        evals += est.n_evals
        step = max(step, est.step)
    near = np.abs(g.ravel() - out["numeric"]) * MARGIN_FLOOR > out["tol"]
    if analytic_noise is not None and near.any():
        # Not near kinks: the noise is measured by ε-moves of the whole point, which flip branches there.
        noise = 0.0 if kinked.any() else np.abs(np.asarray(analytic_noise(c), dtype=np.float64)).ravel()
        out["tol"] = out["tol"] + NOISE_SAFETY * noise
        out["ok"] = (np.abs(g.ravel() - out["numeric"]) <= out["tol"]).astype(np.float64)
    return Comparison(
        mode="elementwise",
        analytic=g.reshape(x.shape),
        numeric=out["numeric"].reshape(x.shape),
        tolerance=out["tol"].reshape(x.shape),
        ok=out["ok"].astype(bool).reshape(x.shape),
        at_kink=out["kink"].astype(bool).reshape(x.shape),
        step=step,
        n_evals=evals,
    )


@dataclass(frozen=True)
class _Test:
    analytic: float
    numeric: float
    tolerance: float
    ok: bool
    at_kink: bool
    step: float
    kinked: bool = False  # a kink lay within the step somewhere on the line (passed or not)


#: Most directional tests spent splitting one direction that crosses several kinks (see :func:`_test_direction`).
MAX_SPLIT_TESTS = 64


@dataclass(frozen=True)
class _Line:
    """What every directional test at one point shares: ``f``, the point, the eval dtype, the analytic ε and
    the measured rounding of ``f`` (:func:`forward_spread`)."""

    f: Fn
    x: np.ndarray
    dtype: np.dtype
    eps_a: float
    ny: np.ndarray


def _test_line(at: _Line, g: np.ndarray, d: np.ndarray, c: np.ndarray, z: np.ndarray) -> tuple[_Test, bool, int]:
    terms = g * d
    eps_a = at.eps_a
    # A line through several elements that crosses a kink is split (below): no need to refine around it.
    est = _fd(at.f, at.x, d, c, z, at.dtype, g, at.ny, stop_at_kink=bool(np.count_nonzero(d) > 1))
    v = judge(terms.sum(), est, analytic_error(eps_a, np.abs(terms).sum(), est))
    kinked = bool(np.any(est.kink)) or est.kink_seen
    test = _Test(
        float(terms.sum()), float(v.numeric), float(v.tolerance), bool(v.ok), bool(v.at_kink), est.step, kinked
    )
    return test, kinked, est.n_evals


def _test_direction(at: _Line, g: np.ndarray, d: np.ndarray, c: np.ndarray, z: np.ndarray) -> tuple[_Test, int]:
    """Test one direction; a failure on a line that crosses kinks is resolved by splitting the direction.

    With one kink on the line the valid directional derivatives are the interval between the one-sided slopes.
    With several (ReLU inputs at 0 moved together) the valid set is the Minkowski sum of each kink's interval,
    wider than the interval between the line's two one-sided slopes (a false alarm), and any kink's interval can
    hide an error elsewhere on the line smaller than its jump (a miss). So a line that crosses a kink is split
    into halves of its support, recursively until each part is kink-free or a single element, and passes when
    every part passes (the analytic value is linear in ``d``). A part that still crosses kinks when
    :data:`MAX_SPLIT_TESTS` tests are spent is judged on its own one-sided slopes, and passes at worst as a kink.
    """
    test, kink, evals = _test_line(at, g, d, c, z)
    if not kink or np.count_nonzero(d) < 2:
        return test, evals
    ok, numeric, tol, n_ev = _split(at, g, d, c, z, [MAX_SPLIT_TESTS])
    return _Test(test.analytic, numeric, tol, ok, ok, test.step, True), evals + n_ev


def _split(
    at: _Line, g: np.ndarray, d: np.ndarray, c: np.ndarray, z: np.ndarray, budget: list[int]
) -> tuple[bool, float, float, int]:
    numeric, tol, evals = 0.0, 0.0, 0
    for half in np.array_split(np.flatnonzero(d), 2):
        flat = np.zeros(d.size)
        flat[half] = d.ravel()[half]
        part = flat.reshape(d.shape)
        budget[0] -= 1
        t, kink, n_ev = _test_line(at, g, part, c, z)
        evals += n_ev
        ok, t_num, t_tol = t.ok, t.numeric, t.tolerance
        if kink and half.size > 1:
            if budget[0] <= 0:
                ok, t_num = True, t.analytic  # unresolved kinks, budget spent: benefit of the doubt
            else:
                ok, t_num, t_tol, n_ev = _split(at, g, part, c, z, budget)
                evals += n_ev
        if not ok:
            return False, numeric + t_num, tol + t_tol, evals
        numeric, tol = numeric + t_num, tol + t_tol
    return True, numeric, tol, evals


def localise(
    f: Fn,
    x: np.ndarray,
    c: np.ndarray,
    g: np.ndarray,
    y0: np.ndarray,
    *,
    rng: np.random.Generator,
    eval_dtype: np.dtype,
    eps_a: float,
    retries: int = 3,
    positive: bool = False,
    noise: np.ndarray | None = None,
) -> tuple[Located | None, int]:
    """Find one wrong element of ``g = vjp(c)`` by bisection: ``O(log n)`` directional tests instead of ``n``.

    The indices are halved; a random ±1 direction supported on each half is tested and the search descends into
    a failing half (both halves may pass when errors of opposite sign cancel: new signs are drawn, ``retries``
    times). Returns the element with its analytic and numeric partial derivative, or ``None``. ``noise`` is
    :func:`forward_spread` at ``x`` when the caller has it (measured here otherwise).
    """
    ny = forward_spread(f, x, eval_dtype, positive) if noise is None else noise
    at = _Line(f, x, eval_dtype, eps_a, ny)
    scale = element_scale(x, positive).ravel()
    idx = np.arange(x.size)
    evals, found = 0, None
    while idx.size > 1:
        halves = np.array_split(rng.permutation(idx), 2)
        nxt = None
        for _ in range(retries):
            for half in halves:
                d = np.zeros(x.size)
                d[half] = rademacher(rng, (half.size,)) * scale[half]
                t, n_ev = _test_direction(at, g, d.reshape(x.shape), c, c * y0)
                evals += n_ev
                if not t.ok:
                    nxt = half
                    break
            if nxt is not None:
                break
        if nxt is None:
            return None, evals
        idx = nxt
    i = int(idx[0])
    d = np.zeros(x.size)
    d[i] = scale[i]
    t, n_ev = _test_direction(at, g, d.reshape(x.shape), c, c * y0)
    if not t.ok:
        index = tuple(int(v) for v in np.unravel_index(i, x.shape))
        found = Located(index, t.analytic / scale[i], t.numeric / scale[i], t.tolerance / scale[i])
    return found, evals + n_ev


def directional(
    f: Fn,
    vjp: Fn,
    x: np.ndarray,
    *,
    rng: np.random.Generator,
    eval_dtype: np.dtype,
    analytic_dtype: np.dtype,
    n_directions: int,
    positive: bool = False,
    analytic_noise: Noise | None = None,
) -> Comparison:
    """Compare ``⟨vjp(c_k), d_k⟩`` with the directional derivative of ``⟨c_k, f⟩`` for ``k < n_directions``.

    ``analytic_noise``: as in :func:`elementwise`, asked for only for a failing direction.
    """
    y0 = f(x)
    at = _Line(f, x, eval_dtype, machine_eps(analytic_dtype), forward_spread(f, x, eval_dtype, positive))
    scale = element_scale(x, positive)
    cols = {k: np.zeros(n_directions) for k in ("a", "numeric", "tol", "ok", "kink")}
    evals, step = 18, 0.0  # f(x) and the 17 evaluations of forward_spread
    tests = []
    for _ in range(n_directions):
        c = cotangent(rng, y0.shape, analytic_dtype)
        g = np.asarray(vjp(c), dtype=np.float64)
        d = rademacher(rng, x.shape) * scale
        v, n_ev = _test_direction(at, g, d, c, c * y0)
        tests.append((v, c, g, d))
        evals += n_ev
        step = max(step, v.step)
    # The noise is measured by ε-moves of the whole point: near a kink they flip a branch, which is not rounding,
    # so it is asked for only when no direction met a kink.
    if analytic_noise is not None and not any(v.kinked for v, *_ in tests):
        for i, (v, c, g, d) in enumerate(tests):
            if abs(v.analytic - v.numeric) * MARGIN_FLOOR > v.tolerance:
                widened = v.tolerance + NOISE_SAFETY * float(np.abs(np.asarray(analytic_noise(c)) * d).sum())
                tests[i] = (replace(v, tolerance=widened, ok=abs(v.analytic - v.numeric) <= widened), c, g, d)
    for k, (v, *_) in enumerate(tests):
        cols["a"][k], cols["numeric"][k], cols["tol"][k] = v.analytic, v.numeric, v.tolerance
        cols["ok"][k], cols["kink"][k] = v.ok, v.at_kink
    first_bad = next(((c, g) for v, c, g, _ in tests if not v.ok), None)
    located = None
    if first_bad is not None and x.size > 1:
        located, n_ev = localise(
            f, x, *first_bad, y0, rng=rng, eval_dtype=eval_dtype, eps_a=at.eps_a, positive=positive, noise=at.ny
        )
        evals += n_ev
    return Comparison(
        mode="directional",
        analytic=cols["a"],
        numeric=cols["numeric"],
        tolerance=cols["tol"],
        ok=cols["ok"].astype(bool),
        at_kink=cols["kink"].astype(bool),
        step=step,
        n_evals=evals,
        located=located,
    )


def fast(
    f: Fn,
    vjp: Fn,
    x: np.ndarray,
    *,
    rng: np.random.Generator,
    eval_dtype: np.dtype,
    analytic_dtype: np.dtype,
    n_directions: int,
    scale: np.ndarray | None = None,
    y0: np.ndarray | None = None,
) -> Comparison:
    """The cheap screen: one cotangent, one backward and ``n_directions + 1`` forward evaluations besides ``f(x)``.

    Direction ``d_0`` is evaluated at ``x + t·d_0`` and ``x + 2t·d_0`` (``t = ε^(1/3)``): the one-sided
    second-order formula ``(−3φ(0) + 4φ(t) − φ(2t))/2t`` gives its derivative, and the second difference the
    curvature magnitude ``C = Σ_j |c_j dᵀH_j d|``. Every further direction costs one evaluation: the forward
    difference with ``h = √ε``, whose truncation error ``h·|φ''|/2`` is allowed 64 times ``h·C/2`` (directions
    drawn from the same distribution as ``d_0``), and whose rounding error is ``κ·ε·(Σ|c_j f_j| + Σ|g_i x_i|)/h``.
    The miss probability of :func:`directional` holds with one cotangent: ``e = vjp(c) − Jᵀc`` is non-zero almost
    surely for a Gaussian ``c``, and each ±1 direction misses a too-large element of ``e`` with probability at most
    1/2. The screen has no kink handling, so a failing direction proves nothing by itself: the caller then runs
    the full checks, which decide.
    """
    eps_a, eps = machine_eps(analytic_dtype), machine_eps(eval_dtype)
    y0 = f(x) if y0 is None else y0
    scale = element_scale(x) if scale is None else scale
    c = cotangent(rng, y0.shape, analytic_dtype)
    g = np.asarray(vjp(c), dtype=np.float64).reshape(x.shape)
    cy0 = c * y0
    z = float(cy0.sum())
    t, h = base_step(eval_dtype), float(np.sqrt(eps))
    d = rademacher(rng, x.shape) * scale
    f1, f2 = f(x + t * d), f(x + 2 * t * d)
    curvature = float(np.abs(c * (f2 - 2 * f1 + y0)).sum()) / t**2
    first = (-3 * z + 4 * float(np.vdot(c, f1)) - float(np.vdot(c, f2))) / (2 * t)
    magnitude = float(np.abs(cy0).sum()) + float(np.abs(g * x).sum())
    # |g_i d_i| = |g_i|·s_i for every ±1 direction: the analytic rounding bound is the same for all of them.
    bound = FD_SAFETY * (FAST_CURVATURE_SLACK * h * curvature / 2 + EVAL_SAFETY * eps * magnitude / h)
    bound += ANALYTIC_SAFETY * eps_a * float(np.vdot(np.abs(g), scale))
    cols = {k: np.zeros(n_directions) for k in ("a", "numeric")}
    cols["a"][0], cols["numeric"][0] = float(np.vdot(g, d)), first
    for k in range(1, n_directions):
        d = rademacher(rng, x.shape) * scale
        cols["a"][k] = float(np.vdot(g, d))
        cols["numeric"][k] = (float(np.vdot(c, f(x + h * d))) - z) / h
    tolerance = np.full(n_directions, bound)
    return Comparison(
        mode="fast",
        analytic=cols["a"],
        numeric=cols["numeric"],
        tolerance=tolerance,
        ok=np.abs(cols["a"] - cols["numeric"]) <= tolerance,
        at_kink=np.zeros(n_directions, dtype=bool),
        step=h,
        n_evals=n_directions + 1 + (y0 is None),
    )
