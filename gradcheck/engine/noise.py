"""Measured rounding noise of a computation: how much its result moves under rounding-level perturbations.

Some correct computations are far less accurate than ``ε`` times their result: batch norm's backward at a batch
of 2 subtracts terms that agree to 1e-5 (a float32 gradient is then off by 1 %), a saturated softmax rounds
``1 − s`` away, ``eˣ − 1`` at x = 1e-4 keeps the rounding of ``eˣ ≈ 1``. No a-priori bound on the result sees
that. Re-running the computation at inputs moved by a few ε of the computation's scale (random signs) changes
its intermediate roundings and shows the noise directly (:func:`perturbation_spread`). In a low precision the
same spread would also hide a genuine low-precision bug (a float16 intermediate); so the low-precision spread is
accepted only as far as the same computation in float64 shows the same amplification (:func:`rounding_noise`).

One entry point for a VJP's noise, :func:`vjp_noise`, moves the values and the cotangent together; the cotangent
travels in the values under :data:`COTANGENT`, a key no argument name can be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gradcheck.engine.policy import AMPLIFICATION_SLACK

__all__ = [
    "COTANGENT",
    "jitter",
    "perturbation_spread",
    "rounding_noise",
    "sign_patterns",
    "split_noise",
    "vjp_noise",
]

Values = Mapping[str, np.ndarray]
#: A VJP of several values: ``vjp(values, cotangent) -> {name: gradient}``.
Vjp = Callable[[dict[str, np.ndarray], np.ndarray], Mapping[str, Any]]
#: The key of the cotangent among a VJP's values: not a Python identifier, so no argument can be named so.
COTANGENT = "<cotangent>"


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


#: The fewest sign patterns of the ``pairs`` sampling: a small array has few pairs to split (one element has none),
#: and the largest of a handful of samples of a rounding error is within a small factor of its bound only when
#: there are several; random patterns fill up to this count.
MIN_PATTERNS = 6


def _patterns(n: int, rng: np.random.Generator, sampling: str, draws: int) -> list[np.ndarray]:
    if sampling == "pairs":
        found = sign_patterns(n, rng)
        return found + [1 - 2 * rng.integers(0, 2, n) for _ in range(MIN_PATTERNS - len(found))]
    return [1 - 2 * rng.integers(0, 2, n) for _ in range(draws)]


def perturbation_spread(
    fn: Callable[[dict[str, np.ndarray]], Any],
    values: Values,
    eps: float,
    seed: int,
    *,
    scales: Mapping[str, np.ndarray] | None = None,
    sampling: Literal["pairs", "random"] = "pairs",
    draws: int = 3,
    keep_dtype: bool = False,
) -> Any:
    """Largest elementwise change of ``fn`` when every value ``v`` moves by up to ``ε·scale(v)`` (random signs,
    magnitudes between half and all of it).

    Args:
        fn: function of the values returning an array or a dict of arrays (``None`` entries are kept).
        values: the point.
        eps: the rounding unit of the moves.
        seed: seeds the signs.
        scales: per value, the magnitude a rounding unit is measured against (default ``|v|``; see
            :func:`gradcheck.engine.policy.computation_scale`).
        sampling: ``"pairs"``: the :func:`sign_patterns` over all elements of all values (every pair of elements
            moved apart once: ⌈log₂ n⌉ + 1 evaluations, at least :data:`MIN_PATTERNS`); ``"random"``: ``draws``
            independent random patterns.
        draws: the number of random patterns.
        keep_dtype: cast the moved values back to their dtype (a float32 value then moves by about one ulp, and
            ``fn`` runs in the values' own precision); otherwise they are moved in float64.
    """
    rng = np.random.default_rng(seed)
    base = _as_float64(fn(dict(values)))
    spread = _map(base, np.zeros_like)
    sizes = [int(np.size(v)) for v in values.values()]
    for signs in _patterns(sum(sizes), rng, sampling, draws):
        # Magnitudes drawn in [1/2, 1]: moves of exactly equal size keep sums and means of equal values on the same
        # rounding grid (two samples moved ±δ have the same sum; moved alike, the same differences), and the
        # rounding the spread is meant to show is never re-drawn.
        signs = signs * rng.uniform(0.5, 1.0, signs.shape)
        parts = np.split(signs, np.cumsum(sizes)[:-1])
        moved = {}
        for (k, v), p in zip(values.items(), parts, strict=True):
            s = np.abs(np.asarray(v, dtype=np.float64)) if scales is None or k not in scales else scales[k]
            m = np.asarray(v, dtype=np.float64) + eps * s * p.reshape(np.shape(v))
            moved[k] = m.astype(np.asarray(v).dtype) if keep_dtype else m
        change = _as_float64(fn(moved))
        spread = _map2(spread, change, base, lambda s, c, b: np.maximum(s, np.abs(c - b)))
    return spread


#: Ratio of the two move sizes of :func:`jitter` (rounding noise is the same at both; a kink's contribution
#: shrinks by it, curvature's by its square).
JITTER_RATIO = 64.0


def jitter(
    fn: Callable[[dict[str, np.ndarray]], Any],
    values: Values,
    eps: float,
    seed: int,
    scales: Mapping[str, np.ndarray] | None = None,
    draws: int = 2,
) -> np.ndarray:
    """Per output element, the measured rounding noise of one evaluation of ``fn`` near ``values``.

    Second differences ``|f(v + h·s⊙r) − 2f(v) + f(v − h·s⊙r)| / 2`` over ``draws`` random sign patterns ``r``
    (the same at both move sizes), ``s`` the per-element scale (default ``|v|``): the first-order terms cancel and
    what is left is the rounding of the evaluations themselves, at the scale of the computation's intermediate
    terms (``eˣ − 1`` at x = 1e-4 keeps ε·1 of ``eˣ``; ``x − mean(x)`` of near-constant features), however small
    ``f`` and ``v`` are — and nothing more where there is no such cancellation (``sin`` at 1e-6). The moves
    ``h = √ε`` and ``h/64`` are large enough that every rounding inside ``f`` lands elsewhere; rounding noise is
    the same at both, while a kink's contribution shrinks 64× and curvature's 4096×: an element whose second
    difference shrinks by more than 8× between them is not measuring rounding, and counts 0.
    """
    rng = np.random.default_rng(seed)
    h = float(np.sqrt(eps))
    steps = {
        k: h * (np.abs(np.asarray(v, dtype=np.float64)) if scales is None else scales[k]) for k, v in values.items()
    }
    base = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    y0 = np.asarray(fn(dict(base)), dtype=np.float64)
    # Random magnitudes in [1/2, 1] as well as signs: a second difference is even in the move, so signs alone
    # would give an elementwise function the same sample in every draw.
    moves = [
        {
            k: (1 - 2 * rng.integers(0, 2, np.shape(v))) * rng.uniform(0.5, 1.0, np.shape(v)) * steps[k]
            for k, v in base.items()
        }
        for _ in range(draws)
    ]

    def second(ratio: float) -> np.ndarray:
        out = np.zeros_like(y0)
        for d in moves:
            up = np.asarray(fn({k: v + d[k] / ratio for k, v in base.items()}), dtype=np.float64)
            down = np.asarray(fn({k: v - d[k] / ratio for k, v in base.items()}), dtype=np.float64)
            out = np.maximum(out, np.abs(up - 2 * y0 + down) / 2)
        return out

    coarse, fine = second(1.0), second(JITTER_RATIO)
    return np.where(fine * 8 >= coarse, fine, 0.0)


#: Scalings of the cotangent in :func:`split_noise` (not powers of two, so every product rounds elsewhere; the
#: inverse scaling back is one more rounding at ε of the result, below the noise it measures).
SPLIT_SCALES = (3.0, 5.0, 7.0, 1 / 3, 1 / 5, 1 / 7)


def split_noise(vjp: Callable[[np.ndarray], Mapping[str, Any]], cot: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Rounding noise of a VJP, measured through its exact linearity in the cotangent.

    ``vjp(c) − vjp(c ⊙ m) − vjp(c ⊙ (1 − m))`` and ``vjp(c) − vjp(k·c)/k`` are zero in exact arithmetic for any
    mask ``m`` and scale ``k``; in floating point they are the rounding of the terms the VJP sums, whatever their
    cancellation leaves of the result (batch norm at B = 2, softmax where ``1 − s`` absorbs a tiny ``s``). The masks
    are the patterns of :func:`sign_patterns`, so every pair of output elements is split apart once; the scalings
    (:data:`SPLIT_SCALES`) give samples however few elements there are (a batch of 2 has a single split). Returns
    the largest discrepancy per name.
    """
    c = np.asarray(cot, dtype=np.float64)
    whole = vjp(c)
    noise = {k: np.zeros_like(v) for k, v in whole.items() if v is not None}

    def see(other: Mapping[str, Any]) -> None:
        for k in noise:
            noise[k] = np.maximum(noise[k], np.abs(whole[k] - other[k]))

    for signs in sign_patterns(c.size, np.random.default_rng(seed))[1:]:
        m = (signs.reshape(c.shape) > 0).astype(np.float64)
        a, b = vjp(c * m), vjp(c * (1 - m))
        see({k: a[k] + b[k] for k in noise})
    for scale in SPLIT_SCALES:
        scaled = vjp(c * scale)
        see({k: scaled[k] / scale for k in noise})
    return noise


def rounding_noise(
    fn: Callable[[dict], Any],
    values: Values,
    dtype: npt.DTypeLike,
    seed: int,
    sampling: Literal["pairs", "random"] = "pairs",
) -> Any:
    """Rounding noise of ``fn`` evaluated in ``dtype`` (the dtype of ``values``), confirmed in float64.

    ``min(spread_lo, AMPLIFICATION_SLACK · spread_64 · ε_lo/ε_64)`` with the spreads of
    :func:`perturbation_spread` (moves by one ulp of each value, in the values' own dtype; by default every pair
    of elements is moved apart once, so that cancelling pairs show their rounding).
    """
    eps_lo = float(np.finfo(dtype).eps)
    lo = perturbation_spread(fn, values, eps_lo, seed, sampling=sampling, keep_dtype=True)
    if np.dtype(dtype) == np.float64:
        return lo
    eps_hi = float(np.finfo(np.float64).eps)
    v64 = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    hi = perturbation_spread(fn, v64, eps_hi, seed, sampling=sampling, keep_dtype=True)
    return _map2(lo, hi, lo, lambda a, b, _: np.minimum(a, AMPLIFICATION_SLACK * b * (eps_lo / eps_hi)))


def vjp_noise(
    vjp: Vjp, values: Values, cot: np.ndarray, dtype: npt.DTypeLike, seed: int, per_element: bool = False
) -> dict[str, Any]:
    """The rounding noise level of each result of ``vjp(values, cot)`` computed in ``dtype``, per name.

    The values and the cotangent are cast to ``dtype`` and moved together (:func:`rounding_noise`). A few draws
    sample the noise of each element unevenly (one element of a cancelling pair may keep its rounding under every
    move while its twin shows it), so the level of a name is the largest spread over its array. Below float64 the
    VJP's departure from linearity in the cotangent counts too, where it is rounding (:func:`_split_rounding`).

    ``per_element``: the spread of each element instead (an array per name), for float64, where no float64 run
    confirms the spread and one level would let the largest element's rounding (``c/x`` at x = 1e-300) excuse
    every other.
    """
    low = {k: np.asarray(v).astype(dtype) for k, v in values.items()}
    key = COTANGENT
    while key in low:  # a value may itself be a cotangent (the double backward's view has one)
        key = f"<{key}>"
    low[key] = np.asarray(cot).astype(dtype)

    def fn(v: dict[str, np.ndarray]) -> dict[str, Any]:
        c = v.pop(key)
        return dict(vjp(v, c))

    noise = rounding_noise(fn, low, dtype, seed)
    if per_element:
        return {k: n for k, n in noise.items() if n is not None}
    levels = {k: float(np.max(n, initial=0.0)) for k, n in noise.items() if n is not None}
    if np.dtype(dtype) == np.float64:
        return levels
    split = _split_rounding(vjp, values, cot, dtype, seed)
    return {k: max(v, split.get(k, 0.0)) for k, v in levels.items()}


def _split_rounding(vjp: Vjp, values: Values, cot: np.ndarray, dtype: npt.DTypeLike, seed: int) -> dict[str, float]:
    """Per name, the :func:`split_noise` level of the VJP in ``dtype``, kept only where it is rounding.

    ε-moves of the point re-round only the intermediates that depend on it strongly: a saturated softmax's
    ``c_i − Σ c_j s_j`` (a sum ≈ 1 that barely moves) keeps its rounding under every move, and the spread misses
    an error of ε·|c| in a gradient of 1e-4. Scaling or splitting the cotangent re-rounds every term. A VJP that
    is not linear in its cotangent would show the same discrepancy, so the level is kept only where it scales
    with the precision: where the float64 run's is smaller by at least ``ε_64/ε`` (up to AMPLIFICATION_SLACK,
    a nonlinearity shows the same in both), and capped at AMPLIFICATION_SLACK times that run's, scaled (a float16
    intermediate exceeds it).
    """
    ratio = float(np.finfo(dtype).eps / np.finfo(np.float64).eps)
    low = {k: np.asarray(v).astype(dtype) for k, v in values.items()}
    v64 = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    c = np.asarray(cot).astype(dtype).astype(np.float64)

    def as_float64(out: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {k: np.asarray(g, dtype=np.float64) for k, g in out.items() if g is not None}

    lo = split_noise(lambda u: as_float64(vjp(dict(low), u.astype(dtype))), c, seed)
    hi = split_noise(lambda u: as_float64(vjp(dict(v64), u)), c, seed)
    out: dict[str, float] = {}
    for k, n_lo in lo.items():
        level, level64 = float(np.max(n_lo, initial=0.0)), float(np.max(hi.get(k, 0.0), initial=0.0)) * ratio
        out[k] = min(level, AMPLIFICATION_SLACK * level64) if level * AMPLIFICATION_SLACK >= level64 else 0.0
    return out


def _as_float64(out: Any) -> Any:
    if isinstance(out, Mapping):
        return {k: None if v is None else np.asarray(v, dtype=np.float64) for k, v in out.items()}
    return np.asarray(out, dtype=np.float64)


def _map(a: Any, f: Callable[[np.ndarray], np.ndarray]) -> Any:
    return {k: None if v is None else f(v) for k, v in a.items()} if isinstance(a, dict) else f(a)


def _map2(s: Any, c: Any, b: Any, f: Callable[..., np.ndarray]) -> Any:
    if isinstance(s, dict):
        return {k: None if s[k] is None or c.get(k) is None else f(s[k], c[k], b[k]) for k in s}
    return f(s, c, b)
