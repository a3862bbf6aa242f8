"""Comparison of two computations of the same values, with a condition-aware tolerance, as a record.

Two computations of the same quantity (the layer and its PyTorch oracle, float32 and float64 runs) differ by
rounding amplified by the problem's conditioning. The tolerance measures that amplification directly: the
oracle is re-evaluated with every input and parameter moved by a few ε of the computation's scale
(:func:`gradcheck.engine.policy.computation_scale`: the scale of the array and the constants of magnitude one,
not only each element's own magnitude), and the change it shows (:func:`reference_spread`), plus ``ε`` times the
magnitude of the result, is allowed ``COMPARE_SAFETY`` times over. Nothing is tuned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from gradcheck.engine.noise import perturbation_spread
from gradcheck.engine.policy import COMPARE_SAFETY, computation_scale
from gradcheck.engine.summary import worst
from gradcheck.results import GradientResult

__all__ = [
    "argument_rounding",
    "compare",
    "computation_scales",
    "constants_allowance",
    "output_reading",
    "reference_spread",
    "tolerance",
]


def computation_scales(
    values: Mapping[str, np.ndarray], positive: Iterable[str] = (), constants: bool = False
) -> dict[str, np.ndarray]:
    """:func:`~gradcheck.engine.policy.computation_scale` of every value (``positive`` names the x > 0 inputs)."""
    pos = set(positive)
    return {k: computation_scale(v, k in pos, constants) for k, v in values.items()}


def reference_spread(
    fn: Callable[[dict[str, np.ndarray]], Any],
    values: Mapping[str, np.ndarray],
    eps: float,
    seed: int,
    positive: Iterable[str] = (),
    scales: Mapping[str, np.ndarray] | None = None,
    constants: bool = False,
) -> Any:
    """How far ``fn`` (the reference) moves when its values move by ``ε`` of the computation's scale.

    Every pair of elements is moved apart once (the ``pairs`` sampling of
    :func:`gradcheck.engine.noise.perturbation_spread`), in float64. ``scales`` overrides the computation scales
    of some values (a cotangent is scaled by its own magnitude: it is data, not a constant of the layer);
    ``constants`` measures at the scale that includes the constants of magnitude one (see
    :func:`~gradcheck.engine.policy.computation_scale`).
    """
    s = computation_scales(values, positive, constants)
    s.update(scales or {})
    return perturbation_spread(fn, values, eps, seed, scales=s)


def constants_allowance(
    reference: Callable[[dict[str, np.ndarray]], Any],
    values: Mapping[str, np.ndarray],
    eps: float,
    seed: int,
    positive: Iterable[str] = (),
) -> Any:
    """What a backward-stable layer may differ from the reference by through rounding at the scale of its
    constants: the reference's spread when its values move by ε of ``max(|v_i|, rms(v), 1)``
    (:func:`~gradcheck.engine.policy.computation_scale` with ``constants``). ``α(eˣ − 1)`` at x = 1e-4 keeps ε·α of
    ``eˣ ≈ 1`` where ``expm1`` does not; moving x by ε·1 moves the reference by the same ε·α·eˣ.

    It is consulted only where the comparison at the values' own scale fails or passes with less than
    ``MARGIN_FLOOR`` to spare: at inputs of 1e-3 it is 1000 times the inputs' own scale. A low-precision
    intermediate is not excused by it (a float32 exp in a float64 run errs by ε32, the allowance is ε64).
    """
    return reference_spread(reference, values, eps, seed, positive, constants=True)


def tolerance(want: npt.ArrayLike, eps: float, spread: npt.ArrayLike) -> np.ndarray:
    """``κ·(spread + ε·(|want| + rms(want)))``: the measured spread, and the rounding of the result itself (each
    element counted at least at the rms of the array: cancellation leaves small results with large ones' error)."""
    want = np.asarray(want, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rms = float(np.sqrt(np.mean(want * want))) if want.size else 0.0
        tol = COMPARE_SAFETY * (np.asarray(spread, dtype=np.float64) + eps * (np.abs(want) + rms))
    return tol + np.finfo(np.float64).tiny


def compare(
    got: npt.ArrayLike,
    want: npt.ArrayLike,
    *,
    eps: float,
    spread: npt.ArrayLike,
    location: tuple[str, ...],
    dtype: str,
    seed: int | None = None,
    compared: str = "gradient",
    against: str = "PyTorch reference",
) -> GradientResult:
    """Compare ``got`` with ``want`` elementwise, within :func:`tolerance`.

    ``compared`` says what the values are (``gradient`` or ``output``), ``against`` what ``want`` is.
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    fields: dict[str, Any] = {"mode": "compare", "dtype": dtype, "compared": compared, "against": against}
    if got.shape != want.shape:
        msg = f"shape {got.shape}, expected {want.shape}"
        return GradientResult(location, "fail", shape=got.shape, message=msg, **fields)
    tol = tolerance(want, eps, spread)
    # A result in ``dtype`` is only resolved down to its smallest normal number (float32: 1.2e-38): below it the
    # values underflow (a float64 gradient of 1e-250 is 0 in float32).
    tol = tol + COMPARE_SAFETY * float(np.finfo(dtype).tiny if dtype in ("float16", "float32", "float64") else 0.0)
    return worst(location, got, want, tol, seed=seed, shape=tuple(want.shape), eval_dtype="float64", **fields)


def output_reading(x: np.ndarray, out: np.ndarray, ref_out: np.ndarray, cot: np.ndarray, eps: float) -> Any:
    """What the error of the forward's output does to a backward that reads it, for an output of x's shape.

    Valid backwards compute local derivatives from the output: ``α·eˣ = out + α`` (ELU), ``s ⊙ (c − ⟨c, s⟩)``
    (softmax), ``s(1 − s)``, ``1 − tanh²``. The output carries ``δy = max(|y − y_ref|, ε·scale(y))``: its measured
    deviation from the reference (a log-sum-exp softmax rounds at ε·|max logit|, which ``forward`` accepts) or its
    own rounding (``−α + α`` is 0 where α·eˣ is 1e-56). Through such a backward it moves the VJP by at most
    ``|c_i|·δy_i`` (the element's own slope) plus ``|y_i|·Σ_j |c_j|·δy_j`` over the sample (a coupling through
    ``⟨c, y⟩``). Zero for other shapes: a layer that changes the shape has no such elementwise reading.
    """
    if np.shape(out) != np.shape(x) or np.ndim(out) == 0:
        return 0.0
    y = np.asarray(out, dtype=np.float64)
    c = np.abs(np.asarray(cot, dtype=np.float64))
    dy = np.maximum(np.abs(y - np.asarray(ref_out, dtype=np.float64)), eps * computation_scale(y))
    dy = np.nan_to_num(dy, nan=0.0, posinf=0.0)
    sample_axes = tuple(range(1, y.ndim))
    coupled = np.abs(y) * (c * dy).sum(axis=sample_axes, keepdims=True) if sample_axes else 0.0
    return c * dy + coupled


def argument_rounding(values: dict, out: np.ndarray, eps: float) -> Any:
    """Relative rounding ``ε·max|x|`` over a sample in an output of x's shape: exp of a difference of logits.

    ``exp(x − lse(x))`` is a valid softmax whose argument rounds at ε of the largest logit of the sample, so each
    output carries that relative error (its rows sum to 1 within ε·|max logit|); no move of the inputs shows it,
    softmax being invariant to a shift of the whole row. Zero for outputs of another shape.
    """
    x = values.get("x")
    if x is None or np.shape(out) != np.shape(x) or np.ndim(out) < 2:
        return 0.0
    y = np.abs(np.asarray(out, dtype=np.float64))
    scale = np.abs(np.asarray(x, dtype=np.float64)).max(axis=tuple(range(1, y.ndim)), keepdims=True)
    return eps * y * scale
