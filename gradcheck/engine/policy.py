"""The tolerance policy: every safety factor of the harness, named once, with the reason for its value.

A verdict compares a difference with a bound ``κ·(a rounding estimate)``. The rounding estimates are derived
(from the dtype's ε, the magnitudes involved and measured spreads, see :mod:`gradcheck.engine.noise` and
:mod:`gradcheck.engine.finite_diff`); the factors ``κ`` below are the only free numbers, and each says how many
rounding units an estimate may be off by. They are not tuned to any layer: each is a small power of two chosen
from the structure of the estimate it multiplies, and the stability sweep (``tests/stability/sweep.py``)
records the margin every correct layer keeps below them.

Besides the factors, the policy fixes *what a rounding unit is measured against*: the computation's scale
(:func:`computation_scale`), not only each element's own magnitude.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AMPLIFICATION_SLACK",
    "ANALYTIC_SAFETY",
    "COMPARE_SAFETY",
    "EVAL_SAFETY",
    "FAST_CURVATURE_SLACK",
    "FD_SAFETY",
    "INVARIANT_SAFETY",
    "MARGIN_FLOOR",
    "NOISE_SAFETY",
    "STABILISER_MAX_RELATIVE",
    "SUBSET_SAFETY",
    "SUM_SAFETY",
    "computation_scale",
]

#: Ulps of internal rounding one evaluation of a layer may carry (sums over a few hundred terms, exp/log, the
#: subtraction of a mean): the noise floor of a finite difference. Pairwise summation of n ≤ 4096 terms rounds
#: by at most log2(n)·ε ≈ 12ε; 16 is the next power of two.
EVAL_SAFETY = 16.0
#: The same for the analytic backward, applied to the magnitude of the terms of an inner product: a backward
#: chains about twice as many roundings as its forward (the forward's intermediates, then the products).
ANALYTIC_SAFETY = 32.0
#: The finite-difference error estimate ``|D(t/2) − D(t)|/3`` is itself an estimate of the next term of a series;
#: accept up to this multiple of it (the ratio of successive terms is 1/4 for a smooth function, so 2 is ample).
FD_SAFETY = 2.0
#: Comparisons of two computations of the same values (layer vs reference, float32 vs float64): the spread they
#: are given is sampled from a few perturbations, which find the typical rounding, not the worst one. With
#: ⌈log2 n⌉ + 1 sign patterns the largest sampled change is within a factor ~4 of the worst; 16 leaves 4× margin.
COMPARE_SAFETY = 16.0
#: Invariants (rows sum to 1, shift invariance, affinity): a-priori bounds in ε times the computation's scale;
#: the identity chains two evaluations of the layer (each EVAL_SAFETY) and their difference: 4·EVAL_SAFETY.
INVARIANT_SAFETY = 64.0
#: Measured rounding noise of the analytic VJP (a few ε-moves of the point sample it, they do not bound it):
#: the same argument as COMPARE_SAFETY, for a backward (twice the roundings).
NOISE_SAFETY = 32.0
#: How much more a low-precision run may amplify rounding than its float64 run shows (a coarser grid makes
#: near-equal inputs cancel worse, sums accumulate in another order); a float16 intermediate (ε 8000× float32's)
#: exceeds it, so it cannot hide in the float32 allowance.
AMPLIFICATION_SLACK = 256.0
#: The fast screen's forward differences: the truncation ``h·|φ''|/2`` of a random direction is allowed this
#: multiple of the curvature measured along one direction drawn from the same distribution (the ratio of two
#: such quadratic forms exceeds 64 with negligible probability for n ≥ 2 Rademacher entries).
FAST_CURVATURE_SLACK = 64.0
#: A Function called with one input requiring a gradient must return that input's gradient bit-for-bit up to
#: reassociation: a different reduction order (another code path) rounds by up to log2(n)·ε of the largest term.
SUBSET_SAFETY = 64.0
#: Batch semantics compares a batch result with a sum of per-sample results: B sums reassociated, ε each per term;
#: 4 covers the two summation orders and the product with the cotangent.
SUM_SAFETY = 4.0
#: The margin (tolerance / difference) an a-priori bound must leave before a verdict rests on it alone: closer
#: than this, the measured rounding noise of the computation is consulted too (the a-priori bounds count ε per
#: term and cannot see cancellation between inputs; the measurement can). Below 4× a seed-to-seed variation of
#: the error by the ratio of two samples of a rounding error would flip the verdict.
MARGIN_FLOOR = 4.0
#: A stabilising epsilon ``c`` added to an input of the domain x > 0 (``log(p + c)``) explains a deviation from the
#: reference only while it is invisible at the largest inputs: ``c ≤ ε_float32 · max(x)``, i.e. the epsilon changes
#: the largest elements by less than one float32 rounding unit, so the deviation is confined to inputs many orders
#: of magnitude below them (1e-10 on probabilities up to ~1 is; 1e-3 is not: it changes every probability < 0.1).
STABILISER_MAX_RELATIVE = float(np.finfo(np.float32).eps)


def computation_scale(v: np.ndarray, positive: bool = False, constants: bool = False) -> np.ndarray:
    """Per element, the magnitude that a rounding unit of a computation involving ``v`` is measured against.

    ``max(|v_i|, rms(v))``: a backward-stable implementation returns the exact function at a point moved by a few
    ε of this scale, not of ``|v_i|`` alone: sums, max-subtraction and mean-subtraction round every element at the
    scale of the whole array (a dot product rounds at ε·Σ|w_j v_j|; softmax logits ±2000 at ε·2000).

    ``constants=True`` adds the constants of elementary functions, which are of magnitude one: ``max(|v_i|,
    rms(v), 1)`` (``eˣ − 1`` at x = 1e-4 carries ε·1 from rounding ``eˣ ≈ 1``; exp's backward error is ε in its
    argument whatever the argument's size). That scale is an upper bound, used only as a cap on what a layer's
    own measured rounding may excuse (:func:`gradcheck.engine.noise.jitter`): at inputs of 1e-3 it is 1000 times
    the input's own scale, too loose to apply to every layer.

    For an input whose domain is ``v > 0`` (probabilities into a log) the scale is ``|v_i|``: such values are
    multiplicative, and log's backward error is relative.
    """
    a = np.abs(np.asarray(v, dtype=np.float64))
    if positive:
        return a
    rms = float(np.sqrt(np.mean(a * a))) if a.size else 0.0
    return np.maximum(a, max(rms, 1.0) if constants else rms)
